"""``StridedForms``: the strided form of a kernel's variants, for arrays that are not C-contiguous.

A variant is compiled for C-contiguous arrays: the native entry checks numpy's C_CONTIGUOUS flag and the
addresses it computes are what LLVM vectorises. An array of any other layout (Fortran order, ``x[::2]``,
``A[:, j]``, negative or zero strides) runs the *strided form* of the key's live variant instead: the same
kernel and parameters lowered with one stride in elements per array dimension
(:func:`autotune.abi.native_args` with ``strided=True``). So the contiguous path keeps its code and speed.

The strided form of a key is built lazily, at its first strided call (through the Python fallback), and
published in a slot of its own; the fallback then puts that slot's trampoline in the key's native entry,
which from then on calls it directly (:func:`autotune.entry.set_strided`: the entry re-checks the
arguments for any layout, and sends a written array it cannot prove free of self-overlap to the fallback).
A swap of the live variant clears it from the entry, so the next strided call rebuilds the form of the new
variant (a compile on that call, like a first call; the object cache makes it once per machine) and the
rebuild retires the old unit through the reclaimer like any swap. The tuner never sees the strided form:
it tunes and validates the contiguous form on C-contiguous copies of the captured calls.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass

from patcher import Slot

from .runtime import runtime
from .source import KernelSource, Lowerer
from .space import Space, Value
from .variant import Variants

__all__ = ["StridedForms"]


@dataclass
class _Form:
    slot: Slot
    params: str  # Space.key of the parameters its unit was built from
    live: Mapping[str, Value] | None = None  # the live-parameters object last seen (a binding replaces it)


class StridedForms:
    """The strided forms of one kernel's keys, one slot per key (made at its first strided call)."""

    def __init__(self, name: str, info: KernelSource, space: Space, lowerer: Lowerer, signature: str) -> None:
        self.name = name
        self.signature = signature
        self.variants = Variants(info, space, lowerer)
        self._lock = threading.Lock()
        self._forms: dict[int, _Form] = {}  # id of the key's slot -> its strided form

    def address(self, key_slot: Slot, params: Mapping[str, Value]) -> int:
        """The trampoline of the strided form of ``params`` for the key of ``key_slot`` (built if needed)."""
        form = self._forms.get(id(key_slot))
        if form is not None and form.live is params:  # the common case: nothing was swapped since
            return form.slot.address
        wanted = Space.key(params)
        with self._lock:
            form = self._forms.get(id(key_slot))
            if form is None:
                slot = runtime().table.slot(f"{key_slot.name}#strided", self.signature)
                form = self._forms[id(key_slot)] = _Form(slot, "")
            if form.params != wanted:
                unit = self.variants.build(runtime().session, params)
                form.slot.publish(unit, "kernel")
                form.params = wanted
            form.live = params
            return form.slot.address
