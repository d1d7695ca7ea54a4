"""The process-wide runtime: one dylibs session (with the object cache) and one patch table for all kernels."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from dylibs import Session
from patcher import PatchTable

__all__ = ["Runtime", "runtime"]


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
