"""The native calling convention of kernels and their status codes, written down once.

Every variant of a kernel is a function ``int32_t kernel(args...)``:

- arguments follow the Python parameters, ``Const`` ones omitted: a scalar is passed by value in its C type
  (a boolean is a ``uint8_t`` 0/1; a ``c128`` is two ``double`` arguments, real then imaginary part, so
  no complex value crosses the C ABI, whose rules for ``double complex`` differ between targets), a tuple
  of scalars as one such scalar per item, an array as its data pointer followed by one ``int64_t`` extent
  per dimension;
- a kernel that returns a value takes one more pointer, where the result is stored: a scalar in its C
  type; an array (:class:`~autotune.types.ArrayType` result) as :func:`result_slots` 8-byte slots, the data
  pointer then one ``int64_t`` extent per dimension, the buffer allocated with :data:`ALLOCATOR` and owned
  by the caller from then on (freed with ``free``); a tuple of scalars one 8-byte slot per item, each
  holding the item in its C type;
- the *strided form* of a variant (what arrays that are not C-contiguous are passed to, built on demand)
  also passes one ``int64_t`` stride per dimension, in elements, after each array's extents;
- the ``int32_t`` result is a status: 0 ok, otherwise the Python exception the call raises, and nothing
  more of the kernel ran. Codes below :data:`FIRST_RAISE` are the built-in :class:`Status` codes (the same
  for every kernel); a code ``FIRST_RAISE + i`` is entry ``i`` of the kernel's own :class:`StatusTable`
  (its ``raise`` and ``assert`` statements, numbered when it is lowered, the same for every variant).

This module owns that description in its three spellings (C declaration, LLVM IR types, ctypes) and the
mapping from a status to an exception; the lowering (``autotune.lang``), the native entry
(:mod:`autotune.entry`) and the checked slow path (:mod:`autotune.arguments`) call it instead of deriving
them again. It imports nothing from ``autotune.lang``.
"""

from __future__ import annotations

import ctypes
import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NoReturn, Protocol

from llvmlite import ir

from patcher import Signature

from .types import ArrayType, Result, ScalarType, TupleType, c128, f64, i64

__all__ = [
    "ALIGNMENT",
    "ALLOCATOR",
    "BUILTIN_TABLE",
    "FIRST_RAISE",
    "KERNEL_EXCEPTIONS",
    "POOL_RUN",
    "RAISABLE",
    "STATUS_C",
    "STATUS_LLVM",
    "NativeArg",
    "NativeParam",
    "Raise",
    "Status",
    "StatusTable",
    "c_signature",
    "ctypes_of",
    "ctypes_prototype",
    "kernel_function_type",
    "llvm_arg_types",
    "llvm_signature",
    "native_args",
    "result_slots",
]

#: The C type of the status a kernel returns, and its LLVM spelling.
STATUS_C, STATUS_LLVM = "int32_t", "i32"


class Status(enum.IntEnum):
    """The built-in status codes: what the language's own checks return (one message and exception each)."""

    OK = 0
    ZERO_DIVISION = 1
    INDEX_ERROR = 2  # reserved: indexes are not bounds-checked yet
    RANGE_STEP_ZERO = 3
    NEGATIVE_SHIFT = 4
    NEGATIVE_POWER = 5
    NEGATIVE_DIMENSIONS = 6
    ARRAY_TOO_BIG = 7
    NO_MEMORY = 8
    UNBOUND_ARRAY = 9
    SLICE_STEP_ZERO = 10
    MODULO_BY_ZERO = 11

    @property
    def exception(self) -> type[Exception] | None:
        """The exception type this status raises (None for OK)."""
        return _BUILTIN[self][0]

    @property
    def message(self) -> str:
        """The message of the exception (Python's own wording where Python raises the same)."""
        return _BUILTIN[self][1]

    def error(self) -> Exception:
        """A fresh exception for this status."""
        exc = self.exception
        if exc is None:
            raise ValueError("Status.OK is not an error")
        return exc(self.message)


_BUILTIN: dict[Status, tuple[type[Exception] | None, str]] = {
    Status.OK: (None, "ok"),
    Status.ZERO_DIVISION: (ZeroDivisionError, "integer division or modulo by zero"),
    Status.MODULO_BY_ZERO: (ZeroDivisionError, "integer modulo by zero"),
    Status.INDEX_ERROR: (IndexError, "index out of range"),
    Status.RANGE_STEP_ZERO: (ValueError, "range() arg 3 must not be zero"),
    Status.NEGATIVE_SHIFT: (ValueError, "negative shift count"),
    Status.NEGATIVE_POWER: (ValueError, "negative exponent of an integer power (the result would be a float)"),
    Status.NEGATIVE_DIMENSIONS: (ValueError, "negative dimensions are not allowed"),
    Status.ARRAY_TOO_BIG: (
        ValueError,
        "array is too big; `arr.size * arr.dtype.itemsize` is larger than the maximum possible size.",
    ),
    Status.NO_MEMORY: (MemoryError, "unable to allocate an array inside the kernel"),
    Status.UNBOUND_ARRAY: (UnboundLocalError, "a local array was used before it was assigned"),
    Status.SLICE_STEP_ZERO: (ValueError, "slice step cannot be zero"),
}

