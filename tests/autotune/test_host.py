"""What the application keeps of tuning: a first call that waits for nothing, forks, good citizenship."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np

from autotune import f64, i64

from .procs import run_json


def _env(cache: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "AUTOTUNE_CACHE_DIR": str(cache), "AUTOTUNE_BACKGROUND": "0", **extra}


def test_the_first_call_does_not_wait_for_a_locked_study_file(private_cache: Path) -> None:
    path = private_cache / "locked.db"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("CREATE TABLE held (x)")
    holder.execute("BEGIN EXCLUSIVE")  # what another process's long write looks like
    release = threading.Timer(5.0, holder.rollback)
    release.start()
    try:
        result = run_json("_host", "locked", env=_env(private_cache, AUTOTUNE_STORAGE=f"sqlite:///{path}"))
    finally:
        release.cancel()
        holder.close()
    assert float(str(result["first_call"])) < 1.0  # a compile of the default, nothing more
    assert int(str(result["calls"])) > 100 and int(str(result["trials"])) > 0  # tuned once the lock went


def test_unreachable_storage_is_an_event_and_tuning_goes_on_in_memory(private_cache: Path) -> None:
    url = "postgresql://nobody:secret@127.0.0.1:9/none"  # the discard port: nothing listens
    result = run_json("_host", "unreachable", env=_env(private_cache, AUTOTUNE_STORAGE=url))
    errors: list[str] = result["errors"]  # type: ignore[assignment]
    assert len(errors) == 1 and "cannot open optuna storage" in errors[0] and "secret" not in errors[0]
    assert int(str(result["trials"])) > 0


def test_two_processes_starting_one_new_study_together_both_record_trials_in_it(private_cache: Path) -> None:
    import json
    import time

    import optuna

    env = _env(private_cache, AUTOTUNE_START_AT=str(time.time() + 4.0))
    command = [sys.executable, "-m", "tests.autotune._host", "race"]
    processes = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env) for _ in range(2)]
    results = [json.loads(p.communicate(timeout=180)[0].strip().splitlines()[-1]) for p in processes]
    assert all(p.returncode == 0 for p in processes)
    assert results[0]["study"] == results[1]["study"] and results[0]["errors"] == results[1]["errors"] == []
    study = optuna.load_study(study_name=results[0]["study"], storage=f"sqlite:///{private_cache / 'studies.db'}")
    workers = {t.user_attrs.get("pid") for t in study.trials if t.state.is_finished() and "pid" in t.user_attrs}
    assert len(workers) == 2  # each process's worker recorded its trials in the one study


def test_twenty_children_forked_while_tuning_call_kernels_and_exit(private_cache: Path) -> None:
    result = run_json("_host", "fork", env=_env(private_cache), timeout=180)
    assert result["hung"] == 0 and result["statuses"] == [0] * 20 and result["parent_ok"]


def test_tuning_leaves_logging_and_warnings_alone_and_imports_no_optuna(private_cache: Path) -> None:
    result = run_json("_host", "citizenship", env=_env(private_cache))
    assert result["optuna_level"] == 10 and result["filters_same"]
    assert result["imported"] == [] and int(str(result["trials"])) > 0
    assert result["pipelines_while_tuning"] == 0  # winners arrive as object code; nothing compiles here


def test_stop_stays_stopped_until_start(private_cache: Path) -> None:
    result = run_json("_host", "stopped", env=_env(private_cache, AUTOTUNE_BACKGROUND="1"))
    assert result["running_after_stop"] == [] and result["tuned_after_start"]


def test_a_script_without_a_main_guard_is_never_imported_by_the_worker(tmp_path: Path, private_cache: Path) -> None:
    script = tmp_path / "script.py"
    marker = tmp_path / "imported"
    script.write_text(
        "import os, numpy as np, autotune\n"
        "from autotune import f64\n"
        f"open({str(marker)!r}, 'a').write(str(os.getpid()) + '\\n')\n"
        "@autotune.tunable(vectorize=[1, 8])\n"
        "def total(x: f64[:]) -> f64:\n"
        "    s = 0.0\n"
        "    for i in range(len(x)):\n"
        "        s += x[i]\n"
        "    return s\n"
        "print(total(np.ones(100)), total.tune(progress=False))\n"
    )
    root = str(Path(__file__).resolve().parents[2])
    done = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=180,
        env=_env(private_cache, PYTHONPATH=root),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert len(marker.read_text().split()) == 1  # the script ran once: in its own process only


def test_a_slow_python_reference_is_skipped_within_its_budget(private_cache: Path, caplog: object) -> None:
    """An LCG wraps at 64 bits compiled but grows without bound in Python: the check must give up."""
    import logging
    import time

    import autotune

    @autotune.tunable(unroll=[1, 2])
    def lcg(n: i64) -> i64:
        x = 1
        for _ in range(n):
            x = x * 6364136223846793005 + 1442695040888963407
        return x

    autotune.configure(reference_seconds=1.0)
    try:
        assert lcg(200_000) != 0
        started = time.monotonic()
        with caplog.at_level(logging.INFO, logger="autotune"):  # type: ignore[attr-defined]
            lcg.tune(progress=False)
        took = time.monotonic() - started
    finally:
        autotune.configure(reference_seconds=5.0)
    assert took < 30 and lcg.live is not None
    assert "Python reference check skipped" in caplog.text  # type: ignore[attr-defined]


def test_tune_timeout_bounds_the_python_reference_check(private_cache: Path) -> None:
    """tune(timeout=2) with the default 5 s reference budget: the check shortens to fit the timeout."""
    import time

    import autotune

    @autotune.tunable(unroll=[1, 2, 4])
    def lcg2(n: i64) -> i64:
        x = 1
        for _ in range(n):
            x = x * 6364136223846793005 + 1442695040888963407
        return x

    assert lcg2(200_000) != 0
    started = time.monotonic()
    lcg2.tune(timeout=2.0, progress=False)
    assert time.monotonic() - started < 6  # was ~5 s of Python before the first trial could even start


def test_an_expert_route_reference_that_never_returns_is_given_up(private_cache: Path, caplog: object) -> None:
    """The expert route's Python reference runs in the host's tuner thread: a budget stops it there too."""
    import logging
    import time

    import autotune

    from .fault_kernels import faulty_ir

    def endless_reference(a: f64, x: f64["n"], y: f64["n"]) -> None:
        while True:
            pass

    kernel = autotune.tunable_ir(reference=endless_reference, writes=["y"], MODE=[0, 4])(faulty_ir)
    autotune.configure(reference_seconds=0.5)
    try:
        kernel(2.0, np.ones(100), np.ones(100))
        started = time.monotonic()
        with caplog.at_level(logging.INFO, logger="autotune"):  # type: ignore[attr-defined]
            kernel.tune(n_trials=1, progress=False)
        took = time.monotonic() - started
    finally:
        autotune.configure(reference_seconds=5.0)
    assert took < 20
    assert "Python reference check skipped" in caplog.text  # type: ignore[attr-defined]


def test_fresh_calls_become_validation_inputs_and_repeats_are_dropped(private_cache: Path) -> None:
    """While a key is tuned, a call is captured every revalidate_seconds: a repeat of a call already held
    is dropped, a new one is kept (and its inputs checked in the worker)."""
    import time

    import autotune

    @autotune.tunable(vectorize=[1, 2, 4, 8], interleave=[1, 2, 4], unroll=[1, 2, 4])
    def twice_plus_one(x: f64["n"], y: f64["n"]) -> None:
        for i in range(x.shape[0]):
            y[i] = 2.0 * x[i] + 1.0

    autotune.configure(revalidate_seconds=0.5, max_trials=1000, patience=1000)
    rng = np.random.default_rng(0)
    x, y = rng.random(1000), np.zeros(1000)
    try:
        twice_plus_one(x, np.zeros(1000))
        autotune.tuner.start()
        binding = twice_plus_one.bindings[0]
        end = time.monotonic() + 4
        while time.monotonic() < end:
            twice_plus_one(x, np.zeros(1000))  # the same call again and again
            time.sleep(0.001)
        assert binding.captures == []
        end = time.monotonic() + 30  # a loaded machine slows the steps the requests wait between
        while time.monotonic() < end and not binding.captures:
            twice_plus_one(rng.random(1000), y)
            time.sleep(0.001)
        assert len(binding.captures) >= 1
    finally:
        autotune.tuner.stop()
        autotune.configure(revalidate_seconds=30.0, max_trials=200, patience=40)
