"""Subprocess application: call kernels in a loop, checking every result, while the background tuner
meets candidates that crash, hang, crawl or fail to build. Prints one JSON line of what it saw."""

from __future__ import annotations

import json
import sys
import time

import numpy as np

import autotune

from . import tuning_kernels as tk
from .fault_kernels import faulty


def main(mode: str) -> None:
    autotune.configure(trial_timeout=1.0)
    other = autotune.tunable(REPEAT=[8, 1])(tk.slow_default_sum)
    x, y0 = np.arange(1000.0), np.ones(1000)
    expected = y0 + 2.0 * x
    z = np.random.default_rng(0).random(3000)
    total = float(np.sum(z))
    calls = wrong = 0
    deadline = time.monotonic() + 150
    autotune.tuner.start()
    while time.monotonic() < deadline:
        y = y0.copy()
        faulty(2.0, x, y)
        wrong += not np.array_equal(y, expected)
        wrong += abs(other(z) - total) > 1e-9 * abs(total)
        calls += 2
        if calls > 200 and all(s.done for s in autotune.tuner.status()):
            break
    status = {s.kernel: (s.done, s.reason) for s in autotune.tuner.status()}
    events = [(e.kind, e.params, e.detail) for e in faulty.events.events() if e.kind in ("fail", "trial", "adopt")]
    print(
        json.dumps(
            {
                "calls": calls,
                "wrong": wrong,
                "status": status,
                "events": events,
                "faulty_live": faulty.live,
                "other_live": other.live,
                "workers": autotune.tuner.tuner()._worker.generation,
            }
        )
    )


def starved() -> None:
    """Stop the worker (SIGSTOP) for longer than the time limit, again and again, while it measures: a
    starved worker is slow, not faulty, so no trial may fail for it."""
    import os
    import signal

    autotune.configure(trial_timeout=0.5, trial_timeout_factor=3.0, round_seconds=0.02)
    kernel = autotune.tunable(vectorize=[1, 2, 4, 8], unroll=[1, 2])(tk.dot)
    x = np.ones(4096)
    kernel(x, x, 4096)
    autotune.tuner.start()
    stops = 0
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not autotune.tuner.wait(kernel, timeout=0.3):
        process = autotune.tuner.tuner()._worker._process  # type: ignore[attr-defined]
        if process is None or stops >= 4 or not any(e.kind == "trial" for e in kernel.events.events()):
            continue  # stop it while it measures candidates, not while it starts
        try:
            os.kill(process.pid, signal.SIGSTOP)
            time.sleep(4.0)  # more than twice the limit (about 1.7 s), in wall-clock time
            os.kill(process.pid, signal.SIGCONT)
        except ProcessLookupError:  # the host killed it for a timeout: the failure shows in the events
            pass
        stops += 1
    fails = [e.detail for e in kernel.events.events() if e.kind == "fail"]
    trials = sum(e.kind == "trial" for e in kernel.events.events())
    print(json.dumps({"stops": stops, "fails": fails, "trials": trials, "done": autotune.tuner.wait(kernel, 0)}))


if __name__ == "__main__":
    if sys.argv[1] == "starved":
        starved()
        sys.exit(0)
    main(sys.argv[1])
