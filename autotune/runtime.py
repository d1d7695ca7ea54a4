"""The process-wide runtime: one dylibs session (with the object cache) and one patch table for all kernels."""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass

from dylibs import Session
from patcher import PatchTable

__all__ = ["Runtime", "permanent_session", "runtime"]


@dataclass(frozen=True)
class Runtime:
    """The session every variant links into and the table every kernel slot lives in."""

    session: Session
    table: PatchTable


_lock = threading.Lock()
_runtime: Runtime | None = None


def runtime() -> Runtime:
    """The shared runtime, created on first use."""
    global _runtime
    with _lock:
        if _runtime is None:
            session = Session()
            _runtime = Runtime(session, PatchTable(session))
        return _runtime


_permanent: Session | None = None


def permanent_session() -> Session:
    """A session that is never sealed: native entries and timing loops live as long as the process."""
    global _permanent
    with _lock:
        if _permanent is None:
            _permanent = Session(units_per_generation=sys.maxsize)
        return _permanent
