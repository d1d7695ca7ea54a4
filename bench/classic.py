"""Classic kernels: ten functions numba users write, compiled unchanged by numba and by autotune.

Why: the suite's kernels were written for autotune; these are the ones people bring from numba
(Mandelbrot, n-body, 2-D convolution, Floyd-Warshall, LU, prefix sum, k-means assignment, Black-Scholes,
CSR SpMV, a ``prange`` reduction), each written once in ``bench/_classic_kernels.py`` in the numba
documentation's style (complex numbers, row views, helper functions, arrays allocated and returned). The
target is that every one compiles with nothing changed but the decorator; one that does not is listed as
"needs: ...", and spellings that still fail are kept in comments there with their errors.

Contenders per kernel, all timed through their Python call path (``fn(*args)`` in a Python loop, so both
sides pay their per-call overhead; sizes make one call take roughly 0.1-5 ms):

- numba: ``numba.njit(f)`` (fastmath off) of the same code, with the helpers it calls ``njit``-ed too;
  ``parallel_sum`` is ``numba.njit(parallel=True)`` with ``prange`` bound to ``numba.prange``.
- autotune default: ``autotune.tunable(**SPACE)(f)`` never tuned, so its first variant runs.
- autotune tuned: another kernel over the same space after ``k.tune(trials, timeout)`` (the space allows
  fastmath; the tuner keeps a variant only if it matches the reference within its tolerance).

Checks: on small inputs numba and both autotune kernels are compared with the plain Python function; on
the benchmark inputs both autotune kernels are compared with numba (written arguments and returned values,
integer outputs exactly, floats to 1e-12, the tuned kernel to the tuner's tolerance). A fast-math tuned
variant can fail the first check on an integer output the tuner's inputs did not expose (a Mandelbrot
point on the set's edge escapes earlier, as under ``numba.njit(fastmath=True)``): it is reported, not
hidden. Kernels that update an argument in place and do not reach a fixed point (LU, n-body) get it
restored before each call in every contender (the copy is timed too, and reported). Contenders run
interleaved in rounds in a child process with a fresh ``AUTOTUNE_CACHE_DIR`` and no background tuner;
figures are medians over rounds, spread the interquartile range as a percentage of the median; ratios
are against numba in the same round set.

Run: python -m bench.classic [--quick] [--kernels NAME ...]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from autotune.demo_kernels import KNOBS

from . import _classic_kernels as kernels
from ._report import report
from .suite import Block, copies, describe, fastest_ns, interleaved_samples, isolated, python_block

Array = np.ndarray[Any, Any]
Inputs = tuple[Any, ...]

#: The knob space of both autotune kernels: the demo suite's.
SPACE: dict[str, list[Any]] = dict(KNOBS)
#: Added to ``parallel_sum``'s space (threads; the first value is the default variant: 2 threads, like
#: numba's ``parallel=True`` on this 2-core machine).
PARALLEL_VALUES: list[Any] = [2, 1]
STRICT = 1e-12  # float tolerance between strict (non-fastmath) compilations


@dataclass(frozen=True)
class Mode:
    """How long to measure and tune: ``--quick`` for a smoke run, the default for figures."""

    rounds: int
    round_seconds: float
    trials: int
    tune_seconds: float


FULL = Mode(rounds=15, round_seconds=0.05, trials=40, tune_seconds=60.0)
QUICK = Mode(rounds=5, round_seconds=0.01, trials=6, tune_seconds=4.0)


@dataclass(frozen=True)
class Case:
    """One classic kernel: its inputs at a size, which arguments it writes, what it keeps across calls.

    ``outputs`` index the arguments the kernel writes (the return value counts too, if any); ``restore``
    those it updates in place without reaching a fixed point, reset before every timed call.
    """

    func: Callable[..., Any]
    make_inputs: Callable[[int, np.random.Generator], Inputs]
    size: int
    small: int
    outputs: tuple[int, ...]
    restore: tuple[int, ...] = ()


def _mandelbrot(size: int, rng: np.random.Generator) -> Inputs:
    return -2.1, 0.7, -1.2, 1.2, size, size * 3 // 2, 200


def _nbody(size: int, rng: np.random.Generator) -> Inputs:
    pos = rng.normal(0.0, 1.0, (size, 3))
    vel = rng.normal(0.0, 0.1, (size, 3))
    return pos, vel, rng.uniform(0.5, 1.5, size) / size, 1e-3, 1e-2


def _conv2d(size: int, rng: np.random.Generator) -> Inputs:
    image = rng.uniform(-1.0, 1.0, (size, size + 7))
    kernel = rng.uniform(-1.0, 1.0, (5, 5))
    return image, kernel


def _floyd_warshall(size: int, rng: np.random.Generator) -> Inputs:
    dist = rng.uniform(1.0, 10.0, (size, size))
    dist[rng.random((size, size)) < 0.7] = math.inf
    np.fill_diagonal(dist, 0.0)
    return (dist,)


def _lu(size: int, rng: np.random.Generator) -> Inputs:
    a = rng.uniform(-1.0, 1.0, (size, size))
    a[np.diag_indices(size)] += size  # diagonally dominant: no pivoting needed
    return (a,)


def _prefix_sum(size: int, rng: np.random.Generator) -> Inputs:
    return (rng.uniform(-1.0, 1.0, size),)


def _kmeans(size: int, rng: np.random.Generator) -> Inputs:
    return rng.normal(0.0, 1.0, (size, 4)), rng.normal(0.0, 1.0, (8, 4))


def _black_scholes(size: int, rng: np.random.Generator) -> Inputs:
    spot = rng.uniform(50.0, 150.0, size)
    strike = rng.uniform(50.0, 150.0, size)
    years = rng.uniform(0.1, 2.0, size)
    return spot, strike, years, 0.02, 0.3


def _csr(size: int, rng: np.random.Generator) -> Inputs:
    counts = rng.integers(1, 20, size)
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    indices = rng.integers(0, size, int(indptr[-1])).astype(np.int32)
    return indptr, indices, rng.normal(0.0, 1.0, indices.size), rng.normal(0.0, 1.0, size)


def _parallel_sum(size: int, rng: np.random.Generator) -> Inputs:
    return (rng.normal(0.0, 1.0, size),)


#: Sizes: one numba call takes roughly 0.2-2 ms on the development machine (2-core Xeon VM).
CASES: dict[str, Case] = {
    "mandelbrot": Case(kernels.mandelbrot, _mandelbrot, 64, 6, outputs=()),
    "nbody": Case(kernels.nbody_step, _nbody, 256, 8, outputs=(0, 1), restore=(0, 1)),
    "conv2d": Case(kernels.conv2d, _conv2d, 160, 10, outputs=()),
    "floyd_warshall": Case(kernels.floyd_warshall, _floyd_warshall, 128, 10, outputs=(0,)),
    "lu": Case(kernels.lu_inplace, _lu, 160, 10, outputs=(0,), restore=(0,)),
    "prefix_sum": Case(kernels.prefix_sum, _prefix_sum, 200_000, 100, outputs=()),
    "kmeans_assign": Case(kernels.kmeans_assign, _kmeans, 20_000, 50, outputs=()),
    "black_scholes": Case(kernels.black_scholes, _black_scholes, 20_000, 50, outputs=()),
    "csr_matvec": Case(kernels.csr_matvec, _csr, 20_000, 30, outputs=()),
    "parallel_sum": Case(kernels.parallel_sum, _parallel_sum, 1_000_000, 100, outputs=()),
}


# ---- contenders -------------------------------------------------------------------------------------
def numba_function(func: Callable[..., Any]) -> tuple[Callable[..., Any], str]:
    """(``numba.njit`` of ``func``, how): a ``prange`` loop gets ``numba.prange`` and ``parallel=True``.

    Each function's code object is reused in a copy of its globals where ``prange`` is ``numba.prange`` and
    every plain function it calls is ``njit``-ed the same way (numba calls only jitted functions), so numba
    compiles the very source autotune compiles.
    """
    import numba

    parallel = "prange" in func.__code__.co_names
    jitted: dict[Callable[..., Any], Any] = {}

    def jit(f: types.FunctionType) -> Any:
        if f not in jitted:
            scope = dict(f.__globals__)
            for name in f.__code__.co_names:
                value = scope.get(name)
                if name == "prange":
                    scope[name] = numba.prange
                elif isinstance(value, types.FunctionType) and value.__module__ == func.__module__:
                    scope[name] = jit(value)
            rebound = types.FunctionType(f.__code__, scope, f.__name__, f.__defaults__, f.__closure__)
            jitted[f] = numba.njit(parallel=parallel)(rebound) if f is func else numba.njit(rebound)
        return jitted[f]

    assert isinstance(func, types.FunctionType)
    return jit(func), "njit(parallel=True), numba.prange" if parallel else "njit"


def space_of(func: Callable[..., Any]) -> dict[str, list[Any]]:
    """:data:`SPACE`, plus the ``parallel`` knob for a ``prange`` kernel when the compiler has it."""
    from autotune.lang import BUILTIN_KNOBS

    if "prange" in func.__code__.co_names and "parallel" in BUILTIN_KNOBS:
        return {"parallel": PARALLEL_VALUES, **SPACE}
    return dict(SPACE)


def restoring_block(fn: Callable[..., Any], args: Inputs, pristine: Inputs, restore: Sequence[int]) -> Block:
    """Like :func:`bench.suite.python_block`, restoring the ``restore`` arguments before every call."""
    if not restore:
        return python_block(fn, args)
    pairs = [(args[i], pristine[i]) for i in restore]

    def run(reps: int) -> float:
        start = time.perf_counter_ns()
        for _ in range(reps):
            for target, source in pairs:
                np.copyto(target, source)
            fn(*args)
        return float(time.perf_counter_ns() - start)

    return run


# ---- checks -----------------------------------------------------------------------------------------
def outputs(case: Case, fn: Callable[..., Any], pristine: Inputs) -> list[Any]:
    """The written arguments and the return value of ``fn`` on fresh copies of ``pristine``."""
    fresh = copies(pristine)
    result = fn(*fresh)
    return [fresh[i].copy() for i in case.outputs] + ([] if result is None else [result])


def mismatch(got: Sequence[Any], expected: Sequence[Any], rtol: float, atol: float) -> str:
    """'' when ``got`` matches ``expected`` (integers exactly, floats within tolerance), else what differs."""
    if len(got) != len(expected):
        return f"{len(got)} outputs, expected {len(expected)}"
    for k, (g, e) in enumerate(zip(got, expected, strict=True)):
        g, e = np.asarray(g), np.asarray(e)
        if g.shape != e.shape:
            return f"output {k}: shape {g.shape}, expected {e.shape}"
        if e.dtype.kind in "iub":
            if not np.array_equal(g, e):
                return f"output {k}: {int(np.count_nonzero(g != e))} of {e.size} integers differ"
        elif not np.allclose(g, e, rtol=rtol, atol=atol, equal_nan=True):
            scale = np.maximum(np.abs(e), atol)
            worst = float(np.nanmax(np.abs(g - e) / scale))
            return f"output {k}: relative error {worst:.2g} > {rtol:g}"
    return ""


# ---- the benchmark ----------------------------------------------------------------------------------
def _tuned_tolerance() -> tuple[float, float]:
    from autotune.config import current

    config = current()
    return config.rtol, config.atol


def check(
    case: Case, contenders: dict[str, Callable[..., Any]], pristine: Inputs, expected: Sequence[Any], small: Inputs
) -> str:
    """'ok', or what disagrees: every contender against Python on ``small``, autotune's against numba's
    ``expected`` outputs on ``pristine`` (the tuned kernel to the tuner's tolerance, it may use fastmath)."""
    rtol, atol = _tuned_tolerance()
    reference = outputs(case, case.func, small)
    problems: dict[str, str] = {}
    for label, fn in contenders.items():
        tolerance = (rtol, atol) if label == "tuned" else (STRICT, STRICT)
        problems[f"{label} vs python"] = mismatch(outputs(case, fn, small), reference, *tolerance)
        if label != "numba":
            problems[f"{label} vs numba"] = mismatch(outputs(case, fn, pristine), expected, *tolerance)
    failed = {label: text for label, text in problems.items() if text}
    return "ok" if not failed else "; ".join(f"{k}: {v}" for k, v in failed.items())


def run_case(name: str, case: Case, mode: Mode) -> dict[str, Any]:
    """Build, check and time the three contenders of one kernel; a dict of figures and notes."""
    import autotune
    from autotune.errors import AutotuneError

    rng = np.random.default_rng(2026)
    pristine = case.make_inputs(case.size, rng)
    small = case.make_inputs(case.small, np.random.default_rng(7))
    row: dict[str, Any] = {"kernel": name, "size": case.size}
    notes: list[str] = []
    if "prange" in case.func.__code__.co_names:
        notes.append(f"autotune: autotune.prange, parallel knob {PARALLEL_VALUES}")

    started = time.perf_counter()
    nb, how = numba_function(case.func)
    expected = outputs(case, nb, pristine)  # compiles numba outside the timing
    row["numba_compile_s"] = round(time.perf_counter() - started, 2)
    if how != "njit":
        notes.append(f"numba: {how}")
    space = space_of(case.func)
    try:
        default = autotune.tunable(name=f"bench.classic.{name}.default", space=autotune.Space(space))(case.func)
        tuned = autotune.tunable(name=f"bench.classic.{name}.tuned", space=autotune.Space(space))(case.func)
        default(*copies(pristine))
    except AutotuneError as error:
        row["needs"] = f"{type(error).__name__}: {error}"
        row["notes"] = notes
        return row

    return tune_and_time(row, case, mode, (nb, default, tuned), pristine, expected, small, notes, unit="us")


def tune_and_time(
    row: dict[str, Any],
    case: Case,
    mode: Mode,
    kernels: tuple[Callable[..., Any], Any, Any],
    pristine: Inputs,
    expected: list[Any],
    small: Inputs,
    notes: list[str],
    *,
    unit: str,
) -> dict[str, Any]:
    """Tune ``tuned``, check (numba, default, tuned) and time them in interleaved rounds into ``row``:
    medians, spreads and samples in ``unit`` ("us" or "ms"), and both ratios against numba."""
    nb, default, tuned = kernels
    scale = {"us": 1e3, "ms": 1e6}[unit]
    tuned(*copies(pristine))
    started = time.perf_counter()
    tuned.tune(mode.trials, mode.tune_seconds, progress=False)
    row["tune_s"] = round(time.perf_counter() - started, 1)
    row["trials"] = sum(e.kind in ("trial", "fail") for e in tuned.events.events())
    live: dict[str, Any] = dict(tuned.live or {})  # no key=: one binding
    row["tuned"] = live
    row["tuned_text"] = describe(live, default.space.default)

    contenders: dict[str, Callable[..., Any]] = {"numba": nb, "default": default, "tuned": tuned}
    row["checks"] = check(case, contenders, pristine, expected, small)
    if case.restore:
        work = copies(pristine)
        copy_ns = fastest_ns(restoring_block(lambda *args: None, work, pristine, case.restore))
        notes.append(f"times include restoring the input ({copy_ns / 1e3:.3g} us)")
    blocks = {label: restoring_block(fn, copies(pristine), pristine, case.restore) for label, fn in contenders.items()}
    for label, values in interleaved_samples(blocks, mode.rounds, mode.round_seconds).items():
        q1, med, q3 = statistics.quantiles(values, n=4) if len(values) > 1 else (values[0],) * 3
        row[f"{label}_{unit}"] = med / scale
        row[f"{label}_iqr_pct"] = 100.0 * (q3 - q1) / med
        row[f"{label}_samples_{unit}"] = [v / scale for v in values]
    row["default_ratio"] = row[f"default_{unit}"] / row[f"numba_{unit}"]
    row["tuned_ratio"] = row[f"tuned_{unit}"] / row[f"numba_{unit}"]
    row["notes"] = notes
    return row


def geomean(values: Sequence[float]) -> float:
    return math.exp(statistics.fmean(math.log(v) for v in values)) if values else math.nan


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.classic", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few rounds and a small tuning budget (smoke run)")
    parser.add_argument("--kernels", nargs="+", choices=list(CASES), metavar="NAME", help=", ".join(CASES))
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse(argv or ())
    forwarded = [*(["--quick"] if args.quick else []), *(["--kernels", *args.kernels] if args.kernels else [])]
    if isolated("classic", forwarded):
        return
    import numba

    mode = QUICK if args.quick else FULL
    results = []
    for name in args.kernels or list(CASES):
        row = run_case(name, CASES[name], mode)
        results.append(row)
        status = row.get("needs") or f"{row['checks']}; tuned {row['tuned_text']} in {row['trials']} trials"
        print(f"{name}: {status}", flush=True)

    headers = [
        "kernel",
        "numba us",
        "±%",
        "default us",
        "±%",
        "tuned us",
        "±%",
        "default/numba",
        "tuned/numba",
        "tuned variant",
        "checks",
    ]
    rows: list[list[Any]] = []
    for r in results:
        if "needs" in r:
            rows.append([r["kernel"], *[""] * 9, f"needs: {r['needs']}"])
            continue
        rows.append(
            [
                r["kernel"],
                r["numba_us"],
                round(r["numba_iqr_pct"], 1),
                r["default_us"],
                round(r["default_iqr_pct"], 1),
                r["tuned_us"],
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
    rows.append(["geomean", *[""] * 6, means["default/numba"], means["tuned/numba"], "", ""])
    notes = {r["kernel"]: r["notes"] for r in results if r.get("notes")}
    report(
        "classic_quick" if args.quick else "classic",
        headers,
        rows,
        {
            "mode": "quick" if args.quick else "full",
            "geomean": means,
            "compiles_unchanged": f"{len(timed)} of {len(results)}",
            "needs": {r["kernel"]: r["needs"] for r in results if "needs" in r},
            "notes": notes,
            "rounds": mode.rounds,
            "round_seconds": mode.round_seconds,
            "tuning": f"k.tune({mode.trials} trials, {mode.tune_seconds:g} s) per kernel",
            "numba": numba.__version__,
            "details": results,
        },
        hidden=("details",),
    )


if __name__ == "__main__":
    main(sys.argv[1:])
