"""Arrays created inside kernels, kernels returning arrays and tuples: against the Python function with numpy,
through the native entry (positional calls) and the checked slow path (keyword calls)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import autotune
from autotune import Const, KernelSyntaxError, f32, f64, i32, i64
from autotune.types import boolean


def both_paths(kernel: Any, *args: Any) -> list[Any]:
    """The kernel's result through the native entry and through the keyword (fallback) path."""
    names = [p.name for p in kernel.arguments.params]
    return [kernel(*args), kernel(*args), kernel(**dict(zip(names, args, strict=True)))]


def same_array(got: Any, want: np.ndarray[Any, Any]) -> None:
    assert isinstance(got, np.ndarray), type(got)
    assert got.dtype == want.dtype and got.shape == want.shape, (got.dtype, got.shape, want.dtype, want.shape)
    np.testing.assert_array_equal(got, want)


# ---- creation forms, summed or returned ------------------------------------------------------------
def zeros_1d(n: i64) -> f64[:]:
    b = np.zeros(n)
    return b


def ones_2d_f32(n: i64, m: i64) -> f32[:, :]:
    b = np.ones((n, m), dtype=np.float32)
    return b


def full_3d_int(n: i64) -> i64[:, :, :]:
    b = np.full((n, 2, 3), 7)
    return b


def full_float_value_int_dtype(n: i64) -> i32[:]:
    b = np.full(n, 2.75, dtype=np.int32)
    return b


def full_bool(n: i64) -> boolean[:]:
    b = np.full(n, True)
    return b


def zeros_python_types(n: i64) -> i64[:]:
    b = np.zeros(n, dtype=int)
    return b


def ones_bool_dtype(n: i64) -> boolean[:]:
    b = np.ones(n, dtype=bool)
    return b


def zeros_like_kept(a: f32[:, :]) -> f32[:, :]:
    b = np.zeros_like(a)
    return b


def ones_like_dtype(a: f64[:]) -> i32[:]:
    b = np.ones_like(a, dtype=np.int32)
    return b


def full_like_param(a: i64[:], v: i64) -> i64[:]:
    b = np.full_like(a, v)
    return b


def full_param_value(n: i64, v: f32) -> f32[:]:
    b = np.full(n, v)
    return b


def shape_of_param(a: f64[:, :]) -> f64[:, :]:
    b = np.full(a.shape, 0.5)
    return b


def shape_from_extents(a: f64[:, :]) -> f64[:, :]:
    b = np.ones((a.shape[1], a.shape[0] + 1))
    return b


CREATIONS: list[tuple[Callable[..., Any], tuple[Any, ...]]] = [
    (zeros_1d, (5,)),
    (zeros_1d, (0,)),
    (ones_2d_f32, (3, 4)),
    (ones_2d_f32, (0, 4)),
    (full_3d_int, (2,)),
    (full_float_value_int_dtype, (4,)),
    (full_bool, (3,)),
    (zeros_python_types, (3,)),
    (ones_bool_dtype, (3,)),
    (zeros_like_kept, (np.ones((2, 3), dtype=np.float32),)),
    (ones_like_dtype, (np.arange(4.0),)),
    (full_like_param, (np.arange(3), -9)),
    (full_param_value, (3, np.float32(1.5))),  # the kernel sees an f32 value, as numpy does here
    (shape_of_param, (np.ones((2, 5)),)),
    (shape_from_extents, (np.ones((2, 5)),)),
    (shape_from_extents, (np.ones((0, 3)),)),
]


@pytest.mark.parametrize(("func", "args"), CREATIONS, ids=lambda v: getattr(v, "__name__", ""))
def test_each_creation_form_matches_numpy(func: Callable[..., Any], args: tuple[Any, ...]) -> None:
    kernel = autotune.tunable(func)
    want = func(*args)
    for got in both_paths(kernel, *args):
        same_array(got, want)
        assert got.flags.c_contiguous and got.flags.writeable
        assert got.ctypes.data % 64 == 0  # aligned for vector loads


