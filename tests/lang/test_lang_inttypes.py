"""Integer types i8/i16/u8/u16/u32/u64 next to i32/i64: every operator, the mixed promotion table,
literals out of range, conversions, numpy functions and arrays, each against the undecorated function run
with numpy scalars and arrays of those types (exact for ints, close for floats)."""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from autotune.errors import KernelSyntaxError
from autotune.lang import Knobs, lower, parse_kernel_source
from autotune.lang._lattice import Ty, promote
from autotune.types import SCALAR_TYPES, ScalarType, f32, f64, i8, i16, i32, i64, u8, u16, u32, u64
from tests.lang.runner import run_lowered

INTS = (i8, i16, i32, i64, u8, u16, u32, u64)
NUMBERS = (*INTS, f32, f64)
NAMESPACE: dict[str, Any] = {t.name: t for t in SCALAR_TYPES} | {"np": np, "math": math}
OPS = ("+", "-", "*", "//", "%", "&", "|", "^", "<<", ">>", "**", "<", "<=", "==", "!=", ">", ">=")


def kernel(source: str) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """(the Python function, the compiled kernel) of ``source``."""
    namespace = dict(NAMESPACE)
    exec(source, namespace)
    lowered = lower(parse_kernel_source(source, namespace=NAMESPACE), {}, Knobs())
    return namespace["k"], lambda *args: run_lowered(lowered, *args)


