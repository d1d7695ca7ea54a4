"""``np`` in kernels: scalar ufuncs, casts, constants and array attributes, compiled with ``autotune.tunable``
and compared with ``kernel.py_func`` (real numpy on the same scalars), edge values included."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy
import numpy as np
import pytest
from numpy import float32 as npf32
from numpy import hypot

import autotune
from autotune.errors import KernelSyntaxError
from autotune.lang import parse_kernel, rebuild_function
from autotune.types import boolean, f32, f64, i32, i64
from tests.lang.runner import compare

NAN, INF = math.nan, math.inf
LOW, HIGH = -(2**63), 2**63 - 1
EDGE = [0.0, -0.0, 0.5, -1.5, 2.5, 30.0, -700.0, NAN, INF, -INF]
HOST = np.arange(24.0).reshape(2, 3, 4)


def agree(kernel: Any, *argsets: tuple[Any, ...], rtol: float = 1e-12) -> None:
    """The compiled kernel and ``kernel.py_func`` give the same result, outputs and exceptions."""
    compare(kernel.py_func, kernel, *argsets, rtol=rtol, zero_signs=True)


# ---- float ufuncs -----------------------------------------------------------------------------------
@autotune.tunable
def unary_f64(x: f64, out: f64[:]) -> None:
    out[0] = np.sqrt(x)
    out[1] = np.exp(x)
    out[2] = np.exp2(x)
    out[3] = np.log(x)
    out[4] = np.log2(x)
    out[5] = np.log10(x)
    out[6] = np.log1p(x)
    out[7] = np.expm1(x)
    out[8] = np.sin(x)
    out[9] = np.cos(x)
    out[10] = np.tan(x)
    out[11] = np.arcsin(x)
    out[12] = np.arccos(x)
    out[13] = np.arctan(x)
    out[14] = np.sinh(x)
    out[15] = np.cosh(x)
    out[16] = np.tanh(x)
    out[17] = np.floor(x)
    out[18] = np.ceil(x)
    out[19] = np.trunc(x)
    out[20] = np.fabs(x)
    out[21] = np.abs(x)
    out[22] = numpy.absolute(x)
    out[23] = np.sign(x)


def test_unary_float_ufuncs_match_numpy_including_nan_inf_and_signed_zeros() -> None:
    agree(unary_f64, *[(x, np.zeros(24)) for x in EDGE])


@autotune.tunable
def unary_f32(x: f32[:], out: f32[:]) -> None:
    for i in range(len(x)):
        out[i * 8] = np.sqrt(x[i])
        out[i * 8 + 1] = np.exp(x[i])
        out[i * 8 + 2] = np.log(x[i])
        out[i * 8 + 3] = np.sin(x[i])
        out[i * 8 + 4] = np.floor(x[i])
        out[i * 8 + 5] = np.arctan2(x[i], 2.0)
        out[i * 8 + 6] = np.minimum(x[i], 1.0)
        out[i * 8 + 7] = np.sign(x[i])


def test_f32_arguments_compute_in_f32() -> None:
    x = np.array([0.0, -0.0, 0.25, 1.5, -2.0, 9.0, NAN, INF], np.float32)
    agree(unary_f32, (x, np.zeros(64, np.float32)), rtol=1e-6)


@autotune.tunable
def binary_f64(x: f64, y: f64, out: f64[:]) -> None:
    out[0] = np.arctan2(x, y)
    out[1] = np.hypot(x, y)
    out[2] = np.copysign(x, y)
    out[3] = np.power(x, y)
    out[4] = np.fmod(x, y)
    out[5] = np.minimum(x, y)
    out[6] = np.maximum(x, y)
    out[7] = hypot(y, 2.0)


def test_binary_float_ufuncs_and_nan_propagation_of_minimum_maximum() -> None:
    values = [0.0, -0.0, 0.75, -2.0, 3.0, NAN, INF, -INF]
    agree(binary_f64, *[(x, y, np.zeros(8)) for x in values for y in values])


@autotune.tunable
def predicates(x: f64, k: i64) -> i64:
    return np.isnan(x) + 2 * np.isinf(x) + 4 * np.isfinite(x) + 8 * np.isnan(k) + 16 * np.isinf(k) + 32 * np.isfinite(k)


def test_predicates() -> None:
    agree(predicates, *[(x, k) for x in EDGE for k in (0, LOW)])


# ---- integer ufuncs ---------------------------------------------------------------------------------
@autotune.tunable
def int_ufuncs(a: i64[:], b: i64[:], out: i64[:]) -> None:
    for i in range(len(a)):
        out[i * 8] = np.abs(a[i])
        out[i * 8 + 1] = np.sign(a[i])
        out[i * 8 + 2] = np.fmod(a[i], b[i])
        out[i * 8 + 3] = np.minimum(a[i], b[i])
        out[i * 8 + 4] = np.maximum(a[i], b[i])
        out[i * 8 + 5] = np.floor(a[i])
        out[i * 8 + 6] = np.power(a[i], 3)
        out[i * 8 + 7] = np.trunc(a[i]) + np.ceil(a[i])


def test_integer_ufuncs_keep_integers_and_wrap_like_numpy() -> None:
    a = np.array([0, 1, -1, 7, -7, 12345, LOW, HIGH, LOW + 1], np.int64)
    b = np.array([3, 0, -1, -3, 2, 0, -1, 7, -1], np.int64)
    agree(int_ufuncs, (a, b, np.zeros(8 * len(a), np.int64)))


@autotune.tunable
def int32_ufuncs(a: i32[:], out: i32[:]) -> None:
    for i in range(len(a)):
        out[i * 4] = np.abs(a[i])
        out[i * 4 + 1] = np.power(a[i], 2)
        out[i * 4 + 2] = np.fmod(a[i], 3)
        out[i * 4 + 3] = np.maximum(a[i], -5)


def test_int32_ufuncs_wrap_at_32_bits() -> None:
    a = np.array([0, 5, -5, 2**31 - 1, -(2**31), 70000], np.int32)
    agree(int32_ufuncs, (a, np.zeros(4 * len(a), np.int32)))


@autotune.tunable
def int_power(a: i64, b: i64) -> i64:
    return np.power(a, b)


@autotune.tunable
def negative_constant_power(a: i64) -> i64:
    return np.power(a, -2)


def test_integer_power_wraps_and_rejects_negative_exponents_like_numpy() -> None:
    agree(int_power, *[(a, b) for a in (0, 1, -1, 2, 3, -7, HIGH) for b in (0, 1, 5, 63, 64, 200, -1, -5)])
    agree(negative_constant_power, (2,), (0,))


# ---- result types: numpy scalars are strong ---------------------------------------------------------
@autotune.tunable
def promotions(x: f32[:], k: i32[:], y: f64) -> f64:
    return (
        np.sqrt(2.0) * x[0]  # np.float64 * np.float32 -> f64 (math.sqrt(2.0) * x[0] would stay f32)
        + np.float32(0.1) * 3.0  # np.float32 * Python float -> f32
        + np.sqrt(k[0])  # int32 -> f64
        + np.arctan2(x[1], 1.0)  # f32 with a weak float -> f32
        + np.hypot(x[1], k[1])  # f32 with i32 -> f64
        + npf32(y) / 3  # a bare-name cast, f32
        + np.pi * x[2]  # np.pi is a Python float: f32
        + np.abs(-3) * 0.1  # np.int64 * Python float -> f64
        + np.float64(x[1]) / 7.0
    )


def test_results_are_typed_like_numpy_scalars() -> None:
    x = np.array([0.1, 0.3, 0.7], np.float32)
    agree(promotions, (x, np.array([2, 5], np.int32), 0.1), rtol=1e-15)


# ---- casts ------------------------------------------------------------------------------------------
@autotune.tunable
def float_casts(x: f64, k: i64, b: boolean, out: f64[:]) -> None:
    out[0] = np.float32(x)
    out[1] = np.float64(k)
    out[2] = np.float32(k)
    out[3] = np.float64(b)
    out[4] = np.bool_(x)
    out[5] = numpy.bool_(k) + np.int64(b)
    out[6] = np.float32(x) * 3.0


def test_float_and_bool_casts() -> None:
    args = [(x, k, b) for x in (0.1, -0.0, 1e300, -1e-300, NAN, INF) for k in (0, 3, LOW, HIGH) for b in (True, False)]
    agree(float_casts, *[(*a, np.zeros(7)) for a in args])


@autotune.tunable
def int_casts(x: f64[:], k: i64[:], out: i64[:]) -> None:
    for i in range(len(x)):
        out[i * 4] = np.int64(x[i])
        out[i * 4 + 1] = np.int32(x[i])
        out[i * 4 + 2] = np.int32(k[i])
        out[i * 4 + 3] = np.int32(k[i]) + np.int32(2**31 - 1)  # i32 arithmetic wraps at 32 bits


def test_int_casts_truncate_and_wrap() -> None:
    x = np.array([0.0, -0.0, 2.9, -2.9, 1e9, -2.5e9 / 2, 123456.75, -1.0], np.float64)
    k = np.array([0, 1, -1, 2**40 + 5, LOW, HIGH, 2**31, -(2**31) - 1], np.int64)
    agree(int_casts, (x, k, np.zeros(4 * len(x), np.int64)))


# ---- constants and array attributes -----------------------------------------------------------------
@autotune.tunable
def constants(x: f64) -> f64:
    s = np.pi * x + np.e - np.euler_gamma
    if x < np.inf and not np.isnan(x + np.nan):
        s = -1.0
    return s


def test_constants() -> None:
    agree(constants, (1.5,), (INF,), (-0.0,))


@autotune.tunable
def attributes(a: f64[:], b: i32[:, :], c: f32[:, :, :]) -> i64:
    return a.size + 1000 * b.size + 1000000 * c.size + 10**9 * (a.ndim + 10 * b.ndim + 100 * c.ndim + HOST.ndim)


@autotune.tunable
def host_attributes(a: f64[:]) -> f64:
    s = 0.0
    for i in range(HOST.size):
        s += HOST[i % 2, i % 3, i % 4] * a[0]
    return s + HOST.shape[2] + HOST.ndim


def test_size_and_ndim() -> None:
    agree(
        attributes,
        (np.zeros(5), np.zeros((2, 3), np.int32), np.zeros((2, 3, 4), np.float32)),
        (np.zeros(0), np.zeros((0, 3), np.int32), np.zeros((4, 0, 4), np.float32)),
    )
    agree(host_attributes, (np.array([0.5]),))


# ---- the reference check's rebuilt function ---------------------------------------------------------
def test_rebuilt_function_binds_numpy() -> None:
    for kernel, args in (
        (promotions, (np.array([0.1, 0.3, 0.7], np.float32), np.array([2, 5], np.int32), 0.1)),
        (int_power, (3, 5)),
        (constants, (1.5,)),
    ):
        rebuilt = rebuild_function(parse_kernel(kernel.py_func))
        assert rebuilt(*args) == kernel.py_func(*args)
        assert rebuilt(*args) == pytest.approx(kernel(*args), rel=1e-15)


# ---- errors -----------------------------------------------------------------------------------------
def k_empty(n: i64) -> f64:
    a = np.empty(n)
    return a


def k_zeros(n: i64) -> f64:
    return np.zeros(3)[0]


def k_dot(a: f64[:]) -> f64:
    return np.dot(a, a)


def k_sum(a: f64[:]) -> f64:
    return numpy.sum(a)


def k_newaxis(x: f64) -> f64:
    return np.newaxis


def k_ufunc_value(x: f64) -> f64:
    f = np.sqrt
    return f(x)


def k_module_value(x: f64) -> f64:
    return x + np


def k_arity(x: f64) -> f64:
    return np.arctan2(x)


def k_keyword(x: f64, y: f64) -> f64:
    return np.minimum(x, y, dtype=np.float32)


def k_float16(x: f64) -> f64:
    return np.float16(x)


def k_bare_unsupported(x: f64) -> f64:
    return from_numpy_empty(3)[0]


from_numpy_empty = np.empty


@pytest.mark.parametrize(
    ("func", "message"),
    [
        (k_empty, "array 'a' cannot be used as a value"),  # a kernel returning an array says so: -> f64[:]
        (k_zeros, "np.zeros(...) creates an array only as the whole value of an assignment to a name"),
        (k_dot, "np.dot is not supported in kernels (kernels support"),
        (k_sum, "np.sum is not supported in kernels"),
        (k_newaxis, "np.newaxis is not supported in kernels"),
        (k_ufunc_value, "np.sqrt can only be called"),
        (k_module_value, "'np' can only be called"),
        (k_arity, "np.arctan2() takes 2 arguments, got 1"),
        (k_keyword, "keyword arguments"),
        (k_float16, "np.float16 is not supported"),
        (k_bare_unsupported, "refers to numpy's empty"),
    ],
)
def test_unsupported_numpy_is_rejected_at_decoration(func: Callable[..., Any], message: str) -> None:
    with pytest.raises(KernelSyntaxError) as info:
        autotune.tunable(func)
    assert message in str(info.value)


def k_bool_argument(b: boolean) -> f64:
    return np.sqrt(b)


def test_bool_arguments_to_ufuncs_are_rejected() -> None:
    with pytest.raises(KernelSyntaxError, match=r"np\.sqrt of a bool is not supported"):
        autotune.tunable(k_bool_argument)