def empty_then_fill(n: i64, m: i64) -> f64[:, :]:
    b = np.empty((n, m))
    for i in range(n):
        for j in range(m):
            b[i, j] = i * 10.0 + j
    return b


def test_empty_filled_in_loops() -> None:
    kernel = autotune.tunable(empty_then_fill)
    for got in both_paths(kernel, 3, 4):
        same_array(got, empty_then_fill(3, 4))
    same_array(kernel(0, 7), np.empty((0, 7)))


def scratch_sum(a: f64[:]) -> f64:
    b = np.empty_like(a)
    n = len(b)
    for i in range(n):
        b[i] = a[i] * a[i]
    s = 0.0
    for i in range(b.size):
        s += b[i] + b.ndim
    return s


def test_scratch_array_used_inside_the_kernel() -> None:
    kernel = autotune.tunable(scratch_sum)
    a = np.linspace(-1.0, 2.0, 17)
    assert kernel(a) == pytest.approx(scratch_sum(a))
    assert kernel(a=np.zeros(0)) == 0.0


def per_row(a: f64[:, :]) -> f64:
    s = 0.0
    for i in range(a.shape[0]):
        row = np.zeros(a.shape[1])  # allocated per iteration: the previous one is freed
        for j in range(a.shape[1]):
            row[j] = a[i, j] * 2.0
        for j in range(a.shape[1]):
            s += row[j]
    return s


def test_array_allocated_in_a_loop() -> None:
    kernel = autotune.tunable(per_row)
    a = np.arange(12.0).reshape(3, 4)
    assert kernel(a) == per_row(a)
    assert kernel(a=a) == per_row(a)


# ---- errors at the call ----------------------------------------------------------------------------
def sized(n: i64, m: i64) -> f64:
    b = np.zeros((n, m))
    return b.size * 1.0


@pytest.mark.parametrize(
    ("n", "m", "error", "message"),
    [
        (-1, 3, ValueError, "negative dimensions are not allowed"),
        (3, -1, ValueError, "negative dimensions are not allowed"),
        (2**40, 2**40, ValueError, "array is too big"),
        (2**31, 2**31, ValueError, "array is too big"),
        (2**29, 2**29, MemoryError, "unable to allocate"),
    ],
)
def test_bad_sizes_raise_like_numpy(n: int, m: int, error: type[Exception], message: str) -> None:
    with pytest.raises(error):
        np.zeros((n, m))
    kernel = autotune.tunable(sized)
    with pytest.raises(error, match=message):
        kernel(n, m)
    with pytest.raises(error, match=message):
        kernel(n=n, m=m)
    assert kernel(2, 3) == 6.0  # still callable


# ---- memory: freed on every exit -------------------------------------------------------------------
def rss_kb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1024


def raises_after_allocating(n: i64, mode: i64) -> i64:
    b = np.ones(n)
    c = np.zeros(n)
    for i in range(n):
        c[i] = b[i] + i
    if mode == 1:
        raise ValueError("mode 1")
    assert mode != 2, "mode 2"
    return n // (mode - 3)


def test_no_leak_on_raise_paths() -> None:
    """Each call allocates 2 x 8 KB and leaves through a raise, an assert or a division by zero: 10^5 calls
    would leak 1.6 GB if an exit kept its arrays."""
    kernel = autotune.tunable(raises_after_allocating)
    assert kernel(1000, 4) == 1000
    for mode, error in ((1, ValueError), (2, AssertionError), (3, ZeroDivisionError)):
        with pytest.raises(error):
            raises_after_allocating(1000, mode)
        before = 0.0
        for k in range(100_000):
            if k == 1000:
                before = rss_kb()
            try:
                kernel(1000, mode)
            except error:
                pass
        assert rss_kb() - before < 20_000, error


def loop_allocating(n: i64, rounds: i64) -> f64:
    s = 0.0
    for r in range(rounds):
        b = np.full(n, r * 1.0, dtype=np.float64)
        s += b[n - 1]
    return s


