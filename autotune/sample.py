"""``SharedSample``: a captured call, copied once into shared memory that the tuning worker maps.

The host's part of tuning is meant to be a memcpy: a call's arguments are copied into an anonymous
``memfd`` (one page-aligned block per array) and the worker process opens that memory through
``/proc/<host pid>/fd/<fd>`` and copies it into its own workspace. Nothing is pickled on the host's side
and nothing is left behind when the host dies (a memfd disappears with its last descriptor). Each array
keeps its offset within a 4 KiB page (see :func:`autotune.workspace.placed_copy`): alignment changes
which variant is fastest, so the worker's copies must be placed like the caller's data.
"""

from __future__ import annotations

import mmap
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["PAGE", "SampleLayout", "SharedSample", "open_sample", "placed_copy"]

PAGE = 4096


@dataclass(frozen=True)
class SampleLayout:
    """Where a sample lives (host pid and descriptor) and what each argument is: picklable, small."""

    pid: int
    fd: int
    size: int
    #: per argument: ``("array", offset, dtype str, shape, page offset)`` or ``("value", python scalar)``
    entries: tuple[tuple[Any, ...], ...]


class SharedSample:
    """The host side: owns the memfd holding one captured call (``close()`` frees it, safe twice)."""

    def __init__(self, values: Sequence[Any]) -> None:
        entries: list[tuple[Any, ...]] = []
        size = 0
        for value in values:
            if isinstance(value, np.ndarray):
                start = size + value.ctypes.data % PAGE
                entries.append(("array", start, value.dtype.str, tuple(int(n) for n in value.shape), start % PAGE))
                size = -(-(start + value.nbytes) // PAGE) * PAGE
            else:
                entries.append(("value", value))
        self._lock = threading.Lock()
        self._fd: int | None = os.memfd_create("autotune-sample", os.MFD_CLOEXEC)
        try:
            os.ftruncate(self._fd, max(size, PAGE))
            with mmap.mmap(self._fd, max(size, PAGE)) as memory:
                for value, entry in zip(values, entries, strict=True):
                    if entry[0] == "array" and value.nbytes:
                        target = np.frombuffer(memory, dtype=value.dtype, count=value.size, offset=entry[1])
                        target[...] = value.reshape(-1)
                        del target  # an exported buffer would keep the map open
        except BaseException:
            self.close()
            raise
        self.layout = SampleLayout(os.getpid(), self._fd, max(size, PAGE), tuple(entries))

    def close(self) -> None:
        """Release the memory (the worker keeps its own copies)."""
        with self._lock:
            fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def __del__(self) -> None:
        if getattr(self, "_fd", None) is not None:
            self.close()


def open_sample(layout: SampleLayout) -> list[Any]:
    """The worker side: the sample's values, arrays copied out of the host's memory (read-only map)."""
    with open(f"/proc/{layout.pid}/fd/{layout.fd}", "rb") as handle:
        memory = mmap.mmap(handle.fileno(), layout.size, prot=mmap.PROT_READ)
    try:
        values: list[Any] = []
        for entry in layout.entries:
            if entry[0] == "value":
                values.append(entry[1])
                continue
            _, offset, dtype, shape, page_offset = entry
            count = int(np.prod(shape, dtype=np.int64))
            if count == 0:
                values.append(placed_copy(np.empty(shape, dtype=np.dtype(dtype)), page_offset))
                continue
            source = np.frombuffer(memory, dtype=np.dtype(dtype), count=count, offset=offset)
            values.append(placed_copy(source.reshape(shape), page_offset))
            del source
        return values
    finally:
        memory.close()


def placed_copy(value: Any, page_offset: int | None = None) -> Any:
    """A copy of an array at ``page_offset`` within a 4 KiB page (default: the original's offset).

    Alignment changes which variant is fastest (measured: one saxpy variant ran 1.60 us on 64-byte aligned
    arrays and 2.45 us on 16-byte aligned ones), so tuning must time copies placed like the caller's data.
    Values other than arrays are returned as they are.
    """
    if not isinstance(value, np.ndarray):
        return value
    offset = value.ctypes.data % PAGE if page_offset is None else page_offset
    raw = np.empty(value.nbytes + PAGE, dtype=np.uint8)
    start = (offset - raw.ctypes.data) % PAGE
    copy = raw[start : start + value.nbytes].view(value.dtype).reshape(value.shape)
    copy[...] = value
    return copy
