"""Hoisting for the innermost loop of a scheduled band (the ``hoist<n>`` knob): invariant loads are read
once before the loop, and array elements the loop accumulates into at an invariant index live in locals
during the loop and are written back after it (scalar replacement).

Why: after interchange and unroll-and-jam, the innermost loop of a matmul updates ``C[i, j]``,
``C[i, j + 1]``, ... on every iteration. LLVM keeps such an element in a register only when it can prove
the jammed copies do not alias one another, which it often cannot for the computed indexes the kernel
language emits; then every iteration loads and stores each element, and the register blocking that the
jam was for is lost. The rewrite is done here, where the indexes are still readable expressions.
"""

from __future__ import annotations

import ast
import copy
import itertools
from collections.abc import Callable, Collection, Mapping

from ._nest import indexes

__all__ = ["hoisted"]

#: an affine index expression: the coefficient of each name, and the constant
_Affine = tuple[tuple[tuple[str, int], ...], int]


def hoisted(
    loop: ast.For,
    *,
    fresh: Callable[[str], str],
    ndims: Mapping[str, int],
    accumulable: Collection[str],
    noalias: bool,
) -> list[ast.stmt]:
    """``loop`` with its invariant reads and accumulators hoisted, as the statements that replace it.

    A read is hoisted when it fully indexes an array the loop never stores into (nor into any other
    array, unless the kernel declared its arrays distinct), its index uses neither the loop variable nor
    anything the body assigns, and it is evaluated on every iteration (not under an ``if``, an inner loop,
    a short circuit or a conditional expression).

    An array of ``accumulable`` (f64 and i64 array parameters) is kept in locals when the loop stores into
    it, every use of it in the loop is an element at an affine index that is invariant in the loop, any
    two of those indexes provably name different elements (they differ by a constant in one dimension),
    no other array may alias it (``noalias``, or the loop reads no other array) and the loop has no
    ``return`` or ``raise`` (the write-back after the loop must run; bands holding them are refused
    before this, so this check is a second guard). Only the elements the loop stores into are written
    back. All of this happens only when the loop runs at least once (``if lo < hi``): a loop with no
    iterations reads and writes nothing.
    """
    stored, written = _assigned(loop)
    accesses = [n for n in _walk(loop.body) if isinstance(n, ast.Subscript) and isinstance(n.value, ast.Name)]
    kept = _accumulators(loop, stored, written, accesses, ndims, accumulable, noalias)
    temps = {key: fresh("a") for key in kept}
    if temps:
        loop.body = [_Replace(temps).visit(s) for s in loop.body]
        stored, written = _assigned(loop)
    reads: list[tuple[str, ast.Subscript]] = []
    if not written or noalias:
        loop.body = [_Hoist(stored, written, ndims, fresh, reads).visit(s) for s in loop.body]
    if not reads and not temps:
        return [loop]
    assert isinstance(loop.iter, ast.Call)
    lo, hi = loop.iter.args[0], loop.iter.args[1]
    test = ast.Compare(left=copy.deepcopy(lo), ops=[ast.Lt()], comparators=[copy.deepcopy(hi)])
    firsts = [*((t, copy.deepcopy(kept[k])) for k, t in temps.items()), *reads]
    loads = [_assign(ast.Name(id=t, ctx=ast.Store()), _with_ctx(r, ast.Load()), loop) for t, r in firsts]
    if not temps:  # the loop stays outside the test, as written (only reads come before it)
        return [ast.copy_location(ast.If(test=test, body=loads, orelse=[]), loop), loop]
    # only the elements the loop stores into are written back: writing a read-only one back could undo
    # another thread's store when the nest runs inside a prange loop
    changed = {_key(n) for n in accesses if isinstance(n.ctx, ast.Store)}
    backs = [
        _assign(_with_ctx(kept[k], ast.Store()), ast.Name(id=t, ctx=ast.Load()), loop)
        for k, t in temps.items()
        if k in changed
    ]
    return [ast.copy_location(ast.If(test=test, body=[*loads, loop, *backs], orelse=[]), loop)]


def _walk(body: list[ast.stmt]) -> list[ast.AST]:
    return list(ast.walk(ast.Module(body=body, type_ignores=[])))


def _assigned(loop: ast.For) -> tuple[set[str], set[str]]:
    """The names the loop assigns (its variable included) and the arrays it stores into."""
    stored = {loop.target.id} if isinstance(loop.target, ast.Name) else set()
    written: set[str] = set()
    for node in _walk(loop.body):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            stored.add(node.id)
        target = node.target if isinstance(node, ast.AugAssign) else node
        if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
            if isinstance(target.ctx, ast.Store) or target is not node:
                written.add(target.value.id)
    return stored, written


