"""Run as a script: the shared compile worker's life in a fresh process (no other session holds it here).

``close``: closing the sessions that used the worker stops it, and closing twice is harmless.
``fork``: a child forked while the parent's worker runs (and its lock is held) compiles with its own worker,
never touches the parent's, and exits promptly; the parent's worker is unaffected.
Prints ``key=value`` pairs; any failed check exits non-zero with a traceback.
"""

from __future__ import annotations

import ctypes
import os
import select
import signal
import sys
import threading
import time
import traceback

from dylibs import Session, workers

IR = """
define i64 @add(i64 %x) {{
  %r = add i64 %x, {k}
  ret i64 %r
}}
"""
I64_I64 = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_int64)


def add(session: Session, k: int) -> int:
    """Load ``x + k`` (a cache miss: distinct IR, no cache) and call it on 1."""
    unit = session.load(IR.format(k=k), exports=["add"])
    return int(I64_I64(unit.address("add"))(1))


def worker_pid() -> int | None:
    pool = workers._shared
    return None if pool is None else pool.worker_pid


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A stopped worker is reaped by the pool; anything still here must not be a zombie of ours.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0] != "Z"


def close() -> None:
    assert workers._shared is None, "no pool before the first out-of-process compile"
    first, second = Session(cache=None, in_process_compiles=0), Session(cache=None, in_process_compiles=0)
    assert add(first, 41) == 42 and add(second, 1) == 2
    pid = worker_pid()
    assert pid is not None and alive(pid)
    first.close()
    assert worker_pid() == pid and alive(pid), "the other session still uses the worker"
    assert add(second, 2) == 3 and worker_pid() == pid
    second.close()
    second.close()
    first.close()
    assert worker_pid() is None and not alive(pid), "the last close stops the worker"
    print(f"worker={pid} stopped=1")


def fork() -> None:
    session = Session(cache=None, in_process_compiles=0)
    assert add(session, 1) == 2
    parent_worker = worker_pid()
    assert parent_worker is not None
    pool = workers._shared
    assert pool is not None
    ready_read, ready_write = os.pipe()  # child -> parent: checks done
    go_read, go_write = os.pipe()  # parent -> child: the parent has closed, exit now
    held, release = threading.Event(), threading.Event()

    def hold_lock() -> None:  # as if this thread were compiling at the moment of the fork
        with pool._lock:
            held.set()
            release.wait()

    holder = threading.Thread(target=hold_lock)
    holder.start()
    held.wait()
    child = os.fork()
    if child == 0:
        status = 1
        try:
            os.close(go_write)
            os.close(ready_read)
            assert worker_pid() is None, "the child forgot the parent's worker"
            assert add(session, 2) == 3
            child_worker = worker_pid()
            assert child_worker is not None and child_worker != parent_worker
            session.close()
            assert not alive(child_worker), "closing the child's session stops the child's worker"
            assert alive(parent_worker), "the child never stops the parent's worker"
            os.write(ready_write, b"x")
            os.read(go_read, 1)  # stay alive, holding inherited descriptors, until the parent has closed
            status = 0
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(status)
    release.set()
    holder.join()
    os.close(go_read)
    os.close(ready_write)
    assert add(session, 3) == 4 and worker_pid() == parent_worker, "the parent keeps its worker"
    if not select.select([ready_read], [], [], 30)[0]:
        os.kill(child, signal.SIGKILL)
        raise AssertionError("the child hung (a lock held at the fork?)")
    assert os.read(ready_read, 1) == b"x", "the child failed its checks"
    started = time.monotonic()
    session.close()  # with the child still alive: its copies of the pipes must not keep the worker waiting
    close_seconds = time.monotonic() - started
    assert not alive(parent_worker)
    os.write(go_write, b"x")
    started = time.monotonic()
    _, wait_status = os.waitpid(child, 0)
    child_seconds = time.monotonic() - started
    assert os.waitstatus_to_exitcode(wait_status) == 0, f"child failed: {wait_status}"
    print(f"close_ms={int(close_seconds * 1000)} child_exit_ms={int(child_seconds * 1000)}")


if __name__ == "__main__":
    {"close": close, "fork": fork}[sys.argv[1]]()
