"""``Reclaimer``: frees replaced variants only after every call that could be inside them has left.

Measured: freeing a variant right after a swap while two threads call it segfaults within seconds. A
grace period per slot flips the epoch and waits for the old epoch to drain, twice: the second flip
catches a caller that read the epoch just before the first flip but counted itself in just after it.
Retirement is explicit and happens here, never in the garbage collector. A unit published in several slots
(a kernel's keys that start on the same variant share one unit) is released once per slot that replaced
it, each after that slot's own grace period, and retired when its last hold goes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dylibs import Unit

from .errors import DrainTimeout

if TYPE_CHECKING:
    from .slot import Slot

__all__ = ["Reclaimer"]

_log = logging.getLogger("patcher")


@dataclass
class _Grace:
    batch: list[Unit]
    epoch: int
    flips: int = 1


class Reclaimer:
    """Runs grace periods on a daemon thread; :meth:`drain` waits for them from any thread."""

    def __init__(self, on_reclaim: Callable[[Slot, Unit], None] | None = None) -> None:
        self.reclaimed = 0
        self._on_reclaim = on_reclaim
        self._cond = threading.Condition()
        self._pending: dict[Slot, list[Unit]] = {}
        self._grace: dict[Slot, _Grace] = {}
        self._tasks: list[Callable[[], object]] = []
        self._thread: threading.Thread | None = None

    def retire(self, slot: Slot, unit: Unit) -> None:
        """Queue ``unit`` (just replaced in ``slot``) for release after a grace period."""
        with self._cond:
            self._pending.setdefault(slot, []).append(unit)
            self._wake()

    def submit(self, task: Callable[[], object]) -> None:
        """Run ``task`` on the reclaimer thread (used for migrations, which publish)."""
        with self._cond:
            self._tasks.append(task)
            self._wake()

    @property
    def pending(self) -> int:
        """Units waiting for a grace period to end."""
        with self._cond:
            return sum(map(len, self._pending.values())) + sum(len(g.batch) for g in self._grace.values())

    def drain(self, timeout: float | None = None) -> None:
        """Block until every retired unit is freed; raise :class:`DrainTimeout` after ``timeout`` s."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._pending or self._grace or self._tasks:
                self._wake()
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise DrainTimeout(self.pending, timeout or 0.0)
                self._cond.wait(0.05 if left is None else min(left, 0.05))

    def _wake(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="patcher-reclaimer", daemon=True)
            self._thread.start()
        self._cond.notify_all()

    def _run(self) -> None:
        delay = 1e-5
        while True:
            with self._cond:
                while not (self._pending or self._grace or self._tasks):
                    self._cond.wait()
                tasks, self._tasks = self._tasks, []
            for task in tasks:
                try:
                    task()
                except Exception:  # a failed migration must not stop reclamation
                    _log.exception("reclaimer task failed")
            progressed = self._advance()
            with self._cond:
                self._cond.notify_all()
            delay = 1e-5 if progressed else min(delay * 2, 2e-3)
            time.sleep(delay)

    def _advance(self) -> bool:
        """Move every slot's grace period as far as it can go without waiting."""
        progressed = False
        with self._cond:
            for slot, units in list(self._pending.items()):
                if slot not in self._grace:
                    del self._pending[slot]
                    self._grace[slot] = _Grace(units, slot._flip())
                    progressed = True
            grace = list(self._grace.items())
        for slot, state in grace:
            if not slot._drained(state.epoch):
                continue
            progressed = True
            if state.flips == 1:
                state.epoch, state.flips = slot._flip(), 2
                continue
            for unit in state.batch:
                # One hold per publish: a unit shared by several slots is retired by the last of them to
                # let go, and only then (atomically, so a slot publishing it meanwhile keeps it alive).
                unit.release(retire=True)
                if self._on_reclaim is not None:
                    try:
                        self._on_reclaim(slot, unit)
                    except Exception:  # an observer's bug must not stop reclamation
                        _log.exception("reclaim listener failed")
            with self._cond:
                del self._grace[slot]
                self.reclaimed += len(state.batch)
        return progressed
