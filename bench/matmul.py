"""Matmul: a plain triple loop, tuned by autotune, against single-threaded OpenBLAS (numpy's ``A @ B``).

Why: a matrix product is the loop nest with the best-known ceiling. The kernel here is the textbook
``for i: for j: for k: C[i, j] += A[i, k] * B[k, j]`` with no manual blocking, so its distance from BLAS
is what a loop-nest optimiser (tiling, interchange, unroll-and-jam; ``--schedule``) has to close.

Contenders at each size n (square n x n matrices, C zeroed before every call of the loop kernels; the
zeroing is timed too and its cost listed):

- OpenBLAS: numpy's ``A @ B`` with BLAS held to ONE thread. The measurement runs in a child process
  started with ``OPENBLAS_NUM_THREADS=1``, ``OMP_NUM_THREADS=1`` and ``MKL_NUM_THREADS=1`` set before
  numpy is imported; the child reports numpy's BLAS (``numpy.show_config``), the core OpenBLAS picked at
  run time and its thread count (threadpoolctl if installed, else OpenBLAS's own
  ``openblas_get_num_threads`` found in the loaded library), and those variables.
- numba: ``numba.njit`` of the same triple loop (fastmath off).
- autotune default: ``autotune.tunable(space=KNOBS)`` never tuned; autotune tuned: after ``k.tune(trials)``
  over the demo suite's knob space (``autotune.demo_kernels.KNOBS``). ``--schedule`` passes
  ``schedule=True, noalias=True`` to ``autotune.tunable`` (loop-nest schedule knobs; A, B and C are distinct).

Contenders run interleaved in rounds; figures are medians over rounds, spread the interquartile range
as a percentage of the median. GFLOP/s is ``2 n**3 / t``. The fraction of peak uses an assumed peak
double-precision rate of one core: ``1 core x GHz x 2 FMA units x (doubles per vector) x 2 flops per
FMA``, with GHz from ``cpu MHz`` in /proc/cpuinfo (the current, not the turbo, clock) and the vector
width from its flags (avx512f: 8 doubles, avx2 with fma: 4, else 2). It is an assumption, not a
measurement: cores that split 512-bit operations into two 256-bit halves (AMD Zen 4) or have one FMA
unit reach half of it, and a virtual machine's clock may differ from the field.

Checks: every contender's C against OpenBLAS's (the loop kernels in strict arithmetic to 1e-10
relative, the tuned kernel to the tuner's rtol/atol: it may use fastmath).

Run: python -m bench.matmul [--sizes 256 512] [--trials N] [--schedule]
"""

from __future__ import annotations

import argparse
import ctypes
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, no_type_check

import numpy as np

from autotune.demo_kernels import KNOBS
from autotune.types import f64

from ._report import report
from .classic import mismatch, restoring_block
from .suite import describe, fastest_ns, interleaved_samples, isolated, python_block

#: The knob space of both autotune kernels: the demo suite's.
SPACE: dict[str, list[Any]] = dict(KNOBS)
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
STRICT = 1e-10  # relative tolerance between strict loop kernels and BLAS (other summation order)
ROUNDS = 7
ROUND_SECONDS = 0.05
TRIALS = 30
TUNE_SECONDS = 120.0


@no_type_check
def matmul(A: f64["n", "p"], B: f64["p", "m"], C: f64["n", "m"]) -> None:
    """``C += A @ B`` as the textbook triple loop (i, j, then the sum over k innermost)."""
    n, p = A.shape
    m = B.shape[1]
    for i in range(n):
        for j in range(m):
            for k in range(p):
                C[i, j] += A[i, k] * B[k, j]


# ---- the machine ------------------------------------------------------------------------------------
def cpu_peak() -> dict[str, Any]:
    """The assumed peak double-precision rate of one core, from /proc/cpuinfo (see the module docstring)."""
    flags: set[str] = set()
    mhz = float("nan")
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                key, _, value = line.partition(":")
                if key.strip() == "flags" and not flags:
                    flags = set(value.split())
                elif key.strip() == "cpu MHz" and mhz != mhz:  # the first core's
                    mhz = float(value)
    except OSError:
        pass
    if "avx512f" in flags:
        isa, width = "avx512f", 8
    elif {"avx2", "fma"} <= flags:
        isa, width = "avx2+fma", 4
    else:
        isa, width = "sse2", 2
    fma_units = 2
    ghz = mhz / 1e3
    return {
        "isa": isa,
        "doubles_per_vector": width,
        "ghz": round(ghz, 3),
        "fma_units_assumed": fma_units,
        "cores_used": 1,
        "peak_gflops": 1 * ghz * fma_units * width * 2,
        "formula": f"1 core x {ghz:.3f} GHz x {fma_units} FMA units (assumed) x {width} doubles x 2 flops/FMA",
    }


