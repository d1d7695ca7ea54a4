"""c128 (complex128 / Python complex): arithmetic, promotion with every real type, cmath and numpy
functions, parts and conjugates, arrays, and the operations Python refuses, each against the undecorated
function run with numpy complex128 scalars, Python complex numbers and arrays (close)."""

from __future__ import annotations

import cmath
import itertools
import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from autotune.errors import KernelSyntaxError
from autotune.globals import Global
from autotune.lang import Knobs, lower, parse_kernel_source
from autotune.lang._lattice import Ty, promote
from autotune.types import SCALAR_TYPES, ScalarType, c128, f32, f64, i8, i16, i32, i64, u8, u16, u32, u64
from tests.lang.runner import run_lowered

NAMESPACE: dict[str, Any] = {t.name: t for t in SCALAR_TYPES} | {"np": np, "math": math, "cmath": cmath}
VALUES = (1.5 - 2j, -0.25 + 4j, 0.6 + 0.8j, -3 + 0j, 1e-3j, 7.0 + 1e-9j)


def kernel(source: str) -> tuple[Callable[..., Any], Callable[..., Any]]:
    namespace = dict(NAMESPACE)
    exec(source, namespace)
    lowered = lower(parse_kernel_source(source, namespace=NAMESPACE), {}, Knobs())
    return namespace["k"], lambda *args: run_lowered(lowered, *args)


def close(want: Any, got: Any, rtol: float = 1e-13) -> bool:
    want, got = complex(want), complex(got)
    parts = ((want.real, got.real), (want.imag, got.imag))
    return all((math.isnan(w) and math.isnan(g)) or math.isclose(w, g, rel_tol=rtol, abs_tol=1e-15) for w, g in parts)


def test_arithmetic_matches_python_and_numpy() -> None:
    ops = ["a + b", "a - b", "a * b", "a / b", "a ** 3", "a ** -2", "a ** 0", "-a + 1j * 2", "+a - 2.5"]
    ops += ["a.conjugate() + complex(a.imag, b.real)", "complex(a.real) * b.imag", "(a * b) / (b - a + 3) + 1"]
    ops += ["np.complex128(a) + np.complex128(b.real)", "a if a == b else b * 1j", "a + b if a != 1j else 0j"]
    body = "".join(f"    if c == {n}:\n        return {op}\n" for n, op in enumerate(ops))
    python, compiled = kernel(f"def k(a: c128, b: c128, c: i64) -> c128:\n{body}    return a\n")
    for a, b in itertools.product(VALUES, repeat=2):
        for c in range(len(ops)):
            for convert in (complex, np.complex128):
                want = python(convert(a), convert(b), c)
                got = compiled(a, b, c)
                assert isinstance(got, complex) and close(want, got), (ops[c], a, b, want, got)


def test_powers() -> None:
    """Constant int exponents multiply (CPython's c_powi); any other exponent takes the polar form."""
    ops = ["a ** 101", "a ** n", "a ** x", "a ** b", "x ** b", "2 ** a", "a ** 0.5", "a ** -n"]
    body = "".join(f"    if c == {k}:\n        return {op}\n" for k, op in enumerate(ops))
    python, compiled = kernel(f"def k(a: c128, b: c128, n: i64, x: f64, c: i64) -> c128:\n{body}    return a\n")
    for a, b in itertools.product((0.6 + 0.8j, 1.01 - 0.02j, -2 + 0.5j), (0.5 - 1j, 3 + 0j, -1j)):
        for n, x in ((3, 1.5), (-2, -0.5), (0, 2.0), (150, 0.25)):
            for c in range(len(ops)):
                want = python(a, b, n, x, c)
                assert close(want, compiled(a, b, n, x, c), rtol=1e-11), (ops[c], a, b, n, x)
    _, power = kernel("def k(a: c128, b: c128) -> c128:\n    return a ** b\n")
    assert power(0j, 0j) == 1 and power(0j, 2 + 0j) == 0 and cmath.isnan(power(0j, -1 + 0j))


