"""Arrays of any strides as arguments: Fortran order, ``x[::2]``, ``A[:, j]``, negative and zero strides.

Each call is compared with the same call made with C-contiguous copies (the contiguous path, unchanged) and
with the undecorated function, which numpy runs on the same views.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autotune import KernelTypeError
from autotune.space import Space

from . import ir_kernels as irk
from . import strided_kernels as sk


def test_strided_one_dimensional_arguments_match_contiguous_calls_and_python() -> None:
    x = np.arange(40.0)
    for xs, ys in [
        (slice(None, None, 2), slice(None, None, 2)),
        (slice(None, None, -2), slice(1, None, 2)),
        (slice(39, 0, -2), slice(None, 20)),
    ]:
        y, want, ref = np.ones(40), np.ones(40), np.ones(40)
        sk.axpy(1.5, x[xs], y[ys])
        part = want[ys].copy()
        sk.axpy(1.5, np.ascontiguousarray(x[xs]), part)  # the contiguous path
        want[ys] = part
        sk.axpy.py_func(1.5, x[xs], ref[ys])
        np.testing.assert_array_equal(y, want)
        np.testing.assert_array_equal(y, ref)
    assert sk.axpy.strided is not None and len(sk.axpy.strided._forms) == 1  # one strided form per key


def test_fortran_order_transposes_and_columns() -> None:
    A = np.asfortranarray(np.arange(30.0).reshape(5, 6))
    for view in (A, A.T, A[:, ::-2], A[::2, 1:], np.arange(60.0).reshape(6, 10)[:, 3:7]):
        assert sk.weighted(view) == sk.weighted(np.ascontiguousarray(view)) == sk.weighted.py_func(view)
    column = np.arange(12.0).reshape(3, 4)[:, 1]
    y = np.zeros(3)
    sk.axpy(2.0, column, y)
    np.testing.assert_array_equal(y, 2.0 * column)


def test_three_dimensional_views_of_strided_arguments_write_the_callers_array() -> None:
    T = np.asfortranarray(np.arange(60, dtype=np.float32).reshape(3, 4, 5))
    out, ref = np.zeros((3, 4, 5), np.float32, order="F"), np.zeros((3, 4, 5), np.float32, order="F")
    sk.smooth(T, out)
    sk.smooth.py_func(T, ref)
    np.testing.assert_array_equal(out, ref)
    out2, ref2 = np.zeros((6, 4, 10), np.float32), np.zeros((6, 4, 10), np.float32)
    sk.smooth(T[:, ::-1], out2[::2, :, ::2])
    sk.smooth.py_func(T[:, ::-1], ref2[::2, :, ::2])
    np.testing.assert_array_equal(out2, ref2)


def test_zero_strides_are_read_only_inputs() -> None:
    y, ref = np.ones(10), np.ones(10)
    two = np.broadcast_to(np.float64(2.0), (10,))
    sk.axpy(3.0, two, y)
    sk.axpy.py_func(3.0, two, ref)
    np.testing.assert_array_equal(y, ref)
    assert sk.weighted(np.broadcast_to(np.arange(3.0), (4, 3))) == sk.weighted.py_func(
        np.broadcast_to(np.arange(3.0), (4, 3))
    )


def test_written_arrays_that_overlap_themselves_are_refused() -> None:
    base = np.zeros(1)
    aliased = np.lib.stride_tricks.as_strided(base, (10,), (0,))
    with pytest.raises(KernelTypeError, match="overlap") as info:
        sk.axpy(1.0, np.ones(10), aliased)
    assert info.value.argument == "y"
    rows = np.lib.stride_tricks.as_strided(np.zeros(12, np.float32), (1, 3, 4), (0, 8, 4))  # rows overlap
    with pytest.raises(KernelTypeError, match="overlap"):
        sk.smooth(np.zeros((1, 3, 4), np.float32), rows)
    sk.smooth(rows, np.zeros((1, 3, 4), np.float32))  # read-only use of the same layout is fine


def test_step_zero_and_views_of_strided_arguments_in_kernels() -> None:
    a = np.arange(30, dtype=np.int64)
    for view in (a, a[::3], a[::-2]):
        for lo, step in ((0, 1), (-2, -1), (3, 2), (100, -3)):
            assert sk.count_steps(view, lo, step) == sk.count_steps.py_func(view, lo, step)
    for view in (a[::2], a, a):  # the strided form, the checked path, then the native entry
        with pytest.raises(ValueError, match="slice step cannot be zero"):
            sk.count_steps(view, 0, 0)


def test_strided_calls_follow_the_live_variant_after_tuning() -> None:
    rng = np.random.default_rng(1)
    x, y = rng.random(4096), np.zeros(8192)
    sk.axpy(0.5, x, y[::2])  # the captured call is strided; tuning runs on C-contiguous copies
    sk.axpy.tune(n_trials=4, progress=False)
    live = sk.axpy.live
    assert isinstance(live, dict)
    before, want = y.copy(), y.copy()
    sk.axpy(0.25, x, y[::2])
    sk.axpy.py_func(0.25, x, want[::2])
    np.testing.assert_allclose(y, want, rtol=1e-15)
    assert not np.array_equal(y, before)
    forms = sk.axpy.strided._forms if sk.axpy.strided is not None else {}
    assert [f.params for f in forms.values()] == [Space.key(live)]


def test_the_ir_route_still_takes_contiguous_arrays_only() -> None:
    with pytest.raises(KernelTypeError, match="C-contiguous"):
        irk.saxpy_ir(1.0, np.ones(8)[::2], np.ones(4))


view_step = st.sampled_from([1, 2, 3, -1, -2])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.integers(0, 7),
    cols=st.integers(0, 7),
    steps=st.tuples(view_step, view_step, view_step),
    offsets=st.tuples(st.integers(0, 2), st.integers(0, 2)),
    fortran=st.booleans(),
    transpose=st.booleans(),
)
def test_random_views_as_arguments_match_python(
    rows: int,
    cols: int,
    steps: tuple[int, int, int],
    offsets: tuple[int, int],
    fortran: bool,
    transpose: bool,
) -> None:
    base = np.arange(rows * cols, dtype=np.float64).reshape(rows, cols) + 0.5
    base = np.asfortranarray(base) if fortran else base
    view = base[offsets[0] :: steps[0], offsets[1] :: steps[1]]
    view = view.T if transpose else view
    assert sk.weighted(view) == sk.weighted.py_func(view)
    x = np.arange(3.0 * view.shape[1] + 1)[:: abs(steps[2])][: view.shape[1]]
    if steps[2] < 0:
        x = x[::-1]
    mine, theirs = base.copy(order="A"), base.copy(order="A")
    a = mine[offsets[0] :: steps[0], offsets[1] :: steps[1]]
    b = theirs[offsets[0] :: steps[0], offsets[1] :: steps[1]]
    sk.stamp(a.T if transpose else a, x)
    sk.stamp.py_func(b.T if transpose else b, x)
    np.testing.assert_array_equal(mine, theirs)


def test_the_native_entry_calls_the_strided_form_without_python(monkeypatch: pytest.MonkeyPatch) -> None:
    x, y = np.arange(64.0), np.zeros(128)
    sk.axpy(1.0, x[::2], y[::4])  # builds the strided form; the entry's cell now holds its trampoline
    checks: list[object] = []
    real = sk.axpy.arguments.check
    monkeypatch.setattr(sk.axpy.arguments, "check", lambda values: checks.append(values) or real(values))
    want = y.copy()
    for _ in range(3):
        sk.axpy(2.0, x[::-2], y[::4])
        sk.axpy.py_func(2.0, x[::-2], want[::4])
    np.testing.assert_array_equal(y, want)
    sk.axpy(1.0, np.ones(10), np.zeros(20)[::2])
    assert checks == []  # no call took the Python path
    with pytest.raises(KernelTypeError, match="overlap"):  # the native check sends it to the fallback
        sk.axpy(1.0, np.ones(10), np.lib.stride_tricks.as_strided(np.zeros(1), (10,), (0,)))
    assert len(checks) == 1
