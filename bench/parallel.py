"""prange speedup: the same kernel serial (parallel=1) and on two threads (parallel=2), in one process.

Why: a ``prange`` loop pays for its threads with a wake-up and a join per call (the pool's workers park on a
condition variable); the win must show on loops big enough to matter, and the measurement must say how
noisy the machine was. Two kernels:

- ``compute``: ``s += sin(a[i]) * exp(-a[i])`` over ``N_COMPUTE`` doubles (libm calls: compute-bound);
- ``memory``: ``y[i] = 2 * x[i] + y[i]`` over ``N_MEMORY`` doubles (two 64 MB arrays: memory-bound).

Each is a kernel whose space holds one ``parallel`` value (so its default variant is that one and no tuning
runs). Every round times the serial and the parallel kernel back to back (ABAB: drift hits both); the
table gives medians over ``ROUNDS`` rounds with the range, the median of the per-round ratios, and the
CPUs the parallel call got (process CPU time over wall time: 2.0 means both threads ran all along; on a
shared machine it says how much of a missing speedup is the machine's).

Run: python -m bench.parallel
"""

from __future__ import annotations

import math
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from autotune import f64, prange

ROUNDS = 21
N_COMPUTE = 4_000_000
N_MEMORY = 8_000_000


def compute(a: f64[:]) -> f64:
    s = 0.0
    for i in prange(len(a)):
        s += math.sin(a[i]) * math.exp(-a[i])
    return s


def memory(x: f64["n"], y: f64["n"]) -> None:
    for i in prange(x.shape[0]):
        y[i] = 2.0 * x[i] + y[i]


def _seconds(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _row(label: str, func: Callable[..., Any], args: list[Any], threads: int) -> tuple[str, ...]:
    import autotune

    serial = autotune.tunable(parallel=[1])(func)
    parallel = autotune.tunable(parallel=[threads])(func)
    serial(*args)
    parallel(*args)  # first calls: compile, link, start the pool's workers
    one, many, ratios, cores = [], [], [], []
    for _ in range(ROUNDS):
        a = _seconds(lambda: serial(*args))
        cpu = time.process_time()
        b = _seconds(lambda: parallel(*args))
        cores.append((time.process_time() - cpu) / b)
        one.append(a * 1e3)
        many.append(b * 1e3)
        ratios.append(a / b)

    def cell(xs: list[float]) -> str:
        return f"{statistics.median(xs):.2f} ({min(xs):.2f}-{max(xs):.2f})"

    speedup = f"{statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})"
    return (label, cell(one), cell(many), speedup, f"{statistics.median(cores):.2f}")


def main() -> None:
    import autotune

    autotune.configure(background=False)  # one-value spaces: nothing to tune, and no study to open
    rng = np.random.default_rng(0)
    threads = 2
    print(f"cpus: {os.cpu_count()}, rounds: {ROUNDS}, parallel={threads} against parallel=1")
    print("| kernel | serial ms | parallel ms | speedup (per-round ratio) | CPUs the parallel call got |")
    print("| --- | --- | --- | --- | --- |")
    rows = [
        _row(f"compute n={N_COMPUTE:,}", compute, [rng.random(N_COMPUTE)], threads),
        _row(f"memory n={N_MEMORY:,}", memory, [rng.random(N_MEMORY), rng.random(N_MEMORY)], threads),
    ]
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as cache:
        os.environ.setdefault("AUTOTUNE_CACHE_DIR", cache)
        os.environ.setdefault("AUTOTUNE_BACKGROUND", "0")
        main()