def numpy_outcome(func: Callable[..., Any], *args: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return func(*args)
        except (ValueError, ZeroDivisionError) as exc:
            return type(exc)


def kernel_outcome(func: Callable[..., Any], *args: Any) -> Any:
    try:
        return func(*args)
    except (ValueError, ZeroDivisionError) as exc:
        return type(exc)


def interesting(t: ScalarType) -> list[int]:
    return sorted({t.min, t.min + 1, min(t.max, max(t.min, -1)), 0, 1, 2, 7, t.max - 1, t.max})


@pytest.mark.parametrize("t", INTS, ids=str)
def test_every_operator_wraps_like_numpy(t: ScalarType) -> None:
    """u8 255 + 1 == 0, i8 -128 // -1 == -128 (numpy wraps too), shifts past the width, powers that wrap."""
    body = "".join(f"    if c == {n}:\n        return a {op} b\n" for n, op in enumerate(OPS))
    python, compiled = kernel(f"def k(a: {t.name}, b: {t.name}, c: i64) -> {t.name}:\n{body}    return a\n")
    for a, b in itertools.product(interesting(t), repeat=2):
        for n, op in enumerate(OPS):
            if (op in ("//", "%") and b == 0) or (op in ("<<", ">>") and b < 0) or (op == "**" and b > 70):
                continue  # numpy: 0 and a warning; kernels raise (ZeroDivisionError, ValueError) like Python ints
            want = numpy_outcome(python, t.dtype.type(a), t.dtype.type(b), np.int64(n))
            got = kernel_outcome(compiled, a, b, n)
            if isinstance(want, np.generic) and want.dtype.kind == "b":
                want = bool(want)
                got = bool(got)
            assert want == got, f"{t}: {a} {op} {b}: numpy {want!r}, kernel {got!r}"


def test_integer_division_by_zero_and_negative_counts_raise() -> None:
    _, divide = kernel("def k(a: u8, b: u8) -> u8:\n    return a // b\n")
    _, modulo = kernel("def k(a: i16, b: i16) -> i16:\n    return a % b\n")
    _, shift = kernel("def k(a: i8, b: i8) -> i8:\n    return a << b\n")
    _, power = kernel("def k(a: u16, b: u16) -> u16:\n    return a ** b\n")
    with pytest.raises(ZeroDivisionError):
        divide(3, 0)
    with pytest.raises(ZeroDivisionError):
        modulo(3, 0)
    with pytest.raises(ValueError):
        shift(3, -1)
    assert power(3, 40000) == int(np.uint16(3) ** np.uint16(40000))  # an unsigned exponent is never negative


@pytest.mark.parametrize("s", NUMBERS, ids=str)
def test_mixed_promotion_matches_numpy(s: ScalarType) -> None:
    """Every pair of strong types promotes like ``np.result_type`` and computes the same values."""
    for t in NUMBERS:
        r = promote(Ty(s), Ty(t)).scalar
        assert r.dtype == np.result_type(s.dtype, t.dtype), (s, t)
        body = "    if c == 0:\n        return a + b\n    if c == 1:\n        return a * b\n"
        body += "    if c == 2:\n        return a - b\n    return a // b\n"
        python, compiled = kernel(f"def k(a: {s.name}, b: {t.name}, c: i64) -> {r.name}:\n{body}")
        for a, b in itertools.product(_values(s), _values(t)):
            for c in range(4 if b != 0 else 3):
                want = numpy_outcome(python, s.dtype.type(a), t.dtype.type(b), np.int64(c))
                assert type(want) is r.dtype.type
                got = compiled(a, b, c)
                if r.kind == "int":
                    assert int(want) == got, (s, t, a, b, c)
                else:
                    assert (math.isnan(want) and math.isnan(got)) or math.isclose(want, got, rel_tol=1e-6), (
                        s,
                        t,
                        a,
                        b,
                        c,
                        want,
                        got,
                    )


def _values(t: ScalarType) -> list[Any]:
    if t.kind == "float":
        return [-2.5, 0.0, 3.0, 1e30 if t.bits == 32 else 1e300]
    return [t.min, -1 if t.min < 0 else 0, 0, 3, t.max]


def test_weak_python_ints_take_the_strong_type() -> None:
    python, compiled = kernel("def k(a: u8, b: i8) -> i16:\n    return (a + 1) * 2 + (b - 1) + (a + b)\n")
    for a, b in ((255, -128), (0, 127), (200, 100)):
        want = numpy_outcome(python, np.uint8(a), np.int8(b))
        assert type(want) is np.int16 and int(want) == compiled(a, b)
    python, compiled = kernel("def k(a: u64) -> f64:\n    return a * 1.5 + a / 2\n")
    assert compiled(2**64 - 1) == python(np.uint64(2**64 - 1))


@pytest.mark.parametrize(
    "expression",
    ["a + 300", "a - -1", "256 * a", "a & -1", "a << 300", "np.uint8(-1) + a", "np.int8(128)"],
)
def test_a_literal_out_of_range_is_a_compile_error(expression: str) -> None:
    """numpy raises OverflowError at run time (``np.uint8(5) + 300``); kernels refuse the literal at once."""
    with pytest.raises(OverflowError):
        eval(expression, {"np": np, "a": np.uint8(5)})
    with pytest.raises(KernelSyntaxError, match="out of bounds for"):
        kernel(f"def k(a: u8) -> u8:\n    return {expression}\n")
    with pytest.raises(KernelSyntaxError, match="out of bounds for u8"):
        kernel("def k(a: u8) -> u8:\n    a += 256\n    return a\n")


def test_comparisons_with_out_of_range_literals_are_exact() -> None:
    """numpy 2 compares ``np.uint8(5) == -1`` exactly (False), so do kernels."""
    source = (
        "def k(a: u8, b: u64, c: i64) -> bool:\n"
        "    if c == 0:\n        return a == -1\n    if c == 1:\n        return a != -1\n"
        "    if c == 2:\n        return b < -5\n    if c == 3:\n        return b >= -5\n"
        "    if c == 4:\n        return a > 300\n    if c == 5:\n        return 300 > a\n"
        "    if c == 6:\n        return -1 >= b\n    return -1 < b <= 2**63 - 1\n"
    )
    python, compiled = kernel(source)
    for c in range(8):
        want = python(np.uint8(5), np.uint64(5), c)
        assert bool(want) == compiled(5, 5, c), c


def test_conversions() -> None:
    _, compiled = kernel(
        "def k(x: f64, n: i64) -> f64:\n"
        "    return float(np.uint8(n)) + float(np.int16(n)) * 1e3 + float(np.uint64(x)) + float(np.int8(x))\n"
    )
    for x, n in ((3.7, 300), (-1.5, -1), (255.9, 65535), (1e3, -129)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want = float(np.uint8(np.int64(n))) + float(np.int16(np.int64(n))) * 1e3
        want += float(np.uint64(max(x, 0.0))) + float(np.int8(x)) if -128 <= x < 128 else math.nan
        if not math.isnan(want):
            assert compiled(x, n) == want
    # float to int saturates (numpy: undefined), NaN gives 0
    _, saturate = kernel("def k(x: f64) -> i64:\n    return int(np.uint8(x)) + int(np.int16(x)) * 1000\n")
    assert saturate(300.7) == 255 + 300_000
    assert saturate(-5.5) == 0 - 5000
    assert saturate(math.nan) == 0
    _, wide = kernel("def k(x: u64) -> f64:\n    return float(x) + math.sqrt(x)\n")
    assert wide(2**64 - 1) == float(2**64 - 1) + math.sqrt(2**64 - 1)
    # int() gives an i64: a u64 above 2**63 - 1 wraps (Python gives a big int): a documented divergence
    _, as_int = kernel("def k(x: u64) -> i64:\n    return int(x)\n")
    assert as_int(2**64 - 1) == -1 and as_int(7) == 7
    _, unsigned = kernel("def k(x: i8) -> u32:\n    return np.uint32(x)\n")
    assert unsigned(-1) == int(np.int8(-1).astype(np.uint32))


def test_builtins_and_numpy_functions() -> None:
    python, compiled = kernel("def k(x: i8, y: u8) -> i16:\n    return abs(x) + min(x, y) * max(x, y)\n")
    for x, y in ((-128, 255), (-3, 4), (5, 0)):
        assert compiled(x, y) == int(numpy_outcome(python, np.int8(x), np.uint8(y)))
    python, compiled = kernel(
        "def k(x: i16, y: u16) -> f32:\n    return np.sqrt(x) + np.exp(y) * np.sign(x) + np.abs(x)\n"
    )
    for x, y in ((4, 3), (-4, 3), (100, 0)):
        want = numpy_outcome(python, np.int16(x), np.uint16(y))
        assert type(want) is np.float32
        got = compiled(x, y)
        assert (math.isnan(want) and math.isnan(got)) or math.isclose(want, got, rel_tol=1e-6)
    python, compiled = kernel(
        "def k(x: u32, y: u32) -> u32:\n    return np.fmod(x, y) + np.minimum(x, y) + np.power(x, y) + np.sign(x)\n"
    )
    for x, y in ((7, 0), (7, 3), (0, 5), (2**32 - 1, 2)):
        assert compiled(x, y) == int(numpy_outcome(python, np.uint32(x), np.uint32(y)))
    with pytest.raises(KernelSyntaxError, match="float16"):
        kernel("def k(x: u8) -> f64:\n    return np.sqrt(x)\n")


@pytest.mark.parametrize("t", INTS, ids=str)
def test_arrays_and_annotated_locals(t: ScalarType) -> None:
    """A sum kept in the element type wraps like numpy's; element-wise results in the promoted type."""
    r = promote(Ty(t), Ty(i16)).scalar  # u64 with i16 is f64
    python, compiled = kernel(
        f"def k(a: {t.name}[:], b: i16[:], out: {r.name}[:]) -> {t.name}:\n"
        f"    s: {t.name} = 0\n"
        "    for i in range(len(a)):\n"
        "        s += a[i] * 3\n"
        "        out[i] = a[i] * b[i] + 3\n"
        "    return s\n"
    )
    rng = np.random.default_rng(int(t.bits) + t.unsigned)
    a = rng.integers(t.min, t.max, size=37, dtype=t.dtype, endpoint=True)
    b = rng.integers(-(2**15), 2**15, size=37, dtype=np.int16)
    want_out, got_out = np.zeros(37, r.dtype), np.zeros(37, r.dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = python(a, b, want_out)
    assert compiled(a, b, got_out) == int(want)
    np.testing.assert_allclose(got_out, want_out, rtol=1e-15) if r.kind == "float" else np.testing.assert_array_equal(
        got_out, want_out
    )
    empty = np.zeros(0, t.dtype)
    assert compiled(empty, np.zeros(0, np.int16), np.zeros(0, r.dtype)) == 0


def test_boolean_with_the_new_types() -> None:
    python, compiled = kernel("def k(a: u8, f: bool) -> i64:\n    return int(f + a) + int(a > 3 and f)\n")
    for a, f in ((255, True), (3, False), (4, True)):
        assert compiled(a, f) == numpy_outcome(python, np.uint8(a), f)
