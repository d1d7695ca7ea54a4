"""Iteration forms beyond ``range``: ``for v in a``, ``enumerate`` and ``zip``, rewritten into index loops.

numba users write ``for x in a``, ``for i, x in enumerate(a)`` and ``for x, y in zip(a, b)``. Each becomes
a ``for`` over ``range`` with a fresh counter and assignments at the top of the body, before the kernel is
checked, typed or lowered, so every later stage (and the vectoriser) sees the loop it already handles:

    for i, (x, y) in enumerate(zip(a, b), 1):     for _it1 in range(min(len(a), len(b))):
        ...                                  ->        i = _it1 + 1
                                                       x = a[_it1]
                                                       y = b[_it1]
                                                       ...

The rewritten tree is also what the tuning worker rebuilds as the Python reference, and it has Python's
meaning: iterating a 1-D array reads ``a[k]`` when the iteration reaches ``k`` (later elements written by
the body are seen, as numpy's iterator sees them), ``zip`` stops at the shortest sequence, ``enumerate``
counts from its start, and ``zip(..., strict=True)`` raises ValueError before the loop when the lengths
differ (Python raises when the shortest runs out, after the iterations before it). Sequences are arrays
and views named by a name, view expressions (``a[::2]``, ``A[i]``: bound to a fresh name before the loop,
so their bounds are evaluated once, as Python does) and ``range(...)`` calls whose step is a constant (or
absent). Iterating a 2-D or 3-D array yields its rows (views, see ``_views``).
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["rewrite_iteration"]

#: ``is_builtin(name, builtin) -> bool``: whether the kernel's free ``name`` is the Python builtin ``builtin``
IsBuiltin = Callable[[str, str], bool]
ErrorFn = Callable[[ast.AST, str], Exception]

_counter = itertools.count(1)


@dataclass(frozen=True)
class _Seq:
    """A sequence being iterated: its length, and how to read item ``k`` (None for zip/enumerate)."""

    length: ast.expr
    item: Callable[[ast.expr], ast.expr] | None = None
    parts: tuple[_Seq, ...] = ()  # zip: the zipped sequences
    start: ast.expr | None = None  # enumerate: the start; parts[0] is the enumerated sequence


def rewrite_iteration(
    body: list[ast.stmt], is_builtin: IsBuiltin, error: ErrorFn, ndims: dict[str, int] | None = None
) -> list[ast.stmt]:
    """``body`` with every ``for`` over something other than ``range(...)`` rewritten (nested ones too).
    ``ndims`` is unused (iterating an array of any rank is supported); kept for callers."""
    return [made for s in body for made in _statement(s, is_builtin, error)]


def _statement(node: ast.stmt, is_builtin: IsBuiltin, error: ErrorFn) -> list[ast.stmt]:
    for field in ("body", "orelse"):
        inner = getattr(node, field, None)
        if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
            setattr(node, field, rewrite_iteration(inner, is_builtin, error))
    if not isinstance(node, ast.For) or any(_is_call(node.iter, f, is_builtin) for f in ("range", "prange")):
        return [node]
    checks: list[ast.stmt] = []
    seq = _sequence(node.iter, is_builtin, error, checks)
    counter = f"_it{next(_counter)}"
    k = ast.Name(counter, ast.Load())
    prologue = _bind(node.target, seq, k, error)
    loop = ast.For(
        target=ast.Name(counter, ast.Store()),
        iter=_call("range", seq.length),
        body=prologue + node.body,
        orelse=node.orelse,
        type_comment=None,
    )
    return [ast.fix_missing_locations(ast.copy_location(made, node)) for made in [*checks, loop]]


def _sequence(node: ast.expr, is_builtin: IsBuiltin, error: ErrorFn, checks: list[ast.stmt]) -> _Seq:
    """What ``node`` iterates over; statements to run before the loop (``zip(strict=True)``) go to ``checks``."""
    if _is_call(node, "zip", is_builtin):
        assert isinstance(node, ast.Call)
        strict = _strict(node, error)
        if not node.args:
            raise error(node, "zip() takes one or more sequences")
        parts = tuple(_sequence(a, is_builtin, error, checks) for a in node.args)
        length = parts[0].length if len(parts) == 1 else _call("min", *(p.length for p in parts))
        if strict and len(parts) > 1:  # Python raises ValueError once the shortest runs out
            unequal = ast.BoolOp(ast.Or(), [ast.Compare(parts[0].length, [ast.NotEq()], [p.length]) for p in parts[1:]])
            message = ast.Constant("zip() arguments have different lengths")
            checks.append(ast.If(unequal, [ast.Raise(_call("ValueError", message), None)], []))
        return _Seq(length, parts=parts)
    if _is_call(node, "enumerate", is_builtin):
        assert isinstance(node, ast.Call)
        args = list(node.args) + [k.value for k in node.keywords if k.arg == "start"]
        if not 1 <= len(args) <= 2 or any(k.arg != "start" for k in node.keywords):
            raise error(node, "enumerate() takes a sequence and an optional start")
        inner = _sequence(args[0], is_builtin, error, checks)
        start = _once(args[1], checks) if len(args) == 2 else ast.Constant(0)
        return _Seq(inner.length, parts=(inner,), start=start)
    if _is_call(node, "range", is_builtin):
        return _range(node, error, checks)
    if isinstance(node, ast.Subscript):  # a view (a[::2], A[i]): bound to a name once, before the loop, as Python does
        name = f"_itv{next(_counter)}"
        checks.append(ast.Assign(targets=[ast.Name(name, ast.Store())], value=node, lineno=node.lineno))
        node = ast.Name(name, ast.Load())
    if isinstance(node, ast.Name):
        name = node.id
        return _Seq(_call("len", ast.Name(name, ast.Load())), lambda k: _index(name, k))
    raise error(
        node,
        "for loops iterate over range(...), an array, a view (a[::2], A[i]), enumerate(...) or zip(...) of those; "
        f"got {ast.unparse(node)!r}",
    )


def _strict(node: ast.Call, error: ErrorFn) -> bool:
    """zip's ``strict=`` (a literal True or False), the only keyword it takes."""
    strict = False
    for keyword in node.keywords:
        if (
            keyword.arg != "strict"
            or not isinstance(keyword.value, ast.Constant)
            or keyword.value.value
            not in (
                True,
                False,
            )
        ):
            raise error(node, "zip() takes sequences and an optional literal strict=True/False")
        strict = bool(keyword.value.value)
    return strict


