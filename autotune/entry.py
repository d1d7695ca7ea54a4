"""The native entry: a JIT-compiled CPython function that checks arguments and calls a kernel's slot.

Python call overhead decides whether small kernels are worth calling at all, so the common case never runs
Python bytecode. The entry is a ``METH_FASTCALL | METH_KEYWORDS`` C function (CPython's calling convention,
https://docs.python.org/3/c-api/structures.html#c.PyMethodDef) compiled from LLVM IR. It reads numpy's
``PyArrayObject`` fields directly (data, nd, dimensions, descr, flags: the layout numpy documents as
``PyArrayObject_fields`` and keeps across 1.x and 2.x; :func:`fast_path_supported` probes it at run time),
checks type, dtype, ndim, contiguity, alignment, writability and declared shape relations, releases the GIL
around the call through the slot's trampoline, and boxes the result. A nonzero status (:mod:`autotune.abi`)
raises its exception: a built-in one directly, a kernel's own ``raise``/``assert`` through the cell's
*raiser*, which looks the code up in the kernel's status table. Anything it does not recognise at
once (keywords, subclasses, numpy scalars, an error to report) goes to a Python *fallback* that checks
fully, raises ``KernelTypeError`` or makes the call the slow way, so unusual input is never a crash.

One JIT link per entry *shape*, not per key: the entry's code depends only on the native parameters and
the result type (its IR holds no address), so every key of a kernel, and every kernel of the same shape,
shares one linked function. What differs per key lives in the function object's ``self``: a small ctypes
:class:`_Cell` holding the slot's trampoline address and the fallback, which the code reads through the
cell's buffer pointer (``CDataObject.b_ptr``, at offset 16 since ctypes began; probed by
:func:`fast_path_supported` like numpy's fields). Measured: a link per key cost about 61 KB of resident
memory (LLJIT library, symbol tables, code pages); a cell and its function object cost well under 1 KB.
The call path gains two dependent loads from a cache line the call has just touched.
"""

from __future__ import annotations

import ctypes
import functools
import sys
import threading
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

import numpy as np
from llvmlite import ir

from dylibs import SymbolMap

from .abi import BUILTIN_TABLE, Status, kernel_function_type, result_slots
from .lang import ParamSpec, module_text
from .result import box_result
from .runtime import permanent_session
from .types import Result, ScalarType, u64

__all__ = ["STATUS_ERRORS", "entry_ir", "fast_path_supported", "make_entry", "set_strided"]

# numpy PyArrayObject_fields offsets on 64-bit CPython (PyObject_HEAD is 16 bytes).
_DATA, _ND, _DIMS, _STRIDES, _DESCR, _FLAGS, _TYPE = 16, 24, 32, 40, 56, 64, 8
_CELL_BUFFER = 16  # ctypes CDataObject.b_ptr: the address of the object's C data
_CELL_TARGET, _CELL_FALLBACK, _CELL_RAISER, _CELL_BOXER, _CELL_STRIDED = 0, 8, 16, 24, 32  # _Cell offsets
_C_CONTIGUOUS, _ALIGNED, _WRITEABLE = 0x1, 0x100, 0x400
_TUPLE_SIZE, _TUPLE_ITEMS = 16, 24  # PyTupleObject: ob_size, then ob_item[]
_METH_FASTCALL, _METH_KEYWORDS = 0x80, 0x2

