"""``cpu_budget``: stop Python code that runs past a budget of CPU seconds (the reference checks).

The Python function of a kernel is run to cross-check the compiled reference, and it can take minutes (an
LCG whose Python integers grow without bound). In the tuning worker's main thread a ``SIGPROF`` timer
interrupts it, at no cost until it fires. In the application (the expert route's reference runs in the
tuner's thread, or in the thread that called ``tune()``) a trace function checks the thread's CPU time
every few thousand events instead: it slows the function, but it stops pure-Python code on any thread
and leaves the application's signal handlers alone.
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
    """Raise :class:`OverBudget` in the block once it has used ``seconds`` of CPU: with ``trace=True``
    through a trace function on any thread (an application's threads: its signal handlers are not ours to
    replace); otherwise through a SIGPROF timer on the main thread (the tuning worker), and not at all on
    other threads."""
    if trace:
        with _traced(seconds):
            yield
    elif threading.current_thread() is threading.main_thread():
        with _timer(seconds):
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
