"""The native entry and the checked path with the narrow and unsigned integer types and c128: unboxing with range
checks, dtype checks of arrays, boxing of results, and the tuner's copies and comparisons."""

from __future__ import annotations

import cmath

import numpy as np
import pytest

import autotune
from autotune import KernelTypeError, c128, f64, i8, i16, i64, u8, u16, u32, u64
from autotune.measure import pack_arguments
from autotune.workspace import _close


@autotune.tunable
def scale_u8(a: u8[:], out: u16[:], k: u8) -> u64:
    total: u64 = 0
    for i in range(len(a)):
        out[i] = a[i] * k
        total += a[i]
    return total


@autotune.tunable
def echo_u64(x: u64) -> u64:
    return x


@autotune.tunable
def mix(x: i8, y: u16, z: i16, w: u32) -> i64:
    return int(x) + int(y) + int(z) + int(w)


def test_arrays_and_results_of_the_new_types() -> None:
    a = np.arange(250, 256, dtype=np.uint8)
    for _ in range(2):  # first the checked path, then the native entry
        out = np.zeros(6, np.uint16)
        assert scale_u8(a, out, 3) == int(a.astype(np.uint64).sum())
        np.testing.assert_array_equal(out, (a * np.uint8(3)).astype(np.uint16))


def test_u64_is_boxed_and_range_checked_exactly() -> None:
    for _ in range(2):
        assert echo_u64(2**64 - 1) == 2**64 - 1
        assert echo_u64(np.uint64(2**63)) == 2**63
        assert echo_u64(0) == 0
        for bad in (-1, 2**64, 1.0, True, "1"):
            with pytest.raises(KernelTypeError) as info:
                echo_u64(bad)
            assert info.value.argument == "x"


def test_scalars_out_of_range_are_type_errors() -> None:
    for _ in range(2):
        assert mix(-128, 65535, -32768, 2**32 - 1) == -128 + 65535 - 32768 + 2**32 - 1
        assert mix(np.int8(-1), np.uint16(1), np.int16(1), np.uint32(1)) == 2
        for args, name in (
            ((128, 0, 0, 0), "x"),
            ((0, -1, 0, 0), "y"),
            ((0, 0, 2**15, 0), "z"),
            ((0, 0, 0, 2**32), "w"),
            ((np.int64(300), 0, 0, 0), "x"),
        ):
            with pytest.raises(KernelTypeError, match="does not fit") as info:
                mix(*args)
            assert info.value.argument == name


def test_wrong_dtypes_are_refused() -> None:
    for _ in range(2):
        for dtype in (np.int8, np.uint16, np.int64, np.float64, np.bool_):
            with pytest.raises(KernelTypeError, match="dtype") as info:
                scale_u8(np.zeros(4, dtype), np.zeros(4, np.uint16), 1)
            assert info.value.argument == "a"
        with pytest.raises(KernelTypeError, match="dtype"):
            scale_u8(np.zeros(4, np.uint8), np.zeros(4, np.int16), 1)
        assert scale_u8(np.zeros(0, np.uint8), np.zeros(0, np.uint16), 1) == 0


def test_tuner_machinery_copes_with_the_new_types() -> None:
    cells = pack_arguments(["i8", "i16", "i32", "i64", "i64"], [255, -1, 2**32 - 1, 2**64 - 1, -5])
    assert [int(c) for c in cells] == [255, 0xFFFF, 2**32 - 1, 2**64 - 1, 2**64 - 5]
    assert _close(np.uint64(2**64 - 1), 2**64 - 1, 1e-9, 0.0)
    assert not _close(np.uint64(2**64 - 1), 2**64 - 2, 1e-9, 0.0)
    big = np.array([2**64 - 1], np.uint64)
    assert _close(big, big.copy(), 1e-9, 0.0) and not _close(big, big - np.uint64(1), 1e-9, 0.0)


@autotune.tunable
def rotate(z: c128, a: c128[:], phase: f64) -> c128:
    total = 0j
    for i in range(len(a)):
        a[i] = a[i] * cmath.exp(1j * phase) + z
        total += a[i]
    return total


def test_complex_scalars_arrays_and_results() -> None:
    for _ in range(2):  # first the checked path, then the native entry
        a = np.array([1 + 2j, -3j, 0.5], dtype=np.complex128)
        b = a.copy()
        got = rotate(0.5 - 1j, a, 0.3)
        want = rotate.py_func(0.5 - 1j, b, 0.3)
        assert isinstance(got, complex) and cmath.isclose(got, want, rel_tol=1e-13)
        np.testing.assert_allclose(a, b, rtol=1e-13)
        assert cmath.isclose(rotate(2.0, np.zeros(1, np.complex128), 0.0), 2.0)  # a float is a complex
        assert cmath.isclose(rotate(np.complex128(1j), np.zeros(1, np.complex128), 0.0), 1j)
        with pytest.raises(KernelTypeError, match="dtype"):
            rotate(1j, np.zeros(3, np.complex64), 0.0)
        with pytest.raises(KernelTypeError, match="dtype"):
            rotate(1j, np.zeros(3), 0.0)
        for bad in ("1j", None, True):
            with pytest.raises(KernelTypeError) as info:
                rotate(bad, a, 0.0)
            assert info.value.argument == "z"
    assert _close(1 + 1e-14j, 1 + 0j, 1e-9, 1e-12) and not _close(1 + 1j, 1 + 0j, 1e-9, 0.0)
    assert _close(np.array([1j]), np.array([1j]), 1e-9, 0.0)


@autotune.tunable(vectorize=[0, 4])
def weighted(a: u8[:], w: i16[:], k: u8) -> i64:
    s = np.int64(0)  # numpy's type in Python too (an annotation would be ignored there)
    for i in range(len(a)):
        s += a[i] * k + w[i]
    return s


@autotune.tunable(vectorize=[0, 2])
def spin(z: c128, a: c128[:], out: c128[:]) -> c128:
    s = 0j
    for i in range(len(a)):
        out[i] = a[i] * z + cmath.exp(a[i] * 1j)
        s += out[i]
    return s


@pytest.mark.filterwarnings("ignore:overflow encountered")  # numpy's wrapping warns; the kernel wraps alike
def test_the_tuner_validates_and_measures_the_new_types() -> None:
    """Captured inputs, guarded copies, the reference in the worker, packed timing arguments, comparisons."""
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, 3000, dtype=np.uint8)
    w = rng.integers(-300, 300, 3000, dtype=np.int16)
    assert weighted(a, w, 7) == int(weighted.py_func(a, w, np.uint8(7)))
    c = rng.normal(size=2000) + 1j * rng.normal(size=2000)
    out, expected = np.zeros_like(c), np.zeros_like(c)
    assert cmath.isclose(spin(0.5 - 1j, c, out), spin.py_func(0.5 - 1j, c, expected), rel_tol=1e-12)
    for kernel in (weighted, spin):
        kernel.tune(progress=False)
        assert not [e for e in kernel.events.events() if e.kind == "fail"]
    assert weighted(a, w, 7) == int(weighted.py_func(a, w, np.uint8(7)))
    np.testing.assert_allclose(out, expected, rtol=1e-12)
