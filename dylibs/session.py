"""``Session``: links units into rotating generations and keeps the number of generations small."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from ._elf import read_symbols
from .cache import ObjectCache
from .compiler import compile_ir, pipeline_runs
from .errors import CompileError, DylibError, LinkError
from .generation import Generation
from .options import CompileOptions
from .symbols import SymbolMap
from .unit import Unit
from .workers import release_shared_pool, shared_pool

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
    #: cache misses this session compiled in this process / in the shared worker (not a ``compiler=`` of load)
    compiled_in_process: int = 0
    compiled_in_worker: int = 0


class Session:
    """Owns generations (one LLJIT each) and links variants into the current one.

    A generation is sealed after ``units_per_generation`` links and closed once all its units are retired.
    The few live units left in a mostly drained sealed generation (at most a quarter of its links still
    live) are *stale*: their owner (the patch table) re-links them into the current generation with
    :meth:`migrate` and republishes, so the generation closes. A sealed generation that is still mostly
    live is left alone: re-linking it would fill and seal the next generation with the same units, a
    migration storm that never ends once more than ``units_per_generation`` units are live. So each
    migrated unit is paid for by at least three retired ones (migration work is proportional to what
    changed), an application that stops swapping stops linking, and at most four times the live units'
    code is held. ``cache`` is the object cache (``"default"``: on disk in the user cache directory;
    ``None``: none).

    Where cache misses compile: every optimisation pipeline leaks about 60 KB inside llvmlite that nothing
    frees, so a long-lived session must not run thousands of them in its own process. While this process
    has run fewer than ``in_process_compiles`` pipelines (:func:`dylibs.compiler.pipeline_runs`, counted
    for the whole process because the leak is the process's: other sessions, :func:`compile_ir` and the
    inspection functions all count), a miss compiles here, which costs no worker for programs that compile
    little. After that it compiles in the worker process that all sessions of this process share
    (:func:`dylibs.workers.shared_pool`; replaced every 100 compiles), so this process's leak stops at
    about ``in_process_compiles`` x 60 KB; the worker costs about 25-30 MB while it runs and 3 ms more per
    compile. It is started on the first such compile, never before, and stopped when the last session
    that used it is closed; a forked child starts its own. ``0`` compiles every miss in the worker,
    ``None`` every miss here (the old behaviour, unbounded). A ``compiler=`` given to :meth:`load` always
    wins.
    """

    def __init__(
        self,
        *,
        units_per_generation: int = 100,
        cache: ObjectCache | Literal["default"] | None = "default",
        in_process_compiles: int | None = 32,
    ) -> None:
        if not isinstance(units_per_generation, int) or units_per_generation < 1:
            raise DylibError(f"units_per_generation must be a positive int, got {units_per_generation!r}")
        if in_process_compiles is not None and (
            not isinstance(in_process_compiles, int) or isinstance(in_process_compiles, bool) or in_process_compiles < 0
        ):
            raise DylibError(f"in_process_compiles must be an int >= 0 or None, got {in_process_compiles!r}")
        self.units_per_generation = units_per_generation
        self.in_process_compiles = in_process_compiles
        self.cache = ObjectCache() if cache == "default" else cache
        self._lock = threading.RLock()
        self._generations: list[Generation] = []
        self._created = 0
        self._closed_generations = 0
        self._loaded = 0
        self._migrated = 0
        self._compiled_in_process = 0
        self._compiled_in_worker = 0
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
        it. Every name in ``exports`` must be defined by the code. ``compiler`` replaces the session's own
        choice between :func:`compile_ir` here and the shared worker on a cache miss (a
        :class:`CompilerPool`'s ``compile``, say).
        """
        names = tuple(exports)
        if not names or any(not isinstance(n, str) or not n for n in names):
            raise LinkError(f"exports must be a non-empty list of names, got {names!r}")
        code = self._object_code(ir, options or CompileOptions(), compiler or self._compile)
        return self._link(code, names, SymbolMap() if symbols is None else symbols)

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

    def _compile(self, ir: str, options: CompileOptions) -> bytes:
        """A cache miss without a caller's compiler: here within the in-process budget, else in the worker."""
        budget = self.in_process_compiles
        if budget is None or pipeline_runs() < budget:
            code = compile_ir(ir, options)
            with self._lock:
                self._compiled_in_process += 1
            return code
        with self._lock:
            if self._closed:  # a closed session must not start (and then hold) a worker
                raise DylibError("session is closed")
            pool = shared_pool(self)
        code = pool.compile(ir, options)
        with self._lock:
            self._compiled_in_worker += 1
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
        # The unit keeps (for migration) only the bindings it imports, not a copy of the whole map: a
        # variant's map holds libm's ~200 names, which cost about 8 KB per unit.
        imports = sorted(table.undefined)
        kept = symbols.subset(imports)
        with self._lock:
            if self._closed:
                raise DylibError("session is closed")
            sealed = self._seal_if_full()
            unit = self._current().link(code, exports, kept, imports)
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
        """Live units that pin a mostly drained sealed generation (candidates for :meth:`migrate`)."""
        with self._lock:
            return [u for g in self._generations if g.sealed and _drained(g) for u in g.live.values()]

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
                compiled_in_process=self._compiled_in_process,
                compiled_in_worker=self._compiled_in_worker,
            )

    def close(self) -> None:
        """Free every generation now and let go of the shared compile worker. Safe to call twice.

        The worker stops unless another open session still uses it. The caller promises no thread runs JIT
        code from this session.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for generation in list(self._generations):
                generation.close()
        _OPEN.discard(self)
        release_shared_pool(self)

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


def _drained(generation: Generation) -> bool:
    """At most a quarter of the generation's links are still live: worth re-linking them to close it."""
    return len(generation.live) * _DRAINED_RATIO <= generation.linked


#: a sealed generation is migrated away from once no more than 1/_DRAINED_RATIO of its links are live
_DRAINED_RATIO = 4
