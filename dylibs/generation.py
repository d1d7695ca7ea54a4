"""``Generation``: one LLJIT holding a bounded number of units.

Measured: a closed library still leaks about 10 KB inside its LLJIT (the empty JITDylib and its name stay
until the LLJIT dies), while closing the LLJIT frees everything. So units go into generations; a sealed
generation whose units are all retired is closed as a whole.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

import llvmlite.binding as llvm

from ._llvm import host_target
from .errors import LinkError, UnitStateError
from .symbols import SymbolMap
from .unit import Unit

__all__ = ["Generation"]


class Generation:
    """One LLJIT and the units linked into it. All state changes happen under the session's lock."""

    def __init__(self, index: int, lock: threading.RLock, on_empty: Callable[[Generation], None]) -> None:
        self.index = index
        self.lock = lock
        self.linked = 0
        self.sealed = False
        self.closed = False
        self.live: dict[str, Unit] = {}
        self._on_empty = on_empty
        host_target()  # registers the native target, which a process that never compiled has not done
        self._jit: Any = llvm.create_lljit_compiler(None)

    def link(self, object_code: bytes, exports: Iterable[str], symbols: SymbolMap, imports: Iterable[str]) -> Unit:
        """Link one object as a new library; ``imports`` are the names it needs from ``symbols``."""
        name = f"u{self.index}_{self.linked}"
        builder = llvm.JITLibraryBuilder().add_object_img(object_code)
        for symbol in imports:
            builder.import_symbol(symbol, symbols[symbol])
        for symbol in exports:
            builder.export_symbol(symbol)
        self.linked += 1  # library names can never be reused within one LLJIT, even after a failure
        try:
            tracker = builder.link(self._jit, name)
        except RuntimeError as exc:
            raise LinkError(f"LLVM failed to link unit {name}: {str(exc).strip()}") from None
        addresses = {symbol: tracker[symbol] for symbol in exports}
        unit = Unit(name, self, tracker, object_code, addresses, symbols)
        self.live[name] = unit
        return unit

    def free(self, unit: Unit) -> None:
        """Retire ``unit`` (idempotent); close the LLJIT when a sealed generation empties."""
        with self.lock:
            if unit.retired:
                return
            if unit.holds:
                raise UnitStateError(f"unit {unit.name} is still published ({unit.holds} holder(s))")
            unit._dispose()
            del self.live[unit.name]
            if self.sealed and not self.live:
                self.close()

    def close(self) -> None:
        """Free the LLJIT. Trackers must already be closed: an LLJIT frees nothing while one lives."""
        with self.lock:
            if self.closed:
                return
            for unit in list(self.live.values()):
                unit._dispose()
            self.live.clear()
            self.closed = True
            self._jit.close()
            self._on_empty(self)
