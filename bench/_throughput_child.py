"""Child of bench/throughput.py: one background-tuning run of one source tree, as a plain script.

Run as ``python bench/_throughput_child.py ROUNDS ROUND_SECONDS`` with ``PYTHONPATH`` naming the tree to
measure (the current one, or the commit before the tuning worker existed) and the working directory set
to it. It imports nothing from ``bench`` (the other tree has its own), only ``autotune`` and numpy, and
uses only API both trees have: ``configure``, ``tunable``, ``tuner.wait``, ``kernel.events``.
Prints one JSON line.
"""

from __future__ import annotations

import itertools
import json
import os
import resource
import sys
import time

if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    sys.path.pop(0)  # bench/ itself must not shadow top-level module names

SIZE = 2000
#: 6 x 4 x 5 x 2 = 240 variants; the budget (TRIALS) ends every run before the space is exhausted.
SPACE = {
    "vectorize": [0, 1, 2, 4, 8, 16],
    "interleave": [0, 1, 2, 4],
    "unroll": [0, 2, 4, 8, 16],
    "fastmath": [False, True],
}
TRIALS = 80


def main(rounds: int, round_seconds: float) -> None:
    import numpy as np

    import autotune
    from autotune.demo import load_suite

    autotune.configure(
        max_trials=TRIALS, patience=TRIALS, max_seconds=600.0, rounds=rounds, round_seconds=round_seconds
    )
    kernel = autotune.tunable(name="bench.throughput.dot", **SPACE)(load_suite().dot)
    rng = np.random.default_rng(11)
    a, b = rng.uniform(-1, 1, SIZE), rng.uniform(-1, 1, SIZE)
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    started = time.time()
    kernel(a, b)  # publishes the default and queues the search; the background tuner starts
    finished = autotune.tuner.wait(kernel, timeout=900)
    ended = time.time()
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    events = kernel.events.events()
    trials = [e.time for e in events if e.kind in ("trial", "fail")]
    done = [e.detail for e in events if e.kind == "done"]
    print(
        json.dumps(
            {
                "finished": finished,
                "reason": done[-1] if done else None,
                "trials": len(trials),
                "fails": sum(e.kind == "fail" for e in events),
                "swaps": sum(e.kind == "swap" for e in events),
                "wall": ended - started,
                "first_trial": trials[0] - started if trials else None,
                "steady": (len(trials) - 1) / (trials[-1] - trials[0]) if len(trials) > 1 else None,
                "longest_gap": max((b - a for a, b in itertools.pairwise(trials)), default=None),
                "host_cpu": (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime),
                "live": kernel.live,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main(int(sys.argv[1]), float(sys.argv[2]))
