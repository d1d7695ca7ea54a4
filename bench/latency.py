"""Call latency seen by the application while the background tuner runs, against no tuning at all.

Why: tuning runs beside the application, so its cost can show up as latency on the application's own
kernel calls: the host's tuner thread competes for the GIL when a reply arrives (linking and publishing a
winner), and the tuning worker process and its compiler compete for the cores. This measures how much.
bench/latency_trace.py looks at where the slow calls come from.

An application thread calls the suite's dot and saxpy (size ``APP_SIZE``) alternately in a tight loop for
``SECONDS`` and records each call's latency with ``time.perf_counter_ns`` around it. Every suite kernel
is called once first (compiling its default variant and queueing its search). Phase A: no tuner thread
(``AUTOTUNE_BACKGROUND=0``). Phase B: ``autotune.tuner.start()`` after those first calls, so the tuner
searches dot and saxpy (hottest first) and then the other kernels while the loop runs, and swaps faster
dot/saxpy variants in (so B's median can drop below A's). B is also split where the searches of dot and
saxpy end: before, the tuner works on the loop's own kernels; after, only on the others (the loop's
variants no longer change, so that window shows the interference alone). The main thread polls the
tuner's status every 0.25 s in both phases. Each phase runs in its own process with a fresh cache
directory and study, A first. Percentiles are over all calls of a kernel in the window.

Run: python -m bench.latency
"""

from __future__ import annotations

import json
import sys
import tempfile
import threading
import time
from array import array
from typing import Any

import numpy as np

from ._report import report
from .suite import child_env, load_suite, run_child

APP = ("dot", "saxpy")
APP_SIZE = 2000
#: Sizes of the other kernels, which are only there to be tuned (the demo's sizes).
OTHER_SIZES = {"stencil5": 192, "matmul": 96, "softmax": 128, "histogram": 20_000}
SECONDS = 20.0
PERCENTILES = {"p50": 50.0, "p99": 99.0, "p99.9": 99.9}


def _phase(tuning: bool) -> None:
    """Child: run the application loop (with the tuner when ``tuning``); print JSON figures."""
    import autotune
    from autotune import tuner

    suite = load_suite()
    rng = np.random.default_rng(2024)
    kernels: dict[str, Any] = {}
    inputs: dict[str, tuple[Any, ...]] = {}
    for name, entry in suite.SUITE.items():
        space = entry.space
        kernels[name] = autotune.tunable(name=f"bench.latency.{name}", default=entry.consts, **space)(entry.kernel)
        inputs[name] = entry.make_inputs(APP_SIZE if name in APP else OTHER_SIZES[name], rng)
        kernels[name](*inputs[name])  # compile the default, queue the search
    latencies = {name: array("i") for name in APP}  # int32 ns: 2 s at most
    if tuning:
        tuner.start()

    def app() -> None:
        dot, saxpy = kernels["dot"], kernels["saxpy"]
        dot_args, saxpy_args = inputs["dot"], inputs["saxpy"]
        record_dot, record_saxpy = latencies["dot"].append, latencies["saxpy"].append
        clock = time.perf_counter_ns
        end = clock() + int(SECONDS * 1e9)
        while True:
            t0 = clock()
            dot(*dot_args)
            t1 = clock()
            saxpy(*saxpy_args)
            t2 = clock()
            record_dot(t1 - t0)
            record_saxpy(t2 - t1)
            if t2 > end:
                break

    thread = threading.Thread(target=app, name="app")
    thread.start()
    # Note the call index at which the searches of dot and saxpy are over (both phases poll alike).
    split: int | None = None
    mine = {kernels[name].name for name in APP}
    while thread.is_alive():
        thread.join(0.25)
        if split is None and all(s.done for s in tuner.status() if s.kernel in mine) and tuning:
            split = len(latencies["dot"])
    status = tuner.status()
    if tuning:
        tuner.stop()
    out: dict[str, Any] = {"kernels": {}, "trials": {s.kernel: s.trials for s in status}, "split": split}
    for name, samples in latencies.items():
        ns = np.frombuffer(samples, dtype=np.int32)
        windows = {"all": ns, "own": ns[:split], "others": ns[split:] if split is not None else ns[:0]}
        events = kernels[name].events.events()
        out["kernels"][name] = {
            "calls": int(ns.size),
            "swaps": sum(e.kind == "swap" for e in events),
            "live": kernels[name].live,
            **{window: _percentiles(values) for window, values in windows.items()},
        }
    print(json.dumps(out, default=str))


def _percentiles(ns: np.ndarray[Any, Any]) -> dict[str, float] | None:
    if not ns.size:
        return None
    return {**{label: float(np.percentile(ns, q)) for label, q in PERCENTILES.items()}, "max": float(ns.max())}


def _run_phase(tuning: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-latency-") as cache:
        output = run_child(["bench.latency", "phase", "B" if tuning else "A"], child_env(cache), capture=True)
    result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    return result


def main() -> None:
    without = _run_phase(False)
    with_tuner = _run_phase(True)
    rows: list[list[Any]] = []
    for name in APP:
        a, b = without["kernels"][name]["all"], with_tuner["kernels"][name]
        for label in [*PERCENTILES, "max"]:
            own = b["own"][label] / 1e3 if b["own"] else "-"
            others = b["others"][label] / 1e3 if b["others"] else "-"
            rows.append([name, label, a[label] / 1e3, b["all"][label] / 1e3, b["all"][label] / a[label], own, others])
    tuned = {name: with_tuner["kernels"][name]["live"] for name in APP}
    report(
        "latency",
        [
            "kernel",
            "latency",
            "A: no tuner",
            "B: tuner running",
            "ratio B/A",
            "B: tuning dot+saxpy",
            "B: tuning others",
        ],
        rows,
        {
            "unit": "us",
            "seconds_per_phase": SECONDS,
            "dot_saxpy_searches_done_after_calls": with_tuner["split"],
            "calls": {name: [without["kernels"][name]["calls"], with_tuner["kernels"][name]["calls"]] for name in APP},
            "trials_during_B": with_tuner["trials"],
            "swaps_during_B": {name: with_tuner["kernels"][name]["swaps"] for name in APP},
            "live_after_B": tuned,
        },
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["phase"]:
        _phase(sys.argv[2] == "B")
    else:
        main()
