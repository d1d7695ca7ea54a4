"""Tuple parameters: ``p: tuple[f64, f64]``, passed as a Python tuple, one native scalar per item.

Inside the kernel a tuple parameter is only ever indexed with a constant (``p[0]``, ``p[-1]``), unpacked
(``x, y = p``) or measured (``len(p)``). Before checking, the body is rewritten so that only constant,
non-negative item reads ``p[k]`` remain (still plain Python, so the rebuilt reference runs unchanged);
the typer gives ``p[k]`` the item's type and the lowering reads the item's native argument.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import KernelSyntaxError
from ..types import ScalarType
from ._model import ParamSpec

__all__ = ["rewrite_tuple_params", "tuple_item", "tuple_items_of"]

ErrorFn = Callable[[ast.AST, str], KernelSyntaxError]
_USES = "index it with a constant (p[0]), unpack it (x, y = p) or take len(p)"


def tuple_items_of(annotation: Any, scalar: Callable[[Any], ScalarType | None]) -> tuple[ScalarType, ...] | None:
    """The item types of a ``tuple[f64, i64]`` annotation (None if it is not one; ``()`` if an item is not a
    real scalar type (complex items are not supported yet) or the tuple is empty or variadic)."""
    if getattr(annotation, "__origin__", None) is not tuple:
        return None
    args = getattr(annotation, "__args__", ())
    items = [scalar(t) for t in args]
    if not items or Ellipsis in args or any(t is None or t.kind == "complex" for t in items):
        return ()
    return tuple(t for t in items if t is not None)


def tuple_item(node: ast.expr, params: Mapping[str, ParamSpec]) -> tuple[ParamSpec, int] | None:
    """``(param, k)`` if ``node`` reads item ``k`` of a tuple parameter (after the rewrite)."""
    if not (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name)):
        return None
    param = params.get(node.value.id)
    if param is None or param.kind != "tuple":
        return None
    index = node.slice
    if isinstance(index, ast.Constant) and isinstance(index.value, int) and not isinstance(index.value, bool):
        return param, index.value
    return None


def rewrite_tuple_params(body: list[ast.stmt], sizes: Mapping[str, int], error: ErrorFn) -> list[ast.stmt]:
    """``body`` with ``x, y = p`` split into item reads, ``len(p)`` a constant and ``p[-1]`` as ``p[n-1]``;
    any other use of a tuple parameter is a KernelSyntaxError."""
    if not sizes:
        return body
    rewriter = _Rewriter(sizes, error)
    out: list[ast.stmt] = []
    for stmt in body:
        out.extend(rewriter.statement(stmt))
    return out


class _Rewriter(ast.NodeTransformer):
    def __init__(self, sizes: Mapping[str, int], error: ErrorFn) -> None:
        self.sizes = sizes
        self.error = error

    def statement(self, stmt: ast.stmt) -> list[ast.stmt]:
        if (
            isinstance(stmt, ast.Assign)
            and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Tuple | ast.List)
            and isinstance(stmt.value, ast.Name)
            and stmt.value.id in self.sizes
        ):
            name, targets = stmt.value.id, stmt.targets[0].elts
            if len(targets) != self.sizes[name]:
                raise self.error(stmt, f"cannot unpack {self.sizes[name]} items of '{name}' into {len(targets)} names")
            split: list[ast.stmt] = []
            for k, target in enumerate(targets):
                read = ast.Subscript(ast.Name(name, ast.Load()), ast.Constant(k), ast.Load())
                assign = ast.Assign(targets=[self.visit(copy.deepcopy(target))], value=read)
                split.append(ast.fix_missing_locations(ast.copy_location(assign, stmt)))
                ast.copy_location(read, stmt)
                ast.copy_location(read.value, stmt)
                ast.copy_location(read.slice, stmt)
            return split
        for field in ("body", "orelse"):
            block = getattr(stmt, field, None)
            if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                setattr(stmt, field, [s for inner in block for s in self.statement(inner)])
        for name, value in ast.iter_fields(stmt):
            if name in ("body", "orelse"):
                continue
            if isinstance(value, ast.AST):
                setattr(stmt, name, self.visit(value))
            elif isinstance(value, list):
                setattr(stmt, name, [self.visit(v) if isinstance(v, ast.AST) else v for v in value])
        return [stmt]

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        base = node.value
        if not (isinstance(base, ast.Name) and base.id in self.sizes):
            return self.generic_visit(node)
        size = self.sizes[base.id]
        if not isinstance(node.ctx, ast.Load):
            raise self.error(node, f"cannot assign to an item of tuple parameter '{base.id}' (tuples are immutable)")
        index = _constant_int(node.slice)
        if index is None:
            raise self.error(node.slice, f"tuple parameter '{base.id}': {_USES}; the index must be a constant")
        if not -size <= index < size:
            raise self.error(node.slice, f"tuple index {index} out of range ('{base.id}' has {size} items)")
        node.slice = ast.copy_location(ast.Constant(index % size), node.slice)
        return node

    def visit_Call(self, node: ast.Call) -> ast.AST:
        if (
            isinstance(node.func, ast.Name)
            and node.func.id == "len"
            and len(node.args) == 1
            and isinstance(node.args[0], ast.Name)
            and node.args[0].id in self.sizes
        ):
            return ast.copy_location(ast.Constant(self.sizes[node.args[0].id]), node)
        return self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id in self.sizes:
            if isinstance(node.ctx, ast.Store):
                raise self.error(node, f"cannot assign to tuple parameter '{node.id}'")
            raise self.error(node, f"tuple parameter '{node.id}' cannot be used as a value: {_USES}")
        return node


def _constant_int(node: ast.expr) -> int | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(node.value, bool):
        return node.value
    if (
        isinstance(node, ast.UnaryOp)
        and isinstance(node.op, ast.USub)
        and isinstance(node.operand, ast.Constant)
        and isinstance(node.operand.value, int)
        and not isinstance(node.operand.value, bool)
    ):
        return -node.operand.value
    return None
