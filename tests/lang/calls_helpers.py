"""Functions of the kernel language in a module of their own, called as ``calls_helpers.name(...)``."""

from __future__ import annotations

import math

from autotune import f64

OFFSET = 0.25


def norm(a: f64[:]) -> f64:
    s = 0.0
    for i in range(len(a)):
        s += a[i] * a[i]
    return math.sqrt(s) + OFFSET


def pair(x: f64) -> tuple[f64, f64]:
    return x + OFFSET, x - OFFSET