#: The built-in status codes and the exception each raises (from :class:`autotune.abi.Status`).
STATUS_ERRORS: dict[int, tuple[type[Exception], str]] = {
    int(s): (s.exception, s.message) for s in Status if s.exception is not None
}
_VOID, _DOUBLE, _I1, _I8, _I32, _I64, _PTR = (
    ir.VoidType(),
    ir.DoubleType(),
    ir.IntType(1),
    ir.IntType(8),
    ir.IntType(32),
    ir.IntType(64),
    ir.PointerType(),
)
#: The CPython C-API functions the entry calls: name -> (result, parameters, variadic).
_API: dict[str, tuple[Any, tuple[Any, ...], bool]] = {
    "PyEval_SaveThread": (_PTR, (), False),
    "PyEval_RestoreThread": (_VOID, (_PTR,), False),
    "PyFloat_FromDouble": (_PTR, (_DOUBLE,), False),
    "PyLong_FromLongLong": (_PTR, (_I64,), False),
    "PyLong_AsLongLong": (_I64, (_PTR,), False),
    "PyLong_AsUnsignedLongLong": (_I64, (_PTR,), False),
    "PyLong_FromUnsignedLongLong": (_PTR, (_I64,), False),
    "PyComplex_FromDoubles": (_PTR, (_DOUBLE, _DOUBLE), False),
    "PyLong_AsDouble": (_DOUBLE, (_PTR,), False),
    "PyBool_FromLong": (_PTR, (_I64,), False),
    "PyErr_Occurred": (_PTR, (), False),
    "PyErr_Clear": (_VOID, (), False),
    "PyErr_SetString": (_VOID, (_PTR, _PTR), False),
    "PyObject_Vectorcall": (_PTR, (_PTR, _PTR, _I64, _PTR), False),
    "PyObject_CallFunction": (_PTR, (_PTR, _PTR), True),
    "Py_IncRef": (_VOID, (_PTR,), False),
    "Py_DecRef": (_VOID, (_PTR,), False),
}
_OBJECTS: dict[str, object] = {
    "py.ndarray": np.ndarray,
    "py.float": float,
    "py.int": int,
    "py.complex": complex,
    "py.tuple": tuple,
    "py.true": True,
    "py.false": False,
    "py.none": None,
    "py.RuntimeError": RuntimeError,
    **{f"py.{exc.__name__}": exc for exc, _ in STATUS_ERRORS.values()},
}


class _Callee:
    """A function pointer loaded at run time, with the function type that opaque pointers no longer carry
    (what ``IRBuilder.call`` asks of its callee)."""

    def __init__(self, pointer: Any, function_type: Any) -> None:
        self.pointer = pointer
        self.function_type = function_type
        self.type = pointer.type

    def get_reference(self) -> str:
        return str(self.pointer.get_reference())


class _Entry:
    """The entry function under construction: an ``IRBuilder`` over it, the C-API functions and host
    objects it imports (declared on first use), and the ``slow`` block every failed check branches to."""

    def __init__(self) -> None:
        self.module = ir.Module(name="entry")
        self.fn = ir.Function(self.module, ir.FunctionType(_PTR, [_PTR, _PTR, _I64, _PTR]), name="entry")
        for arg, name in zip(self.fn.args, ("self", "args", "nargs", "kwnames"), strict=True):
            arg.name = name
        self.b = ir.IRBuilder(self.fn.append_basic_block("entry"))
        self.slow = self.fn.append_basic_block("slow")
        self._imports: dict[str, Any] = {}

    def call(self, name: str, *args: Any) -> Any:
        """Call the C-API function ``name``."""
        fn = self._imports.get(name)
        if fn is None:
            result, params, variadic = _API[name]
            fn = self._imports[name] = ir.Function(self.module, ir.FunctionType(result, params, variadic), name)
        return self.b.call(fn, args)

    def obj(self, name: str) -> Any:
        """The address of the host object (or numpy dtype) bound to the symbol ``name`` at link time."""
        gv = self._imports.get(name)
        if gv is None:
            gv = self._imports[name] = ir.GlobalVariable(self.module, _I8, name=name)
            gv.linkage = "external"
            gv.type = _PTR  # an opaque address, only compared and passed on
        return gv

    def string(self, name: str, text: str) -> Any:
        """A private NUL-terminated UTF-8 constant."""
        data = bytearray(text.encode() + b"\0")
        gv = ir.GlobalVariable(self.module, ir.ArrayType(_I8, len(data)), name=name)
        gv.linkage, gv.global_constant, gv.unnamed_addr = "private", True, True
        gv.initializer = ir.Constant(gv.value_type, data)
        return gv

    def field(self, obj: Any, offset: int, ty: Any) -> Any:
        """Load the ``ty`` at byte ``offset`` of the object at ``obj``."""
        address = self.b.gep(obj, [ir.Constant(_I64, offset)], inbounds=True, source_etype=_I8)
        return self.b.load(address, typ=ty, align=8)

    def check(self, cond: Any, label: str, fail: Any = None) -> None:
        """Go on in a new block ``label`` if ``cond`` holds, else go to ``fail`` (the slow path)."""
        ok = self.fn.append_basic_block(label)
        self.b.cbranch(cond, ok, self.slow if fail is None else fail)
        self.b.position_at_end(ok)

    def cell(self, offset: int) -> Any:
        """A field of this entry's cell (``self``'s C data, reached through ``b_ptr``)."""
        return self.field(self.field(self.fn.args[0], _CELL_BUFFER, _PTR), offset, _PTR)


