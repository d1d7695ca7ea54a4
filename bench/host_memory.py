"""Host memory while the background tuner runs thousands of trials: RSS of the application process,
and of the tuning worker beside it.

Why: the application keeps only the host's thin part of tuning (a thread sending one step at a time,
linking each winner's object code, its event log); optuna, storage, lowering, compiling and measuring
live in the worker process. A long tuning session must not grow the application.

One child process (fresh ``AUTOTUNE_CACHE_DIR``, the background tuner on, the defaults otherwise) calls
``chunked_dot`` (bench/_memory_kernels.py) on 4,096 elements. Its space is vectorize 0,1,2,4,8,16 x
unroll 0,1,2,4,8 x interleave 0,1,2,4 x fastmath x CHUNK 8..2048 (9 values): 2,160 variants. The search
is configured to go on (``max_trials`` = ``patience`` = WARMUP + TRIALS, ``max_seconds`` 1 h) and to
measure cheaply (``rounds`` 1, ``round_seconds`` 0.2 ms), so trials are short. The main thread calls the
kernel 1,000 times every ``POLL`` seconds and samples: trials so far (``tuner.status()``), the host's RSS
(/proc/self/statm), the worker's (``tuner()._worker._process.pid``) and its compile worker's (the worker's
children). The baseline is the first sample after WARMUP trials; the run ends at the first sample after
WARMUP + TRIALS. Growth is end minus baseline; the peak is the largest host sample after the baseline.
The kernel's event log is bounded (20,000 events) but holds every trial of this run, so it is part of
the growth measured.

Target: host RSS growth under 5 MB over the TRIALS trials.

Run: python -m bench.host_memory [trials]   (5.5-7 minutes for 2,000 trials on the development machine)
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ._report import report, rss_kb
from .suite import run_child

WARMUP = 100
TRIALS = 2000
SIZE = 4096
POLL = 1.0
SPACE: dict[str, list[Any]] = {
    "vectorize": [0, 1, 2, 4, 8, 16],
    "unroll": [0, 1, 2, 4, 8],
    "interleave": [0, 1, 2, 4],
    "fastmath": [False, True],
    "CHUNK": [8, 16, 32, 64, 128, 256, 512, 1024, 2048],
}
TARGET_MB = 5.0


def _rss_of(pid: int) -> int:
    """RSS of process ``pid`` in KiB (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
    except (OSError, IndexError, ValueError):
        return 0


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            found += [int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
    except OSError:
        pass
    return found


def child(trials: int) -> None:
    import numpy as np

    import autotune
    from autotune import tuner

    from ._memory_kernels import chunked_dot

    total = WARMUP + trials
    autotune.configure(max_trials=total, patience=total, max_seconds=3600.0, rounds=1, round_seconds=0.0002)
    kernel = autotune.tunable(name="bench.host_memory.chunked_dot", default={"CHUNK": 256}, **SPACE)(chunked_dot)
    rng = np.random.default_rng(3)
    a, b = rng.uniform(-1, 1, SIZE), rng.uniform(-1, 1, SIZE)
    kernel(a, b)
    samples: list[dict[str, Any]] = []
    baseline: int | None = None
    started = time.monotonic()
    while True:
        time.sleep(POLL)
        for _ in range(1000):
            kernel(a, b)
        (status,) = tuner.status()
        process = getattr(tuner.tuner()._worker, "_process", None)
        worker = process.pid if process is not None else 0
        compilers = _children(worker) if worker else []
        samples.append(
            {
                "t": round(time.monotonic() - started, 2),
                "trials": status.trials,
                "host_kb": rss_kb(),
                "worker_pid": worker,
                "worker_kb": _rss_of(worker) if worker else 0,
                "compiler_kb": sum(_rss_of(c) for c in compilers),
            }
        )
        if baseline is None and status.trials >= WARMUP:
            baseline = len(samples) - 1
        if status.trials >= total or status.done:
            break
    tuner.stop()
    events = kernel.events.events()
    kinds = {kind: sum(e.kind == kind for e in events) for kind in sorted({e.kind for e in events})}
    print(json.dumps({"samples": samples, "baseline": baseline, "status": status.reason, "events": kinds}))


def main(trials: int = TRIALS) -> None:
    from .suite import child_env

    with tempfile.TemporaryDirectory(prefix="bench-host-memory-") as cache:
        env = child_env(cache, AUTOTUNE_BACKGROUND="1")
        output = run_child(["bench.host_memory", "--child", str(trials)], env, capture=True)
    result = json.loads(output.strip().splitlines()[-1])
    samples, first = result["samples"], result["baseline"]
    if first is None:
        raise RuntimeError(f"the search ended before {WARMUP} trials ({result['status']})")
    base, end = samples[first], samples[-1]
    after = samples[first:]
    done_trials = end["trials"] - base["trials"]
    workers = sorted({s["worker_pid"] for s in after})
    rows = []
    for label, key in (
        ("host (application)", "host_kb"),
        ("tuning worker", "worker_kb"),
        ("compile worker", "compiler_kb"),
    ):
        growth = (end[key] - base[key]) / 1024
        peak = max(s[key] for s in after) / 1024
        rows.append([label, base[key] / 1024, end[key] / 1024, growth, peak, growth * 1024 / done_trials * 1000])
    host_growth = rows[0][3]
    report(
        "host_memory",
        ["process", "RSS after warm-up MB", "RSS at end MB", "growth MB", "peak MB", "KB per 1,000 trials"],
        rows,
        {
            "space_size": 2160,
            "warmup_trials": base["trials"],
            "trials_measured": done_trials,
            "seconds_measured": round(end["t"] - base["t"], 1),
            "seconds_total": end["t"],
            "worker_pids": workers,
            "search_status": result["status"],
            "events": result["events"],
            "target": f"host growth < {TARGET_MB} MB",
            "met": host_growth < TARGET_MB,
            "samples": samples,
        },
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(int(sys.argv[2]))
    else:
        main(int(sys.argv[1]) if len(sys.argv) > 1 else TRIALS)
