"""Functions a kernel calls: which values are callable from the language, and what a call brings along.

A kernel may call another ``@autotune.tunable`` kernel or an undecorated function written in the
language (a module global, closure variable or a name of the kernel's namespace). The callee is parsed
and validated once (cached per function object) by the same parser and checker as a kernel, and compiled
*into* the caller at every call (``_inline``), so the caller's knobs apply to it. A tunable kernel is
called through its Python function as it was parsed, never its live tuned variant.

A call brings the callee's raises into the caller's status table, its host arrays into the caller's
globals and its source into the caller's fingerprint (so a stored best or cached object of a caller built
against an old callee is not reused). Recursion, direct or mutual, is refused with the cycle named.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from ..abi import Raise, StatusTable
from ..errors import KernelSyntaxError
from ..types import ScalarType
from ._model import Callee, CallError, GlobalRef, HostArray, KernelInfo
from ._validate import raise_of

__all__ = [
    "ParseCallee",
    "callees",
    "calls_loop",
    "compiled_source",
    "kernel_statuses",
    "map_host_arrays",
    "merge_globals",
    "parsing",
    "resolve_callee",
]

#: ``parse(func, label) -> Callee``: parse an undecorated function of the language (given by ``_parse``).
ParseCallee = Callable[[Callable[..., Any], str], Callee]


_lock = threading.RLock()
_parsed: weakref.WeakKeyDictionary[Any, Callee] = weakref.WeakKeyDictionary()
_active = threading.local()


def _stack() -> list[tuple[Any, str]]:
    stack: list[tuple[Any, str]] | None = getattr(_active, "stack", None)
    if stack is None:
        stack = _active.stack = []
    return stack


@contextmanager
def parsing(func: Any, label: str) -> Iterator[None]:
    """Mark ``func`` as being parsed (a call back to it is recursion)."""
    stack = _stack()
    stack.append((func, label))
    try:
        yield
    finally:
        stack.pop()


def _cycle(func: Any, label: str) -> str | None:
    stack = _stack()
    for k, (active, _) in enumerate(stack):
        if active is func:
            chain = [name for _, name in stack[k:]] + [label]
            return (
                f"recursion is not supported in kernels: {' -> '.join(chain)} (every call is compiled into "
                "its caller; write the recursion as a loop)"
            )
    return None


def resolve_callee(
    name: str, value: Any, parse: ParseCallee, error: Callable[[str], KernelSyntaxError]
) -> Callee | None:
    """The :class:`Callee` for a free name bound to a function of the language; ``None`` if ``value`` is
    no function at all (the other resolution rules apply); :class:`CallError` if it is a function kernels
    cannot call."""
    py_func = getattr(value, "py_func", None)
    if py_func is not None and type(value).__module__.split(".")[0] == "numba":
        raise CallError.of(
            error(
                f"'{name}' is a numba-compiled function, which kernels cannot call; define it undecorated in "
                "the kernel language (kernels compile the functions they call themselves)"
            )
        )
    if py_func is not None and hasattr(value, "variants"):  # an autotune Kernel (duck-typed: lang knows no kernel)
        info = getattr(value, "info", None)
        if not isinstance(info, KernelInfo):
            raise CallError.of(error(f"'{name}' is an expert-route kernel (tunable_ir), which kernels cannot call"))
        label = info.name
        found = _cycle(py_func, label)
        if found is not None:
            raise CallError.of(error(found))
        missing = [p.name for p in info.params if p.kind == "const" and p.name not in info.const_defaults]
        if missing:
            raise CallError.of(
                error(
                    f"kernel '{label}' has Const parameter(s) {missing} without a default; a called kernel's "
                    "constants take their defaults, so give them one"
                )
            )
        if info.ret is not None and not isinstance(info.ret, ScalarType):
            raise CallError.of(
                error(f"kernel '{label}' returns {info.ret!r}; a called kernel returns a scalar or nothing")
            )
        returns = None if info.ret is None else (info.ret,)
        return Callee(label, info, frozenset(), returns, 0 if info.ret is None else None)
    if inspect.ismethod(value):
        raise CallError.of(error(f"'{name}' is a method, which kernels cannot call; call a module-level function"))
    if not inspect.isfunction(value) or str(getattr(value, "__module__", "")).split(".")[0] == "numpy":
        return None
    if value.__name__ == "<lambda>":
        raise CallError.of(error(f"'{name}' is a lambda, which kernels cannot call; define it with 'def'"))
    if inspect.isgeneratorfunction(value) or inspect.iscoroutinefunction(value):
        raise CallError.of(error(f"'{name}' is a generator or coroutine function, which kernels cannot call"))
    label = value.__name__
    found = _cycle(value, label)
    if found is not None:
        raise CallError.of(error(found))
    with _lock:
        hit = _parsed.get(value)
        if hit is None:
            try:
                with parsing(value, label):
                    hit = parse(value, label)
            except CallError:
                raise
            except KernelSyntaxError as exc:
                raise CallError.of(exc) from None
            _parsed[value] = hit
    return hit


def callees(info: KernelInfo) -> list[Callee]:
    """Every function ``info`` calls, directly or not, each once, in the order they were resolved."""
    found: dict[int, Callee] = {}

    def visit(node: KernelInfo) -> None:
        for resolved in node.names.values():
            if isinstance(resolved, Callee) and id(resolved.info) not in found:
                found[id(resolved.info)] = resolved
                visit(resolved.info)

    visit(info)
    return list(found.values())


def kernel_statuses(info: KernelInfo) -> StatusTable:
    """The kernel's status table: its own raises and asserts, then those of every function it calls (a
    callee's raise returns its status from the caller, which raises the same exception)."""
    trees = [info.tree, *(c.info.tree for c in callees(info))]
    found: list[Raise] = []
    for tree in trees:
        nodes = [n for n in ast.walk(tree) if isinstance(n, ast.Raise | ast.Assert)]
        nodes.sort(key=lambda n: (n.lineno, n.col_offset))
        found += [r for r in map(raise_of, nodes) if isinstance(r, Raise)]
    return StatusTable.of(found)


