"""Tuning throughput: trials per second with the tuner in the application's process (before) and in the
tuning worker process (after), same kernel, space and configuration.

Why: moving optuna, storage, compiling and measuring into a worker process adds a process boundary to
every trial (a pickled step and reply over pipes, the host linking each winner's object code). This
measures what that costs in trials per second, and what the host's own CPU time per trial becomes.

"before" is the commit before the worker existed (``BEFORE``, checked out with ``git worktree`` into a
temporary directory and removed afterwards); "after" is this tree. Each run is a fresh process with a
fresh ``AUTOTUNE_CACHE_DIR`` running bench/_throughput_child.py against one tree: ``dot`` on 2,000
elements over a 240-variant space (vectorize x interleave x unroll x fastmath), the background tuner on
(the default), ``max_trials`` = patience = 80, so every run ends on its budget. The child times from the
first call to ``tuner.wait`` returning and reads the trial events' times. Figures:

- trials/s (steady): (trials - 1) / (last trial's event - first trial's event): the per-trial rate once
  the search runs;
- trials/s (whole run): trials / (first call to search done), which includes start-up (the worker
  process, optuna's import, the study, the reference outputs);
- first trial s: first call to the first trial's event;
- longest gap s: the longest time between two consecutive trials' events, over the runs (a stall);
- host CPU ms/trial: the application process's user + system CPU time over the run, per trial (before:
  everything but compiles, which already ran in a compile worker; after: the host's thin part).

Two measurement configurations: the defaults (``rounds`` 7 x ``round_seconds`` 2 ms) and a fast one
(1 x 0.2 ms) in which measuring is nearly free, so per-trial overheads (optuna, storage, the boundary)
dominate. Runs alternate before/after, ``REPEATS`` each per configuration; medians with the range.
The machine's other load moves these figures by several percent; the ratio after/before is per
configuration, over the medians.

Run: python -m bench.throughput [repeats]
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ._before import BEFORE, ROOT, before_tree, commit_of, run_in
from ._report import report

CHILD = Path(__file__).resolve().parent / "_throughput_child.py"
REPEATS = 5
CONFIGS = {"defaults (7 x 2 ms)": (7, 0.002), "fast (1 x 0.2 ms)": (1, 0.0002)}


def _run(tree: Path, rounds: int, round_seconds: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-throughput-") as cache:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOTUNE_")}
        env.update(PYTHONPATH=str(tree), AUTOTUNE_CACHE_DIR=cache)
        result = run_in(tree, [str(CHILD), str(rounds), str(round_seconds)], env, "throughput child")
    if not result["finished"]:
        raise RuntimeError(f"{tree}: the search did not finish: {result}")
    return result


def main(repeats: int = REPEATS) -> None:
    started = time.perf_counter()
    with before_tree() as before:
        trees = {"before": before, "after": ROOT}
        commits = {name: commit_of(tree) for name, tree in trees.items()}
        runs: dict[str, dict[str, list[dict[str, Any]]]] = {c: {"before": [], "after": []} for c in CONFIGS}
        for config, (rounds, round_seconds) in CONFIGS.items():
            for i in range(repeats):
                for name in ("before", "after") if i % 2 == 0 else ("after", "before"):
                    result = _run(trees[name], rounds, round_seconds)
                    runs[config][name].append(result)
                    print(f"{config} {name}: {result['steady']:.2f} trials/s", file=sys.stderr, flush=True)
    rows: list[list[Any]] = []
    summary: dict[str, Any] = {}
    for config in CONFIGS:
        medians: dict[str, dict[str, float]] = {}
        for name in ("before", "after"):
            results = runs[config][name]
            steady = [r["steady"] for r in results]
            whole = [r["trials"] / r["wall"] for r in results]
            first = [r["first_trial"] for r in results]
            cpu = [r["host_cpu"] / r["trials"] * 1e3 for r in results]
            medians[name] = {"steady": statistics.median(steady), "whole": statistics.median(whole)}
            rows.append(
                [
                    config,
                    name,
                    statistics.median(steady),
                    f"{min(steady):.3g}-{max(steady):.3g}",
                    statistics.median(whole),
                    f"{min(whole):.3g}-{max(whole):.3g}",
                    statistics.median(first),
                    max(r["longest_gap"] for r in results),
                    statistics.median(cpu),
                    statistics.median(r["trials"] for r in results),
                ]
            )
        summary[config] = {
            "steady after/before": medians["after"]["steady"] / medians["before"]["steady"],
            "whole run after/before": medians["after"]["whole"] / medians["before"]["whole"],
        }
    report(
        "throughput",
        [
            "config",
            "tree",
            "trials/s steady",
            "range",
            "trials/s whole run",
            "range",
            "first trial s",
            "longest gap s",
            "host CPU ms/trial",
            "trials",
        ],
        rows,
        {
            "commits": commits,
            "before": BEFORE,
            "repeats": repeats,
            "ratios": summary,
            "runs": runs,
            "total_seconds": round(time.perf_counter() - started, 1),
        },
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else REPEATS)