def test_no_leak_reassigning_in_a_loop_or_returning() -> None:
    kernel = autotune.tunable(loop_allocating)
    assert kernel(100, 50) == loop_allocating(100, 50)
    returning = autotune.tunable(zeros_1d)
    before = rss_kb()
    kernel(1000, 100_000)  # 800 MB if every iteration kept its array
    for _ in range(100_000):
        returning(1000)  # each returned array is freed when it dies
    assert rss_kb() - before < 20_000


def test_returned_array_owns_its_memory_and_outlives_views() -> None:
    kernel = autotune.tunable(empty_then_fill)
    view = kernel(3, 4)[1:]
    import gc

    gc.collect()
    np.testing.assert_array_equal(view, empty_then_fill(3, 4)[1:])
    assert view.base is not None


# ---- tuples ----------------------------------------------------------------------------------------
def stats(a: f64[:]) -> tuple[f64, i64, bool]:
    s = 0.0
    for i in range(len(a)):
        s += a[i]
    return s / len(a), len(a), s > 0


def minmax_i32(a: i32[:]) -> tuple[i32, i32]:
    lo = a[0]
    hi = a[0]
    for i in range(len(a)):
        lo = min(lo, a[i])
        hi = max(hi, a[i])
    return lo, hi


def test_tuple_results() -> None:
    kernel = autotune.tunable(stats)
    a = np.array([1.0, -2.5, 4.0])
    for got in both_paths(kernel, a):
        assert got == stats(a) and type(got) is tuple
        assert [type(v) for v in got] == [float, int, bool]
    small = autotune.tunable(minmax_i32)
    assert small(np.array([3, -7, 9], dtype=np.int32)) == (-7, 9)
    with pytest.raises(ZeroDivisionError):
        stats(np.zeros(0))
    assert np.isnan(kernel(np.zeros(0))[0])  # float division by zero: IEEE in kernels (documented)


# ---- tuning ----------------------------------------------------------------------------------------
def scaled(a: f64[:], MODE: Const = 0) -> f64[:]:
    b = np.empty_like(a)
    for i in range(len(a)):
        b[i] = a[i] * 2.0
    if MODE == 1:
        b[0] = 0.0  # a wrong variant: validation must compare the returned array
    return b


def test_tuning_a_kernel_that_returns_an_array() -> None:
    kernel = autotune.tunable(MODE=[0, 1], vectorize=[0, 4])(scaled)
    a = np.linspace(1.0, 2.0, 1000)
    np.testing.assert_array_equal(kernel(a), a * 2.0)
    best = kernel.tune(n_trials=4, progress=False)
    assert best["MODE"] == 0
    fails = [e for e in kernel.events.events() if e.kind == "fail"]
    assert fails and all(e.params["MODE"] == 1 for e in fails), fails
    assert any("return" in str(e.detail) for e in fails), fails
    np.testing.assert_array_equal(kernel(a), a * 2.0)


def tuple_tuned(a: f64[:]) -> tuple[f64, f64]:
    s = 0.0
    t = 0.0
    for i in range(len(a)):
        s += a[i]
        t += a[i] * a[i]
    return s, t


def test_tuning_a_kernel_that_returns_a_tuple() -> None:
    kernel = autotune.tunable(vectorize=[0, 4])(tuple_tuned)
    a = np.linspace(0.0, 1.0, 513)
    assert kernel(a) == pytest.approx(tuple_tuned(a))
    kernel.tune(n_trials=2, progress=False)
    assert kernel(a) == pytest.approx(tuple_tuned(a))


# ---- refused forms ---------------------------------------------------------------------------------
def r_retyped(n: i64) -> f64:
    b = np.zeros(n)
    b = np.zeros(n, dtype=np.int64)
    return b.size * 1.0


def r_reranked(n: i64) -> f64:
    b = np.zeros(n)
    b = np.zeros((n, n))
    return b.size * 1.0