#: The C functions arrays created inside kernels are allocated and freed with (``aligned_alloc(ALIGNMENT,
#: size)``, ``free``): a returned array's buffer is freed by its Python owner with the same ``free``.
ALLOCATOR = ("aligned_alloc", "free")
#: Alignment in bytes of arrays created inside kernels (a cache line: aligned vector loads and stores).
ALIGNMENT = 64

#: Codes from here on index a kernel's :class:`StatusTable` (room is left for more built-in codes).
FIRST_RAISE = 16

#: The thread pool's entry point, which variants with a parallel ``prange`` loop import (defined by
#: :mod:`autotune.pool`): ``void autotune.pool.run(ptr task, ptr ctx, i64 chunks, i64 threads)`` calls
#: ``task(ctx, c)`` once for each chunk ``c`` in ``[0, chunks)`` on up to ``threads`` threads, then returns.
POOL_RUN = "autotune.pool.run"

#: The exceptions a kernel may ``raise`` (``assert`` raises AssertionError), by name.
RAISABLE: dict[str, type[Exception]] = {
    exc.__name__: exc
    for exc in (
        ValueError,
        IndexError,
        ZeroDivisionError,
        ArithmeticError,
        OverflowError,
        RuntimeError,
        AssertionError,
    )
}

#: Every exception type a kernel call can raise for a nonzero status (unknown codes raise RuntimeError).
KERNEL_EXCEPTIONS: tuple[type[Exception], ...] = tuple(
    dict.fromkeys([*(e for e, _ in _BUILTIN.values() if e is not None), *RAISABLE.values(), RuntimeError])
)


@dataclass(frozen=True)
class Raise:
    """One ``raise``/``assert`` of a kernel: the exception type and its message (None: raised bare)."""

    exception: type[Exception]
    message: str | None

    def error(self) -> Exception:
        return self.exception() if self.message is None else self.exception(self.message)


@dataclass(frozen=True)
class StatusTable:
    """A kernel's status codes: the built-in ones, then its own raises from :data:`FIRST_RAISE` on.

    Built once per kernel from its source (not per variant), so every variant returns the same codes.
    """

    raises: tuple[Raise, ...] = ()

    @staticmethod
    def of(raises: Iterable[Raise]) -> StatusTable:
        """A table of these raises, each distinct one once (in first-seen order)."""
        return StatusTable(tuple(dict.fromkeys(raises)))

    def code(self, entry: Raise) -> int:
        """The status code of ``entry`` (which must be in the table)."""
        return FIRST_RAISE + self.raises.index(entry)

    def lookup(self, status: int) -> tuple[type[Exception], str | None]:
        """The exception type and message a nonzero ``status`` stands for."""
        if FIRST_RAISE <= status < FIRST_RAISE + len(self.raises):
            entry = self.raises[status - FIRST_RAISE]
            return entry.exception, entry.message
        try:
            builtin = Status(status)
        except ValueError:
            return RuntimeError, f"kernel failed with an unknown status {status}"
        if builtin.exception is None:
            raise ValueError("status 0 is not an error")
        return builtin.exception, builtin.message

    def error(self, status: int) -> Exception:
        """A fresh exception for the nonzero ``status`` (what a call returning it raises)."""
        exc, message = self.lookup(status)
        return exc() if message is None else exc(message)

    def raise_for(self, status: int) -> NoReturn:
        """Raise the exception of the nonzero ``status`` (the native entry calls this on a kernel's raise)."""
        raise self.error(status)


#: The table of a kernel with no raises of its own (and of expert-route kernels).
BUILTIN_TABLE = StatusTable()


# ---- the calling convention ------------------------------------------------------------------------------
class NativeParam(Protocol):
    """What the ABI needs of a parameter (``autotune.lang.ParamSpec`` has it)."""

    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> Literal["scalar", "array", "const", "tuple"]: ...
    @property
    def dtype(self) -> ScalarType | None: ...
    @property
    def ndim(self) -> int: ...
    @property
    def items(self) -> tuple[ScalarType, ...]: ...


Role = Literal["scalar", "imag", "item", "data", "extent", "stride", "result"]