def _descr_symbol(dtype: ScalarType) -> str:
    return f"np.descr.{dtype.name}"


def _scalar(e: _Entry, obj: Any, dtype: ScalarType, label: str) -> Any:
    """Unbox exact ``float``/``int``/``bool`` objects; anything else goes to the fallback."""
    b = e.b
    kind = e.field(obj, _TYPE, _PTR)
    if dtype.kind == "bool":
        is_true = b.icmp_unsigned("==", obj, e.obj("py.true"))
        e.check(b.or_(is_true, b.icmp_unsigned("==", obj, e.obj("py.false"))), f"{label}.ok")
        return b.zext(is_true, _I8)
    if dtype.kind == "int":
        e.check(b.icmp_unsigned("==", kind, e.obj("py.int")), f"{label}.int")
        # out of range (or < 0 for u64): -1 and an error set
        value = e.call("PyLong_AsUnsignedLongLong" if dtype == u64 else "PyLong_AsLongLong", obj)
        _unless_error(e, value, ir.Constant(_I64, -1), label)
        if dtype.bits == 64:
            return value
        low = b.icmp_signed(">=", value, ir.Constant(_I64, dtype.min))
        high = b.icmp_signed("<=", value, ir.Constant(_I64, dtype.max))
        e.check(b.and_(low, high), f"{label}.range")
        return b.trunc(value, dtype.ir_type)
    exact_block, other_block = e.fn.append_basic_block(f"{label}.f"), e.fn.append_basic_block(f"{label}.notf")
    b.cbranch(b.icmp_unsigned("==", kind, e.obj("py.float")), exact_block, other_block)
    b.position_at_end(exact_block)
    exact = e.field(obj, 16, _DOUBLE)  # PyFloatObject.ob_fval
    join = e.fn.append_basic_block(f"{label}.join")
    b.branch(join)
    b.position_at_end(other_block)
    e.check(b.icmp_unsigned("==", kind, e.obj("py.int")), f"{label}.i")
    converted = e.call("PyLong_AsDouble", obj)
    _unless_error(e, converted, ir.Constant(_DOUBLE, -1.0), label)
    converted_block = b.block
    b.branch(join)
    b.position_at_end(join)
    value = b.phi(_DOUBLE)
    value.add_incoming(exact, exact_block)
    value.add_incoming(converted, converted_block)
    return value if dtype.bits == 64 else b.fptrunc(value, dtype.ir_type)


def _complex(e: _Entry, obj: Any, label: str) -> list[Any]:
    """Unbox an exact ``complex`` (``PyComplexObject.cval``: two doubles after the header); anything else
    (a float, a numpy scalar) goes to the fallback, which converts it."""
    e.check(e.b.icmp_unsigned("==", e.field(obj, _TYPE, _PTR), e.obj("py.complex")), f"{label}.complex")
    return [e.field(obj, 16, _DOUBLE), e.field(obj, 24, _DOUBLE)]


