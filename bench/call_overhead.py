"""Python call overhead: an autotune kernel vs numba's dispatcher vs cffi, for tiny kernels.

Kernels do almost no work (arrays of one element) so the figure is the cost of getting from Python into
native code and back: argument checks, GIL release, the trampoline, boxing the result.
Target: at most numba's overhead for (f64[:], f64[:], i64) and for a scalar-only kernel.

Run: python -m bench.call_overhead
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import autotune
from autotune import f64, i64

from ._report import report

CALLS = 200_000


@autotune.tunable
def dot(a: f64["n"], b: f64["n"], n: i64) -> f64:
    s = 0.0
    for i in range(n):
        s += a[i] * b[i]
    return s


@autotune.tunable
def axpb(x: f64, y: f64) -> f64:
    return 2.0 * x + y


def _per_call_ns(fn: Callable[..., Any], args: tuple[Any, ...]) -> float:
    def run() -> float:
        start = time.perf_counter()
        for _ in range(CALLS):
            fn(*args)
        return (time.perf_counter() - start) / CALLS * 1e9

    run()
    return statistics.median(run() for _ in range(9))


def _cffi_dot() -> Callable[..., Any]:
    """cffi ABI mode with ``from_buffer`` per call (the naive binding of a native kernel)."""
    import cffi

    ffi = cffi.FFI()
    ffi.cdef("int32_t f(double*, int64_t, double*, int64_t, int64_t, double*);")
    fn = ffi.cast("int32_t(*)(double*, int64_t, double*, int64_t, int64_t, double*)", dot.address())
    out = ffi.new("double*")

    def call(a: np.ndarray[Any, Any], b: np.ndarray[Any, Any], n: int) -> float:
        fn(ffi.from_buffer("double[]", a), len(a), ffi.from_buffer("double[]", b), len(b), n, out)
        return float(out[0])

    return call


def main() -> None:
    import numba

    @numba.njit
    def ndot(a: Any, b: Any, n: int) -> float:
        s = 0.0
        for i in range(n):
            s += a[i] * b[i]
        return s

    @numba.njit
    def naxpb(x: float, y: float) -> float:
        return 2.0 * x + y

    a = np.ones(1)
    arrays = (a, a, 1)
    scalars = (1.0, 2.0)
    for fn, args in ((dot, arrays), (ndot, arrays), (axpb, scalars), (naxpb, scalars)):
        fn(*args)  # compile and switch to the native entry
    cffi_dot = _cffi_dot()
    rows = []
    for label, pairs in (
        ("(f64[:], f64[:], i64) -> f64", [("autotune", dot), ("numba", ndot), ("cffi ABI + from_buffer", cffi_dot)]),
        ("(f64, f64) -> f64", [("autotune", axpb), ("numba", naxpb)]),
    ):
        args = arrays if "[:]" in label else scalars
        # Alternate the contenders so machine drift hits them alike; keep the median of 3 rounds.
        samples: dict[str, list[float]] = {name: [] for name, _ in pairs}
        for _ in range(3):
            for name, fn in pairs:
                samples[name].append(_per_call_ns(fn, args))
        numba_ns = statistics.median(samples["numba"])
        for name, _ in pairs:
            ns = statistics.median(samples[name])
            rows.append([label, name, ns, ns / numba_ns])
    met = all(row[3] <= 1.0 for row in rows if row[1] == "autotune")
    report(
        "call_overhead",
        ["signature", "caller", "ns/call", "ratio to numba"],
        rows,
        {"calls_per_sample": CALLS, "numba": numba.__version__, "target": "autotune <= numba", "met": met},
    )


if __name__ == "__main__":
    main()
