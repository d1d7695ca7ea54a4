"""PolyBench: fifteen PolyBench/C 4.2 loop nests, compiled unchanged by numba and by autotune.

Why: the classic kernels are what numba users write; PolyBench's are the loop nests compilers are judged
on (matrix products in their textbook loop order, stencils with a time loop, in-place factorisations).
Each is ported once, as plain ``for ... in range`` loops in PolyBench's loop order with its in-place
updates and temporaries, in ``bench/_polybench_kernels.py``; none is blocked or rewritten with numpy.
What a loop-nest optimiser (tiling, interchange, unroll-and-jam) could gain is left in the code.

Contenders per kernel, timed through their Python call path (``fn(*args)`` in a Python loop; sizes are
near PolyBench's MEDIUM, LARGE for the matrix-vector kernels, so one numba call takes roughly 2-50 ms):

- numba: ``numba.njit(f)`` of the same function (fastmath off).
- autotune default: ``autotune.tunable(space=KNOBS)(f)`` never tuned, so its first variant runs.
- autotune tuned: another kernel over the same space (the demo suite's ``autotune.demo_kernels.KNOBS``)
  after ``k.tune(trials, timeout)``; the tuner keeps a variant only if it matches the reference within its
  tolerance (the space allows fastmath).

``--schedule`` passes ``schedule=True, noalias=True`` to ``autotune.tunable(...)`` for both autotune
kernels (loop-nest schedule knobs; the harness passes distinct arrays); without the flag nothing is
passed. A compiler without the keyword makes every kernel a "needs: ..." row.

Checks (``bench.classic.check``): on small inputs every contender against the plain Python function; on
the benchmark inputs both autotune kernels against numba's outputs (written arguments; floats to 1e-12,
the tuned kernel to the tuner's rtol/atol). Arguments a kernel updates in place from their own values
(gemm's ``C``, lu's ``A``, the stencils' grids, ...) are restored before every call in every contender;
the copy is timed too and its cost is listed. Contenders run interleaved in rounds in a child process
with a fresh ``AUTOTUNE_CACHE_DIR`` and no background tuner; figures are medians over rounds, spread is
the interquartile range as a percentage of the median, ratios are against numba in the same rounds, and
the suite's figure is the geometric mean of tuned/numba (below 1: faster than numba).

Run: python -m bench.polybench [--quick] [--kernels NAME ...] [--trials N] [--schedule]
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from autotune.demo_kernels import KNOBS

from . import _polybench_kernels as kernels
from ._report import report
from .classic import FULL, QUICK, Case, Inputs, Mode, geomean, numba_function, outputs, tune_and_time
from .suite import copies, isolated

#: The knob space of both autotune kernels: the demo suite's.
SPACE: dict[str, list[Any]] = dict(KNOBS)
ALPHA, BETA = 1.5, 1.2  # PolyBench's scalars


def _uniform(rng: np.random.Generator, *shape: int) -> Any:
    return rng.uniform(-1.0, 1.0, shape)


# ---- inputs: one size n, PolyBench's extents in proportion --------------------------------------------
def _gemm(n: int, rng: np.random.Generator) -> Inputs:
    ni, nj, nk = n, n * 11 // 10, n * 12 // 10  # MEDIUM: 200, 220, 240 (here n 256)
    return ALPHA, BETA, _uniform(rng, ni, nj), _uniform(rng, ni, nk), _uniform(rng, nk, nj)


def _two_mm(n: int, rng: np.random.Generator) -> Inputs:
    ni, nj, nk, nl = n, n + n // 18, n + n // 6, n + 2 * n // 9  # MEDIUM: 180, 190, 210, 220
    tmp = np.zeros((ni, nj))
    A, B, C, D = _uniform(rng, ni, nk), _uniform(rng, nk, nj), _uniform(rng, nj, nl), _uniform(rng, ni, nl)
    return ALPHA, BETA, tmp, A, B, C, D


def _syrk(n: int, rng: np.random.Generator) -> Inputs:
    m = n * 5 // 6  # MEDIUM: N 240, M 200
    return ALPHA, BETA, _uniform(rng, n, n), _uniform(rng, n, m)


def _trmm(n: int, rng: np.random.Generator) -> Inputs:
    m = n * 5 // 6  # MEDIUM: M 200, N 240
    return ALPHA, _uniform(rng, m, m), _uniform(rng, m, n)


def _gemver(n: int, rng: np.random.Generator) -> Inputs:
    vectors = [_uniform(rng, n) for _ in range(8)]  # u1 v1 u2 v2 w x y z
    return ALPHA, BETA, _uniform(rng, n, n), *vectors


def _atax(n: int, rng: np.random.Generator) -> Inputs:
    m = n * 19 // 21  # LARGE: M 1900, N 2100
    return _uniform(rng, m, n), _uniform(rng, n), np.zeros(n), np.zeros(m)


def _bicg(n: int, rng: np.random.Generator) -> Inputs:
    m = n * 19 // 21  # LARGE: M 1900, N 2100; A is N x M
    return _uniform(rng, n, m), np.zeros(m), np.zeros(n), _uniform(rng, m), _uniform(rng, n)


def _mvt(n: int, rng: np.random.Generator) -> Inputs:
    return _uniform(rng, n), _uniform(rng, n), _uniform(rng, n), _uniform(rng, n), _uniform(rng, n, n)


def _doitgen(n: int, rng: np.random.Generator) -> Inputs:
    nr, nq = n * 5 // 14, n * 4 // 14  # MEDIUM: NR 50, NQ 40, NP 140
    return _uniform(rng, nr, nq, n), _uniform(rng, n, n), np.zeros(n)


def _covariance(n: int, rng: np.random.Generator) -> Inputs:
    m = n * 12 // 13  # MEDIUM: N 260 observations, M 240 variables
    return float(n), rng.normal(1.0, 1.0, (n, m)), np.zeros((m, m)), np.zeros(m)


def _lu(n: int, rng: np.random.Generator) -> Inputs:
    a = _uniform(rng, n, n)
    a[np.diag_indices(n)] += n  # diagonally dominant: no pivoting needed (PolyBench: A = B*B**T)
    return (a,)


def _floyd_warshall(n: int, rng: np.random.Generator) -> Inputs:
    path = rng.uniform(1.0, 10.0, (n, n))
    path[rng.random((n, n)) < 0.7] = math.inf
    np.fill_diagonal(path, 0.0)
    return (path,)


def _jacobi_2d(n: int, rng: np.random.Generator) -> Inputs:
    return max(2, 2 * n // 5), _uniform(rng, n, n), _uniform(rng, n, n)  # MEDIUM: N 250, TSTEPS 100


def _seidel_2d(n: int, rng: np.random.Generator) -> Inputs:
    return max(2, n // 20), _uniform(rng, n, n)  # MEDIUM: N 400 (TSTEPS 100: here 20)


def _heat_3d(n: int, rng: np.random.Generator) -> Inputs:
    return max(2, 5 * n // 2), _uniform(rng, n, n, n), _uniform(rng, n, n, n)  # MEDIUM: N 40, TSTEPS 100


#: PolyBench's names. ``outputs`` index the arguments each kernel writes; ``restore`` those it updates
#: from their own earlier values (temporaries and outputs it overwrites completely need no restoring).
#: Sizes: near PolyBench MEDIUM (LARGE for the matrix-vector kernels; gemm n 256; floyd-warshall N 300 of 500;
#: seidel-2d 20 time steps of 100).
CASES: dict[str, Case] = {
    "gemm": Case(kernels.gemm, _gemm, 256, 7, outputs=(2,), restore=(2,)),
    "2mm": Case(kernels.two_mm, _two_mm, 180, 7, outputs=(2, 6), restore=(6,)),
    "syrk": Case(kernels.syrk, _syrk, 240, 8, outputs=(2,), restore=(2,)),
    "trmm": Case(kernels.trmm, _trmm, 240, 8, outputs=(2,), restore=(2,)),
    "gemver": Case(kernels.gemver, _gemver, 2000, 9, outputs=(2, 7, 8), restore=(2, 7, 8)),
    "atax": Case(kernels.atax, _atax, 2100, 9, outputs=(2, 3)),
    "bicg": Case(kernels.bicg, _bicg, 2100, 9, outputs=(1, 2)),
    "mvt": Case(kernels.mvt, _mvt, 2000, 9, outputs=(0, 1), restore=(0, 1)),
    "doitgen": Case(kernels.doitgen, _doitgen, 140, 14, outputs=(0, 2), restore=(0,)),
    "covariance": Case(kernels.covariance, _covariance, 260, 9, outputs=(1, 2, 3), restore=(1,)),
    "lu": Case(kernels.lu, _lu, 400, 9, outputs=(0,), restore=(0,)),
    "floyd-warshall": Case(kernels.floyd_warshall, _floyd_warshall, 300, 9, outputs=(0,), restore=(0,)),
    "jacobi-2d": Case(kernels.jacobi_2d, _jacobi_2d, 250, 9, outputs=(1, 2), restore=(1,)),
    "seidel-2d": Case(kernels.seidel_2d, _seidel_2d, 400, 9, outputs=(1,), restore=(1,)),
    "heat-3d": Case(kernels.heat_3d, _heat_3d, 40, 6, outputs=(1, 2), restore=(1,)),
}


# ---- the benchmark ----------------------------------------------------------------------------------
def autotune_kernels(name: str, case: Case, *, schedule: bool) -> tuple[Any, Any]:
    """(default, tuned): two autotune kernels of ``case.func`` over :data:`SPACE` (``schedule=True`` passed
    to ``autotune.tunable`` only when asked; the keyword belongs to the loop-nest schedule knobs)."""
    import autotune

    extra: dict[str, Any] = {"schedule": True, "noalias": True} if schedule else {}
    suffix = ".schedule" if schedule else ""
    made = [
        autotune.tunable(name=f"bench.polybench.{name}.{label}{suffix}", space=autotune.Space(SPACE), **extra)(
            case.func
        )
        for label in ("default", "tuned")
    ]
    return made[0], made[1]


def run_case(name: str, case: Case, mode: Mode, *, schedule: bool = False) -> dict[str, Any]:
    """Build, check and time the three contenders of one kernel; a dict of figures and notes."""
    rng = np.random.default_rng(2026)
    pristine = case.make_inputs(case.size, rng)
    small = case.make_inputs(case.small, np.random.default_rng(7))
    row: dict[str, Any] = {"kernel": name, "size": case.size}
    notes: list[str] = []

    started = time.perf_counter()
    nb, _ = numba_function(case.func)
    expected = outputs(case, nb, pristine)  # compiles numba outside the timing
    row["numba_compile_s"] = round(time.perf_counter() - started, 2)
    try:
        default, tuned = autotune_kernels(name, case, schedule=schedule)
        started = time.perf_counter()
        default(*copies(pristine))
        row["autotune_compile_s"] = round(time.perf_counter() - started, 2)
    except Exception as error:  # AutotuneError, or a TypeError for a keyword the compiler lacks (schedule=)
        row["needs"] = f"{type(error).__name__}: {error}"
        row["notes"] = notes
        return row

    return tune_and_time(row, case, mode, (nb, default, tuned), pristine, expected, small, notes, unit="ms")


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.polybench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few rounds and a small tuning budget (smoke run)")
    parser.add_argument("--kernels", nargs="+", choices=list(CASES), metavar="NAME", help=", ".join(CASES))
    parser.add_argument("--trials", type=int, help="tuning trials per kernel (default: 40, --quick 6)")
    parser.add_argument("--schedule", action="store_true", help="pass schedule=True to autotune.tunable")
    return parser.parse_args(argv)


def forwarded(args: argparse.Namespace) -> list[str]:
    """The command line of the child process, rebuilt from the parsed ``args``."""
    return [
        *(["--quick"] if args.quick else []),
        *(["--kernels", *args.kernels] if args.kernels else []),
        *(["--trials", str(args.trials)] if args.trials is not None else []),
        *(["--schedule"] if args.schedule else []),
    ]


def main(argv: Sequence[str] | None = None) -> None:
    args = parse(argv or ())
    if isolated("polybench", forwarded(args)):
        return
    import numba

    mode = QUICK if args.quick else FULL
    if args.trials is not None:
        mode = dataclasses.replace(mode, trials=args.trials)
    results = []
    for name in args.kernels or list(CASES):
        row = run_case(name, CASES[name], mode, schedule=args.schedule)
        results.append(row)
        status = row.get("needs") or f"{row['checks']}; tuned {row['tuned_text']} in {row['trials']} trials"
        print(f"{name}: {status}", flush=True)

    headers = [
        "kernel",
        "size",
        "numba ms",
        "±%",
        "default ms",
        "±%",
        "tuned ms",
        "±%",
        "default/numba",
        "tuned/numba",
        "tuned variant",
        "checks",
    ]
    rows: list[list[Any]] = []
    for r in results:
        if "needs" in r:
            rows.append([r["kernel"], r["size"], *[""] * 9, f"needs: {r['needs']}"])
            continue
        rows.append(
            [
                r["kernel"],
                r["size"],
                r["numba_ms"],
                round(r["numba_iqr_pct"], 1),
                r["default_ms"],
                round(r["default_iqr_pct"], 1),
                r["tuned_ms"],
                round(r["tuned_iqr_pct"], 1),
                round(r["default_ratio"], 2),
                round(r["tuned_ratio"], 2),
                r["tuned_text"],
                r["checks"],
            ]
        )
    timed = [r for r in results if "needs" not in r]
    means = {
        "default/numba": round(geomean([r["default_ratio"] for r in timed]), 3),
        "tuned/numba": round(geomean([r["tuned_ratio"] for r in timed]), 3),
    }
    rows.append(["geomean", "", *[""] * 6, means["default/numba"], means["tuned/numba"], "", ""])
    name = "polybench" + ("_schedule" if args.schedule else "") + ("_quick" if args.quick else "")
    report(
        name,
        headers,
        rows,
        {
            "mode": "quick" if args.quick else "full",
            "schedule": args.schedule,
            "geomean": means,
            "compiles_unchanged": f"{len(timed)} of {len(results)}",
            "checks_failed": [r["kernel"] for r in timed if r["checks"] != "ok"],
            "needs": {r["kernel"]: r["needs"] for r in results if "needs" in r},
            "notes": {r["kernel"]: r["notes"] for r in results if r.get("notes")},
            "rounds": mode.rounds,
            "round_seconds": mode.round_seconds,
            "tuning": f"k.tune({mode.trials} trials, {mode.tune_seconds:g} s) per kernel over demo_kernels.KNOBS",
            "numba": numba.__version__,
            "details": results,
        },
        hidden=("details",),
    )


if __name__ == "__main__":
    main(sys.argv[1:])
