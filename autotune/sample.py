"""``SharedSample``: a captured call, kept as one block of bytes that the tuning worker can map.

The host's part of tuning is meant to be a memcpy. At capture, a call's arguments are copied into one
anonymous mapping, one page-aligned block per array. When a worker opens the search, the block is handed
over through an anonymous ``memfd`` that the worker opens as ``/proc/<host pid>/fd/<fd>`` and copies into
its own workspace; the descriptor is closed once the worker has answered, so a program with thousands of
keys never holds thousands of descriptors, and nothing is left behind if the host dies. Nothing is
pickled on the host's side. Each array keeps its offset within a 4 KiB page: alignment changes which
variant is fastest, so the worker's copies must be placed like the caller's data.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
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
    """The host side: one captured call in an anonymous mapping (``close()`` frees it, safe twice)."""

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
        self.size = max(size, PAGE)
        self.entries = tuple(entries)
        self._memory: mmap.mmap | None = mmap.mmap(-1, self.size)
        for value, entry in zip(values, entries, strict=True):
            if entry[0] == "array" and value.nbytes:
                target = np.frombuffer(self._memory, dtype=value.dtype, count=value.size, offset=entry[1])
                target[...] = value.reshape(-1)
                del target  # an exported buffer would keep the mapping from closing

    def values(self) -> list[Any]:
        """Fresh copies of the captured values (for running the Python reference in the host)."""
        if self._memory is None:
            raise ValueError("sample is closed")
        return _read(self._memory, self.entries)

    @contextmanager
    def shared(self) -> Iterator[SampleLayout]:
        """The sample in a memfd for as long as the block runs (the worker copies it before answering)."""
        if self._memory is None:
            raise ValueError("sample is closed")
        fd = os.memfd_create("autotune-sample", os.MFD_CLOEXEC)
        try:
            with memoryview(self._memory) as view:
                written = 0
                while written < self.size:
                    written += os.write(fd, view[written:])
            yield SampleLayout(os.getpid(), fd, self.size, self.entries)
        finally:
            os.close(fd)

    def same_as(self, other: SharedSample) -> bool:
        """Whether ``other`` holds the same call, byte for byte (a repeated call adds nothing to validate)."""
        if self._memory is None or other._memory is None or len(self.entries) != len(other.entries):
            return False
        with memoryview(self._memory) as mine, memoryview(other._memory) as theirs:
            for a, b in zip(self.entries, other.entries, strict=True):
                if a[0] != b[0] or (a[0] == "value" and a[1] != b[1]) or (a[0] == "array" and a[2:4] != b[2:4]):
                    return False
                if a[0] == "array":  # same dtype and shape; the page offset may differ
                    size = int(np.prod(a[3], dtype=np.int64)) * np.dtype(a[2]).itemsize
                    if mine[a[1] : a[1] + size] != theirs[b[1] : b[1] + size]:
                        return False
        return True

    def close(self) -> None:
        """Release the memory."""
        memory, self._memory = self._memory, None
        if memory is not None:
            memory.close()


def open_sample(layout: SampleLayout) -> list[Any]:
    """The worker side: the sample's values, copied out of the host's memfd (mapped read-only)."""
    with open(f"/proc/{layout.pid}/fd/{layout.fd}", "rb") as handle:
        memory = mmap.mmap(handle.fileno(), layout.size, prot=mmap.PROT_READ)
    try:
        return _read(memory, layout.entries)
    finally:
        memory.close()


def _read(memory: mmap.mmap, entries: Sequence[tuple[Any, ...]]) -> list[Any]:
    values: list[Any] = []
    for entry in entries:
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
