"""The runtime JIT: trampolines and the reclaimer's native helpers, alive as long as the process.

Trampolines are linked into a dylibs session that is never sealed or closed, so a slot's address stays
valid for the life of the process. The Python side of the reclamation protocol needs sequentially
consistent stores and loads (a plain store from Python could sit in the store buffer while a later load
overtakes it: Intel SDM vol. 3A, 8.2.3.4), so those are JIT-compiled too.
"""

from __future__ import annotations

import ctypes
import sys
import threading
from typing import Any

from dylibs import Session, SymbolMap, Unit

from .trampoline import DRAIN_IR

__all__ = ["atomic_load", "atomic_store", "drained", "link_permanent", "membarrier", "membarrier_available"]

_ATOMICS_IR = """
define void @store_seq_cst(ptr %p, i64 %v) nounwind {
  store atomic i64 %v, ptr %p seq_cst, align 8
  ret void
}
define i64 @load_seq_cst(ptr %p) nounwind {
  %v = load atomic i64, ptr %p seq_cst, align 8
  ret i64 %v
}
"""
_SYS_MEMBARRIER = {"x86_64": 324}
_REGISTER_PRIVATE_EXPEDITED, _PRIVATE_EXPEDITED = 1 << 4, 1 << 3

_lock = threading.Lock()
_session: Session | None = None
_helpers: dict[str, Any] = {}


def _runtime() -> Session:
    global _session
    with _lock:
        if _session is None:
            # Never sealed: trampolines must never move or be reclaimed. Their IR and the helpers' hold no
            # addresses (slots are bound at link time), so the object cache serves them: compiling them
            # cost every process's first call about 30 ms.
            session = Session(units_per_generation=sys.maxsize)
            unit = session.load(_ATOMICS_IR + DRAIN_IR, exports=["store_seq_cst", "load_seq_cst", "drained"])
            p, i64 = ctypes.c_void_p, ctypes.c_uint64
            _helpers["store"] = ctypes.CFUNCTYPE(None, p, i64)(unit.address("store_seq_cst"))
            _helpers["load"] = ctypes.CFUNCTYPE(i64, p)(unit.address("load_seq_cst"))
            _helpers["drained"] = ctypes.CFUNCTYPE(i64, p, i64)(unit.address("drained"))
            _helpers["membarrier"] = _register_membarrier()
            _session = session
        return _session


def _register_membarrier() -> Any:
    """The membarrier syscall bound for this process, or None where the kernel lacks it."""
    import platform

    number = _SYS_MEMBARRIER.get(platform.machine())
    if number is None:
        return None
    syscall = ctypes.CDLL(None, use_errno=True).syscall
    syscall.restype = ctypes.c_long
    if syscall(number, _REGISTER_PRIVATE_EXPEDITED, 0) != 0:
        return None
    return lambda: syscall(number, _PRIVATE_EXPEDITED, 0)


def link_permanent(ir: str, exports: list[str], symbols: SymbolMap) -> Unit:
    """Link ``ir`` into the runtime JIT; the returned unit is never retired."""
    return _runtime().load(ir, exports=exports, symbols=symbols)


def atomic_store(address: int, value: int) -> None:
    """Sequentially consistent 64-bit store (a full fence on x86: later loads cannot pass it)."""
    _runtime()
    _helpers["store"](address, value)


def atomic_load(address: int) -> int:
    """Sequentially consistent 64-bit load."""
    _runtime()
    return int(_helpers["load"](address))


def drained(slot_address: int, epoch: int) -> bool:
    """Whether every call counted into ``epoch`` of the slot at ``slot_address`` has left."""
    _runtime()
    return bool(_helpers["drained"](slot_address, epoch))


def membarrier_available() -> bool:
    """True when per-thread trampolines may be used (the reclaimer can fence every running thread)."""
    _runtime()
    return _helpers["membarrier"] is not None


def membarrier() -> None:
    """Make every thread of the process execute a full memory barrier before this returns."""
    _runtime()
    fence = _helpers["membarrier"]
    if fence is not None and fence() != 0:
        raise OSError(ctypes.get_errno(), "membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) failed")
