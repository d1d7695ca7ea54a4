"""The process-wide runtime: one dylibs session (with the object cache) and one patch table for all kernels."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from dylibs import Session, Unit
from patcher import PatchTable, Slot

__all__ = ["Runtime", "permanent_session", "runtime"]


@dataclass(frozen=True)
class Runtime:
    """The session every variant links into and the table every kernel slot lives in."""

    session: Session
    table: PatchTable
    #: slot -> callback(unit) when a unit replaced in that slot has been reclaimed
    reclaimed: dict[Slot, Callable[[Unit], object]] = field(default_factory=dict)

    def _dispatch(self, slot: Slot, unit: Unit) -> None:
        callback = self.reclaimed.get(slot)
        if callback is not None:
            callback(unit)


_lock = threading.Lock()
_runtime: Runtime | None = None


def runtime() -> Runtime:
    """The shared runtime, created on first use."""
    global _runtime
    with _lock:
        if _runtime is None:
            session = Session()
            _runtime = Runtime(session, PatchTable(session))
            _runtime.table.add_reclaim_listener(_runtime._dispatch)
        return _runtime


_permanent: Session | None = None


def permanent_session() -> Session:
    """A session that is never sealed: native entries and timing loops live as long as the process."""
    global _permanent
    with _lock:
        if _permanent is None:
            _permanent = Session(units_per_generation=sys.maxsize)
        return _permanent
