"""How many trials the search needs on schedule spaces: trials until within 5 % of a long run's best.

Why: ``schedule=True`` multiplies the space (loop orders x tile sizes per loop x unroll-and-jam factors x
hoisting x the LLVM knobs: tens of millions of parameter sets for a triple loop); the search must still
find a good schedule in a budget a user will wait for. For each kernel, ``--runs`` independent searches
(fresh studies, the tuner's own TPE sampler and seeds) run ``--trials`` trials each. A trial's value is its
time relative to the default variant, as the tuner measured it. The reference is the best value over all
runs of that kernel; a run "needs" the number of trials after which its best so far is within 5 % of that
reference (or "-" if it never gets there). The target is at most 15 % of the long run's trials.

Run: python -m bench.schedule_search [--kernels gemm jacobi-2d ...] [--trials N] [--runs R]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from autotune.demo_kernels import KNOBS

from ._report import report
from .polybench import CASES
from .suite import isolated

WITHIN = 1.05
DEFAULT_KERNELS = ("gemm", "2mm", "syrk", "jacobi-2d")


def needed(values: Sequence[float | None], reference: float) -> int | None:
    """1-based count of trials after which the best so far is within :data:`WITHIN` of ``reference``."""
    best = float("inf")
    for k, value in enumerate(values, 1):
        if value is not None:
            best = min(best, value)
        if best <= reference * WITHIN:
            return k
    return None


def one_run(name: str, run: int, trials: int) -> list[float | None]:
    """One search from scratch: every trial's value in the order the tuner ran them (None: failed)."""
    import autotune

    case = CASES[name]
    kernel = autotune.tunable(
        name=f"bench.schedule_search.{name}.{run}.{time.time_ns()}",
        space=autotune.Space(dict(KNOBS)),
        schedule=True,
        noalias=True,
    )(case.func)
    inputs = case.make_inputs(case.size, np.random.default_rng(run))
    kernel(*inputs)
    kernel.tune(n_trials=trials, timeout=trials * 10.0, progress=False)
    return [e["value"] if e["kind"] == "trial" else None for e in kernel.history() if e["kind"] in ("trial", "fail")]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kernels", nargs="+", choices=list(CASES), default=list(DEFAULT_KERNELS))
    parser.add_argument("--trials", type=int, default=120, help="trials per run (default 120)")
    parser.add_argument("--runs", type=int, default=2, help="independent runs per kernel (default 2)")
    args = parser.parse_args(argv)
    forwarded = ["--kernels", *args.kernels, "--trials", str(args.trials), "--runs", str(args.runs)]
    if isolated("schedule_search", forwarded):
        return
    import autotune

    autotune.configure(background=False, max_trials=args.trials, max_seconds=args.trials * 10.0, patience=args.trials)
    rows: list[list[Any]] = []
    details: dict[str, Any] = {}
    fractions: list[float] = []
    for name in args.kernels:
        runs = [one_run(name, run, args.trials) for run in range(args.runs)]
        reference = min(v for values in runs for v in values if v is not None)
        counts = [needed(values, reference) for values in runs]
        details[name] = {"values": runs, "reference": reference, "needed": counts}
        for run, (values, count) in enumerate(zip(runs, counts, strict=True)):
            done = len(values)
            fraction = count / done if count is not None else None
            if fraction is not None:
                fractions.append(fraction)
            rows.append(
                [
                    name,
                    run,
                    done,
                    sum(v is None for v in values),
                    round(1 / reference, 2),
                    round(1 / min(v for v in values if v is not None), 2),
                    count if count is not None else "-",
                    f"{100 * fraction:.0f}%" if fraction is not None else "-",
                ]
            )
        print(f"{name}: needed {counts} of {[len(v) for v in runs]} trials", flush=True)
    summary = {
        "median_fraction": statistics.median(fractions) if fractions else None,
        "worst_fraction": max(fractions) if fractions else None,
        "within": WITHIN,
        "command": "python -m bench.schedule_search " + " ".join(forwarded),
    }
    report(
        "schedule_search",
        ["kernel", "run", "trials", "failed", "best x vs default (all runs)", "this run's best", "needed", "fraction"],
        rows,
        {**summary, "details": details},
        hidden=("details",),
    )


if __name__ == "__main__":
    main()
