"""The dependence test of loop bands (``autotune.lang._dependence``) against a brute-force oracle.

The oracle runs a loop nest's iteration points in the original order and in a permuted, tiled or
unroll-and-jammed order on integer object arrays (exact, and ``3 * X[..] + ..`` makes the order
matter); whenever the analysis calls a transformation legal the results must be identical. Hand cases
pin the known verdicts (skewed dependences, in-place stencils, aliasing, wrapping negative indexes,
refusals) and the precision expected on uniform nests.
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autotune.lang._dependence import (
    Dependence,
    Refusal,
    band_dependences,
    permutation_legal,
    tiling_legal,
    unroll_and_jam_legal,
)

VARS = ("i", "j", "k")
Key = Callable[[tuple[int, ...]], tuple[int, ...]]


def band_of(source: str, depth: int | None = None) -> list[ast.For]:
    """The chain of loops from the first statement down through the first loop of each body."""
    node: ast.stmt | None = ast.parse(source).body[0]
    band: list[ast.For] = []
    while isinstance(node, ast.For) and (depth is None or len(band) < depth):
        band.append(node)
        node = next((s for s in node.body if isinstance(s, ast.For)), None)
    return band


def deps_of(
    source: str, arrays: Sequence[str] = ("A", "B", "C", "X", "Y"), noalias: bool = True, depth: int | None = None
) -> Any:
    return band_dependences(band_of(source, depth), arrays=arrays, noalias=noalias)


def legal_perms(deps: Sequence[Dependence], n: int) -> set[tuple[int, ...]]:
    return {p for p in itertools.permutations(range(n)) if permutation_legal(deps, p)}


# ---- the oracle ---------------------------------------------------------------------------------
@dataclass
class Nest:
    """A loop nest: ``loops`` (var, lo, hi, step) and statements (depth, place, text) at 'pre'/'body'/'post'."""

    loops: list[tuple[str, int, int, int]]
    statements: list[tuple[int, str, str]] = field(default_factory=list)

    def source(self, symbolic: bool = False) -> str:
        """The nest's text; ``symbolic`` writes the upper bounds as unknown names ``n0, n1, ..``."""

        def block(d: int) -> list[str]:
            pad = " " * (d + 1)
            var, lo, hi, step = self.loops[d]
            lines = [f"{' ' * d}for {var} in range({lo}, {f'n{d}' if symbolic else hi}, {step}):"]
            lines += [pad + t for depth, place, t in self.statements if depth == d + 1 and place == "pre"]
            if d + 1 < len(self.loops):
                lines += block(d + 1)
            lines += [pad + t for depth, place, t in self.statements if depth == d + 1 and place == "body"]
            lines += [pad + t for depth, place, t in self.statements if depth == d + 1 and place == "post"]
            return lines

        return "\n".join(block(0)) + "\n"

    def run(self, arrays: dict[str, np.ndarray], key: Key | None = None) -> dict[str, np.ndarray]:
        """Run the points in ``key`` order; statements outside inner loops run at their first/last iteration."""
        env: dict[str, Any] = {name: a.copy() for name, a in arrays.items()}
        env["t"] = 0
        ranges = [range(lo, hi, step) for _, lo, hi, step in self.loops]
        n = len(self.loops)
        code = {t: compile(t, "<stmt>", "exec") for _, _, t in self.statements}
        for point in sorted(itertools.product(*ranges), key=key or (lambda p: p)):
            env.update(zip(VARS, point, strict=False))
            first = [all(point[m] == ranges[m][0] for m in range(d, n)) for d in range(n + 1)]
            last = [all(point[m] == ranges[m][-1] for m in range(d, n)) for d in range(n + 1)]
            todo = [t for d, place, t in self.statements if place == "pre" and first[d]]
            todo += [t for d, place, t in self.statements if place == "body" and d == n]
            todo += [t for d, place, t in sorted(self.statements, key=lambda s: -s[0]) if place == "post" and last[d]]
            for text in todo:
                exec(code[text], {}, env)
        return {name: env[name] for name in arrays}


