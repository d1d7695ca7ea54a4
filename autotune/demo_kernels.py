"""The kernel suite: small numeric kernels written in the kernel language, each with a numpy reference.

Each :data:`SUITE` entry holds the kernel (a plain annotated function, runnable as Python), a numpy
reference computing the expected result, a generator of realistic inputs, default ``Const`` values and
the knob space to tune over (built-in knobs plus user constants). ``arguments`` interleaves inputs and
constants in parameter order; ``output`` picks the result to compare from (inputs after the call,
return value), since some kernels write an output array or a host :class:`Global` instead of returning.

Kernel annotations are the kernel language's types, not Python typing: ``@no_type_check`` keeps mypy
(and pyflakes) out of them; named dimensions such as ``f64["n"]`` are strings, not forward references.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple, no_type_check

import numpy as np
import numpy.typing as npt

from autotune.globals import Global
from autotune.types import Const, f64, i64

__all__ = [
    "HIST",
    "KNOBS",
    "NBINS",
    "SUITE",
    "SuiteEntry",
    "arguments",
    "dot",
    "histogram",
    "matmul",
    "saxpy",
    "softmax",
    "stencil5",
]

Array = npt.NDArray[Any]

NBINS = 64
#: Host-owned histogram counts: every variant of ``histogram`` adds into the same memory.
HIST = Global(i64, shape=(NBINS,), name="examples.hist")


# ---- kernels ------------------------------------------------------------------------------------
@no_type_check
def dot(a: f64["n"], b: f64["n"]) -> f64:
    """Dot product (a strict-FP reduction: forced vector widths reorder it)."""
    s = 0.0
    for i in range(len(a)):
        s += a[i] * b[i]
    return s


@no_type_check
def saxpy(alpha: f64, x: f64["n"], y: f64["n"]) -> None:
    """``y += alpha * x`` in place."""
    for i in range(len(x)):
        y[i] += alpha * x[i]


@no_type_check
def stencil5(a: f64["n", "m"], out: f64["n", "m"]) -> None:
    """5-point average of the interior of ``a`` into ``out`` (the border of ``out`` is left alone)."""
    n = a.shape[0]
    m = a.shape[1]
    for i in range(1, n - 1):
        for j in range(1, m - 1):
            out[i, j] = 0.2 * (a[i, j] + a[i - 1, j] + a[i + 1, j] + a[i, j - 1] + a[i, j + 1])


@no_type_check
def matmul(a: f64["n", "k"], b: f64["k", "m"], c: f64["n", "m"], BLOCK: Const) -> None:
    """``c = a @ b``, tiled by the user constant ``BLOCK`` (i-p-j order: unit stride innermost)."""
    n = a.shape[0]
    kk = a.shape[1]
    m = b.shape[1]
    for i in range(n):
        for j in range(m):
            c[i, j] = 0.0
    for i0 in range(0, n, BLOCK):
        for p0 in range(0, kk, BLOCK):
            for j0 in range(0, m, BLOCK):
                for i in range(i0, min(i0 + BLOCK, n)):
                    for p in range(p0, min(p0 + BLOCK, kk)):
                        aip = a[i, p]
                        for j in range(j0, min(j0 + BLOCK, m)):
                            c[i, j] += aip * b[p, j]


@no_type_check
def softmax(x: f64["n", "m"], out: f64["n", "m"]) -> None:
    """Row-wise numerically stable softmax of ``x`` into ``out``."""
    n = x.shape[0]
    m = x.shape[1]
    for i in range(n):
        top = -math.inf
        for j in range(m):
            top = max(top, x[i, j])
        total = 0.0
        for j in range(m):
            e = math.exp(x[i, j] - top)
            out[i, j] = e
            total += e
        inv = 1.0 / total
        for j in range(m):
            out[i, j] *= inv


@no_type_check
def histogram(x: f64[:], lo: f64, hi: f64) -> None:
    """Count ``x`` into :data:`HIST`: ``NBINS`` equal bins over ``[lo, hi)``; other values are ignored."""
    scale = NBINS / (hi - lo)
    for i in range(len(x)):
        v = x[i]
        if lo <= v < hi:
            b = int((v - lo) * scale)
            if b >= NBINS:
                b = NBINS - 1
            HIST[b] += 1


# ---- references and inputs ----------------------------------------------------------------------
def _dot_ref(a: Array, b: Array) -> float:
    return float(np.dot(a, b))


def _saxpy_ref(alpha: float, x: Array, y: Array) -> Array:
    return y + alpha * x


def _stencil_ref(a: Array, out: Array) -> Array:
    result = out.copy()
    result[1:-1, 1:-1] = 0.2 * (a[1:-1, 1:-1] + a[:-2, 1:-1] + a[2:, 1:-1] + a[1:-1, :-2] + a[1:-1, 2:])
    return result


def _matmul_ref(a: Array, b: Array, c: Array) -> Array:
    return a @ b


def _softmax_ref(x: Array, out: Array) -> Array:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    result: Array = e / e.sum(axis=1, keepdims=True)
    return result


def _histogram_ref(x: Array, lo: float, hi: float) -> Array:
    scale = NBINS / (hi - lo)
    inside = x[(x >= lo) & (x < hi)]
    bins = np.minimum(((inside - lo) * scale).astype(np.int64), NBINS - 1)
    counts: Array = np.bincount(bins, minlength=NBINS).astype(np.int64)
    return counts


def _dot_inputs(size: int, rng: np.random.Generator) -> tuple[Any, ...]:
    return rng.uniform(-1, 1, size), rng.uniform(-1, 1, size)


def _saxpy_inputs(size: int, rng: np.random.Generator) -> tuple[Any, ...]:
    return float(rng.uniform(-2, 2)), rng.uniform(-1, 1, size), rng.uniform(-1, 1, size)


def _stencil_inputs(size: int, rng: np.random.Generator) -> tuple[Any, ...]:
    return rng.uniform(-1, 1, (size, size + 3)), np.zeros((size, size + 3))


def _matmul_inputs(size: int, rng: np.random.Generator) -> tuple[Any, ...]:
    n, k, m = size, size + 5, max(size - 3, 1)
    return rng.uniform(-1, 1, (n, k)), rng.uniform(-1, 1, (k, m)), np.zeros((n, m))


def _softmax_inputs(size: int, rng: np.random.Generator) -> tuple[Any, ...]:
    return rng.normal(0, 3, (size, size + 7)), np.zeros((size, size + 7))


def _histogram_inputs(size: int, rng: np.random.Generator) -> tuple[Any, ...]:
    # A power-of-two range keeps NBINS / (hi - lo) exact, so fast-math cannot move a value across bins.
    return rng.normal(0, 1.5, size), -4.0, 4.0


def _returned(inputs: tuple[Any, ...], result: Any) -> Any:
    return result


def _argument(k: int) -> Callable[[tuple[Any, ...], Any], Any]:
    def pick(inputs: tuple[Any, ...], result: Any) -> Any:
        return inputs[k]

    return pick


def _hist_counts(inputs: tuple[Any, ...], result: Any) -> Any:
    return HIST.array.copy()


def _reset_hist() -> None:
    HIST.array[...] = 0


def _nothing() -> None:
    return None


class SuiteEntry(NamedTuple):
    """One suite kernel. The first five fields are (kernel, reference, make_inputs, consts, space)."""

    kernel: Callable[..., Any]
    reference: Callable[..., Any]
    make_inputs: Callable[[int, np.random.Generator], tuple[Any, ...]]
    consts: dict[str, Any]
    space: dict[str, list[Any]]
    output: Callable[[tuple[Any, ...], Any], Any] = _returned
    setup: Callable[[], None] = _nothing
    rtol: float = 1e-12
    atol: float = 1e-12


#: The built-in knobs every suite kernel is tuned over (the benchmarks use the same space).
KNOBS: dict[str, list[Any]] = {
    "vectorize": [0, 1, 2, 4, 8, 16],
    "interleave": [0, 1, 2, 4],
    "unroll": [0, 1, 2, 4, 8],
    "fastmath": [False, True],
    "prefer_vector_width": [0, 256, 512],
    "veclib": [False, True],
}

SUITE: dict[str, SuiteEntry] = {
    "dot": SuiteEntry(dot, _dot_ref, _dot_inputs, {}, dict(KNOBS), atol=1e-9),
    "saxpy": SuiteEntry(saxpy, _saxpy_ref, _saxpy_inputs, {}, dict(KNOBS), output=_argument(2)),
    "stencil5": SuiteEntry(stencil5, _stencil_ref, _stencil_inputs, {}, dict(KNOBS), output=_argument(1)),
    "matmul": SuiteEntry(
        matmul,
        _matmul_ref,
        _matmul_inputs,
        {"BLOCK": 32},
        {**KNOBS, "BLOCK": [16, 32, 64]},
        output=_argument(2),
        atol=1e-10,
    ),
    "softmax": SuiteEntry(softmax, _softmax_ref, _softmax_inputs, {}, dict(KNOBS), output=_argument(1)),
    "histogram": SuiteEntry(
        histogram,
        _histogram_ref,
        _histogram_inputs,
        {},
        dict(KNOBS),
        output=_hist_counts,
        setup=_reset_hist,
        rtol=0.0,
        atol=0.0,
    ),
}


def arguments(func: Callable[..., Any], inputs: tuple[Any, ...], consts: Mapping[str, Any]) -> tuple[Any, ...]:
    """The positional arguments of ``func``: ``inputs`` in order, ``Const`` parameters from ``consts``."""
    supply = iter(inputs)
    return tuple(consts[name] if name in consts else next(supply) for name in inspect.signature(func).parameters)
