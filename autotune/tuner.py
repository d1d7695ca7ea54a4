"""The background tuner: the host's thin side of tuning, one daemon thread driving the tuning worker.

``start()``, ``stop()``, ``wait(kernel, timeout)`` and ``status()`` act on the process-wide tuner. Kernels
attach when decorated; a kernel's first call for a key queues its search, and the thread (started then,
unless ``AUTOTUNE_BACKGROUND=0`` or ``stop()`` was called) asks the worker process for one trial at a
time, always for the search whose slot has the most calls. Everything heavy (optuna and its storage,
lowering, compiling, validating, measuring) happens in the worker (:mod:`autotune.server`); this side only
sends steps, links the object code of a winner and publishes it, which callers never wait for. A trial
whose candidate kills or hangs the worker fails with the reason (``signal SIGSEGV``, ``timeout after
2.0 s``), is recorded as FAIL by the next worker, and tuning goes on. At interpreter exit the thread
finishes its trial and stops, so storage is consistent.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import logging
import os
import threading
import time
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any, Protocol

from .budget import OverBudget, cpu_budget
from .config import Config, current
from .errors import TuningError
from .kernel import Binding, Kernel
from .messages import EventRecord, NeedIR, NeedPython, Notice, Step, StepReply
from .progress import TuneProgress
from .records import BestRecords
from .runtime import runtime
from .sample import SharedSample
from .search import Measure
from .space import Value
from .spec import kernel_spec
from .storage import study_name
from .worker import Worker, WorkerDied
from .workspace import python_outputs

__all__ = ["SearchStatus", "Tuner", "attach", "start", "status", "stop", "tune", "tuner", "wait"]

_log = logging.getLogger("autotune")
#: A search whose worker dies this many times before its first trial gives up.
_PREPARE_DEATHS = 3
_numbers = itertools.count(1)


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


@dataclass(eq=False)
class _Search:
    """The host's record of one search; the search itself lives in the worker."""

    kernel: Kernel
    binding: Binding
    study: str
    trials_run: int = 0
    done: bool = False
    reason: str = ""
    generation: int = -1  # the worker generation that has it open
    deaths: int = 0
    failed: list[tuple[int, str]] = field(default_factory=list)
    number: int = field(default_factory=lambda: next(_numbers))  # how the worker knows this search
    started: float | None = None  # monotonic time of its first step
    extents: bool = True  # False once the reference crashed the worker on inputs cut to other extents
    revoked: list[tuple[dict[str, Value], str]] = field(default_factory=list)  # rolled back, to record
    checked: float = field(default_factory=time.monotonic)  # when a fresh call was last asked for
    calls_at_check: int = 0
    deadline: float | None = None  # a caller's tune(timeout=) ends then


class _Channel(Protocol):
    def start(self) -> int: ...
    def request(self, step: Step, answer: Any) -> StepReply: ...
    def close(self, timeout: float = 5.0) -> None: ...
    def forget(self) -> None: ...


class _Inline:
    """The worker's logic in this process, with an injected clock: for tests of tuning logic only."""

    def __init__(self, measure: Measure) -> None:
        from .server import Server

        self.generation = 1
        self._answer: Any = None
        self._server = Server(lambda notice: self._answer(notice), measure=measure, pooled=False)

    def start(self) -> int:
        return self.generation

    def request(self, step: Step, answer: Any) -> StepReply:
        self._answer = answer
        return self._server.handle(step)

    def close(self, timeout: float = 5.0) -> None:
        self._server.close()

    def forget(self) -> None:
        pass


