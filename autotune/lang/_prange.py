"""``prange``: loops whose iterations may run on several threads, and the rules their bodies follow.

``for i in prange(n)`` (or ``prange(lo, hi)``, or a constant positive step) is ``range`` in Python and in
a variant whose ``parallel`` knob is 0 or 1; with ``parallel`` k >= 2 its iterations are split into k
chunks that run on k threads (:mod:`autotune.lang._parallel`, :mod:`autotune.pool`). As in numba, the body
may read anything and write array elements, each iteration its own (the user's contract: two iterations
writing one element race). A local the body assigns is either

- a *reduction*: every assignment in the body is ``s += e``/``s -= e``, or every one is ``s *= e``, or
  ``s = min(s, e)``/``min(e, s)``, or ``max`` likewise, and the body reads ``s`` nowhere else; each chunk
  reduces into its own partial, and the partials are combined after the loop in chunk order (so a
  result depends on the thread count only; float sums are reordered like fast-math), or
- *private* to the iteration: assigned before it is read in every iteration, and not read after the loop.

Anything else (a value carried from one iteration to the next, a private read after the loop), and
``break``, ``return``, ``raise`` or ``assert`` in the body, is a :class:`KernelSyntaxError` when the kernel
is parsed. A ``prange`` inside a ``prange`` body runs serially; one inside ordinary loops is parallel.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import KernelSyntaxError

__all__ = ["LoopPlan", "check_pranges", "plan_of", "prange"]

ErrorFn = Callable[[ast.AST, str], KernelSyntaxError]
#: ``is_builtin(func, name)``: whether the callee expression ``func`` is the builtin ``name`` (or ``prange``)
IsBuiltin = Callable[[ast.expr, str], bool]

_SUM_OPS: dict[type[ast.operator], str] = {ast.Add: "+", ast.Sub: "+", ast.Mult: "*"}
_HINT = (
    "a prange body may assign array elements, locals it assigns before reading in the same iteration, and "
    "reductions (s += e, s -= e, s *= e, s = min(s, e), s = max(s, e)); use range(...) for a loop that "
    "needs more"
)


def prange(*args: int) -> range:
    """``range(*args)``. In a kernel, a loop whose iterations may run on several threads (the ``parallel``
    knob); outside kernels it is ``range``, so the undecorated function still runs."""
    return range(*args)


@dataclass(frozen=True)
class LoopPlan:
    """What a ``prange`` body does with locals: ``reductions`` maps a name to its operator (``+``, ``*``,
    ``min``, ``max``; ``-=`` reduces with ``+``), ``private`` lists the others it assigns (the loop variable
    included)."""

    reductions: dict[str, str]
    private: frozenset[str]


def plan_of(loop: ast.For, is_builtin: IsBuiltin) -> LoopPlan:
    """Classify the locals ``loop``'s body assigns (no checking: see :func:`check_pranges`)."""
    ops: dict[str, set[str | None]] = {}
    statements: dict[str, list[ast.stmt]] = {}
    for stmt in _statements(loop.body):
        for name in _assigned(stmt):
            found = _reduction(stmt, is_builtin)
            ops.setdefault(name, set()).add(found[1] if found is not None and found[0] == name else None)
            statements.setdefault(name, []).append(stmt)
    reductions: dict[str, str] = {}
    target = loop.target.id if isinstance(loop.target, ast.Name) else ""
    for name, kinds in ops.items():
        op = next(iter(kinds))
        if len(kinds) != 1 or op is None or name == target:
            continue
        inside = {id(n) for s in statements[name] for n in ast.walk(s)}
        stray = any(
            isinstance(n, ast.Name) and n.id == name and id(n) not in inside for s in loop.body for n in ast.walk(s)
        )
        if not stray:
            reductions[name] = op
    private = frozenset({target, *(n for n in ops if n not in reductions)} - {""})
    return LoopPlan(reductions, private)


def check_pranges(func: ast.FunctionDef, error: ErrorFn, is_builtin: IsBuiltin) -> None:
    """Raise a :class:`KernelSyntaxError` for the first ``prange`` body that breaks the rules above."""
    for loop in ast.walk(func):
        if not (
            isinstance(loop, ast.For) and isinstance(loop.iter, ast.Call) and is_prange_call(loop.iter, is_builtin)
        ):
            continue
        if len(loop.iter.args) == 3:
            step = loop.iter.args[2]
            literal = step.value if isinstance(step, ast.Constant) else None
            if isinstance(step, ast.UnaryOp) or (
                literal is not None and (not isinstance(literal, int) or literal <= 0)
            ):
                raise error(step, "prange() needs a constant positive step (write range(...) for other steps)")
        _check_exits(loop, error)
        plan = plan_of(loop, is_builtin)
        for name in sorted(plan.private - {loop.target.id if isinstance(loop.target, ast.Name) else ""}):
            if _Live(name).block(loop.body, False, False, False):
                raise error(
                    _first_use(loop, name),
                    f"'{name}' is read in the prange body before it is assigned in the same iteration: its value "
                    f"would come from another iteration, which may run on another thread; {_HINT}",
                )
        for name in sorted(plan.private):
            live = _Live(name, loop)
            live.block(func.body, False, False, False)
            if live.after:
                raise error(
                    _first_use(loop, name),
                    f"'{name}' is assigned in the prange body and read after the loop: each iteration has its own "
                    f"'{name}', so there is no last value; {_HINT}",
                )


def is_prange_call(node: ast.expr, is_builtin: IsBuiltin) -> bool:
    """Whether ``node`` is a call of ``prange``."""
    return isinstance(node, ast.Call) and is_builtin(node.func, "prange")


