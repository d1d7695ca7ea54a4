"""``EventLog``: what happened to a kernel (trials, swaps, reclamations), kept in memory for plots."""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Hashable
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["Event", "EventLog", "rss_kb"]


def rss_kb() -> int:
    """Resident set size of this process in KiB (0 where /proc is missing)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
    except OSError:
        return 0


@dataclass(frozen=True)
class Event:
    """One thing that happened. ``kind``: trial, fail, swap, adopt, rollback (the live variant failed a check),
    check (the live variant re-validated on fresh calls), reclaim, done or error.

    ``value`` is the variant's time relative to the default variant (lower is faster).
    """

    time: float
    kind: str
    key: Hashable
    trial: int | None = None
    params: dict[str, Any] | None = None
    value: float | None = None
    ns_per_call: float | None = None
    detail: str = ""
    rss_kb: int = 0


class EventLog:
    """A bounded, thread-safe list of events."""

    def __init__(self, limit: int = 20_000) -> None:
        self._events: deque[Event] = deque(maxlen=limit)
        self._lock = threading.Lock()

    def add(self, kind: str, key: Hashable, **fields: Any) -> Event:
        """Record an event now (with the current RSS)."""
        event = Event(time=time.time(), kind=kind, key=key, rss_kb=rss_kb(), **fields)
        with self._lock:
            self._events.append(event)
        return event

    def events(self) -> list[Event]:
        """A copy of the events, oldest first."""
        with self._lock:
            return list(self._events)

    def records(self) -> list[dict[str, Any]]:
        """Events as plain dicts (what ``pandas.DataFrame`` or a plot wants)."""
        return [asdict(e) for e in self.events()]