def r_alias(n: i64) -> f64:
    b = np.zeros(n)
    b = np.ones(n)
    c = b
    return c[0]


def r_scalar_and_array(n: i64) -> f64:
    b = 1.0
    b = np.zeros(n)
    return b.size * 1.0


def r_in_expression(n: i64) -> f64:
    return np.zeros(n)[0]


def r_param_target(a: f64[:]) -> f64:
    a = np.zeros(3)
    return a[0]


def r_return_param(a: f64[:]) -> f64[:]:
    return a


def r_return_wrong_type(n: i64) -> i64[:]:
    b = np.zeros(n)
    return b


def r_order(n: i64) -> f64:
    b = np.zeros(n, order="F")
    return b[0]


def r_full_unknown_type(n: i64, x: f64) -> f64:
    y = x * 2.0
    b = np.full(n, y)
    return b[0]


def r_zero_dim(n: i64) -> f64:
    b = np.zeros(())
    return b.size * 1.0


def r_four_dims(n: i64) -> f64:
    b = np.zeros((n, n, n, n))
    return b.size * 1.0


def r_like_scalar(n: i64) -> f64:
    b = np.zeros_like(n)
    return b.size * 1.0


def r_tuple_count(a: f64[:]) -> tuple[f64, f64]:
    return a[0], a[1], a[2]


def r_tuple_of_arrays(a: f64[:]) -> tuple[f64[:], f64]:
    return a, a[0]


def r_bad_dtype(n: i64) -> f64:
    b = np.zeros(n, dtype=np.float16)
    return b.size * 1.0


def r_array_as_value(n: i64) -> f64:
    b = np.zeros(n)
    return b


@pytest.mark.parametrize(
    ("func", "words"),
    [
        (r_retyped, "local array 'b' is i64[:] here but f64[:]"),
        (r_reranked, "f64[:, :] here but f64[:]"),
        (r_alias, "would outlive its buffer"),
        (r_scalar_and_array, "local array 'b' can only be assigned a new array"),
        (r_in_expression, "b = np.zeros(...)"),
        (r_param_target, "cannot assign a new array to parameter 'a'"),
        (r_return_param, "returns an array it created"),
        (r_return_wrong_type, "i64"),
        (r_order, "keyword 'order' is not supported"),
        (r_full_unknown_type, "give dtype="),
        (r_zero_dim, "1 to 3 dimensions, got 0"),
        (r_four_dims, "1 to 3 dimensions, got 4"),
        (r_like_scalar, "takes an array"),
        (r_tuple_count, "return' 2 values"),
        (r_tuple_of_arrays, "tuple of real scalar types"),
        (r_bad_dtype, "float16"),
        (r_array_as_value, "cannot be used as a value"),
    ],
)
def test_refused_forms(func: Callable[..., Any], words: str) -> None:
    with pytest.raises(KernelSyntaxError) as info:
        autotune.tunable(func)
    assert words in str(info.value), str(info.value)
    assert info.value.lineno >= func.__code__.co_firstlineno and info.value.filename == __file__


def test_float_dimension_is_refused() -> None:
    def float_dim(x: f64) -> f64:
        b = np.zeros(x)
        return b[0]

    with pytest.raises(KernelSyntaxError, match="array dimensions must be integers"):
        autotune.tunable(float_dim)


# ---- tuple parameters ------------------------------------------------------------------------------
def affine(a: f64[:], p: tuple[f64, i64], flag: tuple[bool]) -> tuple[f64, i64]:
    x, n = p
    s = 0.0
    for i in range(min(n, len(a))):
        s += a[i] * x + p[-2]
    if flag[0]:
        s = -s
    return s, len(p)


def test_tuple_parameters_through_both_paths() -> None:
    kernel = autotune.tunable(affine)
    a = np.arange(5.0)
    for p, flag in (((2.0, 3), (True,)), ((0.5, 9), (False,)), ((np.float64(1.5), np.int64(2)), (np.bool_(1),))):
        for got in both_paths(kernel, a, p, flag):
            assert got == affine(a, p, flag)


