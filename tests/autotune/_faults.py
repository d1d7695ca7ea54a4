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


if __name__ == "__main__":
    main(sys.argv[1])
