"""``CompilerPool``: compile IR in a separate worker process.

Three reasons. Each optimisation pipeline run leaks about 60 KB inside llvmlite for good (see
:func:`dylibs.compiler.pipeline_runs`), so the worker is replaced after ``tasks_per_worker`` compiles and
the host's memory stays flat. An LLVM crash or hang on a strange variant kills the worker, not the program:
it comes back as a :class:`CompileError`. And llvmlite holds one global lock, so compiling in the host
would stall the host's other LLVM work (linking, inspection).

The worker is a plain ``python -m dylibs._worker`` subprocess speaking length-prefixed pickles on its
pipes, not multiprocessing: spawn would re-import the host's ``__main__`` (breaking scripts without a main
guard), and fork is unsafe in a process with threads. Its stderr goes to /dev/null, so LLVM's "loop not
interleaved" remarks do not reach the user; real failures come back as exceptions.

Fork safety: a pool only ever talks to a worker its own process started. In the child of ``os.fork`` every
pool forgets the parent's worker without signalling or waiting for it (the child's copies of the pipe ends
are pointed at /dev/null, so the parent's worker still sees end of input when the parent lets go of it) and
gets a fresh lock, in case another thread held it at the fork; the child's next compile starts its own
worker. The same happens if a pool notices that its process id has changed.

The process's sessions share one pool (:func:`shared_pool`): the leak is the process's, and one worker (about
25-30 MB private memory) per process is cheaper than one per session. It is created on first use, never on
import, and its worker is stopped when the last session using it lets go (:func:`release_shared_pool`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import weakref
from pathlib import Path
from typing import Any

from .errors import CompileError
from .framing import read_message, write_message
from .options import CompileOptions

__all__ = ["CompilerPool", "abandon_process", "end_process", "start_process"]


class CompilerPool:
    """``compile(ir, options) -> bytes`` in one worker process, replaced every ``tasks_per_worker`` compiles."""

    def __init__(self, tasks_per_worker: int = 100, timeout: float = 120.0, nice: int = 0) -> None:
        if tasks_per_worker < 1 or timeout <= 0 or not 0 <= nice <= 19:
            raise ValueError("tasks_per_worker and timeout must be positive, nice within 0-19")
        self.tasks_per_worker = tasks_per_worker
        self.timeout = timeout
        self.nice = nice
        self.started = 0
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._pid = 0  # the process that started self._process
        self._tasks = 0
        _POOLS.add(self)

    @property
    def worker_pid(self) -> int | None:
        """The process id of the running worker, or None if there is none (or it belongs to a forked-from parent)."""
        process = self._process
        return process.pid if process is not None and self._pid == os.getpid() else None

    def _worker(self) -> subprocess.Popen[bytes]:
        if self._process is not None and self._pid != os.getpid():
            self._abandon()
        if self._process is not None and (self._process.poll() is not None or self._tasks >= self.tasks_per_worker):
            self._stop()
        if self._process is None:
            self._process = start_process("dylibs._worker", str(self.nice))
            self._pid = os.getpid()
            self._tasks = 0
            self.started += 1
        return self._process

    def compile(self, ir: str, options: CompileOptions) -> bytes:
        """Compile in the worker; CompileError for bad IR, or for a worker that crashed or hung."""
        with self._lock:
            process = self._worker()
            self._tasks += 1
            timer = threading.Timer(self.timeout, process.kill)
            timer.start()
            try:
                if process.stdin is None or process.stdout is None:
                    raise CompileError("compiler process has no pipes")
                write_message(process.stdin, (ir, options))
                status, value = read_message(process.stdout)
            except (EOFError, OSError, ValueError) as exc:
                self._stop()
                raise CompileError("the compiler process crashed or timed out on this IR", str(exc)) from None
            finally:
                timer.cancel()
        if status == "ok" and isinstance(value, bytes):
            return value
        if isinstance(value, CompileError):
            raise value
        raise CompileError(f"unexpected reply from the compiler process: {status!r}")

    def _stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            end_process(process, grace=5.0)

    def _abandon(self) -> None:
        """Forget a worker started by the parent of this forked process: never signal it or wait for it."""
        process, self._process = self._process, None
        if process is not None:
            abandon_process(process)

    def close(self) -> None:
        """Stop the worker (safe to call twice). A later compile starts a new one."""
        with self._lock:
            if self._pid != os.getpid():
                self._abandon()
            self._stop()

    def __del__(self, _unused: Any = None) -> None:
        process = getattr(self, "_process", None)
        if process is not None and getattr(self, "_pid", 0) == os.getpid() and process.poll() is None:
            process.kill()


_POOLS: weakref.WeakSet[CompilerPool] = weakref.WeakSet()

_shared_lock = threading.Lock()
_shared: CompilerPool | None = None
_holders: set[object] = set()


def shared_pool(holder: object) -> CompilerPool:
    """The process's shared pool (created on first use), kept running for ``holder`` until it lets go."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = CompilerPool()
        _holders.add(holder)
        return _shared


def release_shared_pool(holder: object) -> None:
    """``holder`` no longer needs the shared pool; the last holder's release stops its worker. Idempotent."""
    with _shared_lock:
        if holder not in _holders:
            return
        _holders.discard(holder)
        pool = _shared if not _holders else None
    if pool is not None:
        pool.close()  # outside the lock: waits for a compile in flight


def _after_fork_in_child() -> None:
    # Runs in the child alone, before any other thread exists: nothing the parent's threads held is held here.
    global _shared_lock, _holders
    _shared_lock = threading.Lock()
    _holders = set()  # the parent's sessions held the parent's worker, not one of this process
    for pool in list(_POOLS):
        pool._lock = threading.Lock()
        pool._abandon()


os.register_at_fork(after_in_child=_after_fork_in_child)


def start_process(module: str, *args: str, stderr: Any = subprocess.DEVNULL) -> subprocess.Popen[bytes]:
    """``python -m module args...`` with pipes on stdin and stdout, importing this checkout's packages.

    A plain subprocess, not multiprocessing: spawn would re-import the host's ``__main__`` (breaking
    scripts without a main guard), and fork is unsafe in a process with threads.
    """
    package_root = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    return subprocess.Popen(
        [sys.executable, "-m", module, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=stderr,
        env=env,
    )


def end_process(process: subprocess.Popen[bytes], *, grace: float) -> None:
    """Close ``process``'s pipes (end of input: it finishes what it is doing and exits) and reap it,
    killing it if it is still running after ``grace`` seconds (at once for 0)."""
    for stream in (process.stdin, process.stdout):
        if stream is not None:
            try:
                stream.close()
            except OSError:
                pass
    if grace > 0:
        try:
            process.wait(grace)
            return
        except subprocess.TimeoutExpired:
            pass
    if process.poll() is None:
        process.kill()
    process.wait()


def abandon_process(process: subprocess.Popen[bytes]) -> None:
    """In a forked child: let go of the parent's worker ``process`` without signalling or waiting for it.

    The child's copies of the pipes are pointed at /dev/null, so flushing or closing them later never
    reaches the parent's worker, and the worker still sees end of input when the parent closes its ends.
    """
    null = os.open(os.devnull, os.O_RDWR)
    try:
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                try:
                    os.dup2(null, stream.fileno(), inheritable=False)
                except (OSError, ValueError):
                    pass
    finally:
        os.close(null)
