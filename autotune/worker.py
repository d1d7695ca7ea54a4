"""``Worker``: the tuning worker process, as the host sees it.

One per application process, started lazily (``python -m autotune.server``, niced). A request is one
:class:`~autotune.messages.Step`; while it runs, the worker's notices arrive here: a
:class:`~autotune.messages.Running` notice starts the clock on candidate code (its ``limit``, in CPU
seconds of the worker, with a wall-clock cap), and the
questions only the host can answer (the expert route's IR, the Python reference) are answered through
the caller's ``answer`` function. If the process dies (a signal, an exit) or overruns its limit (it is
then killed), the request raises :class:`WorkerDied` with the reason and the trial that was running, and
the next request starts a fresh process.

A plain subprocess (:func:`dylibs.start_process`), never ``multiprocessing``: see there why.
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from typing import IO, Any

from dylibs import abandon_process, end_process, start_process
from dylibs.framing import HEADER, encode

from .config import current
from .errors import TuningError
from .messages import Notice, Running, Step, StepReply

__all__ = ["Worker", "WorkerDied"]

#: How long a request may run before any candidate code has (compiling, opening storage, lowering).
_SETUP_LIMIT = 600.0
#: Wall-clock cap on candidate code, as a multiple of its CPU limit (and at least a minute): for code that
#: blocks without burning CPU.
_WALL_FACTOR, _WALL_MIN = 30.0, 60.0
#: How often the host looks at the worker's CPU time while candidate code runs.
_POLL = 0.25
_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    """User plus system CPU time of ``pid``'s threads (0 if it is gone), from /proc/<pid>/stat."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS


class _Budget:
    """What a request may still spend. Candidate code is limited in the worker's *CPU* time, not wall
    time: the worker runs at low priority, so an application keeping both cores busy can stall it for a
    long while, and a starved worker is slow, not faulty; failing its candidate would bar a good variant
    for ever. A wall-clock cap still catches code that blocks without burning CPU."""

    def __init__(self, pid: int, cpu_limit: float | None, wall: float) -> None:
        self.pid = pid
        self.cpu_limit = cpu_limit
        self.cpu_start = _cpu_seconds(pid) if cpu_limit is not None else 0.0
        self.wall = wall
        self.wall_end = time.monotonic() + wall

    def wait(self) -> float:
        """Seconds to wait for the worker before looking again; TimeoutError (with the reason) once the
        budget is spent."""
        if self.cpu_limit is not None and _cpu_seconds(self.pid) - self.cpu_start > self.cpu_limit:
            raise TimeoutError(f"timeout after {self.cpu_limit:.1f} s")
        left = self.wall_end - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"timeout after {self.wall:.0f} s of wall-clock time")
        return min(left, _POLL if self.cpu_limit is not None else 1.0)