@dataclass(frozen=True)
class NativeArg:
    """One native argument: a scalar, an item of a tuple, an array's data pointer, one of its extents or
    strides, or the result pointer.

    ``dtype`` is the scalar's type, the array's element type, ``i64`` for an extent or a stride, or the
    result's type; a ``c128`` scalar is two ``f64`` arguments, roles ``"scalar"`` (the real part) and
    ``"imag"``.
    """

    param: str
    role: Role
    dtype: ScalarType
    dim: int = 0

    @property
    def pointer(self) -> bool:
        return self.role in ("data", "result")

    @property
    def c(self) -> str:
        return f"{self.dtype.c_name}*" if self.pointer else self.dtype.c_name

    @property
    def llvm(self) -> str:
        return "ptr" if self.pointer else self.dtype.llvm

    @property
    def name(self) -> str:
        """How the lowering names the argument in IR."""
        if self.role == "extent":
            return f"{self.param}.shape{self.dim}"
        if self.role == "item":
            return f"{self.param}.{self.dim}"
        if self.role == "stride":
            return f"{self.param}.stride{self.dim}"
        if self.role == "imag":
            return f"{self.param}.imag"
        return self.param


def result_slots(ret: Result) -> int:
    """How many 8-byte slots the result pointer of a kernel returning ``ret`` points to."""
    if isinstance(ret, ArrayType):
        return 1 + ret.ndim
    if isinstance(ret, TupleType):
        return len(ret.items)
    return 1


def _result_dtype(ret: Result) -> ScalarType:
    """The C type the result pointer points to: the scalar's, or ``int64_t`` slots for arrays and tuples."""
    return ret if isinstance(ret, ScalarType) else i64


def native_args(params: Sequence[NativeParam], ret: Result | None, *, strided: bool = False) -> tuple[NativeArg, ...]:
    """The native arguments of a kernel with these Python parameters and result, in order.

    ``strided``: the strided form of a variant (arrays of any layout), where each array's extents are
    followed by one ``int64_t`` stride per dimension, in *elements* (numpy's byte strides divided by the
    item size; negative and zero strides allowed).
    """
    out: list[NativeArg] = []
    for p in params:
        if p.kind == "tuple":
            out.extend(NativeArg(p.name, "item", t, k) for k, t in enumerate(p.items))
            continue
        if p.kind == "const" or p.dtype is None:
            continue
        if p.kind == "scalar" and p.dtype == c128:
            out += [NativeArg(p.name, "scalar", f64), NativeArg(p.name, "imag", f64)]
        elif p.kind == "scalar":
            out.append(NativeArg(p.name, "scalar", p.dtype))
        else:
            out.append(NativeArg(p.name, "data", p.dtype))
            out.extend(NativeArg(p.name, "extent", i64, k) for k in range(p.ndim))
            if strided:
                out.extend(NativeArg(p.name, "stride", i64, k) for k in range(p.ndim))
    if ret is not None:
        out.append(NativeArg("result", "result", _result_dtype(ret)))
    return tuple(out)


def c_signature(params: Sequence[NativeParam], ret: Result | None, *, strided: bool = False) -> str:
    """The C declaration without a name, e.g. ``int32_t(double*, int64_t, double*)``."""
    return f"{STATUS_C}({', '.join(a.c for a in native_args(params, ret, strided=strided))})"


def llvm_arg_types(params: Sequence[NativeParam], ret: Result | None) -> list[str]:
    """The LLVM IR argument types (opaque ``ptr`` pointers; booleans ``i8``)."""
    return [a.llvm for a in native_args(params, ret)]


def llvm_signature(params: Sequence[NativeParam], ret: Result | None) -> str:
    """The LLVM function type, e.g. ``i32 (ptr, i64, ptr)``."""
    return f"{STATUS_LLVM} ({', '.join(llvm_arg_types(params, ret))})"


def kernel_function_type(params: Sequence[NativeParam], ret: Result | None, *, strided: bool = False) -> Any:
    """The ``llvmlite.ir.FunctionType`` of a kernel (what lowering defines and the native entry calls)."""
    args = [ir.PointerType() if a.pointer else a.dtype.ir_type for a in native_args(params, ret, strided=strided)]
    return ir.FunctionType(ir.IntType(32), args)


def ctypes_prototype(params: Sequence[NativeParam], ret: Result | None, *, strided: bool = False) -> Any:
    """A ctypes ``CFUNCTYPE`` to call a kernel through (it releases the GIL while calling)."""
    return Signature.parse(c_signature(params, ret, strided=strided)).ctypes_prototype()


def ctypes_of(dtype: ScalarType) -> Any:
    """The ctypes type of a scalar (what the result pointer of a kernel returning ``dtype`` points to)."""
    if dtype == c128:
        return ctypes.c_double * 2
    return Signature.parse(f"{dtype.c_name}()").ret.ctype
