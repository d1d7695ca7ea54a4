"""The command line and interpreter exit, as a user meets them: real subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from autotune.records import BestRecords


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
    assert demo.stdout.count("kernel         calls") == 1 and "x vs default:" in demo.stdout  # one table, a legend
    report = _autotune("report", env=env)
    assert report.returncode == 0 and "demo.dot" in report.stdout and "live:" in report.stdout
    assert "__default__" not in report.stdout
    rows = json.loads(_autotune("report", "--json", env=env).stdout)["studies"]
    records = BestRecords(private_cache / "best")
    for row in rows:  # live is what the next process adopts: the stored record, not the best trial
        stored = records.load(row["study"])
        assert (row["live"] is None) == (stored is None)
        if stored is not None:
            assert row["live"]["params"] == stored[0]
    measured = [row["best"] for row in rows if row["best"] and row["best"]["spread"]]
    assert measured, rows  # a speedup comes with the interquartile range of its rounds
    assert all(
        lo <= best["x_vs_default"] * 1.0001 and best["x_vs_default"] <= hi * 1.0001
        for best in measured
        for lo, hi in [best["spread"]]
    )
    damaged = next(row for row in rows if row["live"] is not None)
    records._path(damaged["study"]).write_text("{not json")
    flagged = _autotune("report", env=env)
    assert "the stored record is damaged" in flagged.stdout and flagged.stdout.count("damaged and ignored") == 1
    info = _autotune("cache", "info", env=env)
    assert info.returncode == 0 and "compiled objects" in info.stdout
    clear = _autotune("cache", "clear", env=env)
    assert clear.returncode == 0 and "removed" in clear.stdout and "studies are kept" in clear.stdout
    assert "compiled objects  0" in _autotune("cache", "info", env=env).stdout
    import optuna

    storage = f"sqlite:///{private_cache / 'studies.db'}"
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    optuna.create_study(study_name="autotune:other:0123456789ab:'__default__':another-machine", storage=storage)
    wipe = _autotune("cache", "clear", "--studies", env=env)
    assert wipe.returncode == 0 and f"removed {len(rows)} of this machine's" in wipe.stdout, wipe.stdout
    kept = _autotune("report", env=env).stdout  # another machine's study (a fleet's shared storage) stays
    assert "other" in kept and "demo.dot" not in kept
    assert _autotune("cache", "clear", "--all-machines", env=env).returncode == 2
    everything = _autotune("cache", "clear", "--studies", "--all-machines", env=env)
    assert "removed 1 of every machine's study" in everything.stdout, everything.stdout
    assert "no autotune studies" in _autotune("report", env=env).stdout


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


def test_budgets_and_margin_come_from_the_environment_and_bad_values_name_their_variable(private_cache: Path) -> None:
    code = (
        "from autotune.config import current; c = current(); print(c.max_trials, c.max_seconds, c.patience, c.margin)"
    )
    env = {**os.environ, "AUTOTUNE_CACHE_DIR": str(private_cache)}
    good = {"AUTOTUNE_MAX_TRIALS": "7", "AUTOTUNE_MAX_SECONDS": "2.5", "AUTOTUNE_PATIENCE": "3", "AUTOTUNE_MARGIN": "0"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**env, **good}, check=False
    )
    assert done.stdout.split() == ["7", "2.5", "3", "0.0"], done.stderr
    for variable, value in (
        ("AUTOTUNE_MAX_TRIALS", "many"),
        ("AUTOTUNE_MARGIN", "-1"),
        ("AUTOTUNE_MAX_SECONDS", "nan"),
    ):
        bad = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env={**env, variable: value}, check=False
        )
        assert bad.returncode != 0 and "ConfigError" in bad.stderr and variable in bad.stderr
        cli = _autotune("report", env={**env, variable: value})  # the command line: one error line
        assert cli.returncode == 2 and cli.stderr.startswith(f"error: {variable}=") and "Traceback" not in cli.stderr
    imported = subprocess.run(  # importing is not configuring: the error waits for the first use
        [sys.executable, "-c", "import autotune"],
        capture_output=True,
        text=True,
        env={**env, "AUTOTUNE_MAX_TRIALS": "many"},
        check=False,
    )
    assert imported.returncode == 0, imported.stderr