def _unless_error(e: _Entry, value: Any, sentinel: Any, label: str) -> None:
    """After a C-API conversion: on the error sentinel with an exception set, clear it and fall back."""
    b = e.b
    maybe = b.fcmp_ordered("==", value, sentinel) if value.type == _DOUBLE else b.icmp_signed("==", value, sentinel)
    error, clear, converted = (e.fn.append_basic_block(f"{label}.{n}") for n in ("err", "clear", "conv"))
    b.cbranch(maybe, error, converted)
    b.position_at_end(error)
    b.cbranch(b.icmp_unsigned("==", e.call("PyErr_Occurred"), _PTR(None)), converted, clear)
    b.position_at_end(clear)
    e.call("PyErr_Clear")
    b.branch(e.slow)
    b.position_at_end(converted)


def _array(
    e: _Entry, obj: Any, param: ParamSpec, label: str, *, layout: Any = None, strided: bool = False
) -> list[Any]:
    """Check an exact ndarray of the right dtype, ndim and flags; return [data, extent...].

    A layout that is not C-contiguous goes to the block ``layout`` (default: the slow path). With ``strided``
    (the strided call, see :mod:`autotune.strided`) any layout is taken: the result also holds one stride in
    elements per dimension, and a written array must provably not overlap itself (else the fallback decides).
    """
    if param.dtype is None:
        raise ValueError(f"array parameter {param.name} has no dtype")
    b = e.b
    e.check(b.icmp_unsigned("==", e.field(obj, _TYPE, _PTR), e.obj("py.ndarray")), f"{label}.type")
    e.check(b.icmp_signed("==", e.field(obj, _ND, _I32), ir.Constant(_I32, param.ndim)), f"{label}.nd")
    e.check(b.icmp_unsigned("==", e.field(obj, _DESCR, _PTR), e.obj(_descr_symbol(param.dtype))), f"{label}.dtype")
    need = ir.Constant(_I32, (0 if strided else _C_CONTIGUOUS) | _ALIGNED | (_WRITEABLE if param.written else 0))
    e.check(b.icmp_unsigned("==", b.and_(e.field(obj, _FLAGS, _I32), need), need), f"{label}.flags", layout)
    values = [e.field(obj, _DATA, _PTR)]
    dims = e.field(obj, _DIMS, _PTR)
    for k in range(param.ndim):
        extent = b.gep(dims, [ir.Constant(_I64, k)], inbounds=True, source_etype=_I64)
        values.append(b.load(extent, typ=_I64, align=8))
    if strided:
        values += _strides(e, obj, param, param.dtype.dtype.itemsize, values[1:], label)
    return values


def _strides(e: _Entry, obj: Any, param: ParamSpec, itemsize: int, extents: list[Any], label: str) -> list[Any]:
    """numpy's byte strides as element strides (exact multiples only); for a written array, a check that
    no two elements share memory in C or Fortran order of the strides (anything else: the fallback)."""
    b = e.b
    table = e.field(obj, _STRIDES, _PTR)
    size, zero, one = ir.Constant(_I64, itemsize), ir.Constant(_I64, 0), ir.Constant(_I64, 1)
    strides: list[Any] = []
    for k in range(param.ndim):
        stride = b.load(b.gep(table, [ir.Constant(_I64, k)], inbounds=True, source_etype=_I64), typ=_I64, align=8)
        e.check(b.icmp_signed("==", b.srem(stride, size), zero), f"{label}.stride{k}")
        strides.append(b.sdiv(stride, size, flags=["exact"]))
    if param.written:
        sizes = [b.select(b.icmp_signed("<", s, zero), b.sub(zero, s), s) for s in strides]
        verdicts = []
        for order in (range(param.ndim - 1, -1, -1), range(param.ndim)):  # C-like, then Fortran-like
            reach, ok = zero, ir.Constant(_I1, 1)
            for k in order:  # each step must clear everything inside it
                big = b.icmp_signed(">", extents[k], one)
                ok = b.and_(ok, b.or_(b.not_(big), b.icmp_signed(">", sizes[k], reach)))
                span = b.mul(sizes[k], b.sub(extents[k], one))
                reach = b.add(reach, b.select(big, span, zero))
            verdicts.append(ok)
        e.check(b.or_(verdicts[0], verdicts[1]), f"{label}.overlap")
    return strides


