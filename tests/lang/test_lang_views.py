"""Array views inside kernels: rows, columns and slices agree with the Python function run with numpy.

numpy views have the semantics the kernel language copies (Python's ``slice.indices`` clamping, negative
steps, writes through a view reaching the base array), so every case here is the undecorated function
against the compiled one, on the same inputs.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autotune.errors import KernelSyntaxError
from autotune.lang import KernelInfo, Knobs, lower, parse_kernel, parse_kernel_source
from autotune.types import f64, i32, i64
from dylibs import CompileOptions, optimize_ir
from tests.lang.runner import check, compare, compiled, run_lowered

BOUNDS = (None, -13, -5, -1, 0, 1, 3, 7, 12, 2**62, -(2**63))
STEPS = (None, 1, 2, 3, -1, -2, -4, 2**62, -(2**63))


# ---- 1-D slices --------------------------------------------------------------------------------------
def slice_sum(a: f64[:], lo: i64, hi: i64, step: i64) -> f64:
    v = a[lo:hi:step]
    t = 0.0
    for k in range(len(v)):
        t = t * 1.5 + v[k]
    return t + v.size * 1000.0 + v.shape[0] * 10000.0


def test_runtime_slices_clamp_like_numpy() -> None:
    a = np.arange(10.0) + 0.25
    cases = [(a, lo, hi, st) for lo in BOUNDS[1:] for hi in BOUNDS[1:] for st in STEPS[1:]]
    check(slice_sum, *cases)
    check(slice_sum, (a[:0].copy(), 0, 5, 1), (a[:0].copy(), -1, -5, -1), (a[:1].copy(), 5, -9, -1))


def test_runtime_step_zero_is_a_value_error() -> None:
    run = compiled(slice_sum)
    with pytest.raises(ValueError, match="slice step cannot be zero"):
        run(np.arange(4.0), 0, 4, 0)
    with pytest.raises(ValueError):
        slice_sum(np.arange(4.0), 0, 4, 0)


def const_step_zero(a: f64[:]) -> f64:
    v = a[::0]
    return v[0]


def test_constant_step_zero_is_a_value_error_at_the_call() -> None:
    with pytest.raises(ValueError, match="slice step cannot be zero"):
        compiled(const_step_zero)(np.arange(4.0))


FORMS_1D = [
    "a[:]",
    "a[2:]",
    "a[:3]",
    "a[::2]",
    "a[::-1]",
    "a[-3:]",
    "a[:-3]",
    "a[1:-1:3]",
    "a[::-3]",
    "a[5:1:-1]",
    "a[1:][::-2]",
    "a[::-1][2:]",
    "a[-100:100]",
    "a[100:]",
    "a[:-100]",
    "a[-100::-1]",
    "a[3:3]",
]


@pytest.mark.parametrize("form", FORMS_1D)
def test_constant_and_default_bounds(form: str) -> None:
    text = (
        "def k(a: f64[:], out: f64[:]) -> f64:\n"
        "    t = 0.0\n"
        f"    for x in {form}:\n"
        "        t = t * 2.0 + x\n"
        f"    v = {form}\n"
        "    for k in range(len(v)):\n"
        "        v[k] += 0.5\n"
        "    out[0] = len(v)\n"
        "    return t\n"
    )
    func, info = _kernel_text(text)
    _check_text(func, info, *[(np.arange(float(n)), np.zeros(1)) for n in (0, 1, 2, 9)])


def write_through(a: f64[:], lo: i64, step: i64) -> None:
    v = a[lo::step]
    for k in range(len(v)):
        v[k] = v[k] * 10.0 + k
    w = v[1:]
    if len(w) > 0:
        w[-1] = -1.0


def test_stores_through_views_write_the_base_array() -> None:
    check(write_through, *[(np.arange(11.0), lo, st) for lo in (0, 3, -2, 20, -20) for st in (1, 2, -1, -3)])


# ---- 2-D and 3-D: rows, columns, blocks -------------------------------------------------------------
def rows_and_columns(A: f64[:, :], j: i64, out: f64[:]) -> f64:
    for i in range(A.shape[0]):
        row = A[i]
        s = 0.0
        for k in range(len(row)):
            s += row[k] * (k + 1)
        out[i] = s
    col = A[:, j]
    t = 0.0
    for k in range(col.shape[0]):
        t = t * 0.5 + col[k]
        col[k] = -t
    return t + A[1][j] + A[-1, ::-1][0] + A[1:, j][0]


def test_rows_columns_and_chained_indexing() -> None:
    A = np.arange(20.0).reshape(4, 5)
    check(rows_and_columns, (A.copy(), 2, np.zeros(4)), (A.copy(), -1, np.zeros(4)), (A.copy(), -5, np.zeros(4)))


def blocks(A: f64[:, :], r0: i64, r1: i64, c0: i64, c1: i64, cs: i64) -> f64:
    B = A[r0:r1, c0:c1:cs]
    t = 0.0
    for i in range(B.shape[0]):
        for j in range(B.shape[1]):
            t = t * 1.25 + B[i, j]
            B[i, j] = t
    return t + B.size + 100.0 * B.ndim


def test_two_dimensional_blocks() -> None:
    A = np.arange(42.0).reshape(6, 7)
    cases = [
        (A.copy(), r0, r1, c0, c1, cs)
        for r0, r1 in ((0, 6), (1, -1), (-2, 9), (4, 2))
        for c0, c1 in ((0, 7), (-3, 20), (5, 0))
        for cs in (1, 2, -1, -2)
    ]
    check(blocks, *cases)


def cube(T: f64[:, :, :], i: i64, out: f64[:]) -> None:
    plane = T[i]
    out[0] = plane[1, 2] + plane.shape[0] * 100.0 + plane.shape[1] * 1000.0
    line = T[:, 1, ::-1]
    out[1] = line[0, 0] + line[-1, 1] + line.shape[1]
    fiber = T[1, :, 2]
    out[2] = fiber[0] + fiber[-1] + len(fiber)
    sub = T[::2, 1:, :2]
    t = 0.0
    for a in range(sub.shape[0]):
        for b in range(sub.shape[1]):
            for c in range(sub.shape[2]):
                t = t * 1.5 + sub[a, b, c]
    out[3] = t + sub.ndim
    rows = T[i, 1:]
    out[4] = rows[0][1] + rows[-1, -1] + T[i][1][2] + T[i, 1][2]


def test_three_dimensional_views() -> None:
    T = np.arange(60.0).reshape(3, 4, 5)
    check(cube, (T, 0, np.zeros(5)), (T, -1, np.zeros(5)), (T, 2, np.zeros(5)))


def rows_loop(A: f64[:, :], out: f64[:]) -> None:
    """A view local reassigned in a loop and in branches; iteration over rows and over slices of rows."""
    row = A[0]
    for i in range(A.shape[0]):
        if i % 2 == 0:
            row = A[i]
        else:
            row = A[i, ::-1]
        out[i] = row[0] + row[1] * 10.0
    k = 0
    for r in A:
        for x in r[1::2]:
            out[k] += x
        k += 1
    for i, (x, y) in enumerate(zip(A[0], A[-1], strict=True)):
        out[i] += x * y


def test_view_locals_in_loops_branches_and_iteration() -> None:
    A = np.arange(20.0).reshape(4, 5)
    check(rows_loop, (A, np.zeros(5)))


def mixed_dtypes(a: i32[:], b: i64[:, :]) -> i64:
    t = 0
    for x in a[::-2]:
        t = t * 3 + x
    for y in b[:, 1]:
        t = t * 5 - y
    return t


def test_integer_views_are_exact() -> None:
    check(mixed_dtypes, (np.arange(7, dtype=np.int32) - 3, np.arange(12, dtype=np.int64).reshape(4, 3) - 6))


HOST = np.arange(12.0).reshape(3, 4)


def host_rows(out: f64[:]) -> None:
    for i in range(HOST.shape[0]):
        row = HOST[i, 1:]
        out[i] = row[0] + row[-1] + len(row)


def test_views_of_module_arrays() -> None:
    check(host_rows, (np.zeros(3),))


def alias(a: f64[:], out: f64[:]) -> None:
    b = a
    c = b[::-1]
    for k in range(len(c)):
        out[k] = c[k] + b[k]


def test_an_array_assigned_to_a_local_is_a_view_of_it() -> None:
    check(alias, (np.arange(6.0), np.zeros(6)))


def unpack_rows(A: f64[:, :], out: f64[:]) -> None:
    r1, r2 = A[0], A[-1]
    r1, r2 = r2, r1
    k = 0
    while k < len(r1):
        out[k] = r1[k] - r2[k]
        k += 1


def views_of_views(A: f64[:, :], s: i64) -> f64:
    v = A[::s]
    w = v[:, ::s]
    t = 0.0
    for row in w:
        for x in row[::-1]:
            t = t * 1.1 + x
    return t


def test_tuple_assignment_while_loops_and_views_of_views() -> None:
    A = np.arange(20.0).reshape(4, 5)
    check(unpack_rows, (A, np.zeros(5)))
    check(views_of_views, (A, 1), (A, 2), (A, -1), (A, -3), (A, 0))


# ---- hypothesis: random bounds and steps against numpy ----------------------------------------------
bound = st.one_of(st.none(), st.integers(-20, 20), st.sampled_from([2**63 - 1, -(2**63)]))
step = st.one_of(st.none(), st.integers(-6, 6).filter(bool), st.sampled_from([2**63 - 1, -(2**63)]))


def _kernel_text(text: str) -> tuple[Any, KernelInfo]:
    namespace: dict[str, object] = {"f64": f64}
    exec(text, namespace)
    func = namespace["k"]
    return func, parse_kernel_source(text, namespace=namespace)


def _check_text(func: Any, info: KernelInfo, *argsets: tuple[Any, ...]) -> None:
    """``check`` for a kernel made from text (whose source ``inspect`` cannot read)."""
    lowered = lower(info, {}, Knobs())

    def native(*args: Any) -> Any:
        return run_lowered(lowered, *args)

    native.__name__ = func.__name__
    compare(func, native, *argsets)


def _kernel(items: str) -> tuple[Any, KernelInfo]:
    text = (
        "def k(A: f64[:, :], out: f64[:]) -> f64:\n"
        f"    v = A[{items}]\n"
        "    t = 0.0\n"
        "    for i in range(v.shape[0]):\n"
        "        for j in range(v.shape[1]):\n"
        "            t = t * 1.5 + v[i, j]\n"
        "            v[i, j] = -t\n"
        "    out[0] = v.shape[0]\n"
        "    out[1] = v.shape[1]\n"
        "    return t\n"
    )
    return _kernel_text(text)


def _item(lo: int | None, hi: int | None, st_: int | None) -> str:
    def s(x: int | None) -> str:
        return "" if x is None else "(-9223372036854775807 - 1)" if x == -(2**63) else str(x)

    return f"{s(lo)}:{s(hi)}" + ("" if st_ is None else f":{s(st_)}")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.integers(0, 6),
    cols=st.integers(0, 6),
    first=st.tuples(bound, bound, step),
    second=st.tuples(bound, bound, step),
)
def test_random_constant_slices_match_numpy(
    rows: int, cols: int, first: tuple[int | None, int | None, int | None], second: tuple[int | None, ...]
) -> None:
    func, info = _kernel(f"{_item(*first)}, {_item(*second)}")
    A = np.arange(rows * cols, dtype=np.float64).reshape(rows, cols) + 0.5
    _check_text(func, info, (A, np.zeros(2)))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(0, 9),
    lo=st.integers(-(2**63), 2**63 - 1) | st.integers(-12, 12),
    hi=st.integers(-12, 12),
    step=st.integers(-5, 5).filter(bool),
)
def test_random_runtime_slices_match_numpy(n: int, lo: int, hi: int, step: int) -> None:
    check(slice_sum, (np.arange(float(n)), lo, hi, step))


# ---- the contiguous case keeps its code ------------------------------------------------------------
def row_saxpy(A: f64[:, :], x: f64[:], a: f64) -> None:
    for i in range(A.shape[0]):
        row = A[i]
        for j in range(len(row)):
            row[j] += a * x[j]


def test_a_contiguous_row_local_has_no_strides_and_vectorizes() -> None:
    ir = lower(parse_kernel(row_saxpy), {}, Knobs(vectorize=8)).ir
    assert "row.stride" not in ir  # C-contiguous: addressed like a contiguous parameter
    assert "<8 x double>" in optimize_ir(ir, CompileOptions(opt=3))
    check(row_saxpy, (np.arange(12.0).reshape(3, 4), np.arange(4.0), 2.0), knobs=Knobs(vectorize=8))


def column_scale(A: f64[:, :], j: i64) -> None:
    col = A[:, j]
    for i in range(len(col)):
        col[i] *= 2.0


def test_a_column_local_has_strides() -> None:
    assert "col.stride0" in lower(parse_kernel(column_scale), {}, Knobs()).ir
    check(column_scale, (np.arange(12.0).reshape(3, 4), 1))


# ---- refused forms ---------------------------------------------------------------------------------
REFUSED = [
    ("v = a[1:]\n    v = a[0]", "a local holds either array views"),
    ("v = a[1:]\n    v = m[1:]", "a local holds views of one rank"),
    ("v = a[1:]\n    v += 1.0", "holds array views"),
    ("n = a[1:]", "scalar parameter 'n' cannot hold a view"),
    ("a[1:] = 0.0", "cannot assign to 'a[1:]', an array view"),
    ("m[0] = a[0]", "cannot assign to 'm[0]', an array view"),
    ("x = a[1:] + 1.0", "is an array view, not a value"),
    ("x = m[0] * 2.0", "is an array view, not a value"),
    ("a[0] = m[1]", "an array view can only be assigned to a name"),
    ("x = a[1, 2]", "has 1 dimension(s) but is indexed with 2"),
    ("x = m[1:, 2, 3]", "has 2 dimension(s) but is indexed with 3"),
    ("x = a[1.0:]", "must be integers"),
    ("v = a[::2]\n    x = v + 1.0", "cannot be used as a value"),
    ("v = m[0]\n    x = v.shape", "x.shape must be indexed"),
    ("x = a[...]", "ellipsis"),
    ("x = a[None]", "NoneType"),
]


@pytest.mark.parametrize(("body", "message"), REFUSED)
def test_refused_view_forms_are_syntax_errors(body: str, message: str) -> None:
    text = f"def bad(a: f64[:], m: f64[:, :], n: i64) -> None:\n    {body}\n    a[0] = 1.0\n"
    with pytest.raises(KernelSyntaxError, match=re.escape(message)) as caught:
        info = parse_kernel_source(text, namespace={"f64": f64, "i64": i64})
        lower(info, {}, Knobs())
    assert re.search(r":[23]:", str(caught.value)), str(caught.value)
