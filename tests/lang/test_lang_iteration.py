"""``for v in a``, ``enumerate`` and ``zip`` over arrays and ranges, against the Python function."""

from __future__ import annotations

import numpy as np
import pytest

import autotune
from autotune import f64, i64
from autotune.errors import KernelSyntaxError


@autotune.tunable(vectorize=[0, 4])
def total(a: f64["n"]) -> f64:
    t = 0.0
    for v in a:
        t += v
    return t


@autotune.tunable
def weighted(a: f64["n"], b: f64["m"], out: f64["n"]) -> f64:
    t = 0.0
    for i, (x, y) in enumerate(zip(a, b, strict=False), 1):
        out[i - 1] = x * y + i
        t += x
    return t


@autotune.tunable
def stepped(a: f64["n"], start: i64, stop: i64) -> i64:
    c = 0
    for i, r in zip(range(start, stop, -3), a, strict=False):
        c = c + i * 100 + int(r)
    for j, k in enumerate(range(stop, start, 2), start=-5):
        c += j * k
    return c


@autotune.tunable
def sees_writes(a: f64["n"]) -> f64:
    """Each iteration reads a[k] when it gets there: earlier iterations' writes are seen, as in numpy."""
    t = 0.0
    for i, v in enumerate(a):
        if i + 1 < len(a):
            a[i + 1] += v
        if v > 100.0:
            break
        if v < 0.5:
            continue
        t += v
    return t


@autotune.tunable
def nested(a: f64["n"], b: f64["m"]) -> f64:
    t = 0.0
    for x in a:
        for y in b:
            t += x * y
    return t


@pytest.mark.parametrize("n", [0, 1, 3, 17, 1000])
def test_iteration_forms_match_python(n: int) -> None:
    rng = np.random.default_rng(n)
    a, b = rng.random(n), rng.random(max(n - 2, 0))
    assert total(a) == pytest.approx(total.py_func(a))
    out, expected = np.zeros(n), np.zeros(n)
    assert weighted(a, b, out) == weighted.py_func(a, b, expected)
    assert np.array_equal(out, expected)
    for start, stop in [(10, 0), (0, 10), (-7, -30), (5, 5), (2**40, 2**40 - 100)]:
        assert stepped(a, start, stop) == stepped.py_func(a, start, stop), (start, stop)
    c, d = a * 60, (a * 60).copy()
    assert sees_writes(c) == sees_writes.py_func(d) and np.array_equal(c, d)
    assert nested(a, b) == pytest.approx(nested.py_func(a, b))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("for i in enumerate(a):\n        pass", "unpack enumerate"),
        ("for x, y in zip(a):\n        pass", "unpack zip"),
        ("for x, y in zip(a, a, strict=n):\n        pass", "literal strict"),
        ("for x, y in zip(a, range(0, 9, n)):\n        pass", "constant non-zero step"),
        ("for x in a + 1.0:\n        pass", "for loops iterate over"),
    ],
)
def test_unsupported_iteration_is_a_syntax_error_at_its_line(body: str, message: str) -> None:
    text = f"def bad(a: f64['n'], n: i64, m: f64['n', 'k']) -> None:\n    {body}\n"
    with pytest.raises(KernelSyntaxError, match=message) as caught:
        autotune.lang.parse_kernel_source(text, namespace={"f64": f64, "i64": i64})
    assert ":2:" in str(caught.value)


def test_a_shadowed_zip_is_not_rewritten() -> None:
    text = "def f(a: f64['n']) -> f64:\n    zip = 1.0\n    t = 0.0\n"
    text += "    for v in a:\n        t += v * zip\n    return t\n"
    info = autotune.lang.parse_kernel_source(text, namespace={"f64": f64})
    assert info.name == "f"


def test_the_rebuilt_reference_iterates_like_the_kernel() -> None:
    """The tuning worker's Python reference is rebuilt from the rewritten tree: it must agree."""
    from autotune.lang import rebuild_function

    a, b = np.arange(6.0), np.arange(4.0)
    out, expected = np.zeros(6), np.zeros(6)
    assert isinstance(weighted.info, autotune.lang.KernelInfo)
    assert rebuild_function(weighted.info)(a, b, out) == weighted.py_func(a, b, expected)
    assert np.array_equal(out, expected)


@autotune.tunable
def strict_pairs(a: f64["n"], b: f64["m"]) -> f64:
    t = 0.0
    for x, y in zip(a, b, strict=True):
        t += x * y
    return t


def test_zip_strict_raises_value_error_on_unequal_lengths_like_python() -> None:
    a, b = np.arange(4.0), np.arange(3.0)
    assert strict_pairs(a, a) == strict_pairs.py_func(a, a)
    with pytest.raises(ValueError):
        strict_pairs.py_func(a, b)
    with pytest.raises(ValueError, match="different lengths"):
        strict_pairs(a, b)


START_EVALUATED_ONCE = {
    "enumerate": ("for j, v in enumerate(a, n):\n        n -= 1\n        s = s * 10 + j", 4, 3456),
    "zip range": ("for v, r in zip(a, range(n, 100)):\n        n += 10\n        s = s * 100 + r", 3, 30405),
}


@pytest.mark.parametrize("name", START_EVALUATED_ONCE)
def test_a_start_is_evaluated_once_before_the_loop_as_python_does(name: str) -> None:
    """Found by the differential fuzz: the rewritten loop read the start at every iteration."""
    body, size, expected = START_EVALUATED_ONCE[name]
    source = f"def k(a: f64[:], n: i64) -> i64:\n    s = 0\n    {body}\n    return s\n"
    kernel = autotune.tunable(source=source)
    assert kernel(np.zeros(size), 3) == kernel.py_func(np.zeros(size), 3) == expected