def perm_key(perm: Sequence[int]) -> Key:
    return lambda p: tuple(p[q] for q in perm)


def tile_key(nest: Nest, first: int, last: int, sizes: Sequence[int]) -> Key:
    def key(p: tuple[int, ...]) -> tuple[int, ...]:
        tiles = tuple(
            (p[m] - nest.loops[m][1]) // (sizes[m - first] * nest.loops[m][3]) for m in range(first, last + 1)
        )
        return p[:first] + tiles + p[first:]

    return key


def jam_key(nest: Nest, level: int, factor: int, band: int) -> Key:
    """Unroll loop ``level`` by ``factor`` and jam the copies into the band's inner loops (not deeper)."""
    _, lo, _, step = nest.loops[level]
    return lambda p: (*p[:level], (p[level] - lo) // (factor * step), *p[level + 1 : band], p[level], *p[band:])


def same(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    return all(np.array_equal(a[name], b[name]) for name in a)


OFF, SIZE = 20, 44


def start_arrays() -> dict[str, np.ndarray]:
    return {
        name: np.array(
            [[int(v) for v in row] for row in np.arange(SIZE * SIZE).reshape(SIZE, SIZE) * (s + 2)], dtype=object
        )
        for s, name in enumerate(("X", "Y"))
    }


# ---- hypothesis: random affine nests -------------------------------------------------------------
@st.composite
def nests(draw: st.DrawFn) -> Nest:
    depth = draw(st.integers(2, 3))
    loops = []
    for var in VARS[:depth]:
        lo = draw(st.integers(0, 1))
        loops.append((var, lo, lo + draw(st.sampled_from([1, 2, 3, 3, 4])), draw(st.sampled_from([1, 1, 1, 2]))))
    coef = st.sampled_from([0, 0, 1, 1, -1, 2, -2])
    linear: list[list[str]] = []

    def index(d: int, dim: int) -> str:
        if d >= 2 and draw(st.integers(0, 9)) == 0:  # not affine
            return f"{OFF} + ({draw(st.sampled_from(VARS[:d]))} * {draw(st.sampled_from(VARS[:d]))}) % 3"
        shared = [t for t in linear if len(t) == d]
        mode = draw(st.integers(0, 2))
        if mode == 0:  # a stencil: this dimension follows one loop
            follow = VARS[(dim + draw(st.integers(0, 1))) % d]
            terms = [f"{int(v == follow)} * {v}" for v in VARS[:d]]
        elif shared and mode == 1:  # the linear part of an earlier index: a uniform pair
            terms = draw(st.sampled_from(shared))
        else:
            terms = [f"{draw(coef)} * {v}" for v in VARS[:d]]
            linear.append(terms)
        return " + ".join([str(OFF + draw(st.integers(-2, 2))), *terms])

    def access(d: int) -> str:
        return f"{draw(st.sampled_from(['X', 'Y']))}[{index(d, 0)}, {index(d, 1)}]"

    statements = []
    for s in range(draw(st.integers(1, 3))):
        imperfect = s > 0 and draw(st.integers(0, 3)) == 0
        d = draw(st.integers(1, depth - 1)) if imperfect else depth
        place = draw(st.sampled_from(["pre", "post"])) if imperfect else "body"
        target = access(d)
        text = f"{target} = 3 * {target} + {access(d)} + {draw(st.sampled_from(['1', '1', 't']))}"
        if not imperfect and draw(st.integers(0, 4)) == 0:  # a scalar temporary, private if set before use
            text = f"t = {access(d)} + {s}"
        if draw(st.integers(0, 4)) == 0:
            text = f"if ({' + '.join(VARS[:d])}) % 2 == 0: {text}"
        statements.append((d, place, text))
    return Nest(loops, statements)


@settings(derandomize=True, max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(nests(), st.data())
def test_legal_transformations_keep_the_results(nest: Nest, data: st.DataObject) -> None:
    arrays = start_arrays()
    source = nest.source()
    reference = nest.run(arrays)
    env: dict[str, Any] = {name: a.copy() for name, a in arrays.items()}
    env["t"] = 0
    exec(source, {}, env)  # the oracle's original order is the nest's own order
    assert same(reference, {name: env[name] for name in arrays})
    n = data.draw(st.integers(2, len(nest.loops)))  # a shorter band leaves an inner loop out of it
    analysed = nest.source(symbolic=data.draw(st.integers(0, 2)) == 0)  # the verdict must hold for every n0, n1, ..
    deps = band_dependences(band_of(analysed, n), arrays={"X", "Y"}, noalias=data.draw(st.integers(0, 3)) > 0)
    assert isinstance(deps, tuple), deps
    for perm in itertools.permutations(range(n)):
        if permutation_legal(deps, perm):
            assert same(reference, nest.run(arrays, perm_key((*perm, *range(n, len(nest.loops)))))), (source, perm)
    for first in range(n):
        for last in range(first, n):
            if tiling_legal(deps, first, last):
                sizes = [data.draw(st.integers(1, 3)) for _ in range(first, last + 1)]
                assert same(reference, nest.run(arrays, tile_key(nest, first, last, sizes))), (source, first, last)
    for level in range(n - 1):
        if unroll_and_jam_legal(deps, level):
            factor = data.draw(st.integers(2, 3))
            assert same(reference, nest.run(arrays, jam_key(nest, level, factor, n))), (source, level, deps)


# ---- hand cases -----------------------------------------------------------------------------------
def verdicts(source: str, **kw: Any) -> tuple[set[tuple[int, ...]], list[bool], list[bool]]:
    """(legal permutations, tiling of loops 0..k for each k >= 1, unroll-and-jam of each outer loop)."""
    deps = deps_of(source, **kw)
    assert isinstance(deps, tuple), deps
    n = len(band_of(source))
    return (
        legal_perms(deps, n),
        [tiling_legal(deps, 0, last) for last in range(1, n)],
        [unroll_and_jam_legal(deps, level) for level in range(n - 1)],
    )


def numpy_run(source: str, arrays: dict[str, np.ndarray], order: Sequence[str]) -> dict[str, np.ndarray]:
    """Run a 2-deep nest with its loop headers in ``order`` (``range`` bounds are kept), numpy semantics."""
    band = band_of(source)
    headers = {b.target.id: ast.unparse(b.iter) for b in band if isinstance(b.target, ast.Name)}
    body = "\n".join("  " + ast.unparse(s) for s in band[-1].body)
    text = f"for {order[0]} in {headers[order[0]]}:\n for {order[1]} in {headers[order[1]]}:\n{body}\n"
    env: dict[str, Any] = {name: a.copy() for name, a in arrays.items()}
    env.update(n=arrays["A"].shape[0], m=arrays["A"].shape[1])
    exec(text, {}, env)
    return {name: env[name] for name in arrays}


def interchange_changes(source: str) -> bool:
    """Whether interchanging a 2-deep nest changes the results on a 5x6 integer array."""
    arrays = {"A": np.arange(30, dtype=np.int64).reshape(5, 6) * 7 % 11, "B": np.zeros((5, 6), dtype=np.int64)}
    return not same(numpy_run(source, arrays, "ij"), numpy_run(source, arrays, "ji"))


SKEW = "for i in range(1, n):\n for j in range(m - 1):\n  A[i, j] = A[i - 1, j + 1] + 1\n"
SEIDEL = (
    "for i in range(1, n - 1):\n for j in range(1, m - 1):\n"
    "  A[i, j] = (A[i - 1, j] + A[i, j - 1] + A[i + 1, j] + A[i, j + 1]) // 4\n"
)
SEIDEL_T = "for t in range(steps):\n" + "".join(" " + line + "\n" for line in SEIDEL.splitlines())
MATMUL = "for i in range(n):\n for j in range(m):\n  for k in range(p):\n   C[i, j] += A[i, k] * B[k, j]\n"
JACOBI = (
    "for i in range(1, n - 1):\n for j in range(1, m - 1):\n"
    "  B[i, j] = (A[i, j] + A[i - 1, j] + A[i + 1, j] + A[i, j - 1] + A[i, j + 1]) // 5\n"
)
ROW = "for i in range(n):\n for j in range(1, m):\n  A[i, j] = A[i, j - 1] + 1\n"
DIAGONAL = "for i in range(1, n):\n for j in range(1, m):\n  A[i, j] = 3 * A[i - 1, j - 1] + 1\n"


def test_skewed_dependence_forbids_interchange_tiling_and_jam() -> None:
    deps = deps_of(SKEW)
    assert deps == (Dependence("A", "flow", ("<", ">"), (1, -1)),)
    assert verdicts(SKEW) == ({(0, 1)}, [False], [False])
    assert interchange_changes(SKEW)


def test_seidel_sweep_is_fully_permutable_but_not_across_time_steps() -> None:
    # One in-place sweep has distances (1, 0) and (0, 1) only: interchange and tiling are legal.
    assert verdicts(SEIDEL) == ({(0, 1), (1, 0)}, [True], [True])
    assert not interchange_changes(SEIDEL)
    # With the time loop, (t, i, j) has the flow dependence (1, -1, 0): t cannot go inside i, no 3-D tile.
    deps = deps_of(SEIDEL_T)
    assert Dependence("A", "flow", ("<", ">", "="), (None, -1, 0)) in deps  # t' - t is any positive number
    perms, tiles, jams = verdicts(SEIDEL_T)
    assert perms == {(0, 1, 2), (0, 2, 1)}
    assert tiles == [False, False]
    assert jams == [False, True]
    assert tiling_legal(deps, 1, 2)


def test_matmul_all_orders_tiles_and_jams_are_legal() -> None:
    assert verdicts(MATMUL) == (set(itertools.permutations(range(3))), [True, True], [True, True])
    assert all(d.direction[:2] == ("=", "=") for d in deps_of(MATMUL))


def test_out_of_place_jacobi_and_row_recurrences_are_legal() -> None:
    assert deps_of(JACOBI) == ()
    assert verdicts(JACOBI) == ({(0, 1), (1, 0)}, [True], [True])
    assert deps_of(ROW) == (Dependence("A", "flow", ("=", "<"), (0, 1)),)
    assert verdicts(ROW) == ({(0, 1), (1, 0)}, [True], [True])
    assert not interchange_changes(ROW)
    assert verdicts(DIAGONAL) == ({(0, 1), (1, 0)}, [True], [True])
    assert not interchange_changes(DIAGONAL)


def test_unroll_and_jam() -> None:
    legal = "for i in range(1, n):\n for j in range(m):\n  A[i, j] = A[i - 1, j] + A[i, j]\n"
    assert unroll_and_jam_legal(deps_of(legal), 0)
    assert not unroll_and_jam_legal(deps_of(SKEW), 0)
    # (<, <, >): within an unrolled block of t the copies run in (i, j, t) order, and (<, >, <) is positive
    ordered = (
        "for t in range(1, s):\n for i in range(1, n):\n  for j in range(m - 1):\n"
        "   A[t, i, j] = A[t - 1, i - 1, j + 1]\n"
    )
    deps = deps_of(ordered)
    assert [unroll_and_jam_legal(deps, level) for level in range(3)] == [True, True, True]
    assert not permutation_legal(deps, (2, 0, 1))
    # (<, =, >): the copies of t would run j first
    reversed_ = (
        "for t in range(1, s):\n for i in range(n):\n  for j in range(m - 1):\n   A[t, i, j] = A[t - 1, i, j + 1]\n"
    )
    deps = deps_of(reversed_)
    assert [unroll_and_jam_legal(deps, level) for level in range(3)] == [False, True, True]
    with pytest.raises(ValueError):
        unroll_and_jam_legal(deps, 3)


def test_predicates_on_star_vectors() -> None:
    star = [Dependence("A", "flow", ("<", "*"), (None, None))]
    assert not permutation_legal(star, (1, 0)) and permutation_legal(star, (0, 1))
    assert tiling_legal(star, 1, 1) and not tiling_legal(star, 0, 1)
    assert not unroll_and_jam_legal(star, 0)
    inner = [Dependence("A", "flow", ("=", "*"), (0, None))]  # only (=, <) and (=, =) are real
    assert permutation_legal(inner, (1, 0)) and tiling_legal(inner, 0, 1)
    with pytest.raises(ValueError):
        permutation_legal(star, (0, 0))


def test_aliasing_without_noalias_is_conservative() -> None:
    source = "for i in range(n):\n for j in range(1, m):\n  B[i, j] = A[i, j - 1] + 1\n"
    assert verdicts(source) == ({(0, 1), (1, 0)}, [True], [True])
    perms, tiles, jams = verdicts(source, noalias=False)
    assert perms == {(0, 1)} and tiles == [False] and jams == [False]
    assert all(d.array in ("A", "B") for d in deps_of(source, noalias=False))


def test_non_affine_indexes_are_conservative() -> None:
    for index in ("i * j", "idx[i]", "i % n", "int(math.sqrt(i))", "i // 2"):
        source = f"for i in range(n):\n for j in range(m):\n  A[{index}] = A[i + j] + 1\n"
        deps = deps_of(source, arrays=("A", "idx"))
        assert isinstance(deps, tuple), (index, deps)
        assert legal_perms(deps, 2) == {(0, 1)}, index
        assert not tiling_legal(deps, 0, 1)
    # a non-affine dimension still leaves the affine one: j = j' keeps the interchange legal
    deps = deps_of("for i in range(n):\n for j in range(m):\n  A[j, idx[i]] = A[j, idx[i]] + 1\n", arrays=("A", "idx"))
    assert isinstance(deps, tuple) and legal_perms(deps, 2) == {(0, 1), (1, 0)}  # (*, =) becomes (=, *)


def test_negative_indexes_wrap_so_they_are_not_affine() -> None:
    # From i = 0 and j = 0, A[i - 1, j - 1] reads the last row/column: written later, at (n - 1, j - 1).
    wrapping = "for i in range(n):\n for j in range(m):\n  A[i, j] = 3 * A[i - 1, j - 1] + 1\n"
    assert interchange_changes(wrapping)
    assert legal_perms(deps_of(wrapping), 2) == {(0, 1)}
    assert legal_perms(deps_of(DIAGONAL), 2) == {(0, 1), (1, 0)}
    # a constant negative index is the last element
    last = "for i in range(n):\n for j in range(1, m):\n  A[i, j] = 3 * A[-1, j - 1] + 1\n"
    assert interchange_changes(last)
    assert legal_perms(deps_of(last), 2) == {(0, 1)}
    # lower bounds through the loop bounds: n - 1 - j >= 0 for j in range(n), j - i >= 0 for j in range(i, n)
    reverse = "for i in range(n):\n for j in range(i, n):\n  A[i, n - 1 - j] = A[i, j - i] + A[j - i, i]\n"
    assert all(d.distance != (None, None) for d in deps_of(reverse) if d.direction[0] == "=")


def test_scalars() -> None:
    private = (
        "for i in range(n):\n for j in range(m):\n  t = A[i, j]\n  for k in range(p):\n   t += B[k, j]\n  C[i, j] = t\n"
    )
    assert deps_of(private, depth=2) == ()
    for shared in (
        "for i in range(n):\n for j in range(m):\n  s += A[i, j]\n",
        "for i in range(n):\n for j in range(m):\n  C[i, j] = t\n  t = A[i, j]\n",
        "for i in range(n):\n for j in range(m):\n  if A[i, j] > 0:\n   t = A[i, j]\n  C[i, j] = t\n",
        "for i in range(n):\n t = 0\n for j in range(m):\n  t = t + A[i, j]\n  C[i, j] = t\n",
    ):
        deps = deps_of(shared)
        assert isinstance(deps, tuple) and any(d.array in ("s", "t") for d in deps), shared
        assert legal_perms(deps, 2) == {(0, 1)}, shared
    inner_var = "for i in range(n):\n for j in range(m):\n  for k in range(p):\n   C[i, j] += A[i, k]\n  B[i, j] = k\n"
    assert legal_perms(deps_of(inner_var, depth=2), 2) == {(0, 1)}  # k leaks out of its loop


def test_imperfect_nests_and_other_forms() -> None:
    # the row initialisation sits before the inner loop; moving j outside is still legal (sunk to j = first)
    init = "for i in range(n):\n C[i, 0] = 0\n for j in range(m):\n  C[i, j + 1] = C[i, j] + A[i, j]\n"
    assert legal_perms(deps_of(init), 2) == {(0, 1), (1, 0)}
    chained = "for i in range(1, n):\n for j in prange(m - 1):\n  A[i][j] = A[i - 1][j + 1] + 1\n"
    assert deps_of(chained) == deps_of(SKEW)
    steps = "for i in range(0, n, 2):\n for j in range(m):\n  A[i, j] = A[i - 2, j] if i >= 2 else 0\n"
    assert isinstance(deps_of(steps), tuple)
    unknown_step = "for i in range(n, 0, -1):\n for j in range(m):\n  A[i, j] = A[i + 1, j + 1]\n"
    deps = deps_of(unknown_step)
    assert isinstance(deps, tuple) and legal_perms(deps, 2) == {(0, 1)}
    pure = "for i in range(n):\n for j in range(m):\n  A[i, j] = math.sqrt(abs(B[i, j])) + min(np.exp(C[i, j]), 1.0)\n"
    assert deps_of(pure) == ()


@pytest.mark.parametrize(
    ("statement", "words"),
    [
        ("if A[i, j] > 0:\n   break", "'break'"),
        ("continue", "'continue'"),
        ("return 1", "'return'"),
        ("raise ValueError('x')", "'raise'"),
        ("assert A[i, j] > 0", "'assert'"),
        ("while A[i, j] > 0:\n   A[i, j] -= 1", "'while'"),
        ("helper(A, i)", "'expr'"),
        ("A[i, j] = helper(i)", "calls 'helper'"),
        ("row = A[i]\n  row[j] = 1", "'row' is indexed"),
        ("A[i, :] = 0", "slice"),
        ("A[i, j] = T[i] + 1", "'T' is indexed"),
        ("A[i, j] = A[i] + 1", "different numbers of indexes"),
        ("b = A", "used as a value"),
        ("i = 3", "assigns 'i'"),
        ("A[i, j] = np.empty(3)", "calls 'np.empty'"),
    ],
)
def test_refusals(statement: str, words: str) -> None:
    deps = deps_of(f"for i in range(n):\n for j in range(m):\n  {statement}\n")
    assert isinstance(deps, Refusal), deps
    assert words in deps.reason and deps.line >= 3


def test_refused_bands() -> None:
    assert isinstance(deps_of("for i in range(n):\n for j in A:\n  B[i, 0] = j\n"), Refusal)
    after = "for i in range(n):\n for j in range(m):\n  A[i, j] = 1\n B[i, 0] = j\n"
    assert "outside its loop" in deps_of(after).reason
    bounds = "for i in range(n):\n for j in range(idx[i]):\n  A[i, j] = 1\n"
    assert isinstance(band_dependences(band_of(bounds), arrays={"A", "idx"}, noalias=True), tuple)
    assigned = "for i in range(n):\n t = i\n for j in range(t):\n  A[i, j] = 1\n"
    assert "read 't'" in deps_of(assigned).reason
    loops = band_of(MATMUL)
    assert isinstance(band_dependences([loops[0], loops[2]], arrays={"A"}, noalias=True), Refusal)
