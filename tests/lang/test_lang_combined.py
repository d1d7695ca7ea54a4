"""Features that meet: parallel loops over strided arguments, views and created arrays in prange bodies,
views of created arrays, tuple parameters beside strided arrays, an array result from strided inputs."""

from __future__ import annotations

import numpy as np
import pytest

import autotune
from autotune.errors import KernelSyntaxError

PRANGE_SUM = """
def k(a: f64[:], out: f64[:]) -> f64:
    s = 0.0
    for i in prange(len(a)):
        out[i] = a[i] * 2.0
        s += a[i]
    return s
"""


@pytest.mark.parametrize("parallel", [1, 2, 4])
def test_a_parallel_loop_over_strided_arguments_matches_python(parallel: int) -> None:
    kernel = autotune.tunable(source=PRANGE_SUM, parallel=[parallel])
    base, out = np.arange(41.0), np.zeros(84)
    expected_out = np.zeros(84)
    expected = kernel.py_func(base[::-2], expected_out[::4][:21])
    assert kernel(base[::-2], out[::4][:21]) == expected
    np.testing.assert_array_equal(out, expected_out)
    column = np.arange(40.0).reshape(10, 4)[:, 1]
    assert kernel(column, np.zeros(10)) == column.sum()


PRANGE_OVER_CREATED_AND_VIEWS = """
def k(a: f64[:, :], j: i64) -> f64[:]:
    out = np.empty(a.shape[0])
    col = a[:, j]
    s = 0.0
    for i in prange(a.shape[0]):
        out[i] = col[i] * 2.0
        s += out[i]
    tail = a[::2, 0]
    for i in prange(len(tail)):
        out[i] += tail[i] + s
    return out
"""


@pytest.mark.parametrize("parallel", [1, 2])
def test_a_prange_body_indexes_created_arrays_and_views_made_before_the_loop(parallel: int) -> None:
    kernel = autotune.tunable(source=PRANGE_OVER_CREATED_AND_VIEWS, parallel=[parallel])
    for a in (np.arange(40.0).reshape(8, 5), np.asfortranarray(np.arange(40.0).reshape(8, 5))):
        for _ in range(2):
            np.testing.assert_allclose(kernel(a, 3), kernel.py_func(a, 3))


@pytest.mark.parametrize(
    ("body", "what"),
    [("row = a[i]\n        s += row[0]", "an array view"), ("b = np.zeros(3)\n        s += b[0]", "created")],
)
def test_a_prange_body_that_assigns_a_view_or_an_array_is_refused_with_a_hint(body: str, what: str) -> None:
    source = f"""
def k(a: f64[:, :]) -> f64:
    s = 0.0
    for i in prange(a.shape[0]):
        {body}
    return s
"""
    with pytest.raises(KernelSyntaxError, match=what) as info:
        autotune.tunable(source=source, parallel=[1, 2])(np.ones((3, 2)))
    assert "use range(...)" in info.value.message


VIEW_OF_CREATED = """
def k(n: i64) -> f64[:]:
    b = np.ones(n)
    head = b[:2]
    alias = b
    head[1] = 7.0
    alias[0] = 5.0
    return b
"""


def test_views_of_an_array_created_once_at_the_top_are_views_and_others_are_refused() -> None:
    kernel = autotune.tunable(source=VIEW_OF_CREATED)
    np.testing.assert_array_equal(kernel(4), kernel.py_func(4))
    twice = "def k(n: i64) -> f64:\n    b = np.ones(n)\n    b = np.zeros(n)\n    h = b[:1]\n    return h[0]\n"
    in_loop = (
        "def k(n: i64) -> f64:\n    s = 0.0\n    for i in range(3):\n        b = np.ones(n)\n"
        "        h = b[:1]\n        s += h[0]\n    return s\n"
    )
    for source in (twice, in_loop):
        with pytest.raises(KernelSyntaxError, match="would outlive its buffer"):
            autotune.tunable(source=source)


def test_tuple_parameters_beside_strided_arrays_and_an_array_result() -> None:
    source = """
def scaled(a: f64[:], p: tuple[f64, f64]) -> f64[:]:
    out = np.empty(len(a))
    lo, hi = p
    for i in range(len(a)):
        out[i] = min(max(a[i], lo), hi)
    return out
"""
    kernel = autotune.tunable(source=source)
    a = np.linspace(-2.0, 2.0, 30)[::3]
    for _ in range(3):  # the fallback builds the strided form, then the native entry calls it
        np.testing.assert_array_equal(kernel(a, (-1.0, 1.5)), np.clip(a, -1.0, 1.5))


