"""Loop distribution under ``schedule=True``: an imperfect nest becomes perfect ones where that is legal.

The distributed nests must give the plain function's bits on every schedule of their bands and on
degenerate shapes; a nest whose inner loop feeds a later iteration's statement, or whose statement sets a
scalar for the loop, must stay whole (no band is offered, and the legality test says no).
"""

from __future__ import annotations

import ast

import numpy as np

from autotune.lang import KernelInfo
from autotune.lang._dependence import distribution_legal
from tests.lang import schedule_kernels as sk
from tests.lang.test_schedule import _kernel, _same, _variants


def test_an_imperfect_matmul_becomes_two_nests_and_keeps_its_bits() -> None:
    kernel = _kernel(sk.two_mm)
    assert kernel.schedule is not None
    assert [b.names for b in kernel.schedule.bands] == [("i", "j"), ("i", "j", "k")]
    text = kernel.inspect_schedule(order1=123, jam1_i=8, jam1_j=16, hoist1=True)
    assert text.index("T[i, j] = 0.0") < text.index("for k in range(0, A.shape[1])")
    assert kernel.inspect_schedule().count("for i in") == 1  # the untransformed kernel is left as written
    rng = np.random.default_rng(3)
    for params in [{"order1": 123, "jam1_i": 8, "jam1_j": 16, "hoist1": True}, *_variants(kernel, 12)]:
        for n, m, p in [(0, 3, 4), (1, 1, 1), (3, 0, 2), (2, 5, 0), (17, 9, 23)]:
            _same(kernel, params, [rng.random((n, p)), rng.random((p, m)), rng.random((n, m))])


def test_statements_and_loops_reusing_a_variable_split_into_three_nests() -> None:
    kernel = _kernel(sk.two_passes)
    assert kernel.schedule is not None
    assert [b.names for b in kernel.schedule.bands] == [("i", "j"), ("i", "j")]
    rng = np.random.default_rng(4)
    for params in _variants(kernel, 12):
        for n, m in [(0, 0), (1, 1), (0, 3), (3, 0), (13, 8)]:
            _same(kernel, params, [rng.random((n, m)), rng.random(m), rng.random(m), rng.random(n)])


def test_a_dependence_from_the_inner_loop_to_a_later_statement_keeps_the_nest_whole() -> None:
    for func in (sk.carried_row, sk.scalar_before):
        kernel = _kernel(func)
        assert kernel.schedule is not None and kernel.schedule.bands == (), func
        assert isinstance(kernel.info, KernelInfo)
        head = next(s for s in kernel.info.tree.body if isinstance(s, ast.For))
        assert isinstance(head.body[-1], ast.For)
        assert not distribution_legal([head, head.body[-1]], arrays={"A", "B"}, noalias=True)


def test_without_noalias_two_arrays_may_be_one_and_nothing_is_distributed() -> None:
    import autotune

    kernel = autotune.tunable(schedule=True)(sk.two_mm)
    assert kernel.schedule is not None
    assert all(len(b.names) == 2 for b in kernel.schedule.bands)  # the (i, j) prefix only
