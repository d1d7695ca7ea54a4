"""Loop-nest schedules: interchange, tiling, unroll-and-jam and hoisting of invariant loads, as rewrites of
the kernel's tree before it is typed and lowered.

LLVM's loop metadata (vector width, interleave, unroll) only reaches the innermost loop; compute-bound
nests (matmul, stencils) need their whole schedule changed: which loop runs innermost, blocks that fit
the caches, several rows updated at once. Those are rewrites of the nest itself, done here on the Python
tree, so every later stage (typing, lowering, the vectoriser) sees ordinary loops, and ``inspect_schedule``
can print the result as Python.

Bands (rectangular chains of ``range`` loops) and the distribution of imperfect nests into perfect ones
are defined in :mod:`._nest`. The innermost loop's body is anything; nests inside it are bands of their
own (an imperfect nest that cannot be distributed is scheduled as its perfect prefix). ``prange`` loops
are never part of a band. Each transformation is applied only where :mod:`._dependence` proves it legal
for the band.

Knobs of band ``n`` (numbered in source order), the first value of each being the untransformed nest:

- ``order<n>``: the loop order, as the 1-based source positions of the loops, outermost first (``132``
  runs the first loop outermost, then the third, then the second); only legal permutations are offered.
- ``tile<n>_<v>``: tile size of loop ``v`` (0: not tiled). Tile loops run outside all point loops, in
  the chosen order; a partial last tile runs to the loop's end. Offered only for a fully permutable band.
- ``jam<n>_<v>``: unroll-and-jam factor of loop ``v`` (1: none): ``v`` steps by the factor and the
  copies of its body are fused inside the loops below it; a remainder loop runs the last iterations.
  Ignored when ``v`` is innermost in the chosen order or the jam is illegal in that order.
- ``hoist<n>``: loads the innermost loop repeats with the same index are read once before it, and
  elements it accumulates into at a fixed index are kept in locals while it runs (see ``_hoist``).
"""

from __future__ import annotations

import ast
import copy
import dataclasses
import itertools
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from ._dependence import Dependence, Refusal, band_dependences, permutation_legal, tiling_legal, unroll_and_jam_legal
from ._hoist import hoisted
from ._model import Builtin, HostArray, KernelInfo
from ._nest import chains, distributed, indexes, loop_var

__all__ = ["Band", "Choice", "apply_schedule", "choice_of", "effective_jams", "find_bands", "order_code"]


@dataclass(frozen=True)
class Band:
    """One schedulable nest: where it is, its loop variables, and what may be done to it.

    ``permutations`` holds the legal loop orders (the source order first); ``tileable`` says whether the
    band is fully permutable; ``noalias`` whether its array arguments were declared distinct; ``refusal``
    why nothing but the source order is allowed (or None).
    """

    number: int
    line: int
    position: tuple[int, int]
    names: tuple[str, ...]
    dependences: tuple[Dependence, ...]
    permutations: tuple[tuple[int, ...], ...]
    tileable: bool
    noalias: bool
    refusal: str | None
    #: per array access of the band, the band variable its last index steps by one (a unit-stride access
    #: when that loop runs innermost)
    unit_stride: tuple[str, ...] = ()
    #: per array element the band's innermost body stores into, the band variable each of its indexes
    #: steps by one ("" where none does): a band variable missing from one is a reduction loop for it
    stores: tuple[tuple[str, ...], ...] = ()

    def describe(self) -> str:
        """One line: the band's loops and what may be done to it (for ``inspect_schedule`` and errors)."""
        head = f"band {self.number} (line {self.line}): loops {', '.join(self.names)}"
        if self.refusal is not None:
            return f"{head}; left as written: {self.refusal}"
        orders = ", ".join("".join(str(k + 1) for k in p) for p in self.permutations)
        tiling = "tileable" if self.tileable else "not tileable (not fully permutable)"
        hint = ""
        if not self.noalias and len(self.permutations) == 1:
            hint = " (its arrays may overlap: declare @tunable(noalias=True) if they never do)"
        return f"{head}; legal orders {orders}; {tiling}{hint}"


