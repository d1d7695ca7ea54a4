"""The runtime JIT: trampolines and atomic helpers that live as long as the process.

Trampolines are linked into a dylibs session that is never sealed or closed, so a slot's address stays
valid for the life of the process. The Python side of the reclamation protocol needs sequentially
consistent stores and loads (a plain store from Python could sit in the store buffer while a later load
overtakes it, the x86 store-load reordering in Intel SDM vol. 3A, 9.2.3.4), so those are JIT-compiled too.
"""

from __future__ import annotations

import ctypes
import sys
import threading
from typing import Any

from dylibs import Session, SymbolMap, Unit

__all__ = ["atomic_load", "atomic_store", "link_permanent"]

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
_lock = threading.Lock()
_session: Session | None = None
_helpers: dict[str, Any] = {}


def _runtime() -> Session:
    global _session
    with _lock:
        if _session is None:
            # Never sealed: trampolines must never move or be reclaimed.
            _session = Session(units_per_generation=sys.maxsize, cache=None)
            unit = _session.load(_ATOMICS_IR, exports=["store_seq_cst", "load_seq_cst"])
            _helpers["store"] = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_uint64)(
                unit.address("store_seq_cst")
            )
            _helpers["load"] = ctypes.CFUNCTYPE(ctypes.c_uint64, ctypes.c_void_p)(unit.address("load_seq_cst"))
        return _session


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
