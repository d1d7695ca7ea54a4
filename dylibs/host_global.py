"""``HostGlobal``: memory owned by Python that every variant links to by address.

Variants declare ``@name = external global`` and the loader binds that name to this memory, so counters,
tables and RNG states survive swaps and reclamation: no unit owns them, the host does.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from .errors import LinkError

__all__ = ["HostGlobal"]

_ALIGN = 64  # one cache line: a global never shares a line with unrelated host data


class HostGlobal:
    """A named, cache-line-aligned numpy array with a stable address.

    ``array`` is a writable view readable and writable from Python at any time; ``address`` is what units
    link to. The object must outlive every unit linked to it: a :class:`SymbolMap` keeps a reference.
    """

    __slots__ = ("_array", "_storage", "name")

    def __init__(self, name: str, dtype: npt.DTypeLike, shape: tuple[int, ...] | int = (), value: Any = 0):
        if not isinstance(name, str) or not name or any(c.isspace() or c in '"\\\0' for c in name):
            raise LinkError(f"invalid global name {name!r}")
        kind = np.dtype(dtype)
        if kind.kind not in "biufc":
            raise LinkError(f"host global {name!r}: dtype must be numeric, got {kind}")
        dims = (shape,) if isinstance(shape, int) else tuple(shape)
        if any(not isinstance(d, int) or d < 0 for d in dims):
            raise LinkError(f"host global {name!r}: bad shape {shape!r}")
        nbytes = max(kind.itemsize * math.prod(dims), kind.itemsize)
        self._storage = np.zeros(nbytes + _ALIGN, dtype=np.uint8)
        start = -self._storage.ctypes.data % _ALIGN
        flat = self._storage[start : start + nbytes].view(kind)
        self._array: npt.NDArray[Any] = flat[: math.prod(dims)].reshape(dims)
        self._array[...] = value
        self.name = name

    @property
    def array(self) -> npt.NDArray[Any]:
        """The numpy view of the memory (shares it; writes are seen by every unit)."""
        return self._array

    @property
    def address(self) -> int:
        """Address bound into units that declare the global."""
        return int(self._array.ctypes.data)

    def __repr__(self) -> str:
        return f"HostGlobal({self.name!r}, {self._array.dtype}, shape={self._array.shape})"
