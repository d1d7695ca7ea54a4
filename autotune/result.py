"""A kernel's result as Python sees it: boxed from the native result slots (:mod:`autotune.abi`).

A scalar result is one slot; a tuple result one 8-byte slot per item; an array result is the data pointer
and extents of a buffer the kernel allocated with ``aligned_alloc``. That buffer becomes a numpy array
without a copy: a :class:`KernelBuffer` owns it (numpy keeps the owner as the array's ``base`` through
``__array_interface__``) and frees it with the C library's ``free`` when the last view of the array dies.
Both call paths (the native entry and :class:`autotune.arguments.Arguments`) and the tuner box through
:func:`box_result`, so a result is freed the same way whoever called.
"""

from __future__ import annotations

import ctypes
import sys
from typing import Any

import numpy as np

from .abi import ALLOCATOR, result_slots
from .types import ArrayType, Result, ScalarType, TupleType

__all__ = ["KernelBuffer", "box_result", "free_result", "result_buffer"]

_libc = ctypes.CDLL(None)
_free = getattr(_libc, ALLOCATOR[1])
_free.argtypes = (ctypes.c_void_p,)
_free.restype = None


class KernelBuffer:
    """Owns one buffer a kernel allocated and returned; ``close()`` frees it (safe to call twice).

    numpy arrays made from it (``np.asarray(buffer)``) keep it alive as their ``base``, so the memory
    lives exactly as long as some view of it does.
    """

    def __init__(self, address: int, shape: tuple[int, ...], dtype: ScalarType) -> None:
        self._address: int | None = address
        self.__array_interface__ = {
            "data": (address, False),
            "shape": shape,
            "typestr": dtype.dtype.str,
            "version": 3,
        }

    def close(self) -> None:
        """Free the buffer (no view of it may be used afterwards)."""
        address, self._address = self._address, None
        if address:
            _free(address)

    def __del__(self) -> None:
        if sys is None or sys.meta_path is None:  # interpreter shutdown: leave the memory to the OS
            return
        self.close()


def result_buffer(ret: Result) -> ctypes.Array[ctypes.c_int64]:
    """Zeroed 8-byte slots the result pointer of a call may point to."""
    return (ctypes.c_int64 * result_slots(ret))()


def box_result(ret: Result, address: int) -> Any:
    """The Python value of the result the kernel stored at ``address`` (the first slot).

    An array result takes ownership of the kernel's buffer: call this exactly once per successful call.
    """
    if isinstance(ret, ScalarType):
        return _scalar(ret, address)
    if isinstance(ret, TupleType):
        return tuple(_scalar(t, address + 8 * k) for k, t in enumerate(ret.items))
    return _array(ret, address)


def free_result(ret: Result, address: int) -> None:
    """Free what a successful call returned at ``address`` without boxing it (the timing loop's results)."""
    if isinstance(ret, ArrayType):
        data = ctypes.c_void_p.from_address(address).value
        if data:
            _free(data)


def _scalar(dtype: ScalarType, address: int) -> Any:
    value = np.frombuffer(ctypes.string_at(address, dtype.dtype.itemsize), dtype=dtype.dtype)[0]
    if dtype.kind == "bool":
        return bool(value)
    return float(value) if dtype.kind == "float" else int(value)


def _array(ret: ArrayType, address: int) -> np.ndarray[Any, Any]:
    slots = (ctypes.c_int64 * (1 + ret.ndim)).from_address(address)
    shape = tuple(int(n) for n in slots[1:])
    owner = KernelBuffer(int(ctypes.c_uint64(slots[0]).value), shape, ret.dtype)
    return np.asarray(owner)
