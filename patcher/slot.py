"""``Slot``: one patchable function, reached through a trampoline with a stable address."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import numpy as np

from dylibs import HostGlobal, SymbolMap, Unit

from ._runtime import atomic_load, atomic_store, drained, link_permanent, membarrier, membarrier_available
from .signature import Signature
from .trampoline import EPOCH, FUNCTION, WORDS, enter_words, trampoline_ir

if TYPE_CHECKING:
    from .reclaimer import Reclaimer

__all__ = ["Slot"]

_ENTER_WORDS = np.array(enter_words())


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
        self._memory = HostGlobal("slot", np.uint64, (WORDS,))
        self.per_thread = membarrier_available()
        runtime = link_permanent(
            trampoline_ir(signature, per_thread=self.per_thread),
            ["trampoline", "stub"],
            SymbolMap().add_global(self._memory),
        )
        self._address = runtime.address("trampoline")
        self._word = self._memory.address
        atomic_store(self._word + 8 * FUNCTION, runtime.address("stub"))
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
        return int(self._memory.array[_ENTER_WORDS].sum())

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
