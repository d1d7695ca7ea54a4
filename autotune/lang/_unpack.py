"""Tuple assignment between names and elements: ``a, b = b, a`` and ``x[i], x[j] = x[j], x[i]``.

The language has no tuple values, but unpacking a tuple *display* into as many targets needs none: every
value on the right is evaluated first, left to right, into a fresh temporary, then the targets are
assigned left to right, which is exactly Python's order. The rewrite happens before the kernel is checked,
so each piece is an ordinary assignment (typed, lowered and rebuilt as usual). Starred targets, nested
tuples and a right side that is not a tuple display of the same length (a function returning a tuple)
stay errors, reported by the checker.
"""

from __future__ import annotations

import ast
import itertools

__all__ = ["rewrite_unpacking"]

_counter = itertools.count(1)


def rewrite_unpacking(body: list[ast.stmt]) -> list[ast.stmt]:
    """``body`` with every ``t1, ..., tn = v1, ..., vn`` (names or subscripts) split into assignments."""
    out: list[ast.stmt] = []
    for node in body:
        for field in ("body", "orelse"):
            inner = getattr(node, field, None)
            if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                setattr(node, field, rewrite_unpacking(inner))
        out.extend(_split(node) or [node])
    return out


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
