"""Call latency while tuning, before and after tuning moved into a worker process, in the same run.

Why: bench/latency.py compares no tuner with the tuner in one tree; figures from different days do not
compare (the development machine's speed drifts, and its tails more). This runs bench/latency.py's own
phases (``python -m bench.latency phase A|B``: the application loop of dot and saxpy on 2,000 elements for
20 s, without (A) and with (B) the background tuner working on the six suite kernels) in two trees: the
commit before the tuning worker existed (``BEFORE``, a temporary ``git worktree``, whose
bench/latency.py has the same phase code) and this tree. Each phase is a fresh process with a fresh cache
directory, run from its tree's root with ``PYTHONPATH`` set to it. ``ROUNDS`` rounds, each running the
four (tree, phase) pairs in alternating order; the table shows the median over rounds and the range.

Run: python -m bench.latency_before_after [rounds]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ._before import BEFORE, ROOT, before_tree, commit_of, run_in
from ._report import report
from .suite import child_env

ROUNDS = 3
PERCENTILES = ("p50", "p99", "p99.9", "max")


def _phase(tree: Path, phase: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-latency-ba-") as cache:
        env = child_env(cache, PYTHONPATH=str(tree))
        return run_in(tree, ["-m", "bench.latency", "phase", phase], env, f"bench.latency phase {phase}")


def main(rounds: int = ROUNDS) -> None:
    started = time.perf_counter()
    pairs = [(tree, phase) for phase in ("A", "B") for tree in ("before", "after")]
    runs: dict[str, list[dict[str, Any]]] = {f"{tree} {phase}": [] for tree, phase in pairs}
    with before_tree() as before:
        trees = {"before": before, "after": ROOT}
        commits = {name: commit_of(path) for name, path in trees.items()}
        for i in range(rounds):
            for tree, phase in pairs if i % 2 == 0 else pairs[::-1]:
                runs[f"{tree} {phase}"].append(_phase(trees[tree], phase))
                print(f"round {i + 1}: {tree} {phase} done", file=sys.stderr, flush=True)
    rows: list[list[Any]] = []
    for kernel in ("dot", "saxpy"):
        for label in PERCENTILES:
            row: list[Any] = [kernel, label]
            medians = {}
            for name, results in runs.items():
                values = [r["kernels"][kernel]["all"][label] / 1e3 for r in results]
                medians[name] = statistics.median(values)
                row += [medians[name], f"{min(values):.3g}-{max(values):.3g}"]
            row.append(medians["after B"] / medians["before B"])
            rows.append(row)
    headers = ["kernel", "latency"]
    for name in runs:
        headers += [f"{name} us", "range"]
    headers.append("after B / before B")
    report(
        "latency_before_after",
        headers,
        rows,
        {
            "before": BEFORE,
            "commits": commits,
            "rounds": rounds,
            "phases": "A: no tuner; B: the background tuner on the six suite kernels (bench/latency.py)",
            "calls": {name: [r["kernels"]["dot"]["calls"] for r in results] for name, results in runs.items()},
            "trials_in_B": {
                name: [sum(r["trials"].values()) for r in results] for name, results in runs.items() if name[-1] == "B"
            },
            "runs": runs,
            "total_seconds": round(time.perf_counter() - started, 1),
        },
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else ROUNDS)
