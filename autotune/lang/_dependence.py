"""Data dependences of a loop band, and whether permuting, tiling or unroll-and-jamming it keeps the results.

Why: a schedule knob (loop order, tile sizes, unroll-and-jam) may only be offered for a loop nest when
every reordering it causes is proven harmless; this module is that proof, in the classic style of
Wolfe, Banerjee and Polly/Pluto: affine array subscripts, direction/distance vectors per band loop,
and the standard legality rules over them. It reads the kernel's ``ast`` only (no types, no lowering).

Model and the conservative choices (each one may lose precision, none may claim a false legality):

- ``band`` is a chain of ``for v in range/prange(...)`` loops; statements beside an inner band loop
  (an imperfect nest) take '*' in the band loops that do not enclose them, and a transformation is
  assumed to sink them to the first (if before the loop) or last (if after it) iteration of those loops.
- ``'*'`` means any of ``<``, ``=``, ``>``; a vector stands for its expansions that are lexicographically
  non-negative (only those can be a source-to-sink dependence of the original order).
- Subscripts are affine forms in loop variables, integer literals and symbolic constants (names not
  assigned in the band, ``len(a)``, ``a.shape[k]``, ``a.size``). A dimension is used only when both
  subscripts are affine, provably non-negative (negative indexes wrap like Python, so ``a[i - 1]`` with
  ``i`` from 0 is not) and their symbolic parts cancel; otherwise it constrains nothing. Indexes are
  assumed in bounds (out of bounds is undefined behaviour in the language).
- Each dimension is tested alone (GCD test, Banerjee bounds with loop ranges taken as intervals and the
  coupling of a '<' distance with its loop's range dropped); exact distances only for uniform pairs
  (same band coefficients, no other loop variables) of step-1 loops. Loops whose step is not a positive
  constant get '*' (their order is unknown).
- Without ``noalias`` any two arrays may be one. Names are taken at face value: ``math.sqrt`` is the
  math function, ``min`` the builtin.
- A scalar assigned in the band is private only when every use is in the innermost band loop and its
  first mention there is a top-level plain ``s = e`` not reading ``s``; the caller must make sure a private
  scalar (or an inner loop variable) is not read after the band. Any other assigned scalar is a
  dependence with '*' directions.
"""

from __future__ import annotations

import ast
import copy
import itertools
import math
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from ._builtins import BUILTIN_ARITY, MATH_FUNCS, NUMPY_CASTS, NUMPY_FUNCS
from ._complex import CMATH_ARITY

__all__ = [
    "Dependence",
    "Direction",
    "Refusal",
    "band_dependences",
    "distribution_legal",
    "permutation_legal",
    "tiling_legal",
    "unroll_and_jam_legal",
]

Direction = Literal["<", "=", ">", "*"]
Kind = Literal["flow", "anti", "output"]
Affine = dict[str, int]  # coefficient per atom; the key "1" holds the constant


@dataclass(frozen=True)
class Dependence:
    """``array`` (or a scalar local) is accessed by a source and a sink instance in that order."""

    array: str
    kind: Kind
    direction: tuple[Direction, ...]
    distance: tuple[int | None, ...]


@dataclass(frozen=True)
class Refusal:
    """Why no transformation of the band can be proven legal, and where."""

    reason: str
    line: int


class _Refused(Exception):
    def __init__(self, node: ast.AST, reason: str) -> None:
        super().__init__(reason)
        self.refusal = Refusal(reason, getattr(node, "lineno", 0))


@dataclass
class _Loop:
    lo: Affine | None
    hi: Affine | None
    step: int | None  # a positive constant step, else None (order unknown)
    low: float  # the smallest value the variable can take (may be -inf)
    high: float  # the largest


@dataclass
class _Access:
    array: str
    index: tuple[Affine | None, ...]  # None: not affine or not provably non-negative
    write: bool
    depth: int  # how many band loops enclose it
    loops: dict[str, _Loop]