def test_tuple_parameters_take_the_native_entry() -> None:
    kernel = autotune.tunable(affine)
    a = np.arange(5.0)
    assert kernel(a, (2.0, 3), (True,)) == (-12.0, 2)
    assert type(kernel) is not autotune.Kernel

    def no_fallback(values: Any) -> Any:
        raise AssertionError("the call took the checked Python path")

    kernel.arguments.check = no_fallback  # type: ignore[method-assign]
    assert kernel(a, (1.0, 5), (False,)) == (10.0 + 5.0, 2)


@pytest.mark.parametrize(
    ("p", "words"),
    [((2.0,), "tuple of 2 items, got 1"), ([2.0, 3], "got list"), ((2.0, 3.5), "'p[1]'"), (4, "got int")],
)
def test_bad_tuple_arguments(p: Any, words: str) -> None:
    kernel = autotune.tunable(affine)
    with pytest.raises(autotune.KernelTypeError, match=words.replace("[", r"\[").replace("]", r"\]")):
        kernel(np.zeros(2), p, (True,))


def tuned_affine(a: f64[:], p: tuple[f64, f64]) -> f64[:]:
    b = np.empty_like(a)
    for i in range(len(a)):
        b[i] = a[i] * p[0] + p[1]
    return b


def test_tuning_with_a_tuple_parameter() -> None:
    kernel = autotune.tunable(vectorize=[0, 4])(tuned_affine)
    a = np.linspace(0.0, 1.0, 300)
    np.testing.assert_array_equal(kernel(a, (2.0, 1.0)), a * 2.0 + 1.0)
    kernel.tune(n_trials=2, progress=False)
    assert not [e for e in kernel.events.events() if e.kind == "fail"]
    np.testing.assert_array_equal(kernel(a, (2.0, 1.0)), a * 2.0 + 1.0)


def r_tuple_value(p: tuple[f64, f64]) -> f64:
    q = p
    return q[0]


def r_tuple_variable_index(p: tuple[f64, f64], i: i64) -> f64:
    return p[i]


def r_tuple_out_of_range(p: tuple[f64, f64]) -> f64:
    return p[2]


def r_tuple_unpack_count(p: tuple[f64, f64]) -> f64:
    x, y, z = p
    return x + y + z


def r_tuple_store(p: tuple[f64, f64]) -> f64:
    p[0] = 1.0
    return p[0]


def r_tuple_of_array(p: tuple[f64[:], f64]) -> f64:
    return p[1]


@pytest.mark.parametrize(
    ("func", "words"),
    [
        (r_tuple_value, "tuple parameter 'p' cannot be used as a value"),
        (r_tuple_variable_index, "the index must be a constant"),
        (r_tuple_out_of_range, "tuple index 2 out of range"),
        (r_tuple_unpack_count, "cannot unpack 2 items of 'p' into 3 names"),
        (r_tuple_store, "tuples are immutable"),
        (r_tuple_of_array, "a tuple of real scalar types"),
    ],
)
def test_refused_tuple_parameter_forms(func: Callable[..., Any], words: str) -> None:
    with pytest.raises(KernelSyntaxError, match=words):
        autotune.tunable(func)


def maybe_unbound(n: i64) -> f64:
    if n > 2:
        b = np.ones(n)
    s = 0.0
    for i in range(n):
        s += b[i]
    return s


def test_an_array_used_before_assignment_raises_unbound_local_error() -> None:
    kernel = autotune.tunable(maybe_unbound)
    assert kernel(5) == maybe_unbound(5)
    with pytest.raises(UnboundLocalError):
        maybe_unbound(1)
    with pytest.raises(UnboundLocalError, match="used before it was assigned"):
        kernel(1)
    assert kernel(0) == 0.0  # no use ran: no error, like Python