def _once(value: ast.expr, checks: list[ast.stmt]) -> ast.expr:
    """``value`` evaluated once, before the loop, as Python evaluates a ``range``/``enumerate`` start (the
    rewritten loop reads it at every iteration, after the body may have changed what it names)."""
    if isinstance(value, ast.Constant):
        return value
    name = f"_its{next(_counter)}"
    checks.append(ast.copy_location(ast.Assign(targets=[ast.Name(name, ast.Store())], value=value), value))
    return ast.Name(name, ast.Load())


def _range(node: ast.expr, error: ErrorFn, checks: list[ast.stmt]) -> _Seq:
    """``range(...)`` as a zipped or enumerated sequence: its length and ``start + k * step``."""
    assert isinstance(node, ast.Call)
    if node.keywords or not 1 <= len(node.args) <= 3:
        raise error(node, "range() takes 1 to 3 positional arguments")
    args = list(node.args)
    start, stop = (ast.Constant(0), args[0]) if len(args) == 1 else (_once(args[0], checks), args[1])
    step = _constant_int(args[2]) if len(args) == 3 else 1
    if step is None or step == 0:
        raise error(node, "in zip() or enumerate(), range() needs a constant non-zero step")
    if step > 0:  # max(ceil((stop - start) / step), 0)
        span = ast.BinOp(stop, ast.Sub(), start)
    else:
        span = ast.BinOp(start, ast.Sub(), stop)
    stride = abs(step)
    if stride != 1:
        span = ast.BinOp(ast.BinOp(span, ast.Add(), ast.Constant(stride - 1)), ast.FloorDiv(), ast.Constant(stride))
    length = _call("max", span, ast.Constant(0))
    return _Seq(length, lambda k: ast.BinOp(start, ast.Add(), ast.BinOp(k, ast.Mult(), ast.Constant(step))))


def _bind(target: ast.expr, seq: _Seq, k: ast.expr, error: ErrorFn) -> list[ast.stmt]:
    """Assignments that give ``target`` the item ``k`` of ``seq``."""
    if seq.start is not None:  # enumerate: (index, item)
        if not (isinstance(target, ast.Tuple) and len(target.elts) == 2):
            raise error(target, "unpack enumerate() into two names: for i, x in enumerate(...)")
        index = ast.BinOp(k, ast.Add(), seq.start)
        return [_assign(target.elts[0], index, error), *_bind(target.elts[1], seq.parts[0], k, error)]
    if seq.item is None:  # zip: one target per sequence
        if not (isinstance(target, ast.Tuple) and len(target.elts) == len(seq.parts)):
            raise error(target, f"unpack zip() of {len(seq.parts)} sequences into {len(seq.parts)} names")
        return [stmt for t, part in zip(target.elts, seq.parts, strict=True) for stmt in _bind(t, part, k, error)]
    return [_assign(target, seq.item(k), error)]


def _assign(target: ast.expr, value: ast.expr, error: ErrorFn) -> ast.stmt:
    if not isinstance(target, ast.Name):
        raise error(target, "loop targets are names (or tuples of names for enumerate and zip)")
    return ast.Assign(targets=[ast.Name(target.id, ast.Store())], value=value, lineno=target.lineno)


def _index(name: str, k: ast.expr) -> ast.expr:
    return ast.Subscript(ast.Name(name, ast.Load()), k, ast.Load())


def _call(name: str, *args: ast.expr) -> ast.Call:
    return ast.Call(ast.Name(name, ast.Load()), list(args), [])


def _is_call(node: ast.expr, builtin: str, is_builtin: IsBuiltin) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and is_builtin(node.func.id, builtin)


def _constant_int(node: ast.expr) -> int | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _constant_int(node.operand)
        return None if inner is None else -inner
    return None
