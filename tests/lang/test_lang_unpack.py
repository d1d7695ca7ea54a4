"""Tuple assignment: swaps and parallel updates of names and elements, in Python's order."""

from __future__ import annotations

import numpy as np
import pytest

import autotune
from autotune import f64, i64
from autotune.errors import KernelSyntaxError


@autotune.tunable
def fib(n: i64) -> i64:
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


@autotune.tunable
def reverse(x: f64["n"]) -> None:
    i, j = 0, x.shape[0] - 1
    while i < j:
        x[i], x[j] = x[j], x[i]
        i, j = i + 1, j - 1


@autotune.tunable
def rotate(x: f64["n"]) -> f64:
    """The right side is evaluated before any target is assigned, even when targets overlap it."""
    a, b, c = 1.0, 2.0, 3.0
    for v in x:
        a, b, c = b + v, c, a
    return a * 100 + b * 10 + c


def test_tuple_assignment_matches_python() -> None:
    assert [fib(n) for n in (0, 1, 2, 50, 92)] == [fib.py_func(n) for n in (0, 1, 2, 50, 92)]
    for n in (0, 1, 2, 7, 8):
        x, y = np.arange(float(n)), np.arange(float(n))
        reverse(x)
        reverse.py_func(y)
        assert np.array_equal(x, y)
    x = np.random.default_rng(0).random(9)
    assert rotate(x) == rotate.py_func(x)


@pytest.mark.parametrize(
    "line", ["a, b = 1.0, 2.0, 3.0", "a, *b = 1.0, 2.0", "(a, b), c = (1.0, 2.0), 3.0", "a, b = x"]
)
def test_other_unpacking_is_still_an_error(line: str) -> None:
    text = f"def f(x: f64['n']) -> None:\n    {line}\n"
    with pytest.raises(KernelSyntaxError, match=":2:"):
        autotune.lang.parse_kernel_source(text, namespace={"f64": f64})


SHAPES = """
def k(image: f64[:, :], kernel: f64[:, :]) -> f64:
    h, w = image.shape
    kh, kw = kernel.shape
    s = 0.0
    for i in range(h - kh + 1):
        for j in range(w - kw + 1):
            s += image[i, j] * kernel[0, 0]
    return s + h * 1000 + w
"""


def test_unpacking_an_array_parameters_shape() -> None:
    kernel = autotune.tunable(source=SHAPES)
    image, small = np.arange(35.0).reshape(5, 7), np.full((2, 3), 0.5)
    assert kernel(image, small) == kernel.py_func(image, small)


def test_unpacking_a_shape_into_the_wrong_number_of_names_is_refused() -> None:
    with pytest.raises(KernelSyntaxError, match="has 2 dimension"):
        autotune.tunable(source="def k(a: f64[:, :]) -> i64:\n    n, m, p = a.shape\n    return n\n")
