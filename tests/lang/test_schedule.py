"""Loop-nest schedules (``@tunable(schedule=True)``): every transformation against the untransformed kernel.

Each legal kernel runs under many schedules (every legal loop order, tiles that do not divide the extents,
unroll-and-jam with remainders, hoisted loads) on shapes that include empty and single-element extents,
and must give exactly the plain function's result: these schedules never reorder the updates of one
element, so even floating-point results are bit for bit the same. The dependence test must withhold
what would change a result (checked by building the forbidden variant anyway, where one can be built).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest

import autotune
from autotune import Kernel, SpaceError
from tests.lang import schedule_kernels as sk
from tests.lang.runner import run_lowered

SHAPES_3 = [(0, 3, 4), (1, 1, 1), (3, 0, 2), (2, 5, 0), (17, 9, 23), (40, 33, 70)]


def _kernel(func: Callable[..., Any], **extra: Any) -> Kernel:
    return autotune.tunable(schedule=True, noalias=True, **extra)(func)


def _variants(kernel: Kernel, count: int, seed: int = 0) -> list[dict[str, Any]]:
    """Every loop order alone, then ``count`` random schedules drawn from the kernel's space."""
    space = kernel.space
    names = space.schedule_knobs()
    chosen = [{"order0": order} for order in space.values("order0")] if "order0" in names else []
    rng = random.Random(seed)
    for _ in range(count):
        chosen.append({name: rng.choice(space.values(name)) for name in names})
    return chosen


def _same(kernel: Kernel, params: dict[str, Any], args: Sequence[Any]) -> None:
    expected = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    got = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    want = kernel.py_func(*expected)
    result = run_lowered(kernel.variants.lower(params), *got)
    assert result == want, params
    for e, g in zip(expected, got, strict=True):
        if isinstance(e, np.ndarray):
            assert np.array_equal(e, g), (params, [a.shape for a in args if isinstance(a, np.ndarray)])


@pytest.mark.parametrize("func", [sk.matmul, sk.matmul_dot])
def test_matmul_schedules_give_the_same_bits_on_every_shape(func: Callable[..., Any]) -> None:
    kernel = _kernel(func)
    rng = np.random.default_rng(1)
    for params in _variants(kernel, 14):
        for n, m, p in SHAPES_3:
            _same(kernel, params, [rng.random((n, p)), rng.random((p, m)), rng.random((n, m))])


@pytest.mark.parametrize("func", [sk.jacobi_step, sk.row_scan])
def test_two_dimensional_schedules_on_every_shape(func: Callable[..., Any]) -> None:
    kernel = _kernel(func)
    rng = np.random.default_rng(2)
    for params in _variants(kernel, 16):
        for n, m in [(0, 0), (1, 1), (2, 3), (3, 2), (19, 37), (64, 65)]:
            arrays = [rng.random((n, m)) for _ in range(func.__code__.co_argcount)]
            _same(kernel, params, arrays)


def test_bands_inside_a_time_loop_are_scheduled_each() -> None:
    kernel = _kernel(sk.jacobi_2d)
    assert {"order0", "order1", "tile0_i", "tile1_j", "jam1_i"} <= set(kernel.space.names)
    rng = np.random.default_rng(3)
    for params in _variants(kernel, 10):
        for n in (0, 1, 2, 3, 30):
            _same(kernel, params, [3, rng.random((n, n)), rng.random((n, n))])


def test_a_reversed_dependence_is_never_offered() -> None:
    skewed = _kernel(sk.skewed)  # distance (1, -1): interchange reads A[i-1, j+1] before it is written
    assert "order0" not in skewed.space.names and "tile0_i" not in skewed.space.names
    seidel = _kernel(sk.seidel_2d)  # in place, 9 points: the same (1, -1) dependence
    assert "order0" not in seidel.space.names and "tile0_j" not in seidel.space.names
    # unroll-and-jam of i would run (i + 1, j) before (i, j + 1), which it reads: the knob is ignored
    jammed = seidel.inspect_schedule(jam0_i=2, hoist0=True)
    assert "range(1, n - 1, 2)" not in jammed
    rng = np.random.default_rng(4)
    for kernel in (skewed, seidel):
        for params in _variants(kernel, 8):
            for n in (0, 1, 2, 3, 16):
                _same(kernel, params, [rng.random((n, n))])


def test_the_forbidden_interchange_really_changes_the_result() -> None:
    """The refusal is not vacuous: written by hand, the interchanged skewed loop gives another answer."""

    def interchanged(A: np.ndarray[Any, Any]) -> None:
        for j in range(A.shape[1] - 1):
            for i in range(1, A.shape[0]):
                A[i, j] = A[i - 1, j + 1] * 0.5 + 1.0

    a = np.random.default_rng(5).random((6, 6))
    b = a.copy()
    sk.skewed(a)
    interchanged(b)
    assert not np.array_equal(a, b)


def test_without_noalias_arrays_may_overlap_and_nothing_is_reordered() -> None:
    kernel = autotune.tunable(schedule=True)(sk.matmul)
    assert "order0" not in kernel.space.names and "tile0_k" not in kernel.space.names
    assert "its arrays may overlap: declare @tunable(noalias=True)" in kernel.inspect_schedule()


