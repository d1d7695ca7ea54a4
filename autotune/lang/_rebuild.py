"""``rebuild_function``: the undecorated kernel again, from its parsed form alone.

The tuning worker never imports the user's modules (a script without a main guard must keep working), yet
it checks the compiled reference against the Python semantics. A kernel in the language needs nothing but
its own tree and the values its free names resolved to when it was parsed (builtins, ``math``, constants,
host arrays), so the worker compiles that tree again in a namespace made of exactly those values.
Annotations, defaults and decorators are dropped: the caller passes every argument, ``Const`` ones too.
"""

from __future__ import annotations

import ast
import builtins
import cmath
import copy
import math
import types
from collections.abc import Callable
from typing import Any

import numpy as np

from ._model import (
    Builtin,
    Callee,
    CmathFunc,
    CmathModule,
    HostArray,
    HostConst,
    KernelInfo,
    MathFunc,
    MathModule,
    NumpyFunc,
    NumpyModule,
    Resolved,
)
from ._prange import prange

__all__ = ["rebuild_function"]


def _value(resolved: Resolved) -> Any:
    if resolved == Builtin("prange"):
        return prange
    if isinstance(resolved, Builtin):
        return getattr(builtins, resolved.name)
    if isinstance(resolved, MathModule):
        return math
    if isinstance(resolved, MathFunc):
        return getattr(math, resolved.name)
    if isinstance(resolved, NumpyModule):
        return np
    if isinstance(resolved, NumpyFunc):
        return getattr(np, resolved.name)
    if isinstance(resolved, CmathModule):
        return cmath
    if isinstance(resolved, CmathFunc):
        return getattr(cmath, resolved.name)
    if isinstance(resolved, HostConst):
        return resolved.value
    if isinstance(resolved, HostArray):
        return resolved.obj
    if isinstance(resolved, Callee):  # a called function, with its Const defaults (the caller omits them)
        return rebuild_function(resolved.info, defaults=True)
    raise TypeError(f"cannot rebuild a name resolved to {resolved!r}")


def rebuild_function(info: KernelInfo, *, defaults: bool = False) -> Callable[..., Any]:
    """A plain Python function with the kernel's body and free names bound as they were parsed
    (``defaults``: its ``Const`` parameters keep their default values)."""
    tree = copy.deepcopy(info.tree)
    tree.decorator_list = []
    tree.returns = None
    arguments = tree.args
    positional = [*arguments.posonlyargs, *arguments.args]
    kept = positional[len(positional) - len(arguments.defaults) :] if defaults else []
    arguments.defaults = [ast.Constant(info.const_defaults[a.arg]) for a in kept]
    for arg in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]:
        arg.annotation = None
    arguments.kw_defaults = [None for _ in arguments.kwonlyargs]
    module = ast.fix_missing_locations(ast.Module(body=[tree], type_ignores=[]))
    namespace: dict[str, Any] = {"__builtins__": builtins}
    for name, resolved in info.names.items():
        base, _, attr = name.partition(".")
        if attr:  # module.f: a namespace holding the functions of that module the kernel calls
            setattr(namespace.setdefault(base, types.SimpleNamespace()), attr, _value(resolved))
        else:
            namespace[name] = _value(resolved)
    # optimize=0: asserts stay, as in the compiled kernel, even under ``python -O``
    exec(compile(module, info.filename, "exec", optimize=0), namespace)  # the kernel's own, validated code
    function: Callable[..., Any] = namespace[info.name]
    return function