def test_complex_arrays_created_and_returned_and_complex_tuple_items_refused() -> None:
    source = """
def k(n: i64) -> c128[:]:
    b = np.full(n, 1j, dtype=np.complex128)
    for i in range(n):
        b[i] = b[i] * (i + 1)
    return b
"""
    kernel = autotune.tunable(source=source)
    np.testing.assert_array_equal(kernel(4), kernel.py_func(4))
    with pytest.raises(KernelSyntaxError, match="tuple of real scalar types"):
        autotune.tunable(source="def k(p: tuple[c128, f64]) -> f64:\n    return p[1]\n")


def test_helpers_take_views_created_arrays_and_strided_arguments() -> None:
    from tests.lang.combined_helpers import scale, total

    source = """
def k(A: f64[:, :], n: i64) -> f64:
    s = 0.0
    for i in range(A.shape[0]):
        s += total(A[i])
    col = A[:, 1]
    scale(col, 2.0)
    b = np.ones(n)
    s += total(b)
    return s + total(A[::2, 0])
"""
    kernel = autotune.tunable(source=source, namespace={"total": total, "scale": scale})
    assert next(p for p in kernel.params if p.name == "A").written  # the helper writes A through a column view
    for make in (lambda: np.arange(12.0).reshape(4, 3), lambda: np.asfortranarray(np.arange(12.0).reshape(4, 3))):
        got, expected = make(), make()
        for _ in range(2):  # the second strided call takes the native entry
            assert kernel(got, 3) == kernel.py_func(expected, 3)
            np.testing.assert_array_equal(got, expected)


def test_helpers_with_complex_parameters_locals_and_results() -> None:
    from tests.lang.combined_helpers import mandel, rotate

    source = """
def k(xs: f64[:], y: f64, z: c128) -> c128:
    total = 0j
    for x in xs:
        total += mandel(x, y, 50) + rotate(z, 3)
    return total
"""
    kernel = autotune.tunable(source=source, namespace={"mandel": mandel, "rotate": rotate})
    xs = np.linspace(-2.0, 0.5, 23)
    assert kernel(xs, 0.3, 1 + 2j) == pytest.approx(kernel.py_func(xs, 0.3, 1 + 2j))


COPIES = """
def k(graph: f64[:, :], row: f64[:]) -> f64[:, :]:
    dist = graph.copy()
    n = dist.shape[0]
    for m in range(n):
        for i in range(n):
            for j in range(n):
                if dist[i, m] + dist[m, j] < dist[i, j]:
                    dist[i, j] = dist[i, m] + dist[m, j]
    twice = np.copy(row)
    again = twice.copy()
    for j in range(len(again)):
        dist[0, j] += again[j] - row[j]
    return dist
"""


def test_copies_of_arrays_are_c_contiguous_and_independent_whatever_the_source_layout() -> None:
    kernel = autotune.tunable(source=COPIES)
    rng = np.random.default_rng(3)
    graph = rng.random((6, 6)) * 10
    for source in (graph, np.asfortranarray(graph), graph.T.copy().T):
        before = source.copy()
        for _ in range(2):  # the strided form is built on the first call, then called natively
            got = kernel(source, np.arange(6.0)[::1])
            np.testing.assert_array_equal(got, kernel.py_func(source, np.arange(6.0)))
            np.testing.assert_array_equal(source, before)  # the copy, not the argument, was written
    with pytest.raises(KernelSyntaxError, match="copy"):
        autotune.tunable(source="def k(x: f64) -> f64:\n    y = x.copy()\n    return y\n")


EDGES = """
def k(a: f64[:, :, :], flags: boolean[:], n: i64) -> f64:
    d0, d1, d2 = a.shape
    c = a.copy()
    f = np.copy(flags)
    e = np.zeros(n)
    head = e[: n // 2]
    s = 0.0
    for i in range(d0):
        for j in range(d1):
            for m in range(d2):
                s += c[i, j, m] * (1.0 if f[(i + j + m) % len(f)] else -1.0)
    for i in prange(len(head)):
        head[i] = i * 1.0
    for v in e:
        s += v
    return s + d0 * 100 + d1 * 10 + d2
"""


@pytest.mark.parametrize("parallel", [1, 2])
def test_copies_shapes_views_and_prange_at_their_edges(parallel: int) -> None:
    kernel = autotune.tunable(source=EDGES, parallel=[parallel])
    flags = np.array([True, False, True])
    for a in (np.zeros((0, 2, 3)), np.arange(24.0).reshape(2, 3, 4), np.arange(60.0).reshape(3, 4, 5)[::2, ::-1, 1:]):
        for n in (0, 1, 7):
            expected = kernel.py_func(a, flags, n)
            assert kernel(a, flags, n) == pytest.approx(expected)
            assert kernel(a, flags, n) == pytest.approx(expected)  # the native entry's strided path too
