"""The command line and interpreter exit, as a user meets them: real subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path


def _autotune(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "autotune", *args], capture_output=True, text=True, env=env, timeout=timeout, check=False
    )


def test_demo_report_and_cache_commands(private_cache: Path) -> None:
    env = {**os.environ, "AUTOTUNE_CACHE_DIR": str(private_cache), "AUTOTUNE_BACKGROUND": "1"}
    demo = _autotune("demo", "--seconds", "6", "--scale", "0.25", env=env)
    assert demo.returncode == 0, demo.stderr
    assert "results checked against numpy: all correct" in demo.stdout
    assert "histogram host global: exact" in demo.stdout
    for name in ("dot", "saxpy", "stencil5", "matmul", "softmax", "histogram"):
        assert f"\n{name} " in demo.stdout
    report = _autotune("report", env=env)
    assert report.returncode == 0 and "demo.dot" in report.stdout and "best parameters" in report.stdout
    info = _autotune("cache", "info", env=env)
    assert info.returncode == 0 and "compiled objects" in info.stdout
    clear = _autotune("cache", "clear", env=env)
    assert clear.returncode == 0 and "removed" in clear.stdout
    assert "compiled objects  0" in _autotune("cache", "info", env=env).stdout


def test_bad_command_lines_are_usage_errors(private_cache: Path) -> None:
    env = {**os.environ, "AUTOTUNE_CACHE_DIR": str(private_cache)}
    for args in (("frobnicate",), ("cache", "explode"), ("demo", "--seconds", "-1")):
        done = _autotune(*args, env=env)
        assert done.returncode == 2 and "usage" in done.stderr
    bad_storage = _autotune("report", "--storage", "nosuchdb://x", env=env)
    assert bad_storage.returncode == 2 and "error: cannot open optuna storage" in bad_storage.stderr


def test_interpreter_exit_stops_the_tuner_with_storage_consistent(private_cache: Path) -> None:
    import optuna
    from optuna.trial import TrialState

    env = {**os.environ, "AUTOTUNE_CACHE_DIR": str(private_cache), "AUTOTUNE_BACKGROUND": "0"}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "tests.autotune._exit"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and time.monotonic() - started < 60
    name = done.stdout.strip().splitlines()[0]
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(study_name=name, storage=f"sqlite:///{private_cache / 'studies.db'}")
    states = [t.state for t in study.trials]
    assert TrialState.COMPLETE in states and TrialState.RUNNING not in states
