"""``cpu_budget``: stop Python code that runs past a budget of CPU seconds (the reference checks).

The Python function of a kernel is run to cross-check the compiled reference, and it can take minutes (an
LCG whose Python integers grow without bound). On a process's main thread a ``SIGPROF`` timer interrupts
it, at no cost until it fires; elsewhere (the host's tuner thread runs the expert route's reference) a
trace function checks the thread's CPU time every few thousand lines, which slows the function but is
the only way to stop pure-Python code in another thread.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["OverBudget", "cpu_budget"]

_CHECK_EVERY = 2000  # trace events between looks at the clock


class OverBudget(Exception):
    """The code ran past its CPU budget."""


@contextmanager
def cpu_budget(seconds: float, *, trace: bool = False) -> Iterator[None]:
    """Raise :class:`OverBudget` in the block once it has used ``seconds`` of CPU. Off the main thread
    only with ``trace=True`` (else the block runs unbounded)."""
    if threading.current_thread() is threading.main_thread():
        with _timer(seconds):
            yield
    elif trace:
        with _traced(seconds):
            yield
    else:
        yield


@contextmanager
def _timer(seconds: float) -> Iterator[None]:
    def expire(signum: int, frame: Any) -> None:
        raise OverBudget

    previous = signal.signal(signal.SIGPROF, expire)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)


@contextmanager
def _traced(seconds: float) -> Iterator[None]:
    deadline = time.thread_time() + seconds
    count = 0

    def tracer(frame: Any, event: str, arg: Any) -> Any:
        nonlocal count
        count += 1
        if count % _CHECK_EVERY == 0 and time.thread_time() > deadline:
            raise OverBudget
        return tracer

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        yield
    finally:
        sys.settrace(previous)