def _tuple(e: _Entry, obj: Any, param: ParamSpec, label: str) -> list[Any]:
    """Check an exact tuple of the right length; unbox each item like a scalar parameter."""
    b = e.b
    e.check(b.icmp_unsigned("==", e.field(obj, _TYPE, _PTR), e.obj("py.tuple")), f"{label}.type")
    size = ir.Constant(_I64, len(param.items))
    e.check(b.icmp_signed("==", e.field(obj, _TUPLE_SIZE, _I64), size), f"{label}.size")
    items = [e.field(obj, _TUPLE_ITEMS + 8 * k, _PTR) for k in range(len(param.items))]
    return [_scalar(e, item, param.items[k], f"{label}.{k}") for k, item in enumerate(items)]


def _box(e: _Entry, ret: Result | None, out: Any) -> Any:
    if ret is None:
        e.call("Py_IncRef", e.obj("py.none"))
        return e.obj("py.none")
    b = e.b
    if not isinstance(ret, ScalarType):  # an array or a tuple: the cell's boxer reads the result slots
        address = b.ptrtoint(out, _I64)
        return e.call("PyObject_CallFunction", e.cell(_CELL_BOXER), e.string("fmt.box", "K"), address)
    if ret.kind == "complex":
        imag = b.gep(out, [ir.Constant(_I64, 8)], inbounds=True, source_etype=_I8)
        return e.call("PyComplex_FromDoubles", b.load(out, typ=_DOUBLE, align=8), b.load(imag, typ=_DOUBLE, align=8))
    value = b.load(out, typ=ret.ir_type, align=8)
    if ret.kind == "float":
        return e.call("PyFloat_FromDouble", value if ret.bits == 64 else b.fpext(value, _DOUBLE))
    if ret.kind == "bool":
        return e.call("PyBool_FromLong", b.zext(value, _I64))
    if ret == u64:
        return e.call("PyLong_FromUnsignedLongLong", value)
    if ret.bits == 64:
        return e.call("PyLong_FromLongLong", value)
    return e.call("PyLong_FromLongLong", b.zext(value, _I64) if ret.unsigned else b.sext(value, _I64))


def _arguments(e: _Entry, native: Sequence[ParamSpec], prefix: str, *, layout: Any, strided: bool) -> list[Any]:
    """Check and unbox every argument (arrays: ``layout`` is where a non-C-contiguous one goes) and the
    declared shape relations; the native arguments of the call."""
    b = e.b
    args = e.fn.args[1]
    call_args: list[Any] = []
    extents: dict[str, list[Any]] = {}
    for i, param in enumerate(native):
        obj = b.load(b.gep(args, [ir.Constant(_I64, i)], inbounds=True, source_etype=_PTR), typ=_PTR, align=8)
        if param.kind == "array":
            data, *rest = _array(e, obj, param, f"{prefix}a{i}", layout=layout, strided=strided)
            call_args += [data, *rest]
            for name, extent in zip(param.dims, rest[: param.ndim], strict=True):
                if name is not None:
                    extents.setdefault(name, []).append(extent)
        elif param.kind == "tuple":
            call_args += _tuple(e, obj, param, f"{prefix}t{i}")
        elif param.dtype is not None and param.dtype.kind == "complex":
            call_args += _complex(e, obj, f"{prefix}s{i}")
        else:
            if param.dtype is None:
                raise ValueError(f"scalar parameter {param.name} has no dtype")
            call_args.append(_scalar(e, obj, param.dtype, f"{prefix}s{i}"))
    for name, found in extents.items():
        for j, other in enumerate(found[1:]):
            e.check(b.icmp_signed("==", found[0], other), f"{prefix}dim.{name}.{j}")
    return call_args


