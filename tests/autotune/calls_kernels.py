"""Kernels calling helpers, for the tuning tests (a module the tuning worker never imports)."""

from __future__ import annotations

from autotune import Global, f64, i64

HITS = Global(i64, shape=(2,))
WEIGHT = 0.5


def weigh(x):  # type: ignore[no-untyped-def]
    return x * WEIGHT


def tally(v: f64) -> None:
    if v < 0.0:
        HITS[0] += 1
    else:
        HITS[1] += 1


def positive(x: f64) -> f64:
    if x < -1.0:
        raise ValueError("below -1")
    return x


def weighted_sum(x: f64["n"]) -> f64:
    s = 0.0
    for i in range(len(x)):
        s += weigh(positive(x[i]))
        tally(x[i])
    return s