@dataclass(frozen=True)
class Choice:
    """What to do to one band: loop order (indices into ``Band.names``), tile sizes, jam factors, hoisting."""

    order: tuple[int, ...]
    tiles: Mapping[str, int]
    jams: Mapping[str, int]
    hoist: bool

    def is_identity(self) -> bool:
        return (
            list(self.order) == sorted(self.order)
            and not any(self.tiles.values())
            and all(j <= 1 for j in self.jams.values())
            and not self.hoist
        )


def find_bands(info: KernelInfo, *, noalias: bool) -> tuple[Band, ...]:
    """The kernel's bands of two or more loops, in source order, each with its legal transformations."""
    arrays = set(_array_ndims(info))
    bands: list[Band] = []
    tree = _distributed_tree(info, noalias)
    for chain in chains(tree.body, info):
        found = _read_elsewhere(chain, tree) or band_dependences(chain, arrays=arrays, noalias=noalias)
        names = tuple(loop_var(loop) for loop in chain)
        strides = _unit_strides(chain[-1].body, names, arrays)
        stores = _storeindexes(chain[-1].body, names, arrays)
        identity = tuple(range(len(chain)))
        head = chain[0]
        if isinstance(found, Refusal):
            bands.append(
                Band(
                    len(bands),
                    head.lineno,
                    (head.lineno, head.col_offset),
                    names,
                    (),
                    (identity,),
                    False,
                    noalias,
                    found.reason,
                    strides,
                    stores,
                )
            )
            continue
        orders = tuple(p for p in itertools.permutations(identity) if p == identity or permutation_legal(found, p))
        bands.append(
            Band(
                number=len(bands),
                line=head.lineno,
                position=(head.lineno, head.col_offset),
                names=names,
                dependences=found,
                permutations=orders,
                tileable=tiling_legal(found, 0, len(chain) - 1),
                noalias=noalias,
                refusal=None,
                unit_stride=strides,
                stores=stores,
            )
        )
    return tuple(bands)


def order_code(order: Sequence[int]) -> int:
    """The ``order<n>`` knob value of a loop order: its 1-based positions as decimal digits."""
    return int("".join(str(k + 1) for k in order))


def choice_of(band: Band, params: Mapping[str, object]) -> Choice:
    """The band's transformations named by the knobs in ``params`` (absent knobs: untransformed)."""
    n = band.number
    code = params.get(f"order{n}")
    order = tuple(range(len(band.names)))
    if isinstance(code, int) and not isinstance(code, bool):
        order = next((p for p in band.permutations if order_code(p) == code), order)
    tiles = {v: _int(params.get(f"tile{n}_{v}"), 0) for v in band.names} if band.tileable else {}
    jams = {v: max(_int(params.get(f"jam{n}_{v}"), 1), 1) for v in band.names}
    return Choice(order, tiles, jams, params.get(f"hoist{n}") is True)


def effective_jams(band: Band, choice: Choice) -> dict[str, int]:
    """The unroll-and-jam factors ``choice`` really applies: not on the innermost loop of its order, and
    only where legal in that order (the others are ignored)."""
    order = [band.names[k] for k in choice.order]
    permuted = [dataclasses.replace(d, direction=tuple(d.direction[k] for k in choice.order)) for d in band.dependences]
    return {
        v: f
        for v, f in choice.jams.items()
        if f > 1 and v != order[-1] and unroll_and_jam_legal(permuted, order.index(v))
    }


