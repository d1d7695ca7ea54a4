"""``Global``: host-owned memory that kernels read and write and that survives variant swaps.

Kernels name a ``Global`` like a module-level array (``HIST[b] += 1``; a 0-d one as ``G[()]``). Every
variant links to the same memory by address (see ``dylibs.HostGlobal``), so counters and tables keep their
contents when the tuner swaps variants. In plain Python the object indexes like its numpy array, which
keeps the undecorated kernel runnable as the semantic reference.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy.typing as npt

from dylibs import HostGlobal

from .types import ScalarType, scalar_type_of

__all__ = ["Global"]

_counter = itertools.count()


class Global:
    """A cache-line-aligned numpy array with a stable address, shared by every variant of every kernel.

    ``dtype`` is a :class:`~autotune.types.ScalarType` (``i64``) or a numpy dtype of one; ``shape`` is
    fixed for the life of the object (kernels bake it into their code). ``name`` is the host symbol's
    name (a unique ``global.N`` by default); the IR refers to the global by its Python variable name.

    >>> from autotune.types import i64
    >>> hist = Global(i64, shape=(8,))
    >>> hist[3] += 1
    >>> int(hist.array.sum())
    1
    """

    __slots__ = ("_host", "dtype")

    def __init__(
        self,
        dtype: ScalarType | npt.DTypeLike,
        shape: tuple[int, ...] | int = (),
        value: Any = 0,
        *,
        name: str | None = None,
    ) -> None:
        self.dtype: ScalarType = scalar_type_of(dtype)
        label = f"global.{next(_counter)}" if name is None else name
        self._host = HostGlobal(label, self.dtype.dtype, shape, value)

    @property
    def name(self) -> str:
        """The host symbol name of this memory."""
        return str(self._host.name)

    @property
    def host(self) -> HostGlobal:
        """The underlying ``dylibs.HostGlobal`` (what symbol maps bind)."""
        return self._host

    @property
    def array(self) -> npt.NDArray[Any]:
        """A numpy view of the memory (writes are seen by every variant)."""
        return self._host.array

    @property
    def address(self) -> int:
        """The address variants link to."""
        return self._host.address

    @property
    def shape(self) -> tuple[int, ...]:
        """The fixed shape."""
        return tuple(self._host.array.shape)

    @property
    def ndim(self) -> int:
        """Number of dimensions (0 for a scalar global)."""
        return int(self._host.array.ndim)

    def __getitem__(self, index: Any) -> Any:
        return self._host.array[index]

    def __setitem__(self, index: Any, value: Any) -> None:
        self._host.array[index] = value

    def __len__(self) -> int:
        return len(self._host.array)

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> npt.NDArray[Any]:
        return self._host.array if dtype is None else self._host.array.astype(dtype)

    def __repr__(self) -> str:
        return f"Global({self.dtype!r}, shape={self.shape}, name={self.name!r})"
