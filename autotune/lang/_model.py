"""The data that flows between parsing, lowering and the dispatcher.

``parse_kernel`` produces a :class:`KernelInfo` once per kernel; ``lower`` turns it into one
:class:`LoweredKernel` per variant. Both are immutable so the tuner thread and callers can share them.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from ..abi import BUILTIN_TABLE, StatusTable
from ..errors import KernelSyntaxError
from ..globals import Global
from ..types import Result, ScalarType

__all__ = [
    "ArrayInfo",
    "Builtin",
    "CallError",
    "Callee",
    "CmathFunc",
    "CmathModule",
    "ConstValue",
    "GlobalRef",
    "HostArray",
    "HostConst",
    "KernelInfo",
    "LocalArray",
    "LoweredKernel",
    "MathFunc",
    "MathModule",
    "NumpyFunc",
    "NumpyModule",
    "ParamSpec",
    "Resolved",
    "ViewLocal",
]

ConstValue = int | float | bool


@dataclass(frozen=True)
class ParamSpec:
    """One Python parameter: a scalar, an array (``ndim`` 1-3, named ``dims``), a ``Const`` or a tuple of
    scalars (``items``, one native scalar argument each).

    ``written`` says whether the kernel may store into the array (the dispatcher may then refuse
    read-only arrays). A ``Const`` has ``dtype=None`` and no native argument; so has a tuple.
    """

    name: str
    kind: Literal["scalar", "array", "const", "tuple"]
    dtype: ScalarType | None
    ndim: int
    dims: tuple[str | None, ...]
    written: bool
    items: tuple[ScalarType, ...] = ()


@dataclass(frozen=True, eq=False)
class GlobalRef:
    """Host memory a variant imports: bind ``obj``'s data address to the symbol ``ir_name`` at link time."""

    ir_name: str
    obj: np.ndarray | Global

    @property
    def address(self) -> int:
        """The data address of ``obj`` (what the symbol must be bound to)."""
        if isinstance(self.obj, Global):
            return self.obj.address
        return int(self.obj.ctypes.data)


@dataclass(frozen=True)
class LoweredKernel:
    """One variant's IR and native ABI.

    ``symbol`` is always ``"kernel"``: ``i32 kernel(args..., [result ptr])`` returning a status (see
    :mod:`autotune.abi`); ``statuses`` maps its nonzero statuses, the kernel's own raises included, to
    exceptions (the same table for every variant of a kernel). ``params`` repeats the Python parameters
    (``Const`` ones included, with kind ``"const"``, though they have no native argument).
    """

    ir: str
    symbol: str
    c_signature: str
    params: tuple[ParamSpec, ...]
    ret: Result | None
    globals: tuple[GlobalRef, ...]
    statuses: StatusTable = BUILTIN_TABLE


@dataclass(frozen=True, eq=False)
class HostArray:
    """A module-level numpy array or :class:`Global` a kernel indexes; its shape is fixed at parse time."""

    ir_name: str
    obj: np.ndarray | Global
    dtype: ScalarType
    shape: tuple[int, ...]


@dataclass(frozen=True)
class LocalArray:
    """An array the kernel creates (``b = np.zeros(n)``): its element type and number of dimensions, fixed
    for every assignment to the name (see ``_arrays``)."""

    dtype: ScalarType
    ndim: int


@dataclass(frozen=True)
class HostConst:
    """A module-level ``int``/``float``/``bool`` inlined as a constant when the kernel is parsed."""

    value: ConstValue


@dataclass(frozen=True)
class MathModule:
    """The ``math`` module (under any name)."""


@dataclass(frozen=True)
class MathFunc:
    """A function of the ``math`` module bound to a module-level name (``from math import sqrt``)."""

    name: str


@dataclass(frozen=True)
class Builtin:
    """A supported builtin: ``range``, ``len``, ``min``, ``max``, ``abs``, ``float``, ``int``, ``bool``."""

    name: str


