"""Subprocess application: call kernels whose fast variants are wrong, checking every call, while the
background tuner meets them. Prints one JSON line of what it saw."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import numpy as np

import autotune

from .wrong_kernels import kahan, short, wrong


def _guarded_call(kernel: Any, n: int, rng: np.random.Generator) -> int:
    """One call on arrays embedded in a bigger buffer: wrong results, a changed input or a changed
    neighbour each count as one error."""
    x = rng.random(n)
    x0 = x.copy()
    buffer = np.full(n + 64, 7.0)
    y = buffer[:n]
    y[:] = rng.random(n)
    expected = y + 2.0 * x
    kernel(2.0, x, y)
    errors = not np.array_equal(y, expected)
    errors += not np.array_equal(x, x0)
    errors += not np.all(buffer[n:] == 7.0)
    return int(errors)


def _events(kernel: Any) -> list[Any]:
    kinds = ("fail", "trial", "adopt", "swap", "rollback", "check")
    return [(e.kind, e.params, e.detail) for e in kernel.events.events() if e.kind in kinds]


def faults() -> dict[str, Any]:
    """Remainder, overrun and input-writing variants: none may ever be published."""
    rng = np.random.default_rng(1)
    calls = errors = 0
    _guarded_call(wrong, 4096, rng)  # the captured call
    autotune.tuner.start()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        for n in (4096, 4099, 7, 1):
            errors += _guarded_call(wrong, n, rng)
            calls += 1
        if all(s.done for s in autotune.tuner.status()):
            break
    return {"calls": calls, "wrong": errors, "live": wrong.live, "events": _events(wrong)}


def fastmath() -> dict[str, Any]:
    """Kahan summation with fast-math in its space: the reassociating variants must not be published."""
    rng = np.random.default_rng(2)
    uniform = rng.random(4096)
    hard = np.concatenate([np.tile([1e16, 1.0, -1e16, 1.0], 1024)])
    kahan(uniform)
    calls = errors = 0
    autotune.tuner.start()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        for x in (uniform, hard):
            errors += kahan(x) != kahan.py_func(x)
            calls += 1
        if all(s.done for s in autotune.tuner.status()):
            break
    return {"calls": calls, "wrong": int(errors), "live": kahan.live, "events": _events(kahan)}


def live(first_n: int, later_n: int, seconds: float) -> dict[str, Any]:
    """Calls of ``first_n`` elements until the tuner is done, then of ``later_n``: the live variant is
    checked on fresh calls and rolled back when wrong. Counts wrong calls before and after the rollback."""
    rng = np.random.default_rng(3)
    _guarded_call(short, first_n, rng)
    started_on = dict(short.live or {})
    autotune.tuner.start()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not all(s.done for s in autotune.tuner.status()):
        _guarded_call(short, first_n, rng)
    tuned = dict(short.live or {})
    wrong_before = wrong_after = calls = 0
    rolled_back_at: float | None = None
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        bad = _guarded_call(short, later_n, rng)
        calls += 1
        if rolled_back_at is None and any(e.kind == "rollback" for e in short.events.events()):
            rolled_back_at = time.monotonic()
        if rolled_back_at is None:
            wrong_before += bad
        else:
            wrong_after += bad
        time.sleep(0.001)
    return {
        "started_on": started_on,
        "tuned": tuned,
        "live": short.live,
        "calls": calls,
        "wrong_before": wrong_before,
        "wrong_after": wrong_after,
        "events": _events(short),
    }


if __name__ == "__main__":
    autotune.configure(trial_timeout=1.0, revalidate_seconds=1.0)
    scenario = sys.argv[1]
    if scenario == "faults":
        autotune.configure(revalidate_seconds=0)  # no fresh captures: only the cut extents can catch mode 1
        result = faults()
    elif scenario == "fastmath":
        result = fastmath()
    else:
        result = live(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]))
    print(json.dumps(result, default=str))
