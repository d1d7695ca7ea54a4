"""The tuning worker process: ``python -m autotune.server`` (started by :class:`autotune.worker.Worker`).

Everything heavy about tuning happens here, beside the application: optuna and its storage, lowering,
compiling, validating and measuring candidates. A candidate that crashes or hangs kills this process, not
the application; the host then records the trial as failed and starts another worker. The process never
imports the application's modules: kernels arrive as :class:`~autotune.spec.KernelSpec` data and inputs
as shared memory. Protocol on stdin/stdout: framed pickles (see :mod:`autotune.messages`).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
import warnings
from typing import Any

from dylibs import CompilerPool, Session, read_message, write_message

from .errors import StorageError
from .messages import EventRecord, Notice, Running, Step, StepReply
from .records import BestRecords
from .sample import open_sample
from .search import Measure, Notify, Search
from .storage import open_storage, storage_url

__all__ = ["Server", "main"]


class Server:
    """Handles :class:`Step` requests: one :class:`Search` per study, opened on first use."""

    def __init__(self, notify: Notify, *, measure: Measure | None = None, pooled: bool = True) -> None:
        self._notify = notify
        self._measure = measure
        self._session = Session()
        self._pool = CompilerPool(tasks_per_worker=100) if pooled else None
        self._records = BestRecords()
        self._searches: dict[int, Search] = {}

    def handle(self, step: Step) -> StepReply:
        """Run one step of search ``step.search``, opening it first if this process has not seen it."""
        search = self._searches.get(step.search)
        opening = StepReply()
        if search is None:
            if step.spec is None or not step.samples:
                return StepReply(error=f"search {step.search} is not open in this worker", done=True, reason="error")
            search = self._open(step, opening)
        os.environ["AUTOTUNE_CACHE_DIR"] = search.spec.cache_dir  # where this search's host keeps its files
        search.time_left = step.time_left
        if step.revoked:
            try:
                search.record_revoked(step.revoked)
            except Exception as exc:  # storage down: the host has rolled back already; the record can wait
                opening.logs.append((logging.ERROR, f"{search.spec.label}: could not revoke a variant: {exc}"))
        if step.fresh:
            reply = search.revalidate([open_sample(layout) for layout in step.fresh])
        else:
            reply = search.step()
        reply.events[:0] = opening.events
        reply.logs[:0] = opening.logs
        return reply

    def _open(self, step: Step, opening: StepReply) -> Search:
        spec = step.spec
        if spec is None or not step.samples:
            raise ValueError("opening a search needs its spec and samples")
        os.environ["AUTOTUNE_CACHE_DIR"] = spec.cache_dir
        url = storage_url(spec.config)
        try:
            storage: Any = open_storage(url)
        except StorageError as exc:
            import optuna

            opening.logs.append((logging.ERROR, f"{exc}; tuning {spec.label} in memory only"))
            opening.events.append(EventRecord("error", detail=str(exc)))
            storage = optuna.storages.InMemoryStorage()
        search = Search(
            step.search,
            spec,
            [open_sample(layout) for layout in step.samples],
            storage,
            self._session,
            elapsed=step.elapsed,
            notify=self._notify,
            measure=self._measure,
            records=self._records,
            compiler=self._pool.compile if self._pool is not None else None,
            extents=step.extents,
            time_left=step.time_left,
        )
        if step.failed:
            try:
                search.record_failures(step.failed)
            except Exception as exc:  # the study may not exist yet, or storage may be down: stale cleanup
                opening.logs.append((logging.INFO, f"{spec.label}: could not record failed trials: {exc}"))
        self._searches[step.search] = search
        return search

    def close(self) -> None:
        """Free every search's units and the compiler process (safe twice)."""
        for search in self._searches.values():
            search.close()
        self._searches.clear()
        if self._pool is not None:
            self._pool.close()


def _quiet_optuna() -> None:
    """This process is ours: optuna's per-trial INFO lines and experimental warnings would only be noise."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


def _watch_parent(parent: int) -> None:
    """Exit at once when the application is gone: its pipes may outlive it in a forked child's hands, and
    a trial must not go on (and be recorded) for an application that died. Not ``PR_SET_PDEATHSIG``: that
    fires when the *thread* that started us ends, and any application thread may start the worker."""
    while True:
        time.sleep(0.05)
        if os.getppid() != parent:
            os._exit(3)


def main() -> None:
    if len(sys.argv) > 1:  # niceness: the application wins the CPU whenever both want it
        os.nice(int(sys.argv[1]))
    try:  # Linux: run only on cores the application leaves idle (measured: saxpy's p99.9 while tuning
        # went from 1.6-2.2x to 1.2x of no tuner). Safe because time limits count CPU time, not wall time.
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):
        pass
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the application; it stops us by EOF
    requests, replies = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing but messages may reach the pipe
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()
    _quiet_optuna()

    def notify(notice: Notice) -> Any:
        write_message(replies, ("notice", notice))
        if isinstance(notice, Running):
            return None
        return read_message(requests)

    server = Server(notify)
    try:
        while True:
            try:
                step = read_message(requests)
            except EOFError:
                return
            write_message(replies, ("reply", server.handle(step)))
    finally:
        server.close()


if __name__ == "__main__":
    main()