def _call(e: _Entry, field: int, function_type: Any, call_args: list[Any], *, ready: str | None = None) -> Any:
    """Call the function whose address is the cell's ``field`` with the GIL released; the status. With
    ``ready``, a null address (no strided form yet) takes the slow path, where the fallback builds it."""
    b = e.b
    target = e.cell(field)
    if ready is not None:
        e.check(b.icmp_unsigned("!=", target, _PTR(None)), ready)
    state = e.call("PyEval_SaveThread")
    status = b.call(_Callee(target, function_type), call_args)
    e.call("PyEval_RestoreThread", state)
    return status


def entry_ir(params: Sequence[ParamSpec], ret: Result | None, *, strided: bool = False) -> str:
    """IR of ``ptr @entry(ptr self, ptr args, i64 nargs, ptr kwnames)`` for these kernel parameters.

    ``self`` is a :class:`_Cell`: the code calls the trampoline whose address the cell holds, and hands
    anything it does not take to the cell's fallback callable. The IR holds no address (the object cache
    serves it), and one linked copy serves every cell. With ``strided``, a call whose arrays are not all
    C-contiguous is checked again for the strided form (:mod:`autotune.strided`) and calls the cell's
    strided trampoline, once the fallback has put one there; the C-contiguous path is the same code.
    """
    native = [p for p in params if p.kind != "const"]
    e = _Entry()
    b = e.b
    _, args, nargs, kwnames = e.fn.args
    out = None
    if isinstance(ret, ScalarType):
        out = b.alloca(ret.ir_type, name="out")
    elif ret is not None:  # 8-byte slots: an array's data pointer and extents, or a tuple's items
        out = b.alloca(ir.ArrayType(_I64, result_slots(ret)), name="out")
    tail = [out] if out is not None else []
    no_keywords = b.icmp_unsigned("==", kwnames, _PTR(None))
    e.check(b.and_(no_keywords, b.icmp_signed("==", nargs, ir.Constant(_I64, len(native)))), "arity")
    layout = e.fn.append_basic_block("strided") if strided else None
    call_args = _arguments(e, native, "", layout=layout, strided=False) + tail
    status = _call(e, _CELL_TARGET, kernel_function_type(native, ret), call_args)
    if layout is not None:
        contiguous_end = b.block
        called = e.fn.append_basic_block("called")
        b.branch(called)
        b.position_at_end(layout)
        call_args = _arguments(e, native, "v", layout=None, strided=True) + tail
        function_type = kernel_function_type(native, ret, strided=True)
        strided_status = _call(e, _CELL_STRIDED, function_type, call_args, ready="strided.ready")
        strided_end = b.block
        b.branch(called)
        b.position_at_end(called)
        merged = b.phi(_I32)
        merged.add_incoming(status, contiguous_end)
        merged.add_incoming(strided_status, strided_end)
        status = merged
    done, failed = e.fn.append_basic_block("done"), e.fn.append_basic_block("failed")
    b.cbranch(b.icmp_signed("==", status, ir.Constant(_I32, 0)), done, failed)
    b.position_at_end(done)
    b.ret(_box(e, ret, out))
    b.position_at_end(failed)
    other = e.fn.append_basic_block("status.other")
    switch = b.switch(status, other)
    for code, (exc, message) in STATUS_ERRORS.items():
        block = e.fn.append_basic_block(f"status.{code}")
        switch.add_case(ir.Constant(_I32, code), block)
        b.position_at_end(block)
        e.call("PyErr_SetString", e.obj(f"py.{exc.__name__}"), e.string(f"msg.{code}", message))
        b.ret(_PTR(None))
    b.position_at_end(other)  # a kernel's own raise: the cell's raiser raises what its table says
    returned = e.call("PyObject_CallFunction", e.cell(_CELL_RAISER), e.string("fmt.status", "i"), status)
    raised, not_raised = e.fn.append_basic_block("status.raised"), e.fn.append_basic_block("status.returned")
    b.cbranch(b.icmp_unsigned("==", returned, _PTR(None)), raised, not_raised)
    b.position_at_end(raised)
    b.ret(_PTR(None))
    b.position_at_end(not_raised)  # a raiser that does not raise: never, but never a result either
    e.call("Py_DecRef", returned)
    e.call("PyErr_SetString", e.obj("py.RuntimeError"), e.string("msg.other", "kernel failed with an unknown status"))
    b.ret(_PTR(None))
    b.position_at_end(e.slow)
    b.ret(e.call("PyObject_Vectorcall", e.cell(_CELL_FALLBACK), args, nargs, kwnames))
    return module_text(e.module)