def blas_info() -> dict[str, Any]:
    """numpy's BLAS: its build configuration, the core and thread count at run time, the env variables."""
    info: dict[str, Any] = {"env": {name: os.environ.get(name) for name in THREAD_VARIABLES}}
    try:
        config = np.show_config(mode="dicts")  # numpy >= 1.26
        blas = config["Build Dependencies"]["blas"]
        info["blas"] = f"{blas.get('name')} {blas.get('version')}"
        info["openblas_configuration"] = blas.get("openblas configuration", "")
    except Exception as error:  # older numpy: no mode=
        info["blas"] = f"unknown ({type(error).__name__}: {error})"
    try:
        from threadpoolctl import threadpool_info  # type: ignore[import-not-found]  # only if installed

        pools = [p for p in threadpool_info() if p.get("user_api") == "blas"]
        info["threadpoolctl"] = [
            {k: p.get(k) for k in ("internal_api", "version", "num_threads", "architecture")} for p in pools
        ]
        if pools:
            info["threads"] = pools[0].get("num_threads")
            info["core"] = pools[0].get("architecture")
    except ImportError:
        info.update(_openblas_runtime())
    return info


def _openblas_runtime() -> dict[str, Any]:
    """Thread count and core name from the OpenBLAS library numpy loaded (found in /proc/self/maps)."""
    try:
        with open("/proc/self/maps") as maps:
            paths = sorted({line.split()[-1] for line in maps if "openblas" in line.lower() and "/" in line})
    except OSError:
        paths = []
    if not paths:
        return {"threads": "unknown (no OpenBLAS library mapped)"}
    lib = ctypes.CDLL(paths[0])  # already loaded by numpy: the same handle, nothing new is loaded
    found: dict[str, Any] = {"library": os.path.basename(paths[0])}
    for prefix in ("scipy_openblas_", "openblas_"):
        for suffix in ("64_", "", "_64_"):
            threads = getattr(lib, f"{prefix}get_num_threads{suffix}", None)
            corename = getattr(lib, f"{prefix}get_corename{suffix}", None)
            if threads is not None:
                threads.restype = ctypes.c_int
                found["threads"] = int(threads())
                if corename is not None:
                    corename.restype = ctypes.c_char_p
                    found["core"] = (corename() or b"").decode()
                found["threads_from"] = f"{prefix}get_num_threads{suffix}()"
                return found
    found["threads"] = "unknown (no openblas_get_num_threads symbol)"
    return found


# ---- the benchmark ----------------------------------------------------------------------------------
def autotune_kernels(n: int, *, schedule: bool) -> tuple[Any, Any]:
    """(default, tuned) autotune kernels of :func:`matmul` over :data:`SPACE`."""
    import autotune

    extra: dict[str, Any] = {"schedule": True, "noalias": True} if schedule else {}
    suffix = ".schedule" if schedule else ""
    made = [
        autotune.tunable(name=f"bench.matmul.{label}.n{n}{suffix}", space=autotune.Space(SPACE), **extra)(matmul)
        for label in ("default", "tuned")
    ]
    return made[0], made[1]


