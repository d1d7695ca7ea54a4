"""``PatchTable``: the slots of one session, their reclaimer, and migration out of old generations."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from dylibs import Session, Unit

from .errors import SlotError
from .reclaimer import Reclaimer
from .signature import Signature
from .slot import Slot

__all__ = ["PatchTable", "SlotStats"]


@dataclass(frozen=True)
class SlotStats:
    """Per-slot counters for observability and for tuning hot kernels first."""

    name: str
    signature: str
    calls: int
    swaps: int
    live: str | None


class PatchTable:
    """Slots whose variants come from ``session``.

    When the session seals a generation, the units published here that pin it are migrated (re-linked
    into the current generation and republished) so the old generation can close once drained.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self.reclaimer = Reclaimer(self._reclaimed)
        self._slots: dict[str, Slot] = {}
        self._reclaim_listeners: list[Callable[[Slot, Unit], None]] = []
        self._lock = threading.Lock()
        session.add_seal_listener(lambda: self.reclaimer.submit(self.migrate_stale))

    def slot(self, name: str, signature: str) -> Slot:
        """Create the slot ``name`` with a trampoline of C type ``signature`` (names are unique)."""
        parsed = Signature.parse(signature)
        with self._lock:
            if name in self._slots:
                raise SlotError(f"slot {name!r} already exists")
            slot = Slot(name, parsed, self.reclaimer)
            self._slots[name] = slot
            return slot

    @property
    def slots(self) -> tuple[Slot, ...]:
        """Every slot, in creation order."""
        with self._lock:
            return tuple(self._slots.values())

    def drain(self, timeout: float | None = None) -> None:
        """Wait until every replaced unit is freed (raises ``DrainTimeout``)."""
        self.reclaimer.drain(timeout)

    def migrate_stale(self) -> int:
        """Re-link published units that pin sealed generations; returns how many slots moved.

        A unit published in several slots is re-linked once and the copy published in each of them, so
        sharing survives migration (one link, not one per slot). The copy is retired at once if no slot
        took it (each had been republished meanwhile; the old unit is already on its way out).
        """
        stale = {id(u) for u in self.session.stale_units()}
        holders: dict[int, list[tuple[Slot, Unit, str]]] = {}
        for slot in self.slots:
            live, symbol = slot.live, slot.live_symbol
            if live is not None and symbol is not None and id(live) in stale:
                holders.setdefault(id(live), []).append((slot, live, symbol))
        moved = 0
        for group in holders.values():
            fresh = self.session.migrate(group[0][1])
            took = 0
            for slot, live, symbol in group:
                if slot._swap(live, fresh, symbol, check=True):
                    took += 1
            moved += took
            if not took:
                fresh.retire()
        return moved

    def add_reclaim_listener(self, listener: Callable[[Slot, Unit], None]) -> None:
        """Call ``listener(slot, unit)`` on the reclaimer thread after each replaced unit is released."""
        with self._lock:
            self._reclaim_listeners.append(listener)

    def _reclaimed(self, slot: Slot, unit: Unit) -> None:
        for listener in list(self._reclaim_listeners):
            listener(slot, unit)

    def stats(self) -> list[SlotStats]:
        """Calls, swaps and the live unit of every slot."""
        return [
            SlotStats(s.name, str(s.signature), s.calls, s.swaps, s.live.name if s.live else None) for s in self.slots
        ]