_NUMPY = {*NUMPY_FUNCS, *NUMPY_CASTS}
_PURE_MODULES: dict[str, Collection[str]] = {
    "math": set(MATH_FUNCS),
    "cmath": set(CMATH_ARITY),
    "np": _NUMPY,
    "numpy": _NUMPY,
}
_SIZE_ATTRS = ("shape", "size", "ndim")


def _range_args(loop: ast.For) -> list[ast.expr]:
    it = loop.iter
    if not isinstance(loop.target, ast.Name) or loop.orelse:
        raise _Refused(loop, "only 'for name in range(...)' loops without 'else' can be analysed")
    func = it.func if isinstance(it, ast.Call) else None
    name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
    if not isinstance(it, ast.Call) or name not in ("range", "prange") or it.keywords or not 1 <= len(it.args) <= 3:
        raise _Refused(loop, f"the loop over '{ast.unparse(it)}' is not a range or prange loop")
    return list(it.args)


def _int(node: ast.expr) -> int | None:
    value = node.value if isinstance(node, ast.Constant) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _add(a: Affine, b: Affine, scale: int = 1) -> Affine:
    out = dict(a)
    for key, value in b.items():
        out[key] = out.get(key, 0) + scale * value
    return {k: v for k, v in out.items() if v}


class _Walker:
    def __init__(self, band: Sequence[ast.For], arrays: Collection[str]) -> None:
        self.band, self.arrays = band, set(arrays)
        self.band_vars = [loop.target.id for loop in band if isinstance(loop.target, ast.Name)]
        self.assigned: set[str] = set()
        self.loop_targets: set[str] = set()
        for node in ast.walk(band[0]):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and node.id not in self.band_vars:
                self.assigned.add(node.id)
            if isinstance(node, ast.For) and isinstance(node.target, ast.Name):
                self.loop_targets.add(node.target.id)
        self.accesses: list[_Access] = []
        self.loops: dict[str, _Loop] = {}
        self.depth = 0
        self.loose: set[str] = set()  # assigned names read outside any loop binding them
        self.read: set[str] = set()
        self.ranks: dict[str, int] = {}
        self.sizes: set[str] = set()  # atoms known to be non-negative

    # ---- affine forms -------------------------------------------------------------------------
    def affine(self, node: ast.expr) -> Affine | None:
        if _int(node) is not None:
            return {"1": _int(node) or 0} if _int(node) else {}
        if isinstance(node, ast.Name):
            if node.id in self.loops or node.id not in self.assigned:
                return {node.id: 1}
            return None
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            inner = self.affine(node.operand)
            return None if inner is None else _add({}, inner, -1 if isinstance(node.op, ast.USub) else 1)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub | ast.Mult):
            left, right = self.affine(node.left), self.affine(node.right)
            if left is None or right is None:
                return None
            if isinstance(node.op, ast.Mult):
                for x, y in ((left, right), (right, left)):
                    if set(x) <= {"1"}:
                        return _add({}, y, x.get("1", 0))
                return None
            return _add(left, right, -1 if isinstance(node.op, ast.Sub) else 1)
        if self.size_atom(node):
            self.sizes.add(ast.unparse(node))
            return {ast.unparse(node): 1}
        return None

    def size_atom(self, node: ast.expr) -> bool:
        """``len(a)``, ``a.shape[k]``, ``a.size``: non-negative constants of the band."""
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "len":
            return len(node.args) == 1 and isinstance(node.args[0], ast.Name) and node.args[0].id not in self.assigned
        if isinstance(node, ast.Subscript):
            node = node.value
        return (
            isinstance(node, ast.Attribute)
            and node.attr in _SIZE_ATTRS
            and isinstance(node.value, ast.Name)
            and node.value.id not in self.assigned
        )

    def lower_bound(self, form: Affine, loops: dict[str, _Loop]) -> Affine | None:
        """A lower bound of ``form`` free of loop variables (innermost substituted first), or None."""
        order = list(loops)
        while True:
            inner = [v for v in form if v in loops]
            if not inner:
                return form
            var = max(inner, key=order.index)
            loop, coef = loops[var], form[var]
            bound = loop.lo if coef > 0 else None if loop.hi is None else _add(loop.hi, {"1": -1})
            if loop.step is None or bound is None:
                return None
            form = _add({k: v for k, v in form.items() if k != var}, bound, coef)

    def non_negative(self, form: Affine, loops: dict[str, _Loop]) -> bool:
        low = self.lower_bound(form, loops)
        return low is not None and all((k == "1" or k in self.sizes) and v >= 0 for k, v in low.items())

    def bound(self, form: Affine | None, loops: dict[str, _Loop], upper: bool) -> float:
        """The largest (``upper``) or smallest value of ``form`` over the loops' intervals."""
        if form is None:
            return math.inf if upper else -math.inf
        total = 0.0
        for key, coef in form.items():
            loop = loops.get(key)
            low, high = (loop.low, loop.high) if loop else (0.0 if key in self.sizes else -math.inf, math.inf)
            if key == "1":
                low = high = 1.0
            total += coef * ((high if coef > 0 else low) if upper else (low if coef > 0 else high))
        return total

    # ---- the walk -----------------------------------------------------------------------------
    def loop(self, loop: ast.For, band: int | None) -> None:
        args = _range_args(loop)
        var = loop.target.id if isinstance(loop.target, ast.Name) else ""
        if var in self.loops or (band is None and var in self.band_vars):
            raise _Refused(loop, f"an inner loop reuses the loop variable '{var}'")
        for node in (n for arg in args for n in ast.walk(arg)) if band else ():
            if isinstance(node, ast.Name) and node.id in self.assigned and node.id not in self.loops:
                raise _Refused(loop, f"the bounds of the loop over '{var}' read '{node.id}', which the band assigns")
        for arg in args if band != 0 else ():
            self.expr(arg)
        forms = [self.affine(arg) for arg in args]
        lo, hi = ({}, forms[0]) if len(args) == 1 else (forms[0], forms[1])
        step = _int(args[2]) if len(args) == 3 else 1
        step = step if step is not None and step > 0 else None
        low = self.bound(lo, self.loops, upper=False) if step else -math.inf
        high = self.bound(hi, self.loops, upper=True) - 1 if step else math.inf
        self.loops[var] = _Loop(lo, hi, step, low, high)
        self.depth += band is not None
        for stmt in loop.body:
            self.stmt(stmt)
        self.depth -= band is not None
        del self.loops[var]

    def stmt(self, node: ast.stmt) -> None:
        if isinstance(node, ast.For):
            band = next((k for k, b in enumerate(self.band) if b is node), None)
            self.loop(node, band)
        elif isinstance(node, ast.Assign):
            self.expr(node.value)
            for target in node.targets:
                self.target(target, read=False)
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            if node.value is not None:
                self.expr(node.value)
            if isinstance(node, ast.AugAssign) or node.value is not None:
                self.target(node.target, read=isinstance(node, ast.AugAssign))
        elif isinstance(node, ast.If):
            self.expr(node.test)
            for stmt in (*node.body, *node.orelse):
                self.stmt(stmt)
        elif not isinstance(node, ast.Pass) and not (
            isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        ):
            what = type(node).__name__.lower()
            raise _Refused(node, f"'{what}' inside the band changes control flow or has effects whose order matters")

    def target(self, node: ast.expr, read: bool) -> None:
        if isinstance(node, ast.Tuple | ast.List):
            for elt in node.elts:
                self.target(elt, read)
        elif isinstance(node, ast.Name):
            if node.id in self.band_vars or node.id in self.arrays:
                raise _Refused(node, f"the band assigns '{node.id}', a loop variable or an array")
            if read:
                self.name(node)
        elif isinstance(node, ast.Subscript):
            self.subscript(node, write=True, read=read)
        else:
            raise _Refused(node, f"cannot analyse the assignment to '{ast.unparse(node)}'")

    def name(self, node: ast.Name) -> None:
        if node.id in self.band_vars and node.id not in self.loops:
            raise _Refused(node, f"the loop variable '{node.id}' is read outside its loop")
        if node.id in self.arrays:
            raise _Refused(node, f"the array '{node.id}' is used as a value (a view or an alias)")
        if node.id in self.assigned:
            self.read.add(node.id)
            if node.id not in self.loops:
                self.loose.add(node.id)

    def subscript(self, node: ast.Subscript, write: bool, read: bool) -> None:
        indexes: list[ast.expr] = []
        base: ast.expr = node
        while isinstance(base, ast.Subscript):
            indexes[:0] = base.slice.elts if isinstance(base.slice, ast.Tuple) else [base.slice]
            base = base.value
        if not isinstance(base, ast.Name) or base.id not in self.arrays:
            raise _Refused(node, f"'{ast.unparse(base)}' is indexed but is not one of the arrays")
        for index in indexes:
            if isinstance(index, ast.Slice):
                raise _Refused(node, f"'{ast.unparse(node)}' is a slice (a view)")
            self.expr(index)
        if self.ranks.setdefault(base.id, len(indexes)) != len(indexes):
            raise _Refused(node, f"'{base.id}' is indexed with different numbers of indexes (a view)")
        forms = [self.affine(index) for index in indexes]
        safe = tuple(f if f is not None and self.non_negative(f, self.loops) else None for f in forms)
        for is_write in (False, True) if read else (write,):
            self.accesses.append(_Access(base.id, safe, is_write, self.depth, dict(self.loops)))

    def expr(self, node: ast.expr) -> None:
        if isinstance(node, ast.Constant) or self.size_atom(node):
            return
        if isinstance(node, ast.Name):
            self.name(node)
        elif isinstance(node, ast.Subscript):
            self.subscript(node, write=False, read=False)
        elif isinstance(node, ast.Attribute) and node.attr in ("real", "imag"):
            self.expr(node.value)
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.value.id in self.assigned or node.value.id in self.arrays:
                raise _Refused(node, f"cannot analyse '{ast.unparse(node)}'")
        elif isinstance(node, ast.Call):
            func = node.func
            module = func.value.id if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) else ""
            pure = (isinstance(func, ast.Name) and func.id in BUILTIN_ARITY and func.id != "range") or (
                isinstance(func, ast.Attribute) and func.attr in _PURE_MODULES.get(module, {})
            )
            if isinstance(func, ast.Attribute) and func.attr == "conjugate" and not node.args:
                pure = True
                self.expr(func.value)
            if not pure:  # user functions, array creation, range outside a for
                raise _Refused(node, f"the band calls '{ast.unparse(func)}', whose effects are unknown")
            for arg in (*node.args, *(k.value for k in node.keywords)):
                self.expr(arg)
        else:
            children = [c for c in ast.iter_child_nodes(node) if isinstance(c, ast.expr)]
            if not isinstance(node, ast.BinOp | ast.UnaryOp | ast.BoolOp | ast.Compare | ast.IfExp):
                raise _Refused(node, f"cannot analyse '{ast.unparse(node)}'")
            for child in children:
                self.expr(child)

    # ---- scalars ------------------------------------------------------------------------------
    def private(self, name: str) -> bool:
        def count(nodes: Sequence[ast.AST]) -> int:
            return sum(isinstance(n, ast.Name) and n.id == name for top in nodes for n in ast.walk(top))

        stored = any(
            isinstance(n, ast.Name)
            and n.id == name
            and isinstance(n.ctx, ast.Store)
            and not isinstance(parent, ast.For)
            for parent in ast.walk(self.band[0])
            for n in ast.iter_child_nodes(parent)
        )
        if name in self.loop_targets and name not in self.loose and not stored:
            return True
        body = self.band[-1].body
        if count([self.band[0]]) != count(body):
            return False
        first = next(s for s in body if count([s]))
        return (
            isinstance(first, ast.Assign | ast.AnnAssign)
            and first.value is not None
            and [ast.unparse(t) for t in (first.targets if isinstance(first, ast.Assign) else [first.target])] == [name]
            and not count([first.value])
        )