def _check_exits(loop: ast.For, error: ErrorFn) -> None:
    def walk(body: list[ast.stmt], nested: bool) -> None:
        for stmt in body:
            if isinstance(stmt, ast.Break) and not nested:
                raise error(stmt, f"'break' cannot leave a prange loop: its iterations run in any order; {_HINT}")
            if isinstance(stmt, ast.Return):
                raise error(stmt, f"'return' cannot leave a prange loop: its iterations run in any order; {_HINT}")
            if isinstance(stmt, ast.Raise | ast.Assert):
                raise error(
                    stmt,
                    f"'{type(stmt).__name__.lower()}' is not supported in a prange body (other iterations would "
                    f"already be running); check before the loop, or use range(...)",
                )
            inner = isinstance(stmt, ast.For | ast.While)
            for field in ("body", "orelse"):
                walk(getattr(stmt, field, []) or [], nested or inner)

    walk(loop.body, False)


def _statements(body: list[ast.stmt]) -> list[ast.stmt]:
    found: list[ast.stmt] = []
    for stmt in body:
        found.append(stmt)
        for field in ("body", "orelse"):
            found.extend(_statements(getattr(stmt, field, []) or []))
    return found


def _assigned(stmt: ast.stmt) -> list[str]:
    if isinstance(stmt, ast.Assign):
        return [t.id for t in stmt.targets if isinstance(t, ast.Name)]
    if isinstance(stmt, ast.AugAssign | ast.AnnAssign | ast.For) and isinstance(stmt.target, ast.Name):
        if isinstance(stmt, ast.AnnAssign) and stmt.value is None:
            return []
        return [stmt.target.id]
    return []


def _reads(node: ast.AST | None, name: str) -> bool:
    return node is not None and any(
        isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load) for n in ast.walk(node)
    )


def _reduction(stmt: ast.stmt, is_builtin: IsBuiltin) -> tuple[str, str] | None:
    """``(name, operator)`` if ``stmt`` is one of the reduction forms."""
    if isinstance(stmt, ast.AugAssign) and isinstance(stmt.target, ast.Name):
        op = _SUM_OPS.get(type(stmt.op))
        if op is not None and not _reads(stmt.value, stmt.target.id):
            return stmt.target.id, op
        return None
    if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)):
        return None
    name, call = stmt.targets[0].id, stmt.value
    if not isinstance(call, ast.Call) or len(call.args) != 2 or call.keywords:
        return None
    which = "min" if is_builtin(call.func, "min") else "max" if is_builtin(call.func, "max") else None
    if which is None:
        return None
    first, second = call.args
    if isinstance(first, ast.Name) and first.id == name and not _reads(second, name):
        return name, which
    if isinstance(second, ast.Name) and second.id == name and not _reads(first, name):
        return name, which
    return None


def _first_use(loop: ast.For, name: str) -> ast.AST:
    for node in ast.walk(loop):
        if isinstance(node, ast.Name) and node.id == name:
            return node
    return loop


class _Live:
    """Backward liveness of one local over the AST: whether its current value may be read later.

    ``after`` records whether it is live right after ``loop`` (over-approximated where a loop is involved,
    which can only refuse more)."""

    def __init__(self, name: str, loop: ast.For | None = None) -> None:
        self.name = name
        self.loop = loop
        self.after = False

    def block(self, body: list[ast.stmt], out: bool, head: bool, exit_: bool) -> bool:
        live = out
        for stmt in reversed(body):
            live = self.stmt(stmt, live, head, exit_)
        return live

    def stmt(self, s: ast.stmt, out: bool, head: bool, exit_: bool) -> bool:
        name = self.name
        if s is self.loop:
            self.after = self.after or out
        if isinstance(s, ast.Assign):
            kills = any(isinstance(t, ast.Name) and t.id == name for t in s.targets)
            return _reads(s.value, name) or any(_reads(t, name) for t in s.targets) or (out and not kills)
        if isinstance(s, ast.AnnAssign):
            if s.value is None:
                return out
            return _reads(s.value, name) or (out and not (isinstance(s.target, ast.Name) and s.target.id == name))
        if isinstance(s, ast.AugAssign):
            target = isinstance(s.target, ast.Name) and s.target.id == name
            return target or _reads(s.value, name) or _reads(s.target, name) or out
        if isinstance(s, ast.If):
            return (
                _reads(s.test, name) or self.block(s.body, out, head, exit_) or self.block(s.orelse, out, head, exit_)
            )
        if isinstance(s, ast.For | ast.While):
            loop_head = out
            for _ in range(3):  # a boolean fixed point: monotone, settles in two rounds
                body_in = self.block(s.body, loop_head, loop_head, out)
                if isinstance(s, ast.For) and isinstance(s.target, ast.Name) and s.target.id == name:
                    body_in = False
                loop_head = out or body_in or (isinstance(s, ast.While) and _reads(s.test, name))
            return loop_head or _reads(s.iter if isinstance(s, ast.For) else s.test, name)
        if isinstance(s, ast.Break):
            return exit_
        if isinstance(s, ast.Continue):
            return head
        if isinstance(s, ast.Return):
            return _reads(s.value, name)
        if isinstance(s, ast.Raise):
            return _reads(s.exc, name)
        if isinstance(s, ast.Assert):
            return _reads(s.test, name) or _reads(s.msg, name) or out
        if isinstance(s, ast.Expr):
            return _reads(s.value, name) or out
        return out
