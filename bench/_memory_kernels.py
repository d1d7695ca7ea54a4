"""A kernel for bench/host_memory.py: a dot product summed in chunks of a compile-time ``CHUNK``.

Every ``CHUNK`` gives the same result up to rounding, so a large space (built-in knobs x ``CHUNK``) has
almost only valid variants, and every trial goes the whole way (build, validate, measure).
"""

from __future__ import annotations

from typing import no_type_check

from autotune.types import Const, f64


@no_type_check
def chunked_dot(a: f64["n"], b: f64["n"], CHUNK: Const) -> f64:
    """``sum(a * b)``, accumulated per chunk of ``CHUNK`` elements."""
    s = 0.0
    n = len(a)
    for i0 in range(0, n, CHUNK):
        t = 0.0
        for i in range(i0, min(i0 + CHUNK, n)):
            t += a[i] * b[i]
        s += t
    return s