def _accumulators(
    loop: ast.For,
    stored: Collection[str],
    written: Collection[str],
    accesses: list[ast.Subscript],
    ndims: Mapping[str, int],
    accumulable: Collection[str],
    noalias: bool,
) -> dict[tuple[str, tuple[_Affine, ...]], ast.Subscript]:
    """The elements to keep in locals (see :func:`hoisted`), by array and affine index, each with one of
    its subscripts (the expression to load and store it)."""
    body = _walk(loop.body)
    if any(isinstance(n, ast.Return | ast.Raise) for n in body):
        return {}
    if not noalias and len({s.value.id for s in accesses if isinstance(s.value, ast.Name)}) > 1:
        return {}
    kept: dict[tuple[str, tuple[_Affine, ...]], ast.Subscript] = {}
    for array in sorted(set(written) & set(accumulable)):
        uses = sum(1 for n in body if isinstance(n, ast.Name) and n.id == array)
        subs = [s for s in accesses if isinstance(s.value, ast.Name) and s.value.id == array]
        if len(subs) != uses:  # the array is also used whole (passed to a call, its shape read)
            continue
        elements: dict[tuple[_Affine, ...], ast.Subscript] = {}
        for sub in subs:
            index = _forms(sub)
            if index is None or len(index) != ndims.get(array):
                break
            if any(name in stored for form in index for name, _ in form[0]):
                break
            elements.setdefault(index, sub)
        else:
            if all(_distinct(a, b) for a, b in itertools.combinations(elements, 2)):
                kept.update({(array, index): sub for index, sub in elements.items()})
    return kept


def _affine(node: ast.expr) -> _Affine | None:
    """``node`` as coefficients of names and a constant, or None when it is not affine in that sense."""
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return (), node.value
    if isinstance(node, ast.Name):
        return ((node.id, 1),), 0
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _affine(node.operand)
        return None if inner is None else _scaled(inner, -1)
    if not isinstance(node, ast.BinOp):
        return None
    left, right = _affine(node.left), _affine(node.right)
    if left is None or right is None:
        return None
    if isinstance(node.op, ast.Add | ast.Sub):
        sign = 1 if isinstance(node.op, ast.Add) else -1
        terms = dict(left[0])
        for name, coef in right[0]:
            terms[name] = terms.get(name, 0) + sign * coef
        return tuple(sorted((n, c) for n, c in terms.items() if c)), left[1] + sign * right[1]
    if isinstance(node.op, ast.Mult) and (not left[0] or not right[0]):
        constant, other = (left, right) if not left[0] else (right, left)
        return _scaled(other, constant[1])
    return None


def _scaled(form: _Affine, by: int) -> _Affine:
    return tuple((n, c * by) for n, c in form[0] if c * by), form[1] * by


def _distinct(a: tuple[_Affine, ...], b: tuple[_Affine, ...]) -> bool:
    """Whether the two indexes differ by a nonzero constant in some dimension (whatever the names hold)."""
    return any(x[0] == y[0] and x[1] != y[1] for x, y in zip(a, b, strict=True))


def _with_ctx(node: ast.Subscript, ctx: ast.expr_context) -> ast.Subscript:
    made = copy.deepcopy(node)
    made.ctx = ctx
    return made


def _assign(target: ast.expr, value: ast.expr, where: ast.AST) -> ast.stmt:
    return ast.copy_location(ast.Assign(targets=[target], value=value), where)


def _forms(node: ast.Subscript) -> tuple[_Affine, ...] | None:
    """The affine form of each of ``node``'s indexes (None when one is not affine)."""
    forms = [_affine(part) for part in indexes(node)]
    return tuple(f for f in forms if f is not None) if None not in forms else None


def _key(node: ast.Subscript) -> tuple[str, tuple[_Affine, ...]] | None:
    """The element ``node`` names, as the array and the affine form of each index (None if not affine)."""
    if not isinstance(node.value, ast.Name):
        return None
    index = _forms(node)
    return None if index is None else (node.value.id, index)


class _Replace(ast.NodeTransformer):
    """Every use of a kept element becomes its local (a store into it, an assignment to the local)."""

    def __init__(self, temps: Mapping[tuple[str, tuple[_Affine, ...]], str]) -> None:
        self.temps = temps

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        key = _key(node)
        temp = self.temps.get(key) if key is not None else None
        if temp is not None:
            return ast.copy_location(ast.Name(id=temp, ctx=node.ctx), node)
        return self.generic_visit(node)


class _Hoist(ast.NodeTransformer):
    """Replaces each hoistable read (see :func:`hoisted`) by a local, collecting the reads in ``reads``."""

    def __init__(
        self,
        stored: Collection[str],
        written: Collection[str],
        ndims: Mapping[str, int],
        fresh: Callable[[str], str],
        reads: list[tuple[str, ast.Subscript]],
    ) -> None:
        self.stored, self.written, self.ndims, self.fresh, self.reads = stored, written, ndims, fresh, reads
        self.temps: dict[str, str] = {}

    def hoistable(self, node: ast.Subscript) -> bool:
        if not (isinstance(node.ctx, ast.Load) and isinstance(node.value, ast.Name)):
            return False
        array = node.value.id
        if array in self.written or array not in self.ndims:
            return False
        parts = indexes(node)
        if len(parts) != self.ndims[array] or any(isinstance(p, ast.Slice) for p in parts):
            return False
        inside = list(ast.walk(node.slice))
        if any(isinstance(n, ast.Subscript | ast.Call) for n in inside):
            return False
        return not {n.id for n in inside if isinstance(n, ast.Name)} & set(self.stored)

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        if not self.hoistable(node):
            return self.generic_visit(node)
        key = ast.dump(node)
        if key not in self.temps:
            self.temps[key] = self.fresh("h")
            self.reads.append((self.temps[key], copy.deepcopy(node)))
        return ast.copy_location(ast.Name(id=self.temps[key], ctx=ast.Load()), node)

    def skip(self, node: ast.AST) -> ast.AST:  # code that may not run on every iteration
        return node

    visit_If = visit_For = visit_While = visit_BoolOp = visit_IfExp = skip
