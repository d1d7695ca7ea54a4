"""``range()`` at the extremes of int64: the compiled loop visits exactly what Python's does.

A probe kernel folds the first ``limit`` values it visits into a wrapping hash together with the count,
so loops with 2**63 iterations can be compared by their start. Two bugs lived here: the trip count
wrapped when ``stop - start`` neared 2**64 (``range(-2**63, 2**63 - 1, 2)`` ran 0 times), and ``k*step``
carried LLVM's no-signed-wrap flag although only ``start + k*step`` is sure to fit (``range(-2**63, 1,
2**62)`` missed 0 at opt 3).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autotune
from autotune import i64

LOW, HIGH = -(2**63), 2**63 - 1


@autotune.tunable(opt=[3])
def probe(start: i64, stop: i64, step: i64, limit: i64) -> i64:
    n = 0
    h = 0
    for i in range(start, stop, step):
        h = h * 31 + i
        n += 1
        if n >= limit:
            break
    return h * 1000003 + n


@autotune.tunable(opt=[3])
def probe_step_two(start: i64, stop: i64, limit: i64) -> i64:
    n = 0
    h = 0
    for i in range(start, stop, 2):
        h = h * 31 + i
        n += 1
        if n >= limit:
            break
    return h * 1000003 + n


def expected(start: int, stop: int, step: int, limit: int) -> int:
    n = h = 0
    for i in range(start, stop, step):
        h, n = h * 31 + i, n + 1
        if n >= limit:
            break
    value = (h * 1000003 + n) % 2**64
    return value - 2**64 if value >= 2**63 else value


@pytest.mark.parametrize(
    ("start", "stop", "step"),
    [
        (LOW, HIGH, 2),
        (LOW, 1, 2**62),
        (HIGH, LOW, -3),
        (LOW, HIGH, HIGH),
        (5, -5, LOW),
        (LOW, HIGH, 1),
        (HIGH, LOW, -1),
        (0, 10, 3),
    ],
)
def test_extreme_ranges_match_python(start: int, stop: int, step: int) -> None:
    for limit in (1, 3, 10):
        assert probe(start, stop, step, limit) == expected(start, stop, step, limit)


def test_a_constant_step_near_the_extremes_matches_python() -> None:
    for start, stop in ((LOW, HIGH), (LOW, LOW + 5), (HIGH - 4, HIGH), (-1, 1)):
        assert probe_step_two(start, stop, 7) == expected(start, stop, 2, 7)


extreme = st.one_of(st.integers(LOW, HIGH), st.sampled_from([LOW, LOW + 1, -1, 0, 1, HIGH - 1, HIGH]))


@settings(max_examples=200, deadline=None)
@given(extreme, extreme, extreme.filter(lambda s: s != 0), st.integers(1, 12))
def test_any_int64_range_matches_python(start: int, stop: int, step: int, limit: int) -> None:
    assert probe(start, stop, step, limit) == expected(start, stop, step, limit)


def test_step_zero_is_still_a_value_error() -> None:
    with pytest.raises(ValueError, match="must not be zero"):
        probe(0, 10, 0, 5)
    assert np.int64(probe(0, 3, 1, 10)) == expected(0, 3, 1, 10)
