"""``Slot``: one patchable function, reached through a trampoline with a stable address.

Trampolines are linked in *batches*: one JIT link defines the trampolines of several future slots of the
same signature, and their slot memory is one host array. A JIT link costs about 45 KB (LLJIT library,
symbol tables, code pages) however small its code, so one link per slot made slots the largest part of a
kernel key's memory. The first batch of a (signature, per_thread) pair holds one trampoline, so a program
with one kernel links exactly what it linked before at its first call; each later batch doubles, up to
:data:`MAX_BATCH` (a cold object cache compiles a 32-trampoline batch in about 80 ms; its link costs each
slot about 1.5 KB). A batch's memory comes from ``np.zeros``, which is zeroed lazily for large arrays, so
slots not yet handed out cost no resident memory, and a slot touches only the cache lines its callers use.
Trampolines, their code and their memory live as long as the process; an address never moves.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import numpy as np

from dylibs import SymbolMap, Unit

from ._runtime import atomic_load, atomic_store, drained, link_permanent, membarrier, membarrier_available
from .signature import Signature
from .trampoline import EPOCH, FUNCTION, WORDS, enter_words, trampoline_ir, trampoline_name

if TYPE_CHECKING:
    from .reclaimer import Reclaimer

__all__ = ["MAX_BATCH", "Slot"]

_ENTER_WORDS = np.array(enter_words())
#: trampolines per JIT link once a signature has many slots (batches go 1, 2, 4, ... up to this)
MAX_BATCH = 32
_ALIGN_WORDS = 8  # slot memory starts on a cache line


class _Batch:
    """Trampolines of one signature linked together, and their slot memory (one host array)."""

    def __init__(self, signature: Signature, per_thread: bool, size: int) -> None:
        self.signature, self.per_thread = signature, per_thread
        storage = np.zeros(size * WORDS + _ALIGN_WORDS, dtype=np.uint64)
        start = (-storage.ctypes.data % (8 * _ALIGN_WORDS)) // 8
        self.words = storage[start : start + size * WORDS]  # a view: keeps ``storage`` alive
        unit = link_permanent(
            trampoline_ir(signature, per_thread=per_thread, count=size),
            [*(trampoline_name(i) for i in range(size)), "stub"],
            SymbolMap().add("slots", int(self.words.ctypes.data)),
        )
        self.addresses = [unit.address(trampoline_name(i)) for i in range(size)]
        self.stub = unit.address("stub")
        self.used = 0


_batches_lock = threading.Lock()
#: (signature, per_thread) -> the batch slots are taken from now; every batch is kept for ever
_current: dict[tuple[Signature, bool], _Batch] = {}
_all_batches: list[_Batch] = []


def _allocate(signature: Signature, per_thread: bool) -> tuple[int, np.ndarray, int]:
    """A fresh trampoline: its address, its slot memory (``WORDS`` words) and the batch's stub address."""
    with _batches_lock:
        batch = _current.get((signature, per_thread))
        if batch is None or batch.used == len(batch.addresses):
            size = 1 if batch is None else min(2 * len(batch.addresses), MAX_BATCH)
            batch = _Batch(signature, per_thread, size)
            _current[(signature, per_thread)] = batch
            _all_batches.append(batch)
        index = batch.used
        batch.used += 1
    return batch.addresses[index], batch.words[index * WORDS : (index + 1) * WORDS], batch.stub


class Slot:
    """A named function pointer with a counting trampoline of the exact C signature.

    ``address`` never changes: native code may keep it and sees every :meth:`publish`. Until the first
    publish the trampoline calls a stub that returns zero.
    """

    def __init__(self, name: str, signature: Signature, reclaimer: Reclaimer) -> None:
        self.name = name
        self.signature = signature
        self.swaps = 0
        self._reclaimer = reclaimer
        self._lock = threading.Lock()
        self.per_thread = membarrier_available()
        self._address, self._words, stub = _allocate(signature, self.per_thread)
        self._word = int(self._words.ctypes.data)
        atomic_store(self._word + 8 * FUNCTION, stub)
        self._live: Unit | None = None
        self._symbol: str | None = None

    @property
    def address(self) -> int:
        """The trampoline's address: stable for the life of the process."""
        return self._address

    @property
    def live(self) -> Unit | None:
        """The unit now published (None before the first publish)."""
        return self._live

    @property
    def live_symbol(self) -> str | None:
        """The symbol of :attr:`live` that the trampoline calls."""
        return self._symbol

    @property
    def calls(self) -> int:
        """Calls that entered the trampoline so far (relaxed read: a statistic, not a barrier)."""
        return int(self._words[_ENTER_WORDS].sum())

    def publish(self, unit: Unit, symbol: str) -> None:
        """Make ``unit.symbol`` the target of every later call: one sequentially consistent store.

        The unit becomes held (it cannot be retired behind the slot's back); the previous unit goes to the
        reclaimer, which retires it once no call can still be running in it.
        """
        self._swap(None, unit, symbol, check=False)

    def _swap(self, expected: Unit | None, unit: Unit, symbol: str, *, check: bool) -> bool:
        address = unit.address(symbol)
        unit.hold()
        with self._lock:
            if check and self._live is not expected:
                unit.release()
                return False
            old = self._live
            atomic_store(self._word + 8 * FUNCTION, address)
            self._live, self._symbol = unit, symbol
            self.swaps += 1
        if old is not None:
            self._reclaimer.retire(self, old)
        return True

    # The reclaimer's side of the epoch protocol; only the reclaimer thread calls these.
    def _flip(self) -> int:
        """Switch new callers to the other epoch; returns the epoch being left.

        The membarrier after the store makes every count a caller stored before it visible here, which is
        what lets the trampoline count with plain stores (see :mod:`patcher.trampoline`).
        """
        old = atomic_load(self._word + 8 * EPOCH)
        atomic_store(self._word + 8 * EPOCH, old ^ 1)
        if self.per_thread:
            membarrier()
        return old

    def _drained(self, epoch: int) -> bool:
        """True when every call that entered ``epoch`` has left."""
        return drained(self._word, epoch)

    def __repr__(self) -> str:
        return f"<Slot {self.name} {self.signature} live={self._live!r}>"