def compiled_source(info: KernelInfo) -> str:
    """The source of the kernel and of every function it calls: what its variants are compiled from (so a
    fingerprint of it changes when a callee changes)."""
    parts = [info.source]
    for callee in callees(info):
        parts += [f"\0{callee.label} {callee.info.filename}\0", callee.info.source]
    return "".join(parts)


def merge_globals(
    own: tuple[GlobalRef, ...], info_names: dict[str, Any], error: Callable[[str], KernelSyntaxError]
) -> tuple[GlobalRef, ...]:
    """The kernel's host arrays and those of the functions it calls, once each (one IR name, one object)."""
    merged: dict[str, GlobalRef] = {g.ir_name: g for g in own}
    for resolved in info_names.values():
        if not isinstance(resolved, Callee):
            continue
        for ref in resolved.info.globals:
            known = merged.get(ref.ir_name)
            if known is None:
                merged[ref.ir_name] = ref
            elif known.obj is not ref.obj:
                name = ref.ir_name.removeprefix("g.")
                raise error(
                    f"'{resolved.label}' and its caller use two different module arrays named '{name}'; rename one"
                )
    return tuple(merged.values())


def map_host_arrays(info: KernelInfo, replace: Callable[[HostArray], HostArray]) -> KernelInfo:
    """``info`` with every host array it or a function it calls indexes replaced (the worker's snapshots)."""
    names: dict[str, Any] = {}
    for name, resolved in info.names.items():
        if isinstance(resolved, HostArray):
            names[name] = replace(resolved)
        elif isinstance(resolved, Callee):
            names[name] = dataclasses.replace(resolved, info=map_host_arrays(resolved.info, replace))
        else:
            names[name] = resolved
    return dataclasses.replace(info, names=names)


def calls_loop(body: list[ast.stmt], info: KernelInfo) -> bool:
    """Whether ``body`` calls a function with a loop (a loop around such a call is not innermost)."""
    for stmt in body:
        for node in ast.walk(stmt):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else None
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
                name = f"{func.value.id}.{func.attr}"
            callee = info.names.get(name or "")
            if isinstance(callee, Callee) and (
                any(isinstance(n, ast.For | ast.While) for n in ast.walk(callee.info.tree))
                or calls_loop(callee.info.tree.body, callee.info)
            ):
                return True
    return False
