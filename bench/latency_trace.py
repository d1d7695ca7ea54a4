"""Where the slow calls of bench/latency.py come from: the host's tuner thread, the worker's CPU use, or
the machine.

Why: ``python -m bench.latency`` reports the worst call while the tuner works. A slow call has three
possible causes: (1) the host's tuner thread holds the GIL (reading a reply, linking a winner's object
code, publishing it) when the caller wants it back after a kernel call; (2) the tuning worker and its
compiler (other processes, niced) take the caller's core; (3) the machine itself (a shared 2-core VM)
stalls the caller. This runs the application loop of bench/latency.py (dot and saxpy on 2,000 elements,
every suite kernel called once first, a fresh cache directory, the main thread polling
``tuner.status()`` every 0.25 s) in three set-ups, each in its own process:

- ``no tuner``: ``AUTOTUNE_BACKGROUND=0``, as bench/latency.py's phase A;
- ``tuner``: ``tuner.start()`` after the first calls, as phase B;
- ``no tuner + 2 niced burners``: no tuner, but two ``nice -n 10`` busy-looping Python processes
  (the worker's niceness): CPU competition with no GIL and no host work at all.

In the ``tuner`` set-up the tuner thread's work is timed from this process by wrapping the host's methods
(``Tuner._apply``, ``Variants.link``, ``Kernel.publish``, ``Worker._send``/``_ensure``, the reply's
unpickling, ``kernel_spec``, the reclaimer's ``_advance``) and the whole of each ``Worker.request``.
Every call over 200 us is kept with its start time and put in one class: "host tuner work" if it
overlaps one of those host spans, "waiting on the worker" if it overlaps only a request (the tuner
thread is blocked in ``select``, without the GIL), else "no step running". The app thread's involuntary
context switches (/proc/thread-self/status) count how often another task took its core. Set-ups run in
rounds, ``REPEATS`` rounds of ``SECONDS`` each; the table shows the median over rounds and the range.

Run: python -m bench.latency_trace [seconds]
"""

from __future__ import annotations

import functools
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from array import array
from typing import Any

import numpy as np

from ._report import report
from .latency import APP, APP_SIZE, OTHER_SIZES
from .suite import child_env, load_suite, run_child

SECONDS = 20.0
REPEATS = 3
SLOW_NS = 200_000
SETUPS = ("no tuner", "tuner", "no tuner + 2 niced burners")
HOST_WORK = ("apply", "link", "publish", "send", "ensure", "unpickle", "spec", "reclaim")


def _instrument(spans: list[tuple[str, int, int]]) -> None:
    """Wrap the host's tuning methods so that each call adds (label, start ns, end ns) to ``spans``."""
    import pickle

    import patcher.reclaimer
    from autotune import kernel, tuner, variant, worker

    clock = time.perf_counter_ns

    def timed(owner: Any, name: str, label: str) -> None:
        original = getattr(owner, name)

        @functools.wraps(original)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = clock()
            try:
                return original(*args, **kwargs)
            finally:
                spans.append((label, start, clock()))

        setattr(owner, name, wrapper)

    timed(worker.Worker, "request", "request")
    timed(worker.Worker, "_send", "send")
    timed(worker.Worker, "_ensure", "ensure")
    timed(tuner.Tuner, "_apply", "apply")
    timed(tuner, "kernel_spec", "spec")
    timed(variant.Variants, "link", "link")
    timed(kernel.Kernel, "publish", "publish")
    timed(patcher.reclaimer.Reclaimer, "_advance", "reclaim")

    class _Pickle:  # the worker module's ``pickle``, with ``loads`` timed (the reply and notices)
        UnpicklingError = pickle.UnpicklingError

        @staticmethod
        def loads(data: bytes) -> Any:
            start = clock()
            try:
                return pickle.loads(data)
            finally:
                spans.append(("unpickle", start, clock()))

    worker.pickle = _Pickle  # type: ignore[assignment]


