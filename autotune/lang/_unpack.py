"""Tuple assignment between names and elements: ``a, b = b, a`` and ``x[i], x[j] = x[j], x[i]``.

The language has no tuple values, but unpacking a tuple *display* into as many targets needs none: every
value on the right is evaluated first, left to right, into a fresh temporary, then the targets are
assigned left to right, which is exactly Python's order. The rewrite happens before the kernel is checked,
so each piece is an ordinary assignment (typed, lowered and rebuilt as usual). ``h, w = a.shape`` of an
array parameter is the display ``a.shape[0], a.shape[1]`` (a count that differs from the array's
dimensions is Python's ValueError, reported here). Starred targets, nested tuples and other right sides
stay errors, reported by the checker (calls returning tuples are unpacked by the call's lowering).
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Callable, Mapping

from ..errors import KernelSyntaxError

__all__ = ["rewrite_unpacking"]

_counter = itertools.count(1)


ErrorFn = Callable[[ast.AST, str], KernelSyntaxError]


def rewrite_unpacking(
    body: list[ast.stmt], ndims: Mapping[str, int] | None = None, error: ErrorFn | None = None
) -> list[ast.stmt]:
    """``body`` with every ``t1, ..., tn = v1, ..., vn`` (names or subscripts) split into assignments, and
    ``t1, ..., tn = a.shape`` for an array parameter ``a`` (``ndims``: the parameters' dimensions)."""
    out: list[ast.stmt] = []
    for node in body:
        for field in ("body", "orelse"):
            inner = getattr(node, field, None)
            if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                setattr(node, field, rewrite_unpacking(inner, ndims, error))
        _shape_display(node, ndims or {}, error)
        out.extend(_split(node) or [node])
    return out


def _shape_display(node: ast.stmt, ndims: Mapping[str, int], error: ErrorFn | None) -> None:
    """``h, w = a.shape`` becomes ``h, w = a.shape[0], a.shape[1]`` (in place)."""
    if not (isinstance(node, ast.Assign) and len(node.targets) == 1):
        return
    target, value = node.targets[0], node.value
    if not (isinstance(target, ast.Tuple | ast.List) and isinstance(value, ast.Attribute) and value.attr == "shape"):
        return
    if not (isinstance(value.value, ast.Name) and value.value.id in ndims):
        return
    ndim = ndims[value.value.id]
    if len(target.elts) != ndim and error is not None:
        raise error(node, f"'{value.value.id}' has {ndim} dimension(s): unpack its shape into {ndim} names")
    items: list[ast.expr] = [
        ast.Subscript(
            value=ast.Attribute(ast.Name(value.value.id, ast.Load()), "shape", ast.Load()),
            slice=ast.Constant(k),
            ctx=ast.Load(),
        )
        for k in range(ndim)
    ]
    node.value = ast.fix_missing_locations(ast.copy_location(ast.Tuple(items, ast.Load()), value))


def _split(node: ast.stmt) -> list[ast.stmt] | None:
    if not (isinstance(node, ast.Assign) and len(node.targets) == 1):
        return None
    target, value = node.targets[0], node.value
    if not (isinstance(target, ast.Tuple | ast.List) and isinstance(value, ast.Tuple | ast.List)):
        return None
    if len(target.elts) != len(value.elts):
        return None
    if not all(isinstance(t, ast.Name | ast.Subscript) for t in target.elts):
        return None
    temps = [f"_tu{next(_counter)}" for _ in value.elts]
    made: list[ast.stmt] = [
        ast.Assign(targets=[ast.Name(t, ast.Store())], value=v) for t, v in zip(temps, value.elts, strict=True)
    ]
    made += [
        ast.Assign(targets=[target_], value=ast.Name(t, ast.Load()))
        for target_, t in zip(target.elts, temps, strict=True)
    ]
    return [ast.fix_missing_locations(ast.copy_location(m, node)) for m in made]