_DIRS: tuple[Direction, ...] = ("<", "=", ">")
_STAR: tuple[Direction, ...] = ("*",)


def _split(form: Affine, common: Collection[str], loops: dict[str, _Loop]) -> tuple[Affine, Affine, Affine]:
    """(common band loop terms, other loop terms, symbolic terms and the constant)."""
    parts: tuple[Affine, Affine, Affine] = ({}, {}, {})
    for key, coef in form.items():
        parts[0 if key in common else 1 if key in loops else 2][key] = coef
    return parts


def _pair(
    a: _Access, b: _Access, names: Sequence[str]
) -> Iterator[tuple[tuple[Direction, ...], tuple[int | None, ...]]]:
    """Feasible direction vectors (over the loops enclosing both; '<': a's instance first) with distances."""
    common = names[: min(a.depth, b.depth)]
    loops = [a.loops[v] for v in common]
    dims: list[tuple[Affine, Affine, Affine, Affine, int]] = []  # a's/b's common and other terms, constant
    delta: dict[int, int] = {}
    for x, y in zip(a.index, b.index, strict=True) if a.array == b.array else ():
        if x is None or y is None:
            continue
        (xc, xo, xs), (yc, yo, ys) = _split(x, common, a.loops), _split(y, common, b.loops)
        cx, cy = xs.pop("1", 0), ys.pop("1", 0)
        if xs != ys:
            continue  # the symbolic parts do not cancel: this dimension says nothing
        dims.append((xc, yc, xo, yo, cy - cx))
        if xc == yc and not xo and not yo and len(xc) == 1:
            (_, coef), k = next(iter(xc.items())), common.index(next(iter(xc)))
            if (cx - cy) % coef or delta.setdefault(k, (cx - cy) // coef) != (cx - cy) // coef:
                return  # no integer solution, or two dimensions disagree: independent
    for vector in itertools.product(_DIRS, repeat=len(common)):
        if a is b and set(vector) <= {"="}:
            continue
        if any(loops[k].step and "<=>"[1 - (d > 0) + (d < 0)] != vector[k] for k, d in delta.items()):
            continue
        if all(_feasible(dim, vector, loops, common, a, b) for dim in dims):
            distance = tuple(
                0 if d == "=" else delta.get(k) if loops[k].step == 1 else None for k, d in enumerate(vector)
            )
            yield vector, distance


def _feasible(
    dim: tuple[Affine, Affine, Affine, Affine, int],
    vector: Sequence[str],
    loops: Sequence[_Loop],
    common: Sequence[str],
    a: _Access,
    b: _Access,
) -> bool:
    """GCD and Banerjee tests of ``a_terms(I) - b_terms(I') == c`` under the directions of ``vector``."""
    xc, yc, xo, yo, c = dim
    terms: list[tuple[int, float, float]] = []  # coefficient and interval of each unknown
    for k, (var, loop) in enumerate(zip(common, loops, strict=True)):
        ak, bk = xc.get(var, 0), yc.get(var, 0)
        if loop.step is None:
            terms += [(ak, loop.low, loop.high), (-bk, loop.low, loop.high)]
        elif vector[k] == "=":
            terms.append((ak - bk, loop.low, loop.high))
        else:  # '<': I' = I + d, '>': I = I' + d, with 1 <= d <= high - low
            terms += [(ak - bk, loop.low, loop.high - 1), (-bk if vector[k] == "<" else ak, 1, loop.high - loop.low)]
    terms += [(coef, a.loops[v].low, a.loops[v].high) for v, coef in xo.items()]
    terms += [(-coef, b.loops[v].low, b.loops[v].high) for v, coef in yo.items()]
    if any(low > high for _, low, high in terms):
        return False  # an empty loop or no room for a distance of at least 1
    gcd = math.gcd(*(coef for coef, _, _ in terms))
    low = sum(coef * (lo if coef > 0 else hi) for coef, lo, hi in terms if coef)
    high = sum(coef * (hi if coef > 0 else lo) for coef, lo, hi in terms if coef)
    return low <= c <= high and (c % gcd == 0 if gcd else c == 0)


def _merge(deps: set[Dependence], n: int) -> tuple[Dependence, ...]:
    """Replace dependences differing only by '<', '=', '>' at one loop by one with '*' there."""
    changed = True
    while changed:
        changed = False
        for k in range(n):
            groups: dict[tuple[object, ...], list[Dependence]] = {}
            for dep in deps:
                rest = (dep.direction[:k], dep.direction[k + 1 :], dep.distance[:k], dep.distance[k + 1 :])
                groups.setdefault((dep.array, dep.kind, *rest), []).append(dep)
            for group in groups.values():
                if {d.direction[k] for d in group} >= {"<", "=", ">"}:
                    one = group[0]
                    deps -= set(group)
                    star: tuple[Direction, ...] = (*one.direction[:k], "*", *one.direction[k + 1 :])
                    deps.add(Dependence(one.array, one.kind, star, (*one.distance[:k], None, *one.distance[k + 1 :])))
                    changed = True
    return tuple(sorted(deps, key=lambda d: (d.array, d.kind, d.direction, repr(d.distance))))


_KINDS: dict[tuple[bool, bool], Kind] = {(True, True): "output", (True, False): "flow", (False, True): "anti"}
_FLIP: dict[Direction, Direction] = {"<": ">", ">": "<", "=": "=", "*": "*"}


def band_dependences(
    band: Sequence[ast.For], *, arrays: Collection[str], noalias: bool
) -> tuple[Dependence, ...] | Refusal:
    """The dependences between the accesses in ``band[0]``'s body, over the band's loops (outermost first).

    ``band[k + 1]`` must be a statement of ``band[k].body``; ``arrays`` names the arrays; ``noalias`` says
    that different names are different memory. A :class:`Refusal` says why nothing can be proven.
    """
    if not band or any(inner not in outer.body for outer, inner in itertools.pairwise(band)):
        return Refusal("the band is not a chain of directly nested loops", band[0].lineno if band else 0)
    try:
        walker = _Walker(band, arrays)
        if len(set(walker.band_vars)) != len(band):
            raise _Refused(band[0], "the band's loop variables are not distinct names")
        walker.loop(band[0], 0)
    except _Refused as exc:
        return exc.refusal
    n, names = len(band), walker.band_vars
    deps: set[Dependence] = set()
    for name in walker.assigned:
        if not walker.private(name):
            kinds: tuple[Kind, ...] = ("output", "flow", "anti") if name in walker.read else ("output",)
            for kind in kinds:
                for k in range(n):
                    deps.add(
                        Dependence(
                            name, kind, _DIRS[1:2] * k + _DIRS[:1] + _STAR * (n - k - 1), (0,) * k + (None,) * (n - k)
                        )
                    )
    accesses = walker.accesses
    for i, a in enumerate(accesses):
        for b in accesses[i:]:
            if not (a.write or b.write) or (a.array != b.array and noalias):
                continue
            rest = min(a.depth, b.depth)
            for vector, distance in _pair(a, b, names):
                first = next((d for d in vector if d != "="), "<")
                src, snk = (a, b) if first == "<" else (b, a)
                flip = first != "<"
                direction = tuple(_FLIP[d] if flip else d for d in vector) + ("*",) * (n - rest)
                dist = tuple(None if x is None else -x if flip else x for x in distance) + (None,) * (n - rest)
                deps.add(Dependence(src.array, _KINDS[src.write, snk.write], direction, dist))  # type: ignore[arg-type]
    return _merge(deps, n)


def _expand(dep: Dependence) -> Iterator[tuple[Direction, ...]]:
    """The '<'/'='/'>' vectors ``dep`` stands for: its lexicographically non-negative expansions."""
    for vector in itertools.product(*(("<", "=", ">") if d == "*" else (d,) for d in dep.direction)):
        if next((d for d in vector if d != "="), "<") == "<":
            yield vector


def permutation_legal(deps: Sequence[Dependence], perm: Sequence[int]) -> bool:
    """Whether placing loop ``perm[k]`` at depth ``k`` keeps every dependence lexicographically non-negative."""
    if sorted(perm) != list(range(len(perm))) or any(len(d.direction) != len(perm) for d in deps):
        raise ValueError(f"{list(perm)} is not a permutation of the band's loops")
    return all(next((v[p] for p in perm if v[p] != "="), "<") == "<" for dep in deps for v in _expand(dep))


def _carried(vector: Sequence[Direction]) -> int:
    return next((k for k, d in enumerate(vector) if d != "="), len(vector))


def tiling_legal(deps: Sequence[Dependence], first: int, last: int) -> bool:
    """Whether loops ``first..last`` are fully permutable: no dependence not carried outside has a '>' there."""
    if not 0 <= first <= last or any(last >= len(d.direction) for d in deps):
        raise ValueError(f"loops {first}..{last} are not a range of the band's loops")
    return not any(_carried(v) >= first and ">" in v[first : last + 1] for dep in deps for v in _expand(dep))


def unroll_and_jam_legal(deps: Sequence[Dependence], level: int) -> bool:
    """Whether loop ``level`` may be unrolled and its copies jammed into the band's inner loops.

    Within one unrolled block the copies run in the order of the inner loops first, as if ``level`` were
    moved innermost: illegal when a dependence carried by ``level`` ('<' there, '=' outside) has '>' as
    its first non-'=' deeper component (the usual "'<' then '>'" rule, without counting a '>' that an
    earlier '<' deeper down already orders).
    """
    if level < 0 or any(level >= len(d.direction) for d in deps):
        raise ValueError(f"{level} is not a loop of the band")
    return not any(
        _carried(v) == level and next((d for d in v[level + 1 :] if d != "="), "=") == ">"
        for dep in deps
        for v in _expand(dep)
    )


def distribution_legal(band: Sequence[ast.For], *, arrays: Collection[str], noalias: bool) -> bool:
    """Whether ``band[-1]``, the last statement of ``band[-2]``'s body, may be split off: the statements
    before it run for every iteration of ``band[:-1]`` first, then it runs inside a copy of those loops
    (loop distribution).

    Legal when no dependence runs from an instance of the inner loop to an instance of those statements in
    a later iteration of ``band[:-1]`` (distribution would reverse it), the statements assign no scalar
    but the variables of their own loops (the inner loop would see only their last value; it may read
    those variables only where it binds them itself) and read none the inner loop assigns.
    """
    *outer, inner = band
    if not outer or not outer[-1].body or outer[-1].body[-1] is not inner:
        return False
    before = outer[-1].body[:-1]
    nodes = [n for stmt in before for n in ast.walk(stmt)]
    if not before or any(isinstance(n, ast.While) for n in nodes):
        return False
    loop_vars = {n.target.id for n in nodes if isinstance(n, ast.For) and isinstance(n.target, ast.Name)}
    if any(isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store) and n.id not in loop_vars for n in nodes):
        return False
    inner_assigned = {n.id for n in ast.walk(inner) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    if any(isinstance(n, ast.Name) and n.id in loop_vars - inner_assigned for n in ast.walk(inner)):
        return False
    if any(isinstance(n, ast.Name) and n.id in inner_assigned - loop_vars for n in nodes):
        return False
    band = _renamed(band, loop_vars)
    try:
        walker = _Walker(band, arrays)
        if len(set(walker.band_vars)) != len(band):
            return False
        walker.loop(band[0], 0)
    except _Refused:
        return False
    n = len(band)
    for a in (x for x in walker.accesses if x.depth == n):
        for b in (x for x in walker.accesses if x.depth == n - 1):
            if not (a.write or b.write) or (a.array != b.array and noalias):
                continue
            if any(next((d for d in v if d != "="), "=") == "<" for v, _ in _pair(a, b, walker.band_vars)):
                return False
    return True


def _renamed(band: Sequence[ast.For], names: Collection[str]) -> list[ast.For]:
    """A copy of ``band`` in which the statements before its last loop call their loop variables ``names``
    something no source can (``j`` -> ``j'``): the inner loop may reuse them, which the walker refuses."""
    head = copy.deepcopy(band[0])
    copied = [head]
    for outer, inner in itertools.pairwise(band):
        loop = copied[-1].body[outer.body.index(inner)]
        assert isinstance(loop, ast.For)
        copied.append(loop)
    for stmt in copied[-2].body[:-1]:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Name) and node.id in names:
                node.id += "'"
    return copied
