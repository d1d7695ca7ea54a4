"""The background tuner: one daemon thread that runs every kernel's search, hot kernels first.

``start()``, ``stop()``, ``wait(kernel, timeout)`` and ``status()`` act on the process-wide tuner. Kernels
attach when decorated; a kernel's first call for a key queues its search, and the thread (started then,
unless ``AUTOTUNE_BACKGROUND=0``) runs one trial at a time, always for the search whose slot has the most
calls. Callers never wait for it: a swap is one atomic store in the slot. At interpreter exit the thread
finishes its trial and stops, so storage is consistent.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
import threading
import time
import warnings
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from dylibs import CompilerPool

from .config import Config, current
from .errors import StorageError, TuningError
from .kernel import Binding, Kernel
from .records import BestRecords
from .search import Measure, Search
from .space import Value
from .storage import open_storage, storage_url, study_name

__all__ = ["SearchStatus", "Tuner", "attach", "start", "status", "stop", "tune", "tuner", "wait"]

_log = logging.getLogger("autotune")


@dataclass(frozen=True)
class SearchStatus:
    """Where one (kernel, key) search stands."""

    kernel: str
    key: Hashable
    study: str
    trials: int
    done: bool
    reason: str
    live: dict[str, Value]
    calls: int


class Tuner:
    """Runs :class:`Search` steps on a daemon thread; ``measure`` replaces native timing (for tests)."""

    def __init__(self, *, config: Config | None = None, measure: Measure | None = None) -> None:
        self._config = config
        self._measure = measure
        self._records = BestRecords()
        self._pool = CompilerPool(tasks_per_worker=100, nice=self.config.nice)
        self._cond = threading.Condition()
        self._searches: dict[tuple[int, Hashable], Search] = {}
        self._stepping: set[tuple[int, Hashable]] = set()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._saved_interval: float | None = None

    @property
    def config(self) -> Config:
        return self._config or current()

    # -- kernels ---------------------------------------------------------------------------------------
    def attach(self, kernel: Kernel) -> None:
        """Let ``kernel`` start from stored bests and queue a search for each key it is called with."""
        kernel.initial = self._initial
        kernel.add_listener(self._on_binding)

    def _initial(self, kernel: Kernel, key: Hashable) -> tuple[dict[str, Value], float] | None:
        return self._records.load(study_name(kernel, key))

    def _on_binding(self, kernel: Kernel, binding: Binding) -> None:
        with self._cond:
            self._search_for(kernel, binding)
            self._cond.notify_all()
        if self.config.background:
            self.start()

    def _search_for(self, kernel: Kernel, binding: Binding) -> Search:
        """The search of ``binding``, created on first use (call with ``self._cond`` held)."""
        search_key = (id(kernel), binding.key)
        search = self._searches.get(search_key)
        if search is None:
            search = self._searches[search_key] = self._new_search(kernel, binding)
        return search

    def _new_search(self, kernel: Kernel, binding: Binding) -> Search:
        name = study_name(kernel, binding.key)
        url = storage_url(self.config)
        try:
            storage: Any = open_storage(url)
        except StorageError as exc:
            import optuna

            _log.error("%s; tuning %s in memory only", exc, kernel.name)
            kernel.events.add("error", binding.key, detail=str(exc))
            storage = optuna.storages.InMemoryStorage()
        return Search(
            kernel,
            binding,
            name,
            storage,
            self.config,
            measure=self._measure,
            records=self._records,
            compiler=self._pool.compile,
        )

    # -- the thread ------------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the daemon thread if it is not running."""
        with self._cond:
            self._stopping = False
            if self._thread is None or not self._thread.is_alive():
                _quiet_optuna()
                self._thread = threading.Thread(target=self._run, name="autotune-tuner", daemon=True)
                self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the current trial and stop the thread; searches keep their state for a later start."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _run(self) -> None:
        try:  # Linux: PRIO_PROCESS with a thread id renices just this thread
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), self.config.nice)
        except (OSError, AttributeError):
            pass
        try:
            self._loop()
        finally:
            self._interval(active=False)

    def _interval(self, *, active: bool) -> None:
        """Shorten CPython's GIL switch interval while tuning; restore the caller's value when idle."""
        wanted = self.config.switch_interval
        if active and wanted is not None and self._saved_interval is None:
            self._saved_interval = sys.getswitchinterval()
            sys.setswitchinterval(min(wanted, self._saved_interval))
        elif not active and self._saved_interval is not None:
            sys.setswitchinterval(self._saved_interval)
            self._saved_interval = None

    def _loop(self) -> None:
        while True:
            with self._cond:
                search = self._next()
                if search is None:
                    self._interval(active=False)
                while search is None and not self._stopping:
                    self._cond.wait(0.5)
                    search = self._next()
                if self._stopping or search is None:
                    return
                self._interval(active=True)
                search_key = (id(search.kernel), search.binding.key)
                self._stepping.add(search_key)
            try:
                search.step()
            except Exception as exc:  # a broken search is retired; the thread lives on
                _log.exception("search %s failed; giving up on it", search.name)
                search.kernel.events.add("error", search.binding.key, detail=f"{type(exc).__name__}: {exc}")
                search.done, search.reason = True, f"error: {exc}"
            finally:
                with self._cond:
                    self._stepping.discard(search_key)
                    self._cond.notify_all()

    def _next(self) -> Search | None:
        """The next search to step: hot kernels first, in proportion to their calls.

        Priority is calls per trial already run, so the hottest kernel gets most trials but a kernel called
        as often as another is never starved until the other finishes. Searches being stepped elsewhere or
        without a captured call wait.
        """
        active = [s for k, s in self._searches.items() if not s.done and k not in self._stepping and s.binding.samples]
        return max(active, key=lambda s: s.binding.slot.calls / (s.trials_run + 1), default=None)

    # -- waiting, reporting, synchronous tuning --------------------------------------------------------
    def wait(self, kernel: Kernel, timeout: float | None = None) -> bool:
        """Block until every search of ``kernel`` is done; False on timeout (or if it was never called)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                mine = [s for (kid, _), s in self._searches.items() if kid == id(kernel)]
                if mine and all(s.done for s in mine):
                    return True
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cond.wait(0.2 if left is None else min(left, 0.2))

    def status(self) -> list[SearchStatus]:
        """One record per search."""
        with self._cond:
            searches = list(self._searches.values())
        return [
            SearchStatus(
                s.kernel.name,
                s.binding.key,
                s.name,
                s.trials_run,
                s.done,
                s.reason,
                dict(s.binding.live),
                s.binding.slot.calls,
            )
            for s in searches
        ]

    def tune(
        self, kernel: Kernel, *, n_trials: int | None = None, timeout: float | None = None, progress: bool = True
    ) -> dict[str, Value]:
        """Run ``kernel``'s searches in this thread (the background thread skips them meanwhile)."""
        if not kernel.bindings:
            raise TuningError(f"{kernel.name}: call the kernel once before tuning (tuning runs on real inputs)")
        _quiet_optuna()
        deadline = None if timeout is None else time.monotonic() + timeout
        for binding in kernel.bindings:
            search_key = (id(kernel), binding.key)
            with self._cond:
                search = self._search_for(kernel, binding)
                while search_key in self._stepping:
                    self._cond.wait(0.1)
                self._stepping.add(search_key)
            try:
                ran = 0
                while (n_trials is None or ran < n_trials) and (deadline is None or time.monotonic() < deadline):
                    before = search.trials_run
                    if not search.step():
                        break
                    ran += search.trials_run - before
                    if progress:
                        _progress(kernel, binding, search, ran, n_trials)
            finally:
                with self._cond:
                    self._stepping.discard(search_key)
                    self._cond.notify_all()
                if progress:
                    print(file=sys.stderr)
        if kernel.key_fn is not None or not kernel.bindings:
            return {}
        return dict(kernel.bindings[0].live)

    def close(self) -> None:
        """Stop the thread, free every search's private units and the compile workers (interpreter exit)."""
        self.stop(timeout=10)
        with self._cond:
            for search in self._searches.values():
                if (id(search.kernel), search.binding.key) not in self._stepping:
                    search.close()
        self._pool.close()


