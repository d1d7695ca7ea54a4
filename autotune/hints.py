"""Kernel annotations that type checkers and linters accept: ``Array[f64, N]`` and scalar aliases.

The kernel language's own spelling, ``f64["n"]``, is evaluated by the kernel parser, but to mypy ``"n"``
is a forward reference to an undefined name (``Name "n" is not defined``) and to ruff it is F821. Here a
named dimension is a ``typing.Literal`` type, which both tools read as a value and never as a name::

    from typing import Any, Literal
    from autotune import Array, f64, i64

    N = Literal["n"]                                       # one name per dimension
    def dot(a: Array[f64, N], b: Array[f64, N]) -> f64: ...   # a and b have the same length
    def col(A: Array[f64, Any, N], j: i64) -> f64: ...        # Any: a dimension without a name

At run time ``Array[f64, N]`` is exactly ``f64["n"]`` (an :class:`~autotune.types.ArrayType`) and
``Array[f64, Any, N]`` is ``f64[:, "n"]``. Under ``TYPE_CHECKING`` the names mean what a kernel's Python
reference computes with: ``f64`` and ``f32`` are ``float``, the integer types ``int``, ``boolean`` is
``bool``, ``c128`` is ``complex``, ``Const`` is ``Any`` and ``Array[...]`` is a numpy ``ndarray`` (the
element type and dimensions ride along in a subclass that is never instantiated, so any ``ndarray``
argument or result is accepted). jaxtyping does the same with ``typing.Annotated``; its dimension strings
are still forward references to linters, which is why the names here are ``Literal`` types.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, Literal, TypeAlias, TypeVar, TypeVarTuple, get_args, get_origin

import numpy as np

from .errors import KernelTypeError
from .types import ArrayType, scalar_type_of

__all__ = [
    "Array",
    "Const",
    "Shaped",
    "boolean",
    "c128",
    "f32",
    "f64",
    "i8",
    "i16",
    "i32",
    "i64",
    "u8",
    "u16",
    "u32",
    "u64",
]

_S = TypeVar("_S")
_Dims = TypeVarTuple("_Dims")


class Shaped(np.ndarray[Any, np.dtype[Any]], Generic[_S, *_Dims]):
    """What a type checker sees of ``Array[f64, N]`` besides ``ndarray``: the element type and dimensions.

    Never instantiated; it exists so that error messages name the declared element type and dimensions.
    """


class _ArrayOf:
    """``Array[f64, N, Any]``: the :class:`ArrayType` that ``f64["n", :]`` spells."""

    def __getitem__(self, items: object) -> ArrayType:
        element, *dims = items if isinstance(items, tuple) else (items,)
        try:
            scalar = scalar_type_of(element)
        except (KernelTypeError, TypeError) as exc:
            raise KernelTypeError(None, f"Array[...]: the element type comes first (f64, i64, ...): {exc}") from None
        if not dims:
            raise KernelTypeError(
                None, f"Array[{scalar.name}]: give every dimension, a name (Literal['n']) or Any (no name)"
            )
        return scalar[tuple(_dimension(d) for d in dims)]

    def __repr__(self) -> str:
        return "autotune.Array"


def _dimension(dim: object) -> object:
    """One dimension of ``Array[...]`` in ``ScalarType.__getitem__``'s terms: a name or ``:``."""
    if dim is Any or (isinstance(dim, slice) and dim == slice(None)):
        return slice(None)
    if get_origin(dim) is Literal:
        names = get_args(dim)
        if len(names) == 1 and isinstance(names[0], str):
            return names[0]
        raise KernelTypeError(None, f"Array[...]: a dimension is one name, Literal['n'], not {dim!r}")
    if isinstance(dim, str):
        return dim
    raise KernelTypeError(None, f"Array[...]: each dimension is a name, Literal['n'], or Any, got {dim!r}")


if TYPE_CHECKING:
    Array: TypeAlias = np.ndarray[Any, np.dtype[Any]] | Shaped[_S, *_Dims]
    f64: TypeAlias = float
    f32: TypeAlias = float
    i64: TypeAlias = int
    i32: TypeAlias = int
    i16: TypeAlias = int
    i8: TypeAlias = int
    u64: TypeAlias = int
    u32: TypeAlias = int
    u16: TypeAlias = int
    u8: TypeAlias = int
    boolean: TypeAlias = bool
    c128: TypeAlias = complex
    Const: TypeAlias = Any
else:
    from .types import Const, boolean, c128, f32, f64, i8, i16, i32, i64, u8, u16, u32, u64

    Array = _ArrayOf()
