"""The tuner on a prange kernel: parallel variants are built, validated against the serial reference
within tolerance (their float sums are reordered) and timed like any other variant."""

from __future__ import annotations

import math

import numpy as np

import autotune
from autotune import f64, i64, prange


def psum(a: f64[:], out: f64[:]) -> f64:
    s = 0.0
    for i in prange(len(a)):
        t = math.sin(a[i]) * math.exp(-a[i])
        out[i] = t
        s += t
    return s


def test_parallel_variants_pass_validation_and_are_timed() -> None:
    kernel = autotune.tunable(psum)
    assert kernel.space.default["parallel"] == 1
    a = np.random.default_rng(3).random(5_000)
    out = np.zeros(a.size)
    want = psum(a, np.zeros(a.size))
    assert math.isclose(kernel(a, out), want, rel_tol=1e-12)
    kernel.tune(progress=False)
    trials = [e for e in kernel.history() if e["kind"] == "trial"]
    threaded = [e for e in trials if e["params"]["parallel"] >= 2]
    if max(kernel.space.values("parallel")) >= 2:  # a 1-CPU machine tunes serial only
        assert threaded, trials
        assert all(e["value"] is not None and not e["detail"] for e in threaded), threaded
    assert math.isclose(kernel(a, out), want, rel_tol=1e-9)
    assert np.allclose(out, np.sin(a) * np.exp(-a), rtol=1e-12)


def fsum(a: f64[:]) -> f64:
    s = 0.0
    for i in prange(len(a)):
        s += a[i]
    return s


def isum(a: i64[:]) -> i64:
    s = 0
    for i in prange(len(a)):
        s += a[i]
    return s


def test_reordered_float_sums_meet_the_cancellation_input_like_fastmath() -> None:
    """A parallel sum of one array's elements changes beyond tolerance on cancelling data, so (like a
    fast-math sum) it is refused; an integer sum is exact in any order and passes."""
    floats = autotune.tunable(parallel=[1, 2])(fsum)
    x = np.random.default_rng(4).random(50_000)
    assert math.isclose(floats(x), float(np.sum(x)), rel_tol=1e-9)
    floats.tune(progress=False)
    assert floats.live == {"parallel": 1}
    (fail,) = [e for e in floats.events.events() if e.kind == "fail"]
    assert "cancellation" in fail.detail
    ints = autotune.tunable(parallel=[1, 2])(isum)
    n = np.arange(50_000, dtype=np.int64)
    assert ints(n) == int(n.sum())
    ints.tune(progress=False)
    assert not [e for e in ints.events.events() if e.kind == "fail"]
    assert ints(n) == int(n.sum())