@dataclass(frozen=True)
class NumpyModule:
    """The ``numpy`` module (under any name: ``np``, ``numpy``)."""


@dataclass(frozen=True)
class NumpyFunc:
    """A supported numpy ufunc or scalar type, by its numpy name (``np.sqrt``, ``from numpy import float32``)."""

    name: str


@dataclass(frozen=True)
class ArrayInfo:
    """The static type of an array-valued expression: element type, rank and the arrays it may view."""

    dtype: ScalarType
    ndim: int
    roots: frozenset[str]


@dataclass(frozen=True, eq=False)
class ViewLocal:
    """A local that holds array views (``row = A[i]``): their element type and rank, the arrays they view
    (a store through the local writes those) and the right-hand sides assigned to it."""

    dtype: ScalarType
    ndim: int
    roots: frozenset[str]
    values: tuple[ast.expr, ...]


@dataclass(frozen=True)
class CmathModule:
    """The ``cmath`` module (under any name)."""


@dataclass(frozen=True)
class CmathFunc:
    """A function of the ``cmath`` module (``cmath.exp``, ``from cmath import exp``)."""

    name: str


class CallError(KernelSyntaxError):
    """An error about a called function itself (its own body, or a function kernels cannot call): the
    checker reports it as it is, not as a call to an unsupported function."""

    @staticmethod
    def of(exc: KernelSyntaxError) -> CallError:
        return CallError(exc.filename, exc.lineno, exc.col, exc.message)


@dataclass(frozen=True, eq=False)
class Callee:
    """A function in the language that a kernel calls (an undecorated helper or a tunable kernel's Python
    function), parsed once and compiled into the caller at every call (see ``_callee``).

    ``untyped`` are scalar parameters without an annotation (they take the argument's type); ``returns``
    are the declared result types (``None``: inferred from the ``return`` statements); ``arity`` is
    ``None`` for a single value, ``0`` for none, ``n`` for a tuple of ``n``.
    """

    label: str
    info: KernelInfo
    untyped: frozenset[str]
    returns: tuple[ScalarType, ...] | None
    arity: int | None


Resolved = (
    HostArray | HostConst | MathModule | MathFunc | Builtin | NumpyModule | NumpyFunc | CmathModule | CmathFunc | Callee
)


@dataclass(frozen=True, eq=False)
class KernelInfo:
    """A parsed, validated kernel: what every variant is lowered from.

    ``tree`` is the function's AST from the dedented source; ``line_offset``/``col_offset`` map its
    positions back to the file. ``names`` resolves every free name of the body; ``locals`` lists the names
    the body assigns (Python scoping: those are local everywhere in the function); ``local_arrays`` the
    names bound to arrays the kernel creates (not in ``locals``).
    """

    name: str
    filename: str
    firstlineno: int
    source: str
    params: tuple[ParamSpec, ...]
    ret: Result | None
    tree: ast.FunctionDef
    line_offset: int
    col_offset: int
    names: Mapping[str, Resolved]
    locals: tuple[str, ...]
    local_annotations: Mapping[str, ScalarType]
    const_defaults: Mapping[str, ConstValue]
    globals: tuple[GlobalRef, ...]
    local_arrays: Mapping[str, LocalArray] = field(default_factory=dict)
    #: the locals that hold array views (see ``autotune.lang._views``)
    views: Mapping[str, ViewLocal] = field(default_factory=dict)
    #: the kernel declared its array arguments distinct (``@tunable(noalias=True)``): their pointers are
    #: ``noalias`` in the IR, and the schedule's dependence test treats them as separate memory
    noalias: bool = False

    def error(self, node: ast.AST | None, message: str) -> KernelSyntaxError:
        """A :class:`KernelSyntaxError` at ``node``'s position in the file (the ``def`` line if ``None``)."""
        where = self.tree if node is None else node
        line = getattr(where, "lineno", self.tree.lineno) + self.line_offset
        col = getattr(where, "col_offset", 0) + self.col_offset
        return KernelSyntaxError(self.filename, line, col, message)