def _dtypes(params: Sequence[ParamSpec]) -> list[ScalarType]:
    seen: dict[str, ScalarType] = {}
    for p in params:
        if p.kind == "array" and p.dtype is not None:
            seen.setdefault(p.dtype.name, p.dtype)
    return list(seen.values())


@cache
def fast_path_supported() -> bool:
    """Probe numpy's array layout and CPython's object header; False sends every call to the fallback."""
    if sys.implementation.name != "cpython" or ctypes.sizeof(ctypes.c_void_p) != 8:
        return False
    probe = np.zeros((3, 5), dtype=np.float64)
    base = id(probe)

    def read(offset: int, kind: Any) -> Any:
        return kind.from_address(base + offset).value

    dims = read(_DIMS, ctypes.c_void_p)
    return bool(
        read(_TYPE, ctypes.c_void_p) == id(np.ndarray)
        and read(_DATA, ctypes.c_void_p) == probe.ctypes.data
        and read(_ND, ctypes.c_int32) == 2
        and [ctypes.c_int64.from_address(dims + 8 * k).value for k in range(2)] == [3, 5]
        and read(_DESCR, ctypes.c_void_p) == id(probe.dtype)
        and [ctypes.c_int64.from_address(read(_STRIDES, ctypes.c_void_p) + 8 * k).value for k in range(2)] == [40, 8]
        and read(_FLAGS, ctypes.c_int32) & (_C_CONTIGUOUS | _ALIGNED | _WRITEABLE) == 0x501
        and ctypes.c_double.from_address(id(1.5) + 16).value == 1.5
        and _tuple_layout_ok()
        and _cell_layout_ok()
    )


def _tuple_layout_ok() -> bool:
    """The entry reads a tuple's length at offset 16 and its items from offset 24 (``PyTupleObject``)."""
    first, second = object(), object()
    probe = (first, second)
    base = id(probe)
    return bool(
        ctypes.c_ssize_t.from_address(base + _TUPLE_SIZE).value == 2
        and ctypes.c_void_p.from_address(base + _TUPLE_ITEMS).value == id(first)
        and ctypes.c_void_p.from_address(base + _TUPLE_ITEMS + 8).value == id(second)
    )


class _Cell(ctypes.Structure):
    """An entry's ``self``: the trampoline it calls, the fallback, the raiser (``raiser(status)`` raises a
    kernel's own nonzero status), the boxer (``boxer(address)`` boxes an array or tuple result from its
    slots) and the strided form's trampoline (or 0: then the fallback); ctypes keeps the references."""

    _fields_ = (
        ("target", ctypes.c_void_p),
        ("fallback", ctypes.py_object),
        ("raiser", ctypes.py_object),
        ("boxer", ctypes.py_object),
        ("strided", ctypes.c_void_p),
    )


def _cell_layout_ok() -> bool:
    """The entry code finds a cell's fields through ``b_ptr`` at offset 16, at these field offsets."""
    marker, other = object(), object()
    cell = _Cell(0x1234, marker, other, other, 0x5678)
    data = ctypes.c_void_p.from_address(id(cell) + _CELL_BUFFER).value
    return bool(
        data == ctypes.addressof(cell)
        and _Cell.target.offset == _CELL_TARGET
        and _Cell.fallback.offset == _CELL_FALLBACK
        and _Cell.raiser.offset == _CELL_RAISER
        and _Cell.boxer.offset == _CELL_BOXER
        and _Cell.strided.offset == _CELL_STRIDED
        and ctypes.c_void_p.from_address(data + _CELL_STRIDED).value == 0x5678
        and ctypes.c_void_p.from_address(data + _CELL_TARGET).value == 0x1234
        and ctypes.c_void_p.from_address(data + _CELL_FALLBACK).value == id(marker)
        and ctypes.c_void_p.from_address(data + _CELL_RAISER).value == id(other)
    )