def _progress(kernel: Kernel, binding: Binding, search: Search, ran: int, total: int | None) -> None:
    width = 30
    done = width if not total else min(width, width * ran // total)
    bar = "#" * done + "." * (width - done)
    best = min((e.value for e in kernel.events.events() if e.kind in ("swap", "adopt") and e.value), default=1.0)
    print(
        f"\rtuning {kernel.info.name}[{binding.key!r}] [{bar}] {ran}/{total or '?'} trials, "
        f"live {1 / best:.2f}x default{' (' + search.reason + ')' if search.done else ''}   ",
        end="",
        file=sys.stderr,
        flush=True,
    )


def _quiet_optuna() -> None:
    """optuna logs every trial at INFO and warns that multivariate TPE is experimental; keep it quiet."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


_tuner = Tuner()
atexit.register(_tuner.close)


def tuner() -> Tuner:
    """The process-wide tuner."""
    return _tuner


def attach(kernel: Kernel) -> None:
    """Register ``kernel`` with the process-wide tuner (the decorator does this)."""
    _tuner.attach(kernel)


def start() -> None:
    """Start the background thread."""
    _tuner.start()


def stop(timeout: float = 30.0) -> None:
    """Stop the background thread after its current trial."""
    _tuner.stop(timeout)


def wait(kernel: Kernel, timeout: float | None = None) -> bool:
    """Wait until ``kernel``'s searches are done."""
    return _tuner.wait(kernel, timeout)


def status() -> list[SearchStatus]:
    """Every search's state."""
    return _tuner.status()


def tune(
    kernel: Kernel, *, n_trials: int | None = None, timeout: float | None = None, progress: bool = True
) -> dict[str, Value]:
    """Tune ``kernel`` synchronously (what ``kernel.tune`` calls)."""
    return _tuner.tune(kernel, n_trials=n_trials, timeout=timeout, progress=progress)