def _int(value: object, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def apply_schedule(info: KernelInfo, bands: Sequence[Band], choices: Mapping[int, Choice]) -> KernelInfo:
    """``info`` with each band's choice applied (inner bands first; a band without a choice is left as is)."""
    wanted = {b.position: (b, choices[b.number]) for b in bands if b.number in choices}
    wanted = {pos: bc for pos, bc in wanted.items() if not bc[1].is_identity()}
    if not wanted:
        return info
    tree = _distributed_tree(info, bands[0].noalias)
    names = _Names(info, tree, _array_ndims(info))
    tree.body = _rewrite(tree.body, wanted, names)
    ast.fix_missing_locations(tree)
    resolved = dict(info.names)
    for builtin in ("range", "min", "max"):  # what the rewritten loops call, resolved if the kernel did not
        resolved[names.builtins[builtin]] = Builtin(builtin)
    return dataclasses.replace(info, tree=tree, names=resolved, locals=tuple(info.locals) + tuple(names.made))


def _distributed_tree(info: KernelInfo, noalias: bool) -> ast.FunctionDef:
    """A copy of the kernel's tree with its imperfect nests distributed where legal (see ``_nest``)."""
    tree = copy.deepcopy(info.tree)
    tree.body = distributed(tree.body, info, arrays=set(_array_ndims(info)), noalias=noalias)
    return tree


# -- finding bands ------------------------------------------------------------------------------------


def _array_ndims(info: KernelInfo) -> dict[str, int]:
    """Every array the kernel may index by name (parameters, created arrays, module arrays): its rank."""
    ndims = {p.name: p.ndim for p in info.params if p.kind == "array"}
    ndims.update({name: local.ndim for name, local in info.local_arrays.items()})
    ndims.update({name: len(r.shape) for name, r in info.names.items() if isinstance(r, HostArray)})
    return ndims


def _read_elsewhere(chain: Sequence[ast.For], tree: ast.FunctionDef) -> Refusal | None:
    """A refusal when a name the band assigns (a loop variable, a scalar) may be read outside it with the
    value the band left: after a reordering that is another iteration's value. A read is safe when a loop
    outside the band binds the name around it, or assigns it at the top of that loop's body first."""
    band = chain[0]
    assigned = {n.id for n in ast.walk(band) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}

    def visit(node: ast.AST, bound: frozenset[str]) -> Refusal | None:
        if node is band:
            return None
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in assigned - bound:
            return Refusal(f"'{node.id}' is assigned in the nest and used outside it (line {node.lineno})", node.lineno)
        if isinstance(node, ast.For) and isinstance(node.target, ast.Name):
            inner = bound | {node.target.id}
            for stmt in node.body:  # names assigned at the top of the body are bound for what follows
                found = visit(stmt, inner)
                if found is not None:
                    return found
                if isinstance(stmt, ast.Assign):
                    inner |= {t.id for t in stmt.targets if isinstance(t, ast.Name)}
            return visit(node.iter, bound)
        for child in ast.iter_child_nodes(node):
            found = visit(child, bound)
            if found is not None:
                return found
        return None

    return visit(tree, frozenset())


def _unit_strides(body: list[ast.stmt], names: Sequence[str], arrays: Collection[str]) -> tuple[str, ...]:
    """For each array access in ``body``, the band variable its last index is (plus or minus a constant)."""
    found: list[str] = []
    for node in ast.walk(ast.Module(body=body, type_ignores=[])):
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id in arrays:
            last = _index_var(indexes(node)[-1], names)
            if last:
                found.append(last)
    return tuple(found)


def _storeindexes(body: list[ast.stmt], names: Sequence[str], arrays: Collection[str]) -> tuple[tuple[str, ...], ...]:
    """For each array element ``body`` stores into, the band variable of each of its indexes ("" if none)."""
    found: list[tuple[str, ...]] = []
    for node in ast.walk(ast.Module(body=body, type_ignores=[])):
        targets = node.targets if isinstance(node, ast.Assign) else []
        targets = [node.target] if isinstance(node, ast.AugAssign) else targets
        for target in targets:
            if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name) and target.value.id in arrays:
                found.append(tuple(_index_var(part, names) for part in indexes(target)))
    return tuple(found)


def _index_var(index: ast.expr, names: Sequence[str]) -> str:
    """The band variable ``index`` is, plus or minus a constant ("" when it is something else)."""
    if isinstance(index, ast.BinOp) and isinstance(index.op, ast.Add | ast.Sub):
        if isinstance(index.right, ast.Constant):
            index = index.left
    return index.id if isinstance(index, ast.Name) and index.id in names else ""


