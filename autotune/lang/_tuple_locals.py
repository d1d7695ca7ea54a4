"""Locals holding the tuple a called function returns: ``t = minmax(x)`` then ``t[0]``, ``t[1]``.

The language has no tuple values, but a local only ever assigned a call returning ``n`` values and only
ever read as ``t[k]`` with a constant ``k`` needs none: the assignment becomes ``t0, ..., tn = minmax(x)``
into fresh temporaries and each ``t[k]`` reads its temporary, which is what Python computes. The rewrite
happens before the kernel is checked; any other use of such a local stays an error of the checker.
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Callable

__all__ = ["rewrite_tuple_locals"]

#: ``arity(call) -> n``: how many values the function a call names returns (``None``: not a tuple).
Arity = Callable[[ast.Call], int | None]

_counter = itertools.count(1)


def rewrite_tuple_locals(func: ast.FunctionDef, arity: Arity) -> None:
    """Rewrite, in place, every local of ``func`` that holds a tuple result and is only indexed."""
    stores: dict[str, list[ast.AST]] = {}
    loads: dict[str, list[ast.Name]] = {}
    parents: dict[int, ast.AST] = {}
    for node in ast.walk(func):
        for child in ast.iter_child_nodes(node):
            parents[id(child)] = node
        if isinstance(node, ast.Name):
            (stores if isinstance(node.ctx, ast.Store) else loads).setdefault(node.id, []).append(node)
    for name, targets in stores.items():
        assigns = [parents.get(id(t)) for t in targets]
        if not all(isinstance(a, ast.Assign) and a.targets == [t] for a, t in zip(assigns, targets, strict=True)):
            continue
        values = [a.value for a in assigns if isinstance(a, ast.Assign)]
        sizes = {arity(v) if isinstance(v, ast.Call) else None for v in values}
        size = sizes.pop() if len(sizes) == 1 else None
        if not size:
            continue
        reads = loads.get(name, [])
        indexes = [_index(parents.get(id(r)), r, size) for r in reads]
        if None in indexes:
            continue
        temps = [f"_tt{next(_counter)}_{name}_{k}" for k in range(size)]
        for target in targets:
            assign = parents[id(target)]
            if isinstance(assign, ast.Assign):
                elts: list[ast.expr] = [ast.copy_location(ast.Name(t, ast.Store()), target) for t in temps]
                assign.targets = [ast.copy_location(ast.Tuple(elts, ast.Store()), target)]
        for read, k in zip(reads, indexes, strict=True):
            subscript = parents[id(read)]
            holder = parents[id(subscript)]
            replacement = ast.copy_location(ast.Name(temps[k or 0], ast.Load()), subscript)
            _replace(holder, subscript, replacement)


def _index(parent: ast.AST | None, read: ast.Name, size: int) -> int | None:
    """``k`` (in ``0..size-1``) if ``read`` is the value of ``read[k]`` with a constant ``k``."""
    if not (isinstance(parent, ast.Subscript) and parent.value is read and isinstance(parent.ctx, ast.Load)):
        return None
    k = parent.slice
    value = k.value if isinstance(k, ast.Constant) else None
    if isinstance(k, ast.UnaryOp) and isinstance(k.op, ast.USub) and isinstance(k.operand, ast.Constant):
        value = -k.operand.value if isinstance(k.operand.value, int) else None
    if not isinstance(value, int) or isinstance(value, bool) or not -size <= value < size:
        return None
    return value % size


def _replace(holder: ast.AST, old: ast.AST, new: ast.AST) -> None:
    for field, current in ast.iter_fields(holder):
        if current is old:
            setattr(holder, field, new)
        elif isinstance(current, list):
            for k, item in enumerate(current):
                if item is old:
                    current[k] = new
