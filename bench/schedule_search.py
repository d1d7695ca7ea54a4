"""How many trials the search needs on schedule spaces: trials until within 5 % of a long run's best.

Why: ``schedule=True`` multiplies the space (loop orders x tile sizes per loop x unroll-and-jam factors x
hoisting x the LLVM knobs: tens of millions of parameter sets for a triple loop); the search must still
find a good schedule in a budget a user will wait for.

Method, per kernel: ``--runs`` independent searches (fresh studies, the tuner's own sampler and seeds) of
``--trials`` trials each; together they are the long run. After each trial a run's incumbent is the
parameter set with the lowest value the tuner measured so far. The tuner's single measurements are
noisy (a few percent), so they only pick incumbents: every distinct incumbent of every run is then
built as a fixed variant and timed again, all together, in ``--rounds`` interleaved rounds (inputs
restored before every call, as in ``bench.polybench``). The reference is the fastest of them by median:
the best variant the long run found. A run "needs" the number of trials after which its incumbent's
median is within 5 % of the reference's ("-": never). The target is at most 15 % of the long run's
trials per run.

Run: python -m bench.schedule_search [--kernels gemm jacobi-2d ...] [--trials N] [--runs R] [--rounds K]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from autotune.demo_kernels import KNOBS

from ._report import report
from .classic import restoring_block
from .polybench import CASES
from .suite import copies, describe, interleaved_samples, isolated

WITHIN = 1.05
DEFAULT_KERNELS = ("gemm", "2mm", "syrk", "jacobi-2d")
ROUNDS = 9


def incumbents(history: Sequence[tuple[dict[str, Any], float | None]]) -> list[dict[str, Any]]:
    """After each trial, the parameters with the lowest value so far (the default's before any)."""
    best: tuple[float, dict[str, Any]] | None = None
    out: list[dict[str, Any]] = []
    for params, value in history:
        if value is not None and (best is None or value < best[0]):
            best = (value, params)
        out.append(best[1] if best is not None else {})
    return out


def needed(times: Sequence[float], reference: float) -> int | None:
    """1-based count of trials after which the incumbent's time is within :data:`WITHIN` of ``reference``."""
    return next((k for k, t in enumerate(times, 1) if t <= reference * WITHIN), None)


def one_run(name: str, run: int, trials: int) -> tuple[list[tuple[dict[str, Any], float | None]], dict[str, Any]]:
    """One search from scratch: every trial's parameters and value in the order the tuner ran them
    (value None: failed), and the space's default."""
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
    history = [
        (dict(e["params"]), e["value"] if e["kind"] == "trial" else None)
        for e in kernel.history()
        if e["kind"] in ("trial", "fail")
    ]
    return history, dict(kernel.space.default)


def time_variants(name: str, variants: Sequence[dict[str, Any]], rounds: int) -> list[float]:
    """Median ms per call of each fixed variant (a kernel whose space holds only those values), timed
    together in interleaved rounds."""
    import autotune

    case = CASES[name]
    pristine = case.make_inputs(case.size, np.random.default_rng(0))
    blocks: dict[str, Callable[[int], float]] = {}
    for k, params in enumerate(variants):
        space = autotune.Space({knob: [value] for knob, value in params.items()})
        fixed = autotune.tunable(name=f"bench.schedule_search.{name}.v{k}", space=space, schedule=True, noalias=True)(
            case.func
        )
        fixed(*copies(pristine))  # compile outside the timing
        blocks[str(k)] = restoring_block(fixed, copies(pristine), pristine, case.restore)
    samples = interleaved_samples(blocks, rounds, 0.05)
    return [statistics.median(samples[str(k)]) / 1e6 for k in range(len(variants))]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.schedule_search", description=__doc__.splitlines()[0])
    parser.add_argument("--kernels", nargs="+", choices=list(CASES), default=list(DEFAULT_KERNELS))
    parser.add_argument("--trials", type=int, default=120, help="trials per run (default 120)")
    parser.add_argument("--runs", type=int, default=2, help="independent runs per kernel (default 2)")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help=f"timing rounds (default {ROUNDS})")
    args = parser.parse_args(argv or ())
    forwarded = ["--kernels", *args.kernels, "--trials", str(args.trials), "--runs", str(args.runs)]
    forwarded += ["--rounds", str(args.rounds)]
    if isolated("schedule_search", forwarded):
        return
    import autotune

    autotune.configure(background=False, max_trials=args.trials, max_seconds=args.trials * 10.0, patience=args.trials)
    rows: list[list[Any]] = []
    details: dict[str, Any] = {}
    fractions: list[float] = []
    for name in args.kernels:
        runs = [one_run(name, run, args.trials) for run in range(args.runs)]
        default = runs[0][1]
        paths = [[dict(default, **p) for p in incumbents(history)] for history, _ in runs]
        distinct: list[dict[str, Any]] = []
        for params in (p for path in paths for p in path):
            if params not in distinct:
                distinct.append(params)
        times = time_variants(name, distinct, args.rounds)
        reference = min(times)
        best = distinct[times.index(reference)]
        indexes = [[distinct.index(p) for p in path] for path in paths]
        details[name] = {"variants": distinct, "ms": times, "runs": indexes}
        counts: list[int | None] = []
        for run, path in enumerate(paths):
            trajectory = [times[distinct.index(p)] for p in path]
            count = needed(trajectory, reference)
            counts.append(count)
            fraction = count / len(path) if count is not None else None
            if fraction is not None:
                fractions.append(fraction)
            rows.append(
                [
                    name,
                    run,
                    len(path),
                    sum(v is None for _, v in runs[run][0]),
                    round(times[0], 3),
                    round(trajectory[-1], 3),
                    round(reference, 3),
                    describe(best, default) if run == 0 else "",
                    count if count is not None else "-",
                    f"{100 * fraction:.0f}%" if fraction is not None else "-",
                ]
            )
        print(f"{name}: needed {counts} of {[len(p) for p in paths]} trials", flush=True)
    summary = {
        "median_fraction": statistics.median(fractions) if fractions else None,
        "worst_fraction": max(fractions) if len(fractions) == len(rows) and fractions else None,
        "within": WITHIN,
        "command": "python -m bench.schedule_search " + " ".join(forwarded),
    }
    report(
        "schedule_search",
        [
            "kernel",
            "run",
            "trials",
            "failed",
            "default ms",
            "run's best ms",
            "long run's best ms",
            "long run's best",
            "needed",
            "fraction",
        ],
        rows,
        {**summary, "details": details},
        hidden=("details",),
    )


if __name__ == "__main__":
    main(sys.argv[1:])