# -- rewriting ----------------------------------------------------------------------------------------


class _Names:
    """Fresh local names that clash with nothing in the kernel; ``made`` lists them (new locals)."""

    def __init__(self, info: KernelInfo, tree: ast.FunctionDef, ndims: Mapping[str, int]) -> None:
        #: the rank of every array the kernel indexes by name (a read is hoisted only with a full index)
        self.ndims = ndims
        #: the f64 and i64 array parameters (an element of one may be kept in a local while a loop runs)
        self.accumulable = frozenset(
            p.name for p in info.params if p.kind == "array" and p.dtype is not None and p.dtype.name in ("f64", "i64")
        )
        self.taken = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        self.taken |= {p.name for p in info.params} | set(info.names) | set(info.locals)
        self.made: list[str] = []
        #: the name each builtin the rewrite calls goes by (its own, unless the kernel uses that otherwise)
        self.builtins = {
            b: b if info.names.get(b, Builtin(b)) == Builtin(b) and b not in info.locals else self._alias(b)
            for b in ("range", "min", "max")
        }

    def _alias(self, builtin: str) -> str:
        for k in itertools.count(1):
            if f"_{builtin}{k}" not in self.taken:
                self.taken.add(f"_{builtin}{k}")
                return f"_{builtin}{k}"
        raise AssertionError("unreachable")

    def fresh(self, stem: str) -> str:
        for k in itertools.count():
            name = f"_{stem}" if k == 0 else f"_{stem}{k}"
            if name not in self.taken:
                self.taken.add(name)
                self.made.append(name)
                return name
        raise AssertionError("unreachable")


def _rewrite(
    body: list[ast.stmt], wanted: Mapping[tuple[int, int], tuple[Band, Choice]], names: _Names
) -> list[ast.stmt]:
    out: list[ast.stmt] = []
    for stmt in body:
        for field in ("body", "orelse"):
            inner = getattr(stmt, field, None)
            if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                setattr(stmt, field, _rewrite(inner, wanted, names))
        hit = wanted.get((getattr(stmt, "lineno", -1), getattr(stmt, "col_offset", -1)))
        if hit is not None and isinstance(stmt, ast.For):
            out += _Scheduler(stmt, hit[0], hit[1], names).statements()
        else:
            out.append(stmt)
    return out


def _call(name: str, *args: ast.expr) -> ast.Call:
    return ast.Call(func=ast.Name(id=name, ctx=ast.Load()), args=list(args), keywords=[])


def _load(name: str) -> ast.Name:
    return ast.Name(id=name, ctx=ast.Load())


def _store(name: str) -> ast.Name:
    return ast.Name(id=name, ctx=ast.Store())


def _for(var: str, args: list[ast.expr], body: list[ast.stmt], where: ast.AST, range_name: str) -> ast.For:
    bounds = [copy.deepcopy(a) for a in args]  # no node appears twice in the tree
    loop = ast.For(target=_store(var), iter=_call(range_name, *bounds), body=body, orelse=[], type_comment=None)
    return ast.copy_location(loop, where)


def _add(left: ast.expr, right: ast.expr | int) -> ast.expr:
    other = ast.Constant(value=right) if isinstance(right, int) else right
    return ast.BinOp(left=left, op=ast.Add(), right=other)