def _child(setup: str, seconds: float) -> None:
    import autotune
    from autotune import tuner

    spans: list[tuple[str, int, int]] = []
    if setup == "tuner":
        _instrument(spans)
    suite = load_suite()
    rng = np.random.default_rng(2024)
    kernels: dict[str, Any] = {}
    inputs: dict[str, tuple[Any, ...]] = {}
    for name, entry in suite.SUITE.items():
        tunable = autotune.tunable(name=f"bench.latency.{name}", default=entry.consts, **entry.space)
        kernels[name] = tunable(entry.kernel)
        inputs[name] = entry.make_inputs(APP_SIZE if name in APP else OTHER_SIZES[name], rng)
        kernels[name](*inputs[name])
    burners = []
    if setup.endswith("burners"):
        loop = [sys.executable, "-c", "while True: pass"]
        burners = [subprocess.Popen(["nice", "-n", "10", *loop]) for _ in range(2)]
    if setup == "tuner":
        tuner.start()
    slow: list[tuple[int, int]] = []
    result: dict[str, Any] = {}

    def app() -> None:
        # bench/latency.py's loop, also keeping the start of every slow call (to line up with the spans).
        dot, saxpy = kernels["dot"], kernels["saxpy"]
        dot_args, saxpy_args = inputs["dot"], inputs["saxpy"]
        clock = time.perf_counter_ns
        keep = slow.append
        every = array("i")  # int32 ns, as bench/latency.py
        record = every.append
        end = clock() + int(seconds * 1e9)
        while True:
            t0 = clock()
            dot(*dot_args)
            t1 = clock()
            saxpy(*saxpy_args)
            t2 = clock()
            record(t1 - t0)
            record(t2 - t1)
            if t1 - t0 > SLOW_NS:
                keep((t0, t1 - t0))
            if t2 - t1 > SLOW_NS:
                keep((t1, t2 - t1))
            if t2 > end:
                break
        with open("/proc/thread-self/status") as status:
            result["switches"] = {
                line.split(":")[0]: int(line.split()[1]) for line in status if "ctxt_switches" in line
            }
        ns = np.frombuffer(every, dtype=np.int32)
        result["calls"] = int(ns.size)
        result["p99.9"] = float(np.percentile(ns, 99.9))
        result["max"] = float(ns.max())
        result["over_1ms"] = int((ns > 1_000_000).sum())
        result["over_200us"] = int((ns > SLOW_NS).sum())

    thread = threading.Thread(target=app, name="app")
    thread.start()
    while thread.is_alive():
        thread.join(0.25)
        tuner.status()
    status = tuner.status()
    if setup == "tuner":
        tuner.stop()
    for burner in burners:
        burner.kill()
        burner.wait()
    result["trials"] = sum(s.trials for s in status)
    result["classes"] = _classify(slow, spans) if setup == "tuner" else {}
    result["host_spans_ms"] = {
        label: round(sum(end - start for lab, start, end in spans if lab == label) / 1e6, 1)
        for label in ("request", *HOST_WORK)
    }
    print(json.dumps(result))


def _classify(slow: list[tuple[int, int]], spans: list[tuple[str, int, int]]) -> dict[str, dict[str, int]]:
    """Count slow calls (>= 1 ms and 0.2-1 ms) by what the tuner thread was doing meanwhile."""
    work = sorted((s, e) for label, s, e in spans if label in HOST_WORK)
    requests = sorted((s, e) for label, s, e in spans if label == "request")

    def overlaps(intervals: list[tuple[int, int]], start: int, end: int) -> bool:
        return any(s < end and e > start for s, e in intervals)

    classes: dict[str, dict[str, int]] = {}
    for start, duration in slow:
        end = start + duration
        if overlaps(work, start, end):
            label = "host tuner work"
        elif overlaps(requests, start, end):
            label = "waiting on the worker"
        else:
            label = "no step running"
        size = ">= 1 ms" if duration >= 1_000_000 else "0.2-1 ms"
        classes.setdefault(size, {}).setdefault(label, 0)
        classes[size][label] += 1
    return classes


def main(seconds: float = SECONDS) -> None:
    started = time.perf_counter()
    runs: dict[str, list[dict[str, Any]]] = {setup: [] for setup in SETUPS}
    for _ in range(REPEATS):
        for setup in SETUPS:
            with tempfile.TemporaryDirectory(prefix="bench-latency-trace-") as cache:
                output = run_child(
                    ["bench.latency_trace", "child", setup, str(seconds)], child_env(cache), capture=True
                )
            runs[setup].append(json.loads(output.strip().splitlines()[-1]))

    def med(values: list[float]) -> tuple[float, str]:
        return statistics.median(values), f"{min(values):.3g}-{max(values):.3g}"

    rows = []
    for setup in SETUPS:
        results = runs[setup]
        p999, p999_range = med([r["p99.9"] / 1e3 for r in results])
        worst, worst_range = med([r["max"] / 1e3 for r in results])
        per_million = [r["over_1ms"] / r["calls"] * 1e6 for r in results]
        over, over_range = med(per_million)
        switches = [r["switches"]["nonvoluntary_ctxt_switches"] / seconds for r in results]
        rows.append(
            [
                setup,
                statistics.median(r["calls"] for r in results),
                p999,
                p999_range,
                worst,
                worst_range,
                over,
                over_range,
                statistics.median(switches),
                statistics.median(r["trials"] for r in results),
            ]
        )
    classes: dict[str, dict[str, int]] = {}
    for r in runs["tuner"]:
        for size, counts in r["classes"].items():
            for label, n in counts.items():
                classes.setdefault(size, {}).setdefault(label, 0)
                classes[size][label] += n
    report(
        "latency_trace",
        [
            "set-up",
            "calls (dot + saxpy)",
            "p99.9 us",
            "range",
            "max us",
            "range",
            "calls > 1 ms per million",
            "range",
            "involuntary switches/s",
            "trials",
        ],
        rows,
        {
            "seconds_per_run": seconds,
            "repeats": REPEATS,
            "slow_calls_by_tuner_activity (all tuner runs)": classes,
            "host_spans_ms (tuner runs)": [r["host_spans_ms"] for r in runs["tuner"]],
            "runs": runs,
            "total_seconds": round(time.perf_counter() - started, 1),
        },
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["child"]:
        _child(sys.argv[2], float(sys.argv[3]))
    else:
        main(float(sys.argv[1]) if len(sys.argv) > 1 else SECONDS)
