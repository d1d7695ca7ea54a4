"""Loop nests as the schedules see them: ``for v in range(...)`` loops, chains of them (bands), and the
distribution that turns an imperfect nest into perfect ones.

A **band** is a chain of ``for v in range(lo, hi)`` loops (step 1, no ``else``), each the only statement
of the one before, whose bounds do not depend on the band's variables (a rectangular nest) and are pure
(names not assigned in the band, literals, ``+ - *``, ``len``, ``.shape``, ``min``/``max``/``abs``), so
they can be evaluated once before the band.

**Distribution**: a nest whose innermost loop's body is statements (loops among them) followed by one
more range loop (``for i: for j: tmp[i, j] = 0.0; for k: tmp[i, j] += ...``) is split, where
:func:`._dependence.distribution_legal` allows it, into a nest running those statements and a copy of the
loops around the inner loop (``for i: for j: tmp[i, j] = 0.0`` then ``for i: for j: for k: ...``), so
the inner loop joins the band. The schedules find their bands on the distributed tree and apply it only
to variants that transform something; the untransformed kernel keeps its source form.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Collection, Iterator, Sequence

from ._dependence import distribution_legal
from ._model import Builtin, KernelInfo

__all__ = ["chains", "distributed", "indexes", "invariant_bounds", "is_range_loop", "loop_var"]

_PURE_CALLS = frozenset({"len", "min", "max", "abs"})
_PURE_OPS = (ast.Add, ast.Sub, ast.Mult)


def loop_var(loop: ast.For) -> str:
    """The variable of a loop :func:`is_range_loop` accepted."""
    assert isinstance(loop.target, ast.Name)
    return loop.target.id


def indexes(node: ast.Subscript) -> list[ast.expr]:
    """The index expressions of a subscript, one per dimension (``a[i, j + 1]``: ``i`` and ``j + 1``)."""
    return list(node.slice.elts) if isinstance(node.slice, ast.Tuple) else [node.slice]


def is_range_loop(node: ast.stmt, info: KernelInfo) -> bool:
    """A ``for name in range(a[, b[, 1]])`` loop without ``else``."""
    if not (isinstance(node, ast.For) and isinstance(node.target, ast.Name) and not node.orelse):
        return False
    call = node.iter
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and not call.keywords):
        return False
    if call.func.id in info.locals or info.names.get(call.func.id) != Builtin("range"):
        return False
    if not 1 <= len(call.args) <= 3:
        return False
    return len(call.args) < 3 or (isinstance(call.args[2], ast.Constant) and call.args[2].value == 1)


def chains(body: list[ast.stmt], info: KernelInfo) -> Iterator[list[ast.For]]:
    """Every maximal band of two or more loops in ``body`` and below it, in source order."""
    for stmt in body:
        if is_range_loop(stmt, info):
            assert isinstance(stmt, ast.For)
            chain = _chain(stmt, info)
            if len(chain) >= 2:
                yield chain
            yield from chains(chain[-1].body, info)
            continue
        for field in ("body", "orelse"):
            inner_body = getattr(stmt, field, None)
            if isinstance(inner_body, list):
                yield from chains(inner_body, info)


def invariant_bounds(loop: ast.For, chain: Sequence[ast.For], info: KernelInfo) -> bool:
    """Whether ``loop``'s bounds can be evaluated once before the band: pure, and free of the band's
    variables and of names the band assigns."""
    assigned = {n.id for n in ast.walk(chain[0]) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    assert isinstance(loop.iter, ast.Call)
    return all(_pure(arg, assigned, info) for arg in loop.iter.args)


def _pure(node: ast.expr, assigned: Collection[str], info: KernelInfo) -> bool:
    """Whether ``node`` is a bound expression evaluated the same anywhere in the band (see the module doc)."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, int) and not isinstance(node.value, bool)
    if isinstance(node, ast.Name):
        return node.id not in assigned
    if isinstance(node, ast.BinOp):
        return isinstance(node.op, _PURE_OPS) and _pure(node.left, assigned, info) and _pure(node.right, assigned, info)
    if isinstance(node, ast.UnaryOp):
        return isinstance(node.op, ast.USub) and _pure(node.operand, assigned, info)
    if isinstance(node, ast.Attribute):  # a.shape (read as a.shape[k])
        return node.attr == "shape" and isinstance(node.value, ast.Name)
    if isinstance(node, ast.Subscript):  # only a.shape[k]
        return (
            isinstance(node.value, ast.Attribute)
            and _pure(node.value, assigned, info)
            and isinstance(node.slice, ast.Constant)
        )
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        builtin = info.names.get(node.func.id)
        return (
            node.func.id not in info.locals
            and isinstance(builtin, Builtin)
            and builtin.name in _PURE_CALLS
            and all(_pure(a, assigned, info) for a in node.args)
        )
    return False


def distributed(body: list[ast.stmt], info: KernelInfo, *, arrays: Collection[str], noalias: bool) -> list[ast.stmt]:
    """``body`` (changed in place below it) with every nest that may be distributed split (see the module
    doc), outer nests first, so that a nest keeps all its loops."""
    out: list[ast.stmt] = []
    for stmt in body:
        for part in _split(stmt, info, arrays, noalias):
            for field in ("body", "orelse"):
                inner = getattr(part, field, None)
                if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                    setattr(part, field, distributed(inner, info, arrays=arrays, noalias=noalias))
            out.append(part)
    return out


def _split(stmt: ast.stmt, info: KernelInfo, arrays: Collection[str], noalias: bool) -> list[ast.stmt]:
    """``stmt`` as the nests it distributes into (itself alone when it does not)."""
    if not is_range_loop(stmt, info):
        return [stmt]
    assert isinstance(stmt, ast.For)
    chain = _chain(stmt, info)
    body = chain[-1].body
    last = body[-1]
    if len(body) < 2 or not is_range_loop(last, info):
        return [stmt]
    assert isinstance(last, ast.For)
    legal = invariant_bounds(last, chain, info) and distribution_legal([*chain, last], arrays=arrays, noalias=noalias)
    if not legal:
        return [stmt]
    first, second = copy.deepcopy(stmt), copy.deepcopy(stmt)
    _chain(first, info)[-1].body = body[:-1]
    _chain(second, info)[-1].body = [last]
    # the copy's head needs a position no other loop has (bands are found by position): the inner loop's
    # line, with a column no source statement can have
    second.lineno, second.col_offset = last.lineno, -1 - last.col_offset
    return [*_split(first, info, arrays, noalias), *_split(second, info, arrays, noalias)]


def _chain(head: ast.For, info: KernelInfo) -> list[ast.For]:
    """``head`` and the range loops below it that are each the only statement of the one before."""
    chain = [head]
    while len(chain[-1].body) == 1 and is_range_loop(chain[-1].body[0], info):
        inner = chain[-1].body[0]
        assert isinstance(inner, ast.For)
        if not invariant_bounds(inner, chain, info):
            break
        chain.append(inner)
    return chain