class _Scheduler:
    """Rewrites one band (already holding its rewritten inner bands) as ``choice`` says."""

    def __init__(self, head: ast.For, band: Band, choice: Choice, names: _Names) -> None:
        self.loops: list[ast.For] = [head]
        while len(self.loops) < len(band.names):
            inner = self.loops[-1].body[0]
            assert isinstance(inner, ast.For)
            self.loops.append(inner)
        self.band = band
        self.choice = choice
        self.names = names
        self.body = self.loops[-1].body
        self.range = names.builtins["range"]
        self.order = [band.names[k] for k in choice.order]
        self.tiles = {v: t for v, t in choice.tiles.items() if t > 0}
        self.jams = effective_jams(band, choice)

    def statements(self) -> list[ast.stmt]:
        """The band's replacement. Bounds are written out where they are used, not kept in locals: they are
        pure and band-invariant, so this evaluates the same values, and the lowering can still see that a
        loop starting at 0 (or at a tile's start) never indexes below 0."""
        head = self.loops[0]
        bounds: dict[str, tuple[ast.expr, ast.expr]] = {}
        for loop in self.loops:
            assert isinstance(loop.iter, ast.Call)
            args = loop.iter.args
            bounds[loop_var(loop)] = (ast.Constant(value=0), args[0]) if len(args) == 1 else (args[0], args[1])
        point_bounds: dict[str, tuple[ast.expr, ast.expr]] = {}
        tile_vars: list[tuple[str, str]] = []
        for var in self.order:
            lo, hi = bounds[var]
            size = self.tiles.get(var, 0)
            if size:
                tile = self.names.fresh(f"{var}_t")
                tile_vars.append((var, tile))
                point_bounds[var] = (_load(tile), _call(self.names.builtins["min"], _add(_load(tile), size), hi))
            else:
                point_bounds[var] = (lo, hi)
        nest = self._points(0, [{}], point_bounds)
        for var, tile in reversed(tile_vars):
            lo, hi = bounds[var]
            nest = [_for(tile, [lo, hi, ast.Constant(value=self.tiles[var])], nest, head, self.range)]
        return nest

    def _points(
        self, depth: int, copies: list[dict[str, int]], bounds: Mapping[str, tuple[ast.expr, ast.expr]]
    ) -> list[ast.stmt]:
        """The point loops from ``depth`` down; ``copies`` are the jammed offsets of the outer variables."""
        if depth == len(self.order):
            return [s for offsets in copies for s in _shifted(self.body, offsets)]
        var = self.order[depth]
        lo, hi = bounds[var]
        where = self.loops[self.band.names.index(var)]
        factor = self.jams.get(var, 1)
        if factor == 1:
            inner = self._points(depth + 1, copies, bounds)
            if depth == len(self.order) - 1 and self.choice.hoist:
                names = self.names
                loop = _for(var, [lo, hi], inner, where, self.range)
                return hoisted(
                    loop, fresh=names.fresh, ndims=names.ndims, accumulable=names.accumulable, noalias=self.band.noalias
                )
            return [_for(var, [lo, hi], inner, where, self.range)]
        # the main loop's end: lo + max(hi - lo, 0) // factor * factor (an expression, like the bounds)
        span = _call(self.names.builtins["max"], ast.BinOp(left=hi, op=ast.Sub(), right=lo), ast.Constant(value=0))
        whole = ast.BinOp(
            left=ast.BinOp(left=span, op=ast.FloorDiv(), right=ast.Constant(value=factor)),
            op=ast.Mult(),
            right=ast.Constant(value=factor),
        )
        end = _add(copy.deepcopy(lo), whole)
        jammed = [dict(offsets, **{var: r}) for offsets in copies for r in range(factor)]
        step = ast.Constant(value=factor)
        main = _for(var, [lo, end, step], self._points(depth + 1, jammed, bounds), where, self.range)
        rest = _for(var, [end, hi], self._points(depth + 1, copies, bounds), where, self.range)
        return [main, rest]


def _shifted(body: list[ast.stmt], offsets: Mapping[str, int]) -> list[ast.stmt]:
    """A copy of ``body`` with each variable ``v`` of ``offsets`` read as ``v + offset``."""
    made = copy.deepcopy(body)
    moved = {v: r for v, r in offsets.items() if r}
    if not moved:
        return made

    class Shift(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> ast.expr:
            if isinstance(node.ctx, ast.Load) and node.id in moved:
                return ast.copy_location(_add(ast.Name(id=node.id, ctx=ast.Load()), moved[node.id]), node)
            return node

    return [Shift().visit(s) for s in made]
