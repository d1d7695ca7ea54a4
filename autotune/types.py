"""The type vocabulary of kernel annotations: scalar types, array types and the ``Const`` marker.

``f64, f32, i64, i32, i16, i8, u64, u32, u16, u8, c128, boolean`` are :class:`ScalarType` instances
(``c128`` is numpy's complex128: two doubles, real then imaginary part). Indexing one makes an
:class:`ArrayType`: ``f64[:]``, ``f64[:, :]`` (1 to 3 dimensions; C-contiguous is the fast path, any
other layout runs the strided form of a variant), or with named dimensions
``f64["n"]``, ``f64["n", "m"]``: the same name on several parameters declares the same extent, which the
dispatcher checks before the native call (``:`` leaves a dimension unconstrained). ``Const`` marks a
compile-time user constant (a tile size, say) that every variant folds into its code.
:mod:`autotune.hints` spells the same types so that type checkers and linters accept them
(``Array[f64, N]`` with ``N = Literal["n"]``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from .errors import KernelTypeError

__all__ = [
    "SCALAR_TYPES",
    "ArrayType",
    "Const",
    "ConstType",
    "Result",
    "ScalarType",
    "TupleType",
    "boolean",
    "c128",
    "f32",
    "f64",
    "i8",
    "i16",
    "i32",
    "i64",
    "scalar_type_of",
    "u8",
    "u16",
    "u32",
    "u64",
]

Kind = Literal["bool", "int", "float", "complex"]
_MAX_NDIM = 3


@dataclass(frozen=True)
class ScalarType:
    """A machine scalar: its numpy dtype, LLVM IR spelling (as stored in memory) and C name.

    Booleans are stored as ``i8``/``uint8_t`` (0 or 1), like numpy's ``bool``.
    """

    name: str
    dtype: np.dtype[Any]
    llvm: str
    c_name: str

    @property
    def kind(self) -> Kind:
        """``"bool"``, ``"int"``, ``"float"`` or ``"complex"``: the promotion class of the type."""
        kinds = {"b": "bool", "i": "int", "u": "int", "f": "float", "c": "complex"}
        return kinds[self.dtype.kind]  # type: ignore[return-value]

    @property
    def unsigned(self) -> bool:
        """True for ``u8``...``u64``: division, shifts, comparisons and conversions are the unsigned ones."""
        return self.dtype.kind == "u"

    @property
    def min(self) -> int:
        """The least value of an integer type (0 for unsigned ones)."""
        return 0 if self.unsigned else -(1 << (self.bits - 1))

    @property
    def max(self) -> int:
        """The greatest value of an integer type."""
        return (1 << (self.bits - (0 if self.unsigned else 1))) - 1

    @property
    def bits(self) -> int:
        """Width in bits of a value of this type (a boolean counts as 1)."""
        return 1 if self.kind == "bool" else self.dtype.itemsize * 8

    @property
    def ir_type(self) -> Any:
        """The llvmlite ``ir`` type used to store a value of this type (booleans: ``i8``, c128: a
        ``{double, double}`` struct, laid out like numpy's complex128 and C's ``double complex``)."""
        from llvmlite import ir

        if self.kind == "complex":
            return ir.LiteralStructType([ir.DoubleType(), ir.DoubleType()])
        if self.kind == "float":
            return ir.DoubleType() if self.bits == 64 else ir.FloatType()
        return ir.IntType(8 if self.kind == "bool" else self.bits)

    def __getitem__(self, dims: object) -> ArrayType:
        """``f64[:]``, ``f64[:, :]``, ``f64["n"]``: the array type with these dimensions."""
        items = dims if isinstance(dims, tuple) else (dims,)
        if not 1 <= len(items) <= _MAX_NDIM:
            raise KernelTypeError(None, f"{self.name}[...]: arrays have 1 to {_MAX_NDIM} dimensions, got {len(items)}")
        names: list[str | None] = []
        for item in items:
            if isinstance(item, slice) and item == slice(None):
                names.append(None)
            elif isinstance(item, str) and item.isidentifier():
                names.append(item)
            else:
                raise KernelTypeError(None, f"{self.name}[...]: each dimension is ':' or a name string, got {item!r}")
        return ArrayType(self, len(names), tuple(names))

    def __repr__(self) -> str:
        return self.name


@dataclass(frozen=True)
class ArrayType:
    """A numpy array parameter: element type, number of dimensions and dimension names."""

    dtype: ScalarType
    ndim: int
    dims: tuple[str | None, ...]

    def __post_init__(self) -> None:
        if not 1 <= self.ndim <= _MAX_NDIM or len(self.dims) != self.ndim:
            raise KernelTypeError(None, f"ArrayType: ndim {self.ndim} does not match dims {self.dims!r}")

    def __repr__(self) -> str:
        inner = ", ".join(":" if d is None else repr(d) for d in self.dims)
        return f"{self.dtype.name}[{inner}]"


@dataclass(frozen=True)
class TupleType:
    """A tuple of scalars, ``tuple[f64, i64]``: what a kernel may return (a Python tuple at the call)."""

    items: tuple[ScalarType, ...]

    def __repr__(self) -> str:
        return f"tuple[{', '.join(t.name for t in self.items)}]"


#: What a kernel may return: a scalar, an array it allocated, or a tuple of scalars.
Result = ScalarType | ArrayType | TupleType


class ConstType:
    """The type of :data:`Const`, the annotation of compile-time user constants."""

    _instance: ConstType | None = None

    def __new__(cls) -> ConstType:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "Const"

    def __reduce__(self) -> str:
        return "Const"


#: Annotation marker of a compile-time user constant: ``def mm(a: f64[:, :], BLOCK: Const)``.
Const = ConstType()

f64 = ScalarType("f64", np.dtype(np.float64), "double", "double")
f32 = ScalarType("f32", np.dtype(np.float32), "float", "float")
i64 = ScalarType("i64", np.dtype(np.int64), "i64", "int64_t")
i32 = ScalarType("i32", np.dtype(np.int32), "i32", "int32_t")
i16 = ScalarType("i16", np.dtype(np.int16), "i16", "int16_t")
i8 = ScalarType("i8", np.dtype(np.int8), "i8", "int8_t")
u64 = ScalarType("u64", np.dtype(np.uint64), "i64", "uint64_t")
u32 = ScalarType("u32", np.dtype(np.uint32), "i32", "uint32_t")
u16 = ScalarType("u16", np.dtype(np.uint16), "i16", "uint16_t")
u8 = ScalarType("u8", np.dtype(np.uint8), "i8", "uint8_t")
boolean = ScalarType("boolean", np.dtype(np.bool_), "i8", "uint8_t")
#: complex128; its C name is that of its parts: arrays and results are ``double*`` to (real, imag) pairs
c128 = ScalarType("c128", np.dtype(np.complex128), "{double, double}", "double")

SCALAR_TYPES: tuple[ScalarType, ...] = (f64, f32, i64, i32, boolean, i16, i8, u64, u32, u16, u8, c128)


def scalar_type_of(dtype: Any) -> ScalarType:
    """The :class:`ScalarType` of a numpy dtype (or dtype-like); ``KernelTypeError`` if kernels cannot use it."""
    if isinstance(dtype, ScalarType):
        return dtype
    kind = np.dtype(dtype)
    for scalar in SCALAR_TYPES:
        if scalar.dtype == kind:
            return scalar
    names = ", ".join(str(s.dtype) for s in SCALAR_TYPES)
    raise KernelTypeError(None, f"dtype {kind} is not supported in kernels (supported: {names})")