class _MethodDef(ctypes.Structure):
    _fields_ = (
        ("ml_name", ctypes.c_char_p),
        ("ml_meth", ctypes.c_void_p),
        ("ml_flags", ctypes.c_int),
        ("ml_doc", ctypes.c_char_p),
    )


_lock = threading.Lock()
#: entry IR -> the linked entry's address (one link per shape, for the life of the process)
_linked: dict[str, int] = {}
#: (name, entry IR) -> its method def; defs and their names must outlive the function objects using them
_methods: dict[tuple[str, str], _MethodDef] = {}
_new_function = ctypes.pythonapi.PyCFunction_NewEx
_new_function.restype = ctypes.py_object
_new_function.argtypes = (ctypes.c_void_p, ctypes.py_object, ctypes.py_object)


def _python_symbols(params: Sequence[ParamSpec]) -> SymbolMap:
    symbols = SymbolMap()
    for name in _API:
        symbols.add(name, ctypes.cast(getattr(ctypes.pythonapi, name), ctypes.c_void_p).value or 0)
    for name, obj in _OBJECTS.items():
        symbols.add(name, id(obj))
    for dtype in _dtypes(params):
        symbols.add(_descr_symbol(dtype), id(np.dtype(dtype.dtype)))
    return symbols


def _method(name: str, native: Sequence[ParamSpec], ret: Result | None, strided: bool) -> _MethodDef:
    """The method def of ``name`` over the shared entry of this shape (linked on first use)."""
    ir = entry_ir(native, ret, strided=strided)
    with _lock:
        method = _methods.get((name, ir))
        if method is not None:
            return method
        address = _linked.get(ir)
        if address is None:
            unit = permanent_session().load(ir, exports=["entry"], symbols=_python_symbols(native))
            address = _linked[ir] = unit.address("entry")
        method = _MethodDef(name.encode(), address, _METH_FASTCALL | _METH_KEYWORDS, None)
        _methods[(name, ir)] = method
        return method


def make_entry(
    name: str,
    params: Sequence[ParamSpec],
    ret: Result | None,
    trampoline: int,
    fallback: Callable[..., Any],
    raiser: Callable[[int], Any] = BUILTIN_TABLE.raise_for,
    *,
    strided: bool = False,
) -> Callable[..., Any]:
    """A builtin function object that calls the kernel through ``trampoline``, or ``fallback`` if unsure.

    ``raiser(status)`` raises the exception of a status that is not built in (the kernel's own raises:
    pass its ``StatusTable.raise_for``). An array or tuple result is boxed by :func:`autotune.result.box_result`
    (an array takes ownership of the buffer the kernel allocated). The native code is shared by every entry
    of the same shape; this entry's own state is its cell. With ``strided`` (a kernel with a strided form),
    arrays of other layouts call the trampoline :func:`set_strided` put in the cell (until then, and after a
    reset to 0, the fallback).
    """
    native = [p for p in params if p.kind != "const"]
    method = _method(name, native, ret, strided)
    boxer = None if ret is None or isinstance(ret, ScalarType) else functools.partial(box_result, ret)
    cell = _Cell(trampoline, fallback, raiser, boxer)
    function: Callable[..., Any] = _new_function(ctypes.addressof(method), cell, None)
    return function


def set_strided(entry: Callable[..., Any], trampoline: int) -> None:
    """Make ``entry`` (from :func:`make_entry` with ``strided=True``) call ``trampoline`` for arrays that are
    not C-contiguous; 0 sends those calls to the fallback again. One aligned pointer store: a concurrent
    call sees the old or the new trampoline, both callable."""
    cell = getattr(entry, "__self__", None)
    if isinstance(cell, _Cell):
        cell.strided = trampoline
