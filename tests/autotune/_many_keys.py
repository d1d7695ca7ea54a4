"""Run as a script: a kernel called with N keys, then N distinct live variants and an idle spell, then a
kernel with a small ``max_keys``. Prints one JSON line (see test_many_keys.py).

It runs in its own process so that resident memory (``/proc/self/statm``) and CPU time are this app's
alone. Every call's result is checked; ``wrong`` counts the mismatches.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time

import numpy as np

import autotune
from autotune import f64, tunable
from autotune.runtime import runtime

os.environ.setdefault("AUTOTUNE_BACKGROUND", "0")  # read at the first call, not at import


def rss_kb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1024


@tunable(key=lambda x, k: k)
def scaled_sum(x: f64["n"], k: int) -> float:  # noqa: F821 (a named dimension)
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i] * k
    return s


class _Count(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def main(keys: int, idle: float) -> None:
    x = np.ones(16)
    wrong = 0
    wrong += scaled_sum(x, -1) != -16.0  # the first key: compiles, links the entry and the first batch
    before = rss_kb()
    for k in range(keys):
        wrong += scaled_sum(x, k) != 16.0 * k  # the key's first call: the checked path binds it
        wrong += scaled_sum(x, k) != 16.0 * k  # then the key's native entry
    after = rss_kb()
    links = runtime().session.stats().loaded_units
    bound = len(scaled_sum.bindings)

    # Now every key gets a variant of its own (1,000 live units in 10 generations: no migration storm).
    for binding in scaled_sum.bindings:
        scaled_sum.publish(binding, scaled_sum.compile(), scaled_sum.space.default)
    runtime().table.drain(30)
    wrong += sum(scaled_sum(x, k) != 16.0 * k for k in range(-1, keys))
    settled = runtime().session.stats()
    cpu = time.process_time()
    time.sleep(idle)
    idle_cpu = time.process_time() - cpu
    quiet = runtime().session.stats() == settled

    # A kernel with max_keys=3: keys past the third share the default key's slot, logged once.
    counter = _Count()
    logging.getLogger("autotune").addHandler(counter)
    autotune.configure(max_keys=3)

    @tunable(key=lambda x, k: k)
    def capped(x: f64["n"], k: int) -> float:  # noqa: F821
        s = 0.0
        for i in range(x.shape[0]):
            s += x[i] + k
        return s

    for _ in range(2):
        wrong += sum(capped(x, k) != 16.0 * (1 + k) for k in range(10))
    default = capped.address()
    print(
        json.dumps(
            {
                "keys": keys,
                "kb_per_key": (after - before) / keys,
                "links_for_keys": links,
                "bindings": bound,
                "live_units": settled.live_units,
                "migrated_units": settled.migrated_units,
                "idle_seconds": idle,
                "idle_cpu": idle_cpu,
                "quiet": quiet,
                "wrong": int(wrong),
                "capped_bindings": sorted(map(repr, (b.key for b in capped.bindings))),
                "folded_share_default": all(capped.address(k) == default for k in range(3, 10)),
                "own_slots_differ": len({capped.address(k) for k in range(3)} | {default}) == 4,
                "warnings": [m for m in counter.messages if "max_keys" in m],
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main(int(sys.argv[1]), float(sys.argv[2]))
