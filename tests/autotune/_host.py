"""Subprocess application for what the host keeps: the first call, forks, logging, stop(). Prints JSON."""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
import warnings
from typing import Any

import numpy as np

import autotune

from . import tuning_kernels as tk


def _kernel() -> Any:
    return autotune.tunable(vectorize=[1, 2, 4, 8], unroll=[1, 2, 4], interleave=[1, 2])(tk.dot)


def locked() -> dict[str, Any]:
    """The study file is locked by another process: the first call must not wait for it."""
    kernel = _kernel()
    x = np.ones(4096)
    started = time.perf_counter()
    kernel(x, x, 4096)
    first = time.perf_counter() - started
    autotune.tuner.start()
    calls, slowest = 0, 0.0
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not autotune.tuner.wait(kernel, timeout=0):
        began = time.perf_counter()
        assert kernel(x, x, 4096) == 4096.0
        slowest = max(slowest, time.perf_counter() - began)
        calls += 1
    trials = sum(e.kind == "trial" for e in kernel.events.events())
    return {"first_call": first, "calls": calls, "slowest": slowest, "trials": trials}


def unreachable() -> dict[str, Any]:
    """Storage that cannot be reached: an error in the history and the log; tuning goes on in memory."""
    kernel = _kernel()
    x = np.ones(256)
    kernel(x, x, 256)
    kernel.tune(n_trials=3, progress=False)
    errors = [e.detail for e in kernel.events.events() if e.kind == "error"]
    return {"errors": errors, "trials": sum(e.kind == "trial" for e in kernel.events.events())}


def fork() -> dict[str, Any]:
    """Fork 20 children while the tuner works; each calls the kernel and exits through atexit."""
    kernel = _kernel()
    x = np.ones(1024)
    kernel(x, x, 1024)
    autotune.tuner.start()
    while not any(e.kind == "trial" for e in kernel.events.events()):
        time.sleep(0.01)
    children = []
    for _ in range(20):
        pid = os.fork()
        if pid == 0:
            ok = all(kernel(x, x, 1024) == 1024.0 for _ in range(100))
            sys.exit(0 if ok else 1)  # a normal exit: atexit handlers run in the child
        children.append(pid)
        time.sleep(0.02)
    statuses: list[int | None] = []
    deadline = time.monotonic() + 60
    for pid in children:
        status = None
        while time.monotonic() < deadline:
            done, code = os.waitpid(pid, os.WNOHANG)
            if done:
                status = os.waitstatus_to_exitcode(code)
                break
            time.sleep(0.01)
        statuses.append(status)
    hung = [pid for pid, status in zip(children, statuses, strict=True) if status is None]
    for pid in hung:
        os.kill(pid, 9)
    autotune.tuner.stop()
    return {"statuses": statuses, "hung": len(hung), "parent_ok": kernel(x, x, 1024) == 1024.0}


def citizenship() -> dict[str, Any]:
    """Tuning leaves the process's logging and warning filters alone and imports no optuna here."""
    from dylibs.compiler import pipeline_runs

    logging.getLogger("optuna").setLevel(logging.DEBUG)
    filters = list(warnings.filters)
    kernel = _kernel()
    x = np.ones(512)
    kernel(x, x, 512)
    compiled = pipeline_runs()
    kernel.tune(n_trials=6, progress=False)
    return {
        "pipelines_while_tuning": pipeline_runs() - compiled,
        "optuna_level": logging.getLogger("optuna").level,
        "filters_same": warnings.filters == filters,
        "imported": sorted(m for m in ("optuna", "sqlalchemy", "alembic") if m in sys.modules),
        "trials": sum(e.kind == "trial" for e in kernel.events.events()),
    }


def stopped() -> dict[str, Any]:
    """After stop(), a new kernel's first call does not start the tuner again; start() does."""
    autotune.tuner.stop()
    kernel = _kernel()
    x = np.ones(64)
    kernel(x, x, 64)
    time.sleep(0.5)
    running = [t.name for t in threading.enumerate() if t.name == "autotune-tuner"]
    autotune.tuner.start()
    return {"running_after_stop": running, "tuned_after_start": autotune.tuner.wait(kernel, timeout=120)}


def race() -> dict[str, Any]:
    """Start tuning a new study at an agreed moment, as another process does (``AUTOTUNE_START_AT``)."""
    from autotune.storage import study_name

    kernel = _kernel()
    x = np.ones(256)
    time.sleep(max(float(os.environ["AUTOTUNE_START_AT"]) - time.time(), 0))
    kernel(x, x, 256)
    kernel.tune(n_trials=4, progress=False)
    errors = [e.detail for e in kernel.events.events() if e.kind == "error"]
    return {"study": study_name(kernel, "__default__"), "errors": errors}


if __name__ == "__main__":
    print(json.dumps(globals()[sys.argv[1]]()))