class Tuner:
    """Drives searches in the worker from a daemon thread; ``measure`` runs the logic in-process (tests)."""

    def __init__(self, *, config: Config | None = None, measure: Measure | None = None) -> None:
        self._config = config
        self._records = BestRecords()
        self._worker: _Channel = _Inline(measure) if measure is not None else Worker(config.nice if config else None)
        self._cond = threading.Condition()
        self._step_lock = threading.Lock()  # one request at a time goes to the worker
        self._searches: dict[tuple[int, Hashable], _Search] = {}
        self._stepping: set[tuple[int, Hashable]] = set()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._stopped = False  # stop() was called: new kernels do not restart the thread
        self._warned: set[tuple[str, str]] = set()
        self._scanned = 0.0  # when _request_captures last looked

    @property
    def config(self) -> Config:
        return self._config or current()

    # -- kernels ---------------------------------------------------------------------------------------
    def attach(self, kernel: Kernel) -> None:
        """Let ``kernel`` start from stored bests and queue a search for each key it is called with."""
        kernel.initial = self._initial
        kernel.tuning = self
        kernel.add_listener(self._on_binding)

    def _initial(self, kernel: Kernel, key: Hashable) -> tuple[dict[str, Value], float] | None:
        return self._records.load(study_name(kernel, key))

    def _on_binding(self, kernel: Kernel, binding: Binding) -> None:
        with self._cond:
            self._search_for(kernel, binding)
            self._cond.notify_all()
            wanted = self.config.background and not self._stopped
        if wanted:
            self.start()

    def _search_for(self, kernel: Kernel, binding: Binding) -> _Search:
        """The search of ``binding``, created on first use (call with ``self._cond`` held). Opens nothing:
        the worker opens storage when the search first steps."""
        search_key = (id(kernel), binding.key)
        search = self._searches.get(search_key)
        if search is None:
            search = self._searches[search_key] = _Search(kernel, binding, study_name(kernel, binding.key))
        return search

    # -- the thread ------------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the daemon thread if it is not running."""
        with self._cond:
            self._stopping = self._stopped = False
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="autotune-tuner", daemon=True)
                self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the current trial and stop the thread until :meth:`start`; searches keep their state."""
        with self._cond:
            self._stopping = self._stopped = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _loop(self) -> None:
        while True:
            self._request_captures()  # outside the condition: it takes kernel locks, which come first
            with self._cond:
                search = None if self._stopping else self._next()
                if search is None and not self._stopping:
                    self._cond.wait(0.5)
                    continue
                if self._stopping or search is None:
                    return
                search_key = (id(search.kernel), search.binding.key)
                self._stepping.add(search_key)
            try:
                self._step(search)
            except Exception as exc:  # a broken search is retired; the thread lives on
                _log.exception("search %s failed; giving up on it", search.study)
                search.kernel.events.add("error", search.binding.key, detail=f"{type(exc).__name__}: {exc}")
                search.done, search.reason = True, f"error: {exc}"
            finally:
                with self._cond:
                    self._stepping.discard(search_key)
                    self._cond.notify_all()

    def _next(self) -> _Search | None:
        """The next search to step: hot kernels first, in proportion to their calls.

        Priority is calls per trial already run, so the hottest kernel gets most trials but a kernel called
        as often as another is never starved until the other finishes. Searches being stepped elsewhere or
        without a captured call wait.
        """
        idle = [(k, s) for k, s in self._searches.items() if k not in self._stepping]
        checks = [s for _, s in idle if s.binding.fresh and s.binding.sample]
        if checks:  # checking what is live comes before finding something faster
            return checks[0]
        active = [s for _, s in idle if not s.done and s.binding.sample]
        return max(active, key=lambda s: s.binding.slot.calls / (s.trials_run + 1), default=None)

    def _request_captures(self) -> None:
        """Ask one key a second for a fresh call to validate on: a key still being tuned (its candidates
        then meet more than the first call) or one whose live variant is not the default (which is then
        checked again). Each key is looked at once per ``revalidate_seconds`` at most, and only if it was
        called since: an idle application costs a comparison per key per period."""
        period = self.config.revalidate_seconds
        now = time.monotonic()
        if not period or now - self._scanned < 1.0:
            return
        self._scanned = now
        with self._cond:
            due = [s for s in self._searches.values() if now - s.checked >= period and s.binding.sample is not None]
        for search in sorted(due, key=lambda s: s.checked):
            binding = search.binding
            search.checked = now
            if binding.capture_wanted or binding.fresh:
                continue
            if search.done and binding.live == search.kernel.space.default:
                continue
            calls = binding.slot.calls
            if calls != search.calls_at_check:
                search.calls_at_check = calls
                search.kernel.recapture(binding)
                return

    # -- one step --------------------------------------------------------------------------------------
    def _step(self, search: _Search) -> bool:
        """Ask the worker for one trial of ``search`` and apply the reply; False once the search is done."""
        binding = search.binding
        fresh = self._distinct(binding)
        if search.done and not fresh:
            return False
        sample = binding.sample
        if sample is None:
            raise TuningError(f"{search.kernel.name}: no captured call to tune on")
        with self._step_lock, contextlib.ExitStack() as shared:
            generation = self._worker.start()
            left = None if search.deadline is None else max(search.deadline - time.monotonic(), 0.0)
            options: dict[str, Any] = {"revoked": tuple(search.revoked), "extents": search.extents, "time_left": left}
            if fresh:
                options["fresh"] = tuple(shared.enter_context(f.shared()) for f in fresh)
            if search.generation != generation:  # a new worker: send the kernel, the samples, what happened
                search.started = time.monotonic() if search.started is None else search.started
                options["spec"] = kernel_spec(search.kernel, binding, search.study, self.config)
                options["samples"] = tuple(shared.enter_context(x.shared()) for x in [sample, *binding.captures])
                options["failed"] = tuple(search.failed)
                options["elapsed"] = time.monotonic() - search.started
            try:
                reply = self._worker.request(Step(search.number, **options), lambda n: self._answer(search, n))
            except WorkerDied as death:
                self._died(search, death)
                return not search.done
            finally:
                self._keep(binding, fresh)
            search.generation, search.failed, search.revoked = generation, [], []
        self._apply(search, reply)
        return not search.done

    def _distinct(self, binding: Binding) -> list[SharedSample]:
        """``binding``'s fresh captures, less those that repeat a call it already holds (closed here)."""
        kept: list[SharedSample] = []
        for capture in list(binding.fresh):
            held = [binding.sample, *binding.captures, *kept]
            if any(h is not None and h.same_as(capture) for h in held):
                binding.fresh.remove(capture)
                capture.close()
            else:
                kept.append(capture)
        return kept

    def _keep(self, binding: Binding, fresh: list[SharedSample]) -> None:
        """Fresh captures the worker has seen become validation samples; the oldest beyond the cap go."""
        if not fresh:
            return
        for capture in fresh:
            if capture in binding.fresh:
                binding.fresh.remove(capture)
        binding.captures.extend(fresh)
        while len(binding.captures) > self.config.samples - 1:
            binding.captures.pop(0).close()

    def _answer(self, search: _Search, notice: Notice) -> Any:
        """What only the host can tell the worker: the expert route's IR, the Python reference outputs."""
        kernel = search.kernel
        try:
            if isinstance(notice, NeedIR):
                return kernel.variants.lower(notice.params).ir
            if isinstance(notice, NeedPython) and search.binding.sample is not None:
                values = search.binding.sample.values()
                with cpu_budget(notice.budget, trace=True):
                    return python_outputs(kernel.arguments, kernel.py_func, values, {})
        except OverBudget:
            return "the Python reference ran over its CPU budget"
        except Exception as exc:  # user code (the generator, the reference): its failure fails the trial
            return TuningError(f"{type(exc).__name__}: {exc}")
        return None

    def _died(self, search: _Search, death: WorkerDied) -> None:
        """The worker died in ``search``'s step: fail the trial it was running, or count a failed start."""
        kernel, key, running = search.kernel, search.binding.key, death.running
        mine = running is not None and running.search == search.number
        if mine and running is not None and running.trial is None and running.phase == "extents":
            search.extents = False  # the kernel itself crashes on smaller inputs: validate on captured ones
            _log.info("%s: the reference crashed on inputs cut to other extents (%s)", search.study, death.reason)
            return
        if mine and running is not None and running.trial is None and running.phase == "reference":
            # Deterministic: the kernel's own default crashes on the call it was captured from. For the
            # expert route, most likely the IR writes an array not in writes= (those are read-only here).
            search.done, search.reason = True, f"error: the reference variant crashed: {death.reason}"
            kernel.events.add("error", key, detail=search.reason)
            _log.error(
                "%s: the reference variant (default parameters) crashed on the captured call (%s); not tuning "
                "this key. Does it write an array that is not an output (writes=)?",
                search.study,
                death.reason,
            )
            return
        if mine and running is not None and running.trial is None and running.phase == "live":
            self._roll_back(search, running.params, f"crashed the tuning worker while checked: {death.reason}")
            return
        if running is not None and running.trial is not None and running.search == search.number:
            search.failed.append((running.trial, death.reason))
            search.trials_run += 1
            kernel.events.add("fail", key, trial=running.trial, params=running.params, detail=death.reason)
            self._log_failure(kernel, running.trial, running.params, death.reason)
            return
        search.deaths += 1
        kernel.events.add("error", key, detail=f"the tuning worker died while preparing: {death.reason}")
        _log.error("%s: the tuning worker died while preparing the search: %s", search.study, death.reason)
        if search.deaths >= _PREPARE_DEATHS:
            search.done, search.reason = True, f"error: the tuning worker died {search.deaths} times ({death.reason})"

    def _roll_back(self, search: _Search, params: dict[str, Value], reason: str) -> None:
        """The live variant killed the worker while it was checked: publish the default here, and have the
        next worker revoke the variant in the study."""
        kernel, binding = search.kernel, search.binding
        default = kernel.space.default
        try:
            kernel.publish(binding, kernel.variants.build(runtime().session, default), default)
        except Exception as exc:
            _log.error("%s: could not roll back to the default: %s", search.study, exc)
            return
        self._records.save(search.study, default, 1.0)
        search.revoked.append((dict(params), reason))
        kernel.events.add("rollback", binding.key, params=default, value=1.0, detail=f"{params} {reason}")
        _log.warning("%s: live variant %s %s; rolled back to the default", search.study, params, reason)

    def _apply(self, search: _Search, reply: StepReply) -> None:
        kernel, binding = search.kernel, search.binding
        for level, message in reply.logs:
            _log.log(level, "%s", message)
        if reply.publish is not None:
            publish = reply.publish
            try:
                unit = kernel.variants.link(runtime().session, publish.object_code)
                kernel.publish(binding, unit, publish.params)
            except Exception as exc:
                _log.error("%s: could not link the winning variant: %s", search.study, exc)
                kernel.events.add("error", binding.key, detail=f"link of {publish.params} failed: {exc}")
        for event in reply.events:
            self._record(kernel, binding, event)
        search.trials_run += reply.trials_run
        if reply.done:
            search.done, search.reason = True, reply.reason
        if reply.error:
            _log.error("search %s failed; giving up on it: %s", search.study, reply.error)

    def _record(self, kernel: Kernel, binding: Binding, event: EventRecord) -> None:
        kernel.events.add(
            event.kind,
            binding.key,
            trial=event.trial,
            params=event.params,
            value=event.value,
            ns_per_call=event.ns_per_call,
            detail=event.detail,
        )
        if event.kind == "fail":
            self._log_failure(kernel, event.trial, event.params or {}, event.detail)

    def _log_failure(self, kernel: Kernel, trial: int | None, params: dict[str, Value], reason: str) -> None:
        """WARNING the first time a kernel fails for a reason, INFO after (a bad corner of a space can fail
        a hundred trials the same way)."""
        kind = "timeout" if reason.startswith("timeout") else reason.split(":", 1)[0]
        level = logging.INFO if (kernel.name, kind) in self._warned else logging.WARNING
        self._warned.add((kernel.name, kind))
        _log.log(level, "%s: trial %s %s failed: %s", kernel.name, trial, params, reason)

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
                s.study,
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
    ) -> dict[Any, Any]:
        """Run ``kernel``'s searches from this thread (the background thread skips them meanwhile); the live
        parameters: a dict of them for a kernel without ``key=``, else a dict key -> parameters of every key."""
        if not kernel.bindings:
            raise TuningError(f"{kernel.name}: call the kernel once before tuning (tuning runs on real inputs)")
        deadline = None if timeout is None else time.monotonic() + timeout
        for binding in kernel.bindings:
            search_key = (id(kernel), binding.key)
            with self._cond:
                search = self._search_for(kernel, binding)
                while search_key in self._stepping:
                    self._cond.wait(0.1)
                self._stepping.add(search_key)
                search.deadline = deadline
            label = kernel.info.name if kernel.key_fn is None else f"{kernel.info.name}[{binding.key!r}]"
            bar = TuneProgress(label, n_trials, progress)
            ran, reason = 0, ""
            try:
                while True:
                    if n_trials is not None and ran >= n_trials:
                        reason = "n_trials"
                        break
                    if deadline is not None and time.monotonic() >= deadline:
                        reason = "deadline"
                        break
                    before = search.trials_run
                    if not self._step(search):
                        reason = search.reason or "error"
                        break
                    ran += search.trials_run - before
                    bar.update(search.trials_run - before, _live_speedup(kernel, binding.key))
            finally:
                with self._cond:
                    search.deadline = None
                    self._stepping.discard(search_key)
                    self._cond.notify_all()
                bar.close(reason, _live_speedup(kernel, binding.key), ran)
        if kernel.key_fn is None:
            return dict(kernel.bindings[0].live)
        return {binding.key: dict(binding.live) for binding in kernel.bindings}

    def close(self) -> None:
        """Stop the thread and the worker process (interpreter exit)."""
        self.stop(timeout=10)
        self._worker.close()

    def _after_fork(self) -> None:
        """In a child of ``os.fork()``: the parent's thread and worker are not ours; stay off until start()."""
        self._cond = threading.Condition()
        self._step_lock = threading.Lock()
        self._thread = None
        self._stepping.clear()
        self._stopping = self._stopped = True
        self._worker.forget()
        for search in self._searches.values():
            search.generation = -1


def _live_speedup(kernel: Kernel, key: Hashable) -> float:
    """How many times as fast as the default the key's live variant measured (its last swap, adoption or
    rollback)."""
    kinds = ("swap", "adopt", "rollback")
    live = [e.value for e in kernel.events.events() if e.kind in kinds and e.key == key and e.value]
    return 1 / live[-1] if live else 1.0


_tuner = Tuner()
atexit.register(_tuner.close)
os.register_at_fork(after_in_child=_tuner._after_fork)


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
    """Stop the background thread after its current trial; it stays stopped until :func:`start`."""
    _tuner.stop(timeout)


def wait(kernel: Kernel, timeout: float | None = None) -> bool:
    """Wait until ``kernel``'s searches are done."""
    return _tuner.wait(kernel, timeout)


def status() -> list[SearchStatus]:
    """Every search's state."""
    return _tuner.status()


def tune(
    kernel: Kernel, *, n_trials: int | None = None, timeout: float | None = None, progress: bool = True
) -> dict[Any, Any]:
    """Tune ``kernel`` synchronously (what ``kernel.tune`` calls)."""
    return _tuner.tune(kernel, n_trials=n_trials, timeout=timeout, progress=progress)