def test_division_by_zero_gives_numpy_infinities() -> None:
    python, compiled = kernel("def k(a: c128, b: c128) -> c128:\n    return a / b\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for a in (1 + 1j, 0j, -2 + 0j):
            want = python(np.complex128(a), np.complex128(0))
            assert close(want, compiled(a, 0j)), a  # Python complex raises ZeroDivisionError: numpy's IEEE instead


@pytest.mark.parametrize("t", (i8, i16, i32, i64, u8, u16, u32, u64, f32, f64, c128), ids=str)
def test_promotion_with_every_real_type(t: ScalarType) -> None:
    assert promote(Ty(c128), Ty(t)).scalar.dtype == np.result_type(np.complex128, t.dtype) == np.complex128
    python, compiled = kernel(
        f"def k(z: c128, x: {t.name}) -> c128:\n    return z * x - x / (z + 1) + (x + 2j) + (z == x) + (z != x)\n"
    )
    values = [1.5, -2.0] if t.kind in ("float", "complex") else [t.min, 3, t.max]
    for z, x in itertools.product(VALUES, values):
        want = python(np.complex128(z), t.dtype.type(x))
        assert type(want) is np.complex128
        assert close(want, compiled(z, x), rtol=1e-6 if t.bits == 32 and t.kind == "float" else 1e-13), (z, x)


@pytest.mark.parametrize(
    "name", ["exp", "log", "sqrt", "sin", "cos", "tan", "sinh", "cosh", "tanh", "phase", "isnan", "isinf", "isfinite"]
)
def test_cmath_functions(name: str) -> None:
    ret = {"phase": "f64", "isnan": "bool", "isinf": "bool", "isfinite": "bool"}.get(name, "c128")
    python, compiled = kernel(f"def k(z: c128) -> {ret}:\n    return cmath.{name}(z)\n")
    special = (0j, -4 + 0j, 1 + 0j, 400 + 1j, -400 - 1j, 1e-8 + 1e-8j, complex(math.inf, 1), complex(1, math.nan))
    for z in (*VALUES, *special):
        try:
            want = python(z)
        except (ValueError, OverflowError):
            continue  # cmath's domain errors: kernels give IEEE values
        if isinstance(want, complex) and not (cmath.isfinite(z)):
            continue  # infinities and NaNs follow the formulas, not C99 Annex G (documented)
        got = compiled(z)
        assert got == want if isinstance(want, bool) else close(want, got, rtol=1e-12), (name, z, want, got)


def test_rect_abs_and_numpy_functions() -> None:
    python, compiled = kernel("def k(r: f64, phi: f64) -> c128:\n    return cmath.rect(r, phi) + abs(r + phi * 1j)\n")
    for r, phi in ((2.0, 0.5), (1.0, -3.0), (0.0, 1.0)):
        assert close(python(r, phi), compiled(r, phi))
    names = ["exp", "log", "sqrt", "sin", "cos", "tan", "sinh", "cosh", "tanh", "abs", "absolute"]
    body = "".join(f"    if c == {n}:\n        return np.{name}(z)\n" for n, name in enumerate(names))
    python, compiled = kernel(f"def k(z: c128, c: i64) -> c128:\n{body}    return z\n")
    for z in VALUES:
        for c in range(len(names)):
            assert close(python(np.complex128(z), c), compiled(z, c), rtol=1e-12), (names[c], z)
    python, compiled = kernel("def k(z: c128) -> bool:\n    return np.isnan(z) or np.isinf(z) or not np.isfinite(z)\n")
    for z in (1j, complex(math.nan, 0), complex(0, math.inf)):
        assert compiled(z) == bool(python(np.complex128(z)))


def test_parts_of_real_numbers_and_truth() -> None:
    python, compiled = kernel(
        "def k(x: f64, n: i64, z: c128) -> f64:\n"
        "    return x.real + x.imag + n.real * 10 + n.conjugate() + float(bool(z)) + z.imag * (1 if z else 2)\n"
    )
    for x, n, z in ((1.5, 3, 0j), (-2.0, -1, 2j), (0.0, 0, complex(math.nan, 0))):
        want, got = python(x, n, z), compiled(x, n, z)
        assert want == got or (math.isnan(want) and math.isnan(got))


def test_arrays_and_locals() -> None:
    python, compiled = kernel(
        "def k(a: c128[:], x: f64[:]) -> c128:\n"
        "    s = 0j\n"
        "    t: c128 = 1\n"
        "    for i in range(len(a)):\n"
        "        s += a[i] * x[i]\n"
        "        t *= a[i]\n"
        "        a[i] = a[i] * 2 + abs(a[i])\n"
        "    return s + t\n"
    )
    rng = np.random.default_rng(1)
    a = rng.normal(size=9) + 1j * rng.normal(size=9)
    x = rng.normal(size=9)
    b = a.copy()
    assert close(python(b, x), compiled(a, x))
    np.testing.assert_allclose(a, b, rtol=1e-13)
    assert compiled(np.zeros(0, np.complex128), np.zeros(0)) == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("return z < 1j", "not ordered"),
        ("return z // 2", "complex numbers have no //"),
        ("return z % 2", "no %"),
        ("return math.sqrt(z)", "use cmath.sqrt"),
        ("return float(z)", "TypeError"),
        ("return int(z)", "TypeError"),
        ("return min(z, 1j)", "TypeError"),
        ("return ~z", "unary ~"),
        ("return z & 1", "no &"),
        ("return complex(z, 1)", "real numbers"),
        ("return cmath.polar(z)", "not supported"),
        ("return np.arctan2(z, z)", "complex"),
        ("return np.float64(z)", "imaginary part"),
        ("return np.complex128(z.real) + np.complex128(n) + np.sign(z)", "complex"),
        ("a[0] = z\n    return z", "cannot store a complex"),
        ("a[0] += z\n    return z", "cannot store a complex"),
    ],
)
def test_what_python_refuses_is_a_compile_error(body: str, message: str) -> None:
    with pytest.raises(KernelSyntaxError, match=message):
        kernel(f"def k(z: c128, n: i64, a: f64[:]) -> c128:\n    {body}\n")


def test_returning_or_annotating_a_complex_as_real_is_refused() -> None:
    with pytest.raises(KernelSyntaxError, match="declared to return"):
        kernel("def k(z: c128) -> f64:\n    return z\n")
    with pytest.raises(KernelSyntaxError, match="declared f64"):
        kernel("def k(z: c128) -> f64:\n    x: f64 = 0.0\n    x = z\n    return x\n")
    _, compiled = kernel("def k(z: complex) -> complex:\n    return z * 2\n")  # Python's own annotation
    assert compiled(1 + 1j) == 2 + 2j


def test_a_complex_global_is_shared_host_memory() -> None:
    table = Global(np.complex128, shape=3, value=[1j, 2, -1 - 1j])
    namespace = dict(NAMESPACE, table=table)
    source = "def k(z: c128) -> c128:\n    table[1] += z\n    return table[0] * table[1] + table[2]\n"
    lowered = lower(parse_kernel_source(source, namespace=namespace), {}, Knobs())
    assert run_lowered(lowered, 1 + 1j) == 1j * (3 + 1j) + (-1 - 1j)
    assert table[1] == 3 + 1j