def test_non_affine_indexes_and_outside_reads_are_refused_or_kept_in_order() -> None:
    # B[idx[i], j]: rows may repeat, so B's rows get '*' directions in i; every element is still updated in
    # i order under interchange, tiling and jam (j is exact), so those stay legal, and the bits agree
    gather = _kernel(sk.gather_rows)
    assert gather.space.values("order0") == (12, 21) and "tile0_i" in gather.space.names
    idx = np.array([0, 0, 1, 0, 2, 1, 0])
    rng = np.random.default_rng(6)
    for params in _variants(gather, 12):
        _same(gather, params, [rng.random((7, 5)), idx, rng.random((3, 5))])
    last = _kernel(sk.last_index_used)
    assert not last.space.schedule_knobs()
    assert "used outside it" in last.inspect_schedule()
    tri = _kernel(sk.triangular)
    assert not tri.space.schedule_knobs()
    assert "no loop nest" in tri.inspect_schedule()


def test_user_lists_narrow_the_space_and_bad_knobs_are_errors() -> None:
    kernel = _kernel(sk.matmul, tile0_k=[0, 64], order0=[132, 123])
    assert kernel.space.values("tile0_k") == (0, 64) and kernel.space.default["order0"] == 132
    with pytest.raises(SpaceError, match="unknown schedule knob"):
        _kernel(sk.matmul, tile0_x=[0, 8])
    with pytest.raises(SpaceError, match="need schedule=True"):
        autotune.tunable(tile0_i=[0, 8])(sk.matmul)
    with pytest.raises(SpaceError, match="invalid value"):
        _kernel(sk.matmul, jam0_i=[0])
    with pytest.raises(SpaceError, match="order0=999 is not a legal loop order of band 0; legal: 123, 132"):
        _kernel(sk.matmul, order0=[123, 999])
    with pytest.raises(SpaceError, match="order0=321 is not a legal loop order"):  # one the dependences forbid
        _kernel(sk.self_update, order0=[321])
    plain = autotune.tunable(sk.matmul)
    with pytest.raises(SpaceError, match="schedule=True"):
        plain.inspect_schedule()


def test_inspect_schedule_prints_the_rewritten_nest_as_python() -> None:
    kernel = _kernel(sk.matmul)
    text = kernel.inspect_schedule(order0=132, tile0_k=64, jam0_i=2, hoist0=True)
    assert text.startswith("# band 0 (line ")
    assert "for _k_t in range(0, A.shape[1], 64):" in text
    assert "range(_k_t, min(_k_t + 64, A.shape[1]))" in text
    assert "C[i + 1, j] +=" in text and "_h = A[i, k]" in text
    compile(text, "<schedule>", "exec")  # valid Python
    assert kernel.inspect_schedule() == kernel.inspect_schedule(order0=123)


def test_every_pair_of_transformations_on_a_tiny_matmul() -> None:
    """Orders x tile on one loop x jam on one loop x hoist, each against the plain function."""
    kernel = _kernel(sk.matmul)
    rng = np.random.default_rng(7)
    args = [rng.random((11, 10)), rng.random((10, 13)), rng.random((11, 13))]
    for order, tiled, jammed, hoist in itertools.product(
        kernel.space.values("order0"), ["i", "j", "k"], ["i", "j", "k"], [False, True]
    ):
        _same(kernel, {"order0": order, f"tile0_{tiled}": 8, f"jam0_{jammed}": 4, "hoist0": hoist}, args)


def test_strided_arguments_run_the_scheduled_strided_form() -> None:
    kernel = _kernel(sk.matmul, order0=[132], tile0_k=[8], jam0_i=[2], hoist0=[True])
    rng = np.random.default_rng(8)
    a, b = np.asfortranarray(rng.random((13, 11))), rng.random((22, 9))[::2]
    c, want = np.zeros((13, 9)), np.zeros((13, 9))
    kernel(a, b, c)
    sk.matmul(a, b, want)
    assert np.array_equal(c, want)


def test_accumulators_live_in_locals_only_where_nothing_else_can_touch_them() -> None:
    """``hoist`` keeps C[i, j] (and its jammed neighbours) in locals during the k loop, written back after;
    not when the loop also reads an element of C that may be the same one."""
    blocked = _kernel(sk.matmul).inspect_schedule(order0=123, jam0_i=2, jam0_j=2, hoist0=True)
    assert "_a = C[i, j]" in blocked and "_a3 = C[i + 1, j + 1]" in blocked and "C[i + 1, j + 1] = _a3" in blocked
    assert "_a += A[i, k] * B[k, j]" in blocked
    rng = np.random.default_rng(9)
    for func in (sk.self_update, sk.first_column):
        kernel = _kernel(func)
        assert "_a" not in kernel.inspect_schedule(hoist0=True)
        for params in [{"hoist0": True}, *_variants(kernel, 10, seed=4)]:
            for n, m in [(0, 0), (1, 1), (3, 4), (9, 7)]:
                _same(kernel, params, [rng.random((max(n, m), m)), rng.random((n, m))])
    kernel = _kernel(sk.counts)
    text = kernel.inspect_schedule(hoist0=True)
    assert "_a = H[i, j]" in text and "_a1 = H[i, j + 1]" in text, text  # two distinct elements, both kept
    assert "H[i, j] = _a" in text and "H[i, j + 1] = _a1" not in text, text  # only the stored one written back
    for params in [{"hoist0": True}, *_variants(kernel, 10, seed=5)]:
        for n, m, p in [(0, 2, 2), (1, 1, 1), (4, 6, 3), (7, 3, 9)]:
            ints = np.random.default_rng(n + m + p).integers(-(2**20), 2**20, size=(n, p))
            _same(kernel, params, [ints, np.zeros((n, m), dtype=np.int64) + 3])
