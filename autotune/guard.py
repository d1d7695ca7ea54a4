"""``GuardedCopies``: copies of a call's arrays that candidate code cannot overrun or scribble on unseen.

Validation runs every candidate on these copies. Each array gets its own mapping: inaccessible guard
pages on either side (64 KiB before, 1 MiB after: address space only, no memory), the data placed 64-byte
aligned as close to the end guard as alignment allows, and canary bytes filling the rest of its pages.
A store of 64 bytes or more past the end faults at once (the tuning worker dies with SIGSEGV and the
trial fails with that reason); a smaller one, or one just before the start, changes a canary, which
:meth:`GuardedCopies.check` finds after the run. Reads past the end fault too, so a reference run on an
input cut to a smaller extent that it indexes past (an index argument that was not cut with it) crashes
instead of reading whatever memory follows. Arrays the kernel may not write (not in ``writes=``, or
never stored to in the kernel language's code) are mapped read-only, so writing one faults too, and are
compared with their originals after the run as well.
"""

from __future__ import annotations

import ctypes
import mmap
from collections.abc import Sequence
from typing import Any

import numpy as np

from .errors import ValidationError
from .lang import ParamSpec

__all__ = ["GuardedCopies"]

_PAGE = mmap.PAGESIZE
_GUARD_BEFORE, _GUARD_AFTER = 64 * 1024, 1024 * 1024
_ALIGN = 64
_CANARY = 0xA5
_PROT_NONE = 0  # not in the mmap module
_libc = ctypes.CDLL(None, use_errno=True)
_libc.mmap.restype = ctypes.c_void_p
_libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
_libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
_libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
_MAP_FAILED = ctypes.c_void_p(-1).value


class _Mapping:
    """One array between two guard pages."""

    def __init__(self, source: np.ndarray[Any, Any], writable: bool) -> None:
        nbytes = source.nbytes
        data_pages = max(1, -(-(nbytes + _ALIGN) // _PAGE))
        self.size = _GUARD_BEFORE + data_pages * _PAGE + _GUARD_AFTER
        flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS
        address = _libc.mmap(None, self.size, mmap.PROT_READ | mmap.PROT_WRITE, flags, -1, 0)
        if address in (None, _MAP_FAILED):
            raise MemoryError(f"mmap of {self.size} bytes for a guarded copy failed (errno {ctypes.get_errno()})")
        self.address = int(address)
        data = self.address + _GUARD_BEFORE
        end = data + data_pages * _PAGE
        self.start = (end - nbytes) // _ALIGN * _ALIGN
        self.region = (ctypes.c_ubyte * (data_pages * _PAGE)).from_address(data)
        self.offset = self.start - data
        self.nbytes = nbytes
        self.tail = end - self.start - nbytes
        self._paint()
        buffer = (ctypes.c_char * max(nbytes, 1)).from_address(self.start)
        flat = np.frombuffer(memoryview(buffer), dtype=source.dtype, count=source.size)
        self.array = flat.reshape(source.shape)
        self.array[...] = source
        self._protect(self.address, _GUARD_BEFORE, _PROT_NONE)
        self._protect(end, _GUARD_AFTER, _PROT_NONE)
        if not writable:
            self._protect(data, data_pages * _PAGE, mmap.PROT_READ)
            self.array.flags.writeable = False

    def _paint(self) -> None:
        ctypes.memset(self.start - self.offset, _CANARY, self.offset)
        ctypes.memset(self.start + self.nbytes, _CANARY, self.tail)

    def refill(self, source: np.ndarray[Any, Any]) -> None:
        """Back to ``source``'s contents with fresh canaries (a writable copy, before another run)."""
        self._paint()
        self.array[...] = source

    @staticmethod
    def _protect(address: int, size: int, prot: int) -> None:
        if _libc.mprotect(address, size, prot) != 0:
            raise OSError(ctypes.get_errno(), "mprotect failed for a guarded copy")

    def overrun(self) -> str:
        """'' when the canaries on both sides are intact, else which side was written and how far."""
        raw = np.frombuffer(memoryview(self.region), dtype=np.uint8)
        before = np.flatnonzero(raw[: self.offset] != _CANARY)
        after = np.flatnonzero(raw[self.offset + self.nbytes :] != _CANARY)
        if before.size:
            return f"wrote {self.offset - int(before[0])} byte(s) before its start"
        if after.size:
            return f"wrote {int(after[-1]) + 1} byte(s) past its end"
        return ""

    def close(self) -> None:
        _libc.munmap(self.address, self.size)


class GuardedCopies:
    """Guarded copies of ``values``: ``check()`` after a run, ``refill()`` before the next, ``close()`` when
    done. Mapping fresh pages costs more than the run of a small kernel, so copies are kept per input."""

    def __init__(self, params: Sequence[ParamSpec], values: Sequence[Any]) -> None:
        self._params = [p for p in params if p.kind != "const"]
        self._sources = list(values)
        self._mappings: list[_Mapping | None] = []
        self.values: list[Any] = []
        try:
            for param, value in zip(self._params, values, strict=True):
                if isinstance(value, np.ndarray):
                    mapping = _Mapping(value, writable=param.written)
                    self._mappings.append(mapping)
                    self.values.append(mapping.array)
                else:
                    self._mappings.append(None)
                    self.values.append(value)
        except BaseException:
            self.close()
            raise

    def refill(self) -> None:
        """Restore the writable copies (outputs) and every canary; read-only inputs cannot have changed."""
        for param, mapping, source in zip(self._params, self._mappings, self._sources, strict=True):
            if mapping is not None and param.written:
                mapping.refill(source)

    def check(self) -> None:
        """Raise :class:`ValidationError` if a run wrote outside an array or into an array it may not write."""
        for param, mapping, source in zip(self._params, self._mappings, self._sources, strict=True):
            if mapping is None:
                continue
            overrun = mapping.overrun()
            if overrun:
                raise ValidationError(f"argument {param.name!r}: the variant {overrun}")
            if not param.written and not _same_bytes(mapping.array, source):
                raise ValidationError(f"argument {param.name!r} is not an output, but the variant changed it")

    def close(self) -> None:
        """Unmap every copy (safe twice). Arrays taken from :attr:`values` must not be used after this."""
        mappings, self._mappings = self._mappings, []
        self.values = []
        for mapping in mappings:
            if mapping is not None:
                mapping.close()

    def __enter__(self) -> GuardedCopies:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _same_bytes(a: np.ndarray[Any, Any], b: np.ndarray[Any, Any]) -> bool:
    """Bit for bit (a NaN is equal to itself, -0.0 is not 0.0), without copying either array."""
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    return bool(np.array_equal(a.reshape(-1).view(np.uint8), np.ascontiguousarray(b).reshape(-1).view(np.uint8)))
