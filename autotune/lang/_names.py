"""Resolving the free names of a kernel body when it is parsed.

Python looks a free name up in the closure, then the module, then builtins; so do we, once, at parse time.
Numbers become constants inlined into every variant; numpy arrays and :class:`Global` objects become host
globals (their shape is captured now and baked into the code); ``math`` and the supported builtins are
recognised by identity, whatever name they are bound to, and so are ``numpy`` and its supported functions.
"""

from __future__ import annotations

import builtins
import cmath
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import KernelTypeError
from ..globals import Global
from ..types import scalar_type_of
from ._builtins import BUILTIN_FUNCS, MATH_FUNCS, NUMPY_CASTS, NUMPY_FUNCS, NUMPY_SUPPORTED
from ._complex import CMATH_ARITY
from ._model import (
    Builtin,
    CmathFunc,
    CmathModule,
    HostArray,
    HostConst,
    MathFunc,
    MathModule,
    NumpyFunc,
    NumpyModule,
    Resolved,
)
from ._prange import prange

__all__ = ["MISSING", "lookup", "resolve_value"]

_I64_MIN, _I64_MAX = -(2**63), 2**63 - 1
_MATH_BY_ID = {id(getattr(math, name)): name for name in MATH_FUNCS}
_CMATH_BY_ID = {id(getattr(cmath, name)): name for name in CMATH_ARITY}
_NUMPY_BY_ID = {id(getattr(np, name)): name for name in [*NUMPY_FUNCS, *NUMPY_CASTS] if hasattr(np, name)}


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def lookup(name: str, closure: Mapping[str, Any], module: Mapping[str, Any]) -> Any:
    """The value Python would find for free name ``name`` (``MISSING`` if it is unbound)."""
    if name in closure:
        return closure[name]
    if name in module:
        return module[name]
    return getattr(builtins, name, MISSING)


def resolve_value(name: str, value: Any) -> Resolved:
    """Classify the value of free name ``name``; ``ValueError`` with the reason if kernels cannot use it."""
    if value is MISSING:
        raise ValueError(f"name '{name}' is not defined")
    if value is math:
        return MathModule()
    if callable(value) and id(value) in _MATH_BY_ID and getattr(math, _MATH_BY_ID[id(value)]) is value:
        return MathFunc(_MATH_BY_ID[id(value)])
    if value is np:
        return NumpyModule()
    if value is cmath:
        return CmathModule()
    if callable(value) and id(value) in _CMATH_BY_ID and getattr(cmath, _CMATH_BY_ID[id(value)]) is value:
        return CmathFunc(_CMATH_BY_ID[id(value)])
    if callable(value) and id(value) in _NUMPY_BY_ID and getattr(np, _NUMPY_BY_ID[id(value)]) is value:
        return NumpyFunc(_NUMPY_BY_ID[id(value)])
    if callable(value) and id(value) in BUILTIN_FUNCS and getattr(builtins, BUILTIN_FUNCS[id(value)]) is value:
        return Builtin(BUILTIN_FUNCS[id(value)])
    if value is prange:
        return Builtin("prange")
    if isinstance(value, bool | np.bool_):
        return HostConst(bool(value))
    if isinstance(value, int | np.integer):
        number = int(value)
        if not _I64_MIN <= number <= _I64_MAX:
            raise ValueError(f"int constant '{name}' = {number} does not fit in 64 bits")
        return HostConst(number)
    if isinstance(value, float | np.floating):
        return HostConst(float(value))
    if isinstance(value, Global):
        if value.ndim > 3:
            raise ValueError(f"Global '{name}' has {value.ndim} dimensions (at most 3)")
        return HostArray(f"g.{name}", value, value.dtype, value.shape)
    if isinstance(value, np.ndarray):
        try:
            dtype = scalar_type_of(value.dtype)
        except KernelTypeError as exc:
            raise ValueError(f"module array '{name}': {exc}") from None
        if not value.flags.c_contiguous:
            raise ValueError(f"module array '{name}' must be C-contiguous")
        if value.ndim > 3:
            raise ValueError(f"module array '{name}' has {value.ndim} dimensions (at most 3)")
        return HostArray(f"g.{name}", value, dtype, tuple(int(n) for n in value.shape))
    if callable(value) and str(getattr(value, "__module__", None) or "").split(".")[0] == "numpy":
        raise ValueError(f"name '{name}' refers to numpy's {getattr(value, '__name__', name)}, which {NUMPY_SUPPORTED}")
    raise ValueError(f"name '{name}' refers to a {type(value).__name__} object, which kernels cannot use")
