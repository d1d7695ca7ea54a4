"""``Session``: links units into rotating generations and keeps the number of generations small."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from ._elf import read_symbols
from .cache import ObjectCache
from .compiler import compile_ir
from .errors import CompileError, DylibError, LinkError
from .generation import Generation
from .options import CompileOptions
from .symbols import SymbolMap
from .unit import Unit

__all__ = ["Session", "SessionStats"]

# Sessions are owned here until closed explicitly: the garbage collector must never free JIT code.
_OPEN: set[Session] = set()


@dataclass(frozen=True)
class SessionStats:
    """A snapshot of a session's generations and units."""

    generations: int
    sealed_generations: int
    closed_generations: int
    live_units: int
    retired_units: int
    loaded_units: int
    migrated_units: int


class Session:
    """Owns generations (one LLJIT each) and links variants into the current one.

    A generation is sealed after ``units_per_generation`` links and closed once all its units are retired.
    Live units in a sealed generation are *stale*: their owner (the patch table) re-links them into the
    current generation with :meth:`migrate` and republishes, so only a small constant number of generations
    is ever open. ``cache`` is the object cache (``"default"``: on disk in the user cache directory;
    ``None``: none).
    """

    def __init__(
        self,
        *,
        units_per_generation: int = 100,
        cache: ObjectCache | Literal["default"] | None = "default",
    ) -> None:
        if not isinstance(units_per_generation, int) or units_per_generation < 1:
            raise DylibError(f"units_per_generation must be a positive int, got {units_per_generation!r}")
        self.units_per_generation = units_per_generation
        self.cache = ObjectCache() if cache == "default" else cache
        self._lock = threading.RLock()
        self._generations: list[Generation] = []
        self._created = 0
        self._closed_generations = 0
        self._loaded = 0
        self._migrated = 0
        self._seal_listeners: list[Callable[[], None]] = []
        self._closed = False
        _OPEN.add(self)

    def load(
        self,
        ir: str | bytes,
        *,
        exports: Iterable[str],
        symbols: SymbolMap | None = None,
        options: CompileOptions | None = None,
        compiler: Callable[[str, CompileOptions], bytes] | None = None,
    ) -> Unit:
        """Compile ``ir`` (LLVM IR text; or object bytes, used as they are) and link it as one unit.

        The unit may import only what ``symbols`` names; anything else raises :class:`LinkError` naming
        it. Every name in ``exports`` must be defined by the code. ``compiler`` replaces the in-process
        :func:`compile_ir` on a cache miss (a :class:`CompilerPool`'s ``compile``, say).
        """
        names = tuple(exports)
        if not names or any(not isinstance(n, str) or not n for n in names):
            raise LinkError(f"exports must be a non-empty list of names, got {names!r}")
        symbols = SymbolMap() if symbols is None else symbols.copy()
        code = self._object_code(ir, options or CompileOptions(), compiler or compile_ir)
        return self._link(code, names, symbols)

    def _object_code(
        self, ir: str | bytes, options: CompileOptions, compiler: Callable[[str, CompileOptions], bytes]
    ) -> bytes:
        if isinstance(ir, bytes | bytearray | memoryview):
            return bytes(ir)
        if not isinstance(ir, str):
            raise CompileError(f"load() takes IR text or object bytes, got {type(ir).__name__}")
        if self.cache is None:
            return compiler(ir, options)
        key = self.cache.key(ir, options)
        code = self.cache.get(key)
        if code is None:
            code = compiler(ir, options)
            self.cache.put(key, code)
        return code

    def _link(self, code: bytes, exports: tuple[str, ...], symbols: SymbolMap) -> Unit:
        table = read_symbols(code)
        missing = sorted(set(exports) - table.defined)
        if missing:
            raise LinkError(f"the code does not define exported symbol(s) {', '.join(missing)}", tuple(missing))
        unresolved = sorted(name for name in table.undefined if name not in symbols)
        if unresolved:
            raise LinkError(
                f"unresolved symbol(s) not in the unit's SymbolMap: {', '.join(unresolved)}", tuple(unresolved)
            )
        with self._lock:
            if self._closed:
                raise DylibError("session is closed")
            sealed = self._seal_if_full()
            unit = self._current().link(code, exports, symbols, sorted(table.undefined))
            self._loaded += 1
        if sealed:
            for listener in list(self._seal_listeners):
                listener()
        return unit

    def migrate(self, unit: Unit) -> Unit:
        """Re-link ``unit``'s object code into the current generation as a new unit.

        The old unit stays valid; its owner republishes the new one and retires the old one.
        """
        new = self._link(unit.object_code, unit.exports, unit.symbols)
        with self._lock:
            self._migrated += 1
        return new

    def stale_units(self) -> list[Unit]:
        """Live units that pin a sealed generation (candidates for :meth:`migrate`)."""
        with self._lock:
            return [u for g in self._generations if g.sealed for u in g.live.values()]

    def add_seal_listener(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` (outside the session lock) whenever a generation is sealed."""
        with self._lock:
            self._seal_listeners.append(listener)

    def stats(self) -> SessionStats:
        """Generations open, sealed and closed so far; live, retired, loaded and migrated units."""
        with self._lock:
            live = sum(len(g.live) for g in self._generations)
            return SessionStats(
                generations=len(self._generations),
                sealed_generations=sum(g.sealed for g in self._generations),
                closed_generations=self._closed_generations,
                live_units=live,
                retired_units=self._loaded - live,
                loaded_units=self._loaded,
                migrated_units=self._migrated,
            )

    def close(self) -> None:
        """Free every generation now. The caller promises no thread runs JIT code from this session."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for generation in list(self._generations):
                generation.close()
        _OPEN.discard(self)

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _seal_if_full(self) -> bool:
        # Sealing happens when the *next* unit arrives, so a unit migrated into the newest generation is
        # never stale the moment it is linked.
        if self._generations and not self._generations[-1].sealed:
            newest = self._generations[-1]
            if newest.linked >= self.units_per_generation:
                newest.sealed = True
                if not newest.live:
                    newest.close()
                return True
        return False

    def _current(self) -> Generation:
        if not self._generations or self._generations[-1].sealed:
            self._generations.append(Generation(self._created, self._lock, self._forget))
            self._created += 1
        return self._generations[-1]

    def _forget(self, generation: Generation) -> None:
        with self._lock:
            self._generations.remove(generation)
            self._closed_generations += 1