class WorkerDied(TuningError):
    """The worker process died or was killed during a request; ``running`` is the trial it was in."""

    def __init__(self, reason: str, running: Running | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.running = running


class Worker:
    """Starts, talks to and replaces the tuning worker process (one request at a time)."""

    def __init__(self, nice: int | None = None) -> None:
        #: the worker's niceness; None: the configuration's, read when a process starts (not at import,
        #: where a bad environment value would break ``import autotune``)
        self.nice = nice
        self.started = 0
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._errors: IO[bytes] | None = None
        self._buffer = b""

    @property
    def generation(self) -> int:
        """How many processes were started so far; a new one knows none of the searches."""
        return self.started

    def start(self) -> int:
        """Start a process unless one runs; returns its generation."""
        with self._lock:
            self._ensure()
            return self.started

    def _niceness(self) -> int:
        return current().nice if self.nice is None else self.nice

    def _ensure(self) -> subprocess.Popen[bytes]:
        if self._process is not None and self._process.poll() is not None:
            self._stop()
        if self._process is None:
            # stderr is kept only to explain a death (a Python error at start-up, say)
            self._process = start_process("autotune.server", str(self._niceness()), stderr=self._stderr())
            self._buffer = b""
            self.started += 1
        return self._process

    def _stderr(self) -> Any:
        if self._errors is not None:
            self._errors.close()
        self._errors = tempfile.TemporaryFile()
        return self._errors

    def _last_words(self) -> str:
        """The end of the dead process's stderr, if it said anything."""
        if self._errors is None:
            return ""
        self._errors.seek(0, os.SEEK_END)
        self._errors.seek(max(self._errors.tell() - 400, 0))
        text = self._errors.read().decode(errors="replace").strip()
        return text.splitlines()[-1] if text else ""

    def request(self, step: Step, answer: Callable[[Notice], Any]) -> StepReply:
        """Send ``step`` and return the reply; notices are answered with ``answer`` (or timed)."""
        with self._lock:
            process = self._ensure()
            running: Running | None = None
            budget = _Budget(process.pid, None, _SETUP_LIMIT)
            try:
                self._send(process, step)
                while True:
                    kind, message = self._receive(process, budget)
                    if kind == "reply":
                        if not isinstance(message, StepReply):
                            raise EOFError(f"unexpected reply {type(message).__name__}")
                        return message
                    if isinstance(message, Running):
                        running, limit = message, message.limit
                        budget = _Budget(process.pid, limit, max(_WALL_MIN, _WALL_FACTOR * limit))
                        continue
                    self._send(process, answer(message))
            except TimeoutError as exc:
                self._kill()
                raise WorkerDied(str(exc), running) from None
            except (EOFError, OSError, pickle.UnpicklingError) as exc:
                reason = self._death(exc)
                raise WorkerDied(reason, running) from None

    def _send(self, process: subprocess.Popen[bytes], message: Any) -> None:
        if process.stdin is None:
            raise EOFError("worker has no stdin")
        process.stdin.write(encode(message))
        process.stdin.flush()

    def _receive(self, process: subprocess.Popen[bytes], budget: _Budget) -> tuple[str, Any]:
        header = self._read(process, HEADER.size, budget)
        (size,) = HEADER.unpack(header)
        kind, message = pickle.loads(self._read(process, size, budget))
        return str(kind), message

    def _read(self, process: subprocess.Popen[bytes], size: int, budget: _Budget) -> bytes:
        if process.stdout is None:
            raise EOFError("worker has no stdout")
        fd = process.stdout.fileno()
        while len(self._buffer) < size:
            ready, _, _ = select.select([fd], [], [], budget.wait())
            if not ready:
                continue
            chunk = os.read(fd, max(size - len(self._buffer), 1 << 16))
            if not chunk:
                raise EOFError("worker closed its pipe")
            self._buffer += chunk
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

    def _death(self, exc: BaseException) -> str:
        """Why the process is gone: its signal or exit status (waiting briefly for it to finish dying)."""
        process = self._process
        code = None
        if process is not None:
            try:
                code = process.wait(2)
            except subprocess.TimeoutExpired:
                code = None
        self._kill()
        if code is None:
            return f"tuning worker stopped answering ({type(exc).__name__}: {exc})"
        if code < 0:
            try:
                return f"signal {signal.Signals(-code).name}"
            except ValueError:
                return f"signal {-code}"
        words = self._last_words()
        return f"tuning worker exited with status {code}" + (f": {words}" if words else "")

    def _kill(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            end_process(process, grace=0)

    def _stop(self) -> None:
        """End the process by closing its input (it finishes what it is doing), killing it if it lingers."""
        process, self._process = self._process, None
        if process is not None:
            end_process(process, grace=5.0)

    def close(self, timeout: float = 5.0) -> None:
        """Stop the process (safe twice): after the current request, or killed if that takes ``timeout``."""
        if self._lock.acquire(timeout=timeout):
            try:
                self._stop()
            finally:
                self._lock.release()
            return
        process = self._process
        if process is not None and process.poll() is None:
            process.kill()  # the request in flight sees EOF and reports the death

    def forget(self) -> None:
        """After ``os.fork()`` in the child: drop the parent's process without touching it."""
        self._lock = threading.Lock()
        process, self._process = self._process, None
        if process is not None:
            abandon_process(process)
        self._errors = None  # the parent's file; the child's copy of the descriptor closes with the object
        self._buffer = b""