def run_size(n: int, args: argparse.Namespace, peak: float) -> tuple[list[list[Any]], dict[str, Any]]:
    """Tune, check and time every contender at size ``n``: (table rows, details)."""
    import numba

    from autotune.config import current

    rng = np.random.default_rng(2026)
    A, B = rng.random((n, n)), rng.random((n, n))  # positive entries: relative errors stay meaningful
    zeros = np.zeros((n, n))
    expected = A @ B
    details: dict[str, Any] = {"n": n}

    def result(fn: Callable[..., Any]) -> Any:
        C = zeros.copy()
        fn(A, B, C)
        return C

    started = time.perf_counter()
    nb = numba.njit(matmul)
    loops: dict[str, Callable[..., Any]] = {"numba": nb}
    got: dict[str, Any] = {"numba": result(nb)}
    details["numba_compile_s"] = round(time.perf_counter() - started, 2)
    try:
        default, tuned = autotune_kernels(n, schedule=args.schedule)
        got["default"] = result(default)
    except Exception as error:  # AutotuneError, or a keyword the compiler lacks (schedule=)
        details["needs"] = f"{type(error).__name__}: {error}"
        default = tuned = None
    if tuned is not None:
        tuned(A, B, zeros.copy())
        started = time.perf_counter()
        tuned.tune(args.trials, TUNE_SECONDS, progress=False)
        details["tune_s"] = round(time.perf_counter() - started, 1)
        details["trials"] = sum(e.kind in ("trial", "fail") for e in tuned.events.events())
        live: dict[str, Any] = dict(tuned.live or {})  # type: ignore[arg-type]  # no key=: one binding
        details["tuned"] = live
        details["tuned_text"] = describe(live, default.space.default)
        got["tuned"] = result(tuned)
        loops.update(default=default, tuned=tuned)

    config = current()
    checks: dict[str, str] = {"OpenBLAS": "reference"}
    for label, C in got.items():
        tolerance = (config.rtol, config.atol) if label == "tuned" else (STRICT, 0.0)
        checks[label] = mismatch([C], [expected], *tolerance) or "ok"
    details["checks"] = checks

    blocks = {"OpenBLAS": python_block(lambda a, b: a @ b, (A, B))}
    for label, fn in loops.items():  # each loop kernel gets its own C, zeroed before every call
        blocks[label] = restoring_block(fn, (A, B, zeros.copy()), (A, B, zeros), (2,))
    details["zeroing_us"] = (
        fastest_ns(restoring_block(lambda *a: None, (A, B, zeros.copy()), (A, B, zeros), (2,))) / 1e3
    )
    medians: dict[str, float] = {}
    rows: list[list[Any]] = []
    samples = interleaved_samples(blocks, args.rounds, ROUND_SECONDS)
    for label, values in samples.items():
        q1, med, q3 = statistics.quantiles(values, n=4) if len(values) > 1 else (values[0],) * 3
        medians[label] = med
        details[f"{label}_samples_ms"] = [v / 1e6 for v in values]
        gflops = 2.0 * n**3 / med  # flops per ns = GFLOP/s
        variant = {"OpenBLAS": "A @ B, 1 thread", "numba": "njit", "default": "default"}.get(
            label, details.get("tuned_text", "")
        )
        rows.append(
            [
                n,
                label,
                variant,
                med / 1e6,
                round(100.0 * (q3 - q1) / med, 1),
                gflops,
                round(100.0 * gflops / peak, 1),
                0.0,
                0.0,
                checks[label],
            ]
        )
    for row in rows:
        row[7] = round(medians[row[1]] / medians["OpenBLAS"], 2)
        row[8] = round(medians[row[1]] / medians["numba"], 2)
    if "needs" in details:
        rows.append([n, "autotune", "", *[""] * 6, f"needs: {details['needs']}"])
    details["medians_ms"] = {k: v / 1e6 for k, v in medians.items()}
    if "tuned" in medians:
        details["tuned/OpenBLAS"] = medians["tuned"] / medians["OpenBLAS"]
    return rows, details


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.matmul", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=int, default=[256, 512], metavar="N", help="square sizes")
    parser.add_argument("--trials", type=int, default=TRIALS, help=f"tuning trials per size (default {TRIALS})")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help=f"timing rounds (default {ROUNDS})")
    parser.add_argument("--schedule", action="store_true", help="pass schedule=True to autotune.tunable")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse(argv or ())
    forwarded = [
        "--sizes",
        *map(str, args.sizes),
        "--trials",
        str(args.trials),
        "--rounds",
        str(args.rounds),
        *(["--schedule"] if args.schedule else []),
    ]
    if isolated("matmul", forwarded):  # the child starts with the BLAS thread variables set to 1
        return
    import numba

    blas = blas_info()
    machine = cpu_peak()
    rows: list[list[Any]] = []
    details = []
    for n in args.sizes:
        size_rows, size_details = run_size(n, args, machine["peak_gflops"])
        rows += size_rows
        details.append(size_details)
        print(
            f"n={n}: tuned {size_details.get('tuned_text', '-')} in {size_details.get('trials', 0)} trials", flush=True
        )
    report(
        "matmul_schedule" if args.schedule else "matmul",
        [
            "n",
            "contender",
            "variant",
            "ms/call",
            "±%",
            "GFLOP/s",
            "% peak",
            "/OpenBLAS",
            "/numba",
            "check",
        ],
        rows,
        {
            "blas": blas,
            "peak": machine,
            "peak_note": (
                "an assumption (see bench/matmul.py): Zen 4 splits 512-bit FMAs in two (half the peak at this "
                "clock); a turbo clock above 'cpu MHz' raises it"
            ),
            "tuned/OpenBLAS": {d["n"]: round(d["tuned/OpenBLAS"], 2) for d in details if "tuned/OpenBLAS" in d},
            "zeroing C (included in the loop kernels' times), us": {d["n"]: round(d["zeroing_us"], 1) for d in details},
            "schedule": args.schedule,
            "rounds": args.rounds,
            "tuning": f"k.tune({args.trials} trials, {TUNE_SECONDS:g} s) per size over demo_kernels.KNOBS",
            "numba": numba.__version__,
            "details": details,
        },
        hidden=("details",),
    )


if __name__ == "__main__":
    main(sys.argv[1:])
