"""Kernels for the tuner tests (a file of their own so inspect.getsource works in subprocesses too)."""

from __future__ import annotations

from autotune import Const, Global, f64, i64

COUNTS = Global(i64, shape=(4,))


def slow_default_sum(x: f64[:], REPEAT: Const) -> f64:
    """sum(x), computed REPEAT times: the default REPEAT=8 does 8x the work for exactly the same result.

    Each repeat feeds the next through ``t * 0.0``, which strict floating point cannot fold (``t`` might be
    NaN or infinite), so LLVM cannot delete the repeats; the result is the last repeat's sum, bit for bit
    the same for every REPEAT (validation's cancelling inputs allow no more than that).
    """
    t = 0.0
    for _ in range(REPEAT):
        s = 0.0
        for i in range(len(x)):
            s += x[i]
        t = t * 0.0 + s
    return t


def strided_sum(x: f64[:], STEP: Const) -> f64:
    """STEP=2 is faster and wrong: it skips every other element. It must never be published."""
    s = 0.0
    for i in range(0, len(x), STEP):
        s += x[i]
    return s


def scale_into(x: f64["n"], out: f64["n"]) -> None:
    for i in range(len(x)):
        out[i] = 2.0 * x[i] + 1.0


def count_signs(x: f64[:]) -> None:
    """Updates a host global: tuning must run it against scratch copies, never the real counts."""
    for i in range(len(x)):
        if x[i] > 0.0:
            COUNTS[0] += 1
        else:
            COUNTS[1] += 1


def dot(a: f64["n"], b: f64["n"], n: i64) -> f64:
    s = 0.0
    for i in range(n):
        s += a[i] * b[i]
    return s
