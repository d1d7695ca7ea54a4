"""The tuner for real: native timing, background thread, live callers, storage across processes."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

import autotune
from autotune import tuner

from . import tuning_kernels as tk
from .procs import run_json


def test_background_tuner_swaps_out_a_slow_default_under_live_callers() -> None:
    kernel = autotune.tunable(REPEAT=[8, 1])(tk.slow_default_sum)
    x = np.random.default_rng(1).random(20_000)
    expected = float(np.sum(x))
    stop = threading.Event()
    wrong, calls = [0], [0]

    def app() -> None:
        while not stop.is_set():
            if not math.isclose(kernel(x), expected, rel_tol=1e-9):
                wrong[0] += 1
            calls[0] += 1

    caller = threading.Thread(target=app)
    caller.start()
    try:
        while not kernel.bindings:
            time.sleep(0.001)
        tuner.start()
        assert tuner.wait(kernel, timeout=120)
    finally:
        stop.set()
        caller.join()
    assert kernel.live == {"REPEAT": 1}
    assert wrong[0] == 0 and calls[0] > 10
    swap = next(e for e in kernel.events.events() if e.kind == "swap")
    assert swap.value is not None and swap.value < 0.5  # at least 2x faster than the default


def test_a_wrong_variant_is_never_published() -> None:
    kernel = autotune.tunable(STEP=[1, 2])(tk.strided_sum)
    x = np.arange(1000.0)
    assert kernel(x) == 499500.0
    kernel.tune(progress=False)
    assert kernel.live == {"STEP": 1}
    assert kernel(x) == 499500.0
    (fail,) = [e for e in kernel.events.events() if e.kind == "fail"]
    assert "ValidationError" in fail.detail


def test_tuning_never_writes_the_callers_arrays_or_host_globals() -> None:
    kernel = autotune.tunable(vectorize=[1, 8], unroll=[1, 4])(tk.scale_into)
    x = np.random.default_rng(2).random(5000)
    out = np.zeros_like(x)
    kernel(x, out)
    x_seen, out_seen = x.copy(), out.copy()
    kernel.tune(progress=False)
    assert np.array_equal(x, x_seen) and np.array_equal(out, out_seen)

    counter = autotune.tunable(vectorize=[1, 4], unroll=[1, 2])(tk.count_signs)
    tk.COUNTS.array[...] = 0
    counter(x - 0.5)
    counts = tk.COUNTS.array.copy()
    assert counts.sum() == len(x)
    counter.tune(progress=False)
    assert np.array_equal(tk.COUNTS.array, counts)  # the trials ran on scratch copies of the global
    counter(x - 0.5)
    assert np.array_equal(tk.COUNTS.array, 2 * counts)  # and every variant still updates the real one


def test_a_second_process_starts_on_the_stored_best_without_a_trial(private_cache: Path) -> None:
    env = {**os.environ, "AUTOTUNE_CACHE_DIR": str(private_cache), "AUTOTUNE_BACKGROUND": "0"}
    first = run_json("_warm", "tune", env=env)
    assert first["live"] == {"REPEAT": 1}
    second = run_json("_warm", "use", env=env)
    assert second["live"] == {"REPEAT": 1}
    assert second["trials"] == first["trials"]  # no trial ran
    assert second["misses"] == 0  # no compile: the adopted variant came from the object cache
    assert second["events"] == ["adopt"]
    (adopted,) = second["values"]  # type: ignore[misc]
    assert adopted is not None and adopted < 0.5  # the recorded speed came along: about 1/8 of the default
    # The first process's first call ran the default (8 repeats), the second's the tuned variant.
    assert math.isclose(float(second["result"]), float(first["result"]), rel_tol=1e-12)  # type: ignore[arg-type]


def test_kill_9_keeps_storage_readable_and_fails_the_stale_trial(private_cache: Path) -> None:
    import optuna
    from optuna.trial import TrialState

    from autotune.storage import open_storage

    env = {**os.environ, "AUTOTUNE_CACHE_DIR": str(private_cache), "AUTOTUNE_BACKGROUND": "0"}
    storage = open_storage(f"sqlite:///{private_cache / 'studies.db'}")
    killed_pid = best_before = None
    for _attempt in range(3):  # a kill can land between two trials; then try again
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.autotune._killme", "run"], stdout=subprocess.PIPE, text=True, env=env
        )
        assert child.stdout is not None
        name = child.stdout.readline().strip()
        deadline = time.monotonic() + 120
        worker_pid = None
        while time.monotonic() < deadline:
            try:
                study = optuna.load_study(study_name=name, storage=storage)
            except KeyError:
                time.sleep(0.05)
                continue
            trials = study.get_trials(deepcopy=False)
            running = [t for t in trials if t.state == TrialState.RUNNING and "pid" in t.user_attrs]
            if sum(t.state == TrialState.COMPLETE for t in trials) >= 3 and running:
                best_before, worker_pid = study.best_value, int(running[0].user_attrs["pid"])
                break
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)  # the application dies; its tuning worker notices and exits
        child.wait(30)
        assert worker_pid is not None and worker_pid != child.pid  # trials run in the worker process
        _wait_gone(worker_pid, 10)
        study = optuna.load_study(study_name=name, storage=storage)
        if [t for t in study.trials if t.state == TrialState.RUNNING and t.user_attrs.get("pid") == worker_pid]:
            killed_pid = worker_pid
            break
    assert killed_pid is not None and best_before is not None, "never killed the child inside a trial"

    resumed = subprocess.run(
        [sys.executable, "-m", "tests.autotune._killme", "resume"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert resumed.returncode == 0, resumed.stderr
    study = optuna.load_study(study_name=name, storage=storage)
    stale = [t for t in study.trials if t.user_attrs.get("pid") == killed_pid and t.state == TrialState.FAIL]
    assert len(stale) == 1 and "died" in stale[0].user_attrs["error"]
    assert not [t for t in study.trials if t.state == TrialState.RUNNING and "host" in t.user_attrs]
    assert study.best_value <= best_before


def _wait_gone(pid: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    raise AssertionError(f"process {pid} outlived its application by {seconds} s")


def test_history_records_trials_swaps_and_reclamations() -> None:
    from autotune.runtime import runtime

    kernel = autotune.tunable(REPEAT=[8, 1])(tk.slow_default_sum)
    kernel(np.ones(3000))
    kernel.tune(progress=False)
    runtime().table.drain(10)
    kinds = [r["kind"] for r in kernel.history()]
    assert kinds.count("trial") == 2 and "swap" in kinds and "reclaim" in kinds and kinds[-1] in ("reclaim", "done")
    record = next(r for r in kernel.history() if r["kind"] == "swap")
    assert set(record) >= {"time", "kind", "key", "trial", "params", "value", "ns_per_call", "rss_kb"}
    assert record["rss_kb"] > 0 and record["ns_per_call"] > 0
