"""Optuna storage: damaged SQLite files are kept aside, locks are not damage, concurrent creation, URLs."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autotune import storage
from autotune.errors import StorageError

ROOT = Path(__file__).resolve().parents[2]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}


def _study_file(path: Path, trials: int) -> None:
    """A real optuna study file with ``trials`` finished trials."""
    import optuna

    rdb = optuna.storages.RDBStorage(f"sqlite:///{path}")
    study = optuna.create_study(study_name="old", storage=rdb)
    for number in range(trials):
        trial = study.ask()
        trial.suggest_float("x", 0, 1)
        trial.set_user_attr("note", "x" * 200)
        study.tell(trial, float(number))
    rdb.engine.dispose()  # close its connections: tests cut or lock the file next


def _trial_count(path: Path, name: str) -> int:
    import optuna

    return len(optuna.load_study(study_name=name, storage=f"sqlite:///{path}").get_trials(deepcopy=False))


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_damaged_sqlite_file_is_moved_aside_and_replaced(
    damage: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import optuna

    path = tmp_path / "studies.db"
    if damage == "garbage":
        path.write_bytes(b"this is not an SQLite database, just some bytes\n" * 100)
    else:
        _study_file(path, trials=30)
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    old = path.read_bytes()
    url = f"sqlite:///{path}"
    with caplog.at_level(logging.WARNING, logger="autotune"):
        opened = storage.open_storage(url)
    aside = [p for p in tmp_path.iterdir() if p.name.startswith("studies.db.damaged-")]
    assert len(aside) == 1 and aside[0].read_bytes() == old
    warnings = [r for r in caplog.records if r.name == "autotune" and r.levelno == logging.WARNING]
    assert len(warnings) == 1 and str(aside[0]) in warnings[0].getMessage()
    study = storage.open_study("fresh", opened, optuna.samplers.RandomSampler())
    study.tell(study.ask(), 1.0)
    assert _trial_count(path, "fresh") == 1
    assert optuna.get_all_study_names(f"sqlite:///{path}") == ["fresh"]


def test_a_second_damaged_file_gets_its_own_name(tmp_path: Path) -> None:
    path = tmp_path / "studies.db"
    url = f"sqlite:///{path}"
    for content in (b"first garbage" * 10, b"second garbage" * 10):
        path.write_bytes(content)
        storage._storages.pop(url, None)  # open_storage opens a URL once per process
        storage.open_storage(url)
    kept = sorted(p.read_bytes() for p in tmp_path.iterdir() if ".damaged-" in p.name)
    assert kept == [b"first garbage" * 10, b"second garbage" * 10]


def test_empty_and_healthy_files_are_kept(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    storage.open_storage(f"sqlite:///{empty}")
    healthy = tmp_path / "healthy.db"
    _study_file(healthy, trials=3)
    storage.open_storage(f"sqlite:///{healthy}")
    assert not [p for p in tmp_path.iterdir() if ".damaged-" in p.name]
    assert _trial_count(healthy, "old") == 3


def test_a_file_locked_by_another_process_is_not_damage(tmp_path: Path) -> None:
    path = tmp_path / "studies.db"
    _study_file(path, trials=3)
    before = path.read_bytes()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys, time\n"
            "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
            "c.execute('BEGIN EXCLUSIVE')\n"
            "print('locked', flush=True)\n"
            "time.sleep(60)\n",
            str(path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        with pytest.raises(StorageError, match="locked"):
            storage.open_storage(f"sqlite:///{path}", timeout=0.5)
        assert time.monotonic() - started < 10
    finally:
        holder.kill()
        holder.wait()
    assert path.read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if ".damaged-" in p.name]
    assert _trial_count(path, "old") == 3


# Two tuning workers: in each round both open a new SQLite file and the same new study in it at the same
# moment (released by a file), falling back to memory on StorageError as the tuner does, and add a trial.
_RACER = """
import json, os, sys, time
import optuna
from autotune.errors import StorageError
from autotune.storage import open_storage, open_study

directory, me, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
optuna.logging.set_verbosity(optuna.logging.ERROR)
results = []
for k in range(rounds):
    open(os.path.join(directory, f"ready-{k}-{me}"), "w").close()
    while not os.path.exists(os.path.join(directory, f"go-{k}")):
        time.sleep(0.0005)
    error = None
    try:
        url = f"sqlite:///{directory}/studies-{k}.db"
        study = open_study("autotune:race", open_storage(url), optuna.samplers.RandomSampler())
    except StorageError as exc:
        error = str(exc)
        study = optuna.create_study(storage=optuna.storages.InMemoryStorage())
    study.tell(study.ask(), 1.0)
    results.append({"memory": isinstance(study._storage, optuna.storages.InMemoryStorage), "error": error})
print(json.dumps(results))
"""


def test_two_processes_creating_one_study_at_once_both_end_up_in_it(tmp_path: Path) -> None:
    # Without the retries about half the rounds lose one process to memory (creating the schema races).
    rounds = 5
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", _RACER, str(tmp_path), str(me), str(rounds)],
            stdout=subprocess.PIPE,
            text=True,
            env=_env(),
        )
        for me in range(2)
    ]
    try:
        deadline = time.monotonic() + 120
        for k in range(rounds):
            while not all((tmp_path / f"ready-{k}-{me}").exists() for me in range(2)):
                assert time.monotonic() < deadline and all(racer.poll() is None for racer in racers)
                time.sleep(0.002)
            (tmp_path / f"go-{k}").touch()
        outputs = [racer.communicate(timeout=120)[0] for racer in racers]
    finally:
        for racer in racers:
            if racer.poll() is None:
                racer.kill()
                racer.wait()
    assert [racer.returncode for racer in racers] == [0, 0]
    results = [json.loads(output.strip().splitlines()[-1]) for output in outputs]
    assert results == [[{"memory": False, "error": None}] * rounds] * 2
    assert [_trial_count(tmp_path / f"studies-{k}.db", "autotune:race") for k in range(rounds)] == [2] * rounds


def test_normalize_url_names_the_installed_postgres_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    installed = storage._postgres_driver()
    for module in ("psycopg2", "psycopg"):
        try:
            __import__(module)
        except ImportError:
            continue
        assert installed == module
        break
    else:
        assert installed is None
    expected = f"postgresql+{installed}" if installed else "postgresql"
    assert storage.normalize_url("postgresql://u:p@h/db") == f"{expected}://u:p@h/db"
    assert (
        storage.normalize_url("postgres://u:p@h:5432/db?sslmode=require")
        == f"{expected}://u:p@h:5432/db?sslmode=require"
    )
    for unchanged in ("sqlite:///x", "sqlite:////abs/x.db", "postgresql+psycopg2://u:p@h/db", "mysql://u:p@h/db"):
        assert storage.normalize_url(unchanged) == unchanged
    monkeypatch.setattr(storage, "_postgres_driver", lambda: "psycopg")  # only psycopg 3 installed
    assert storage.normalize_url("postgres://u:p@h/db") == "postgresql+psycopg://u:p@h/db"
    assert storage.normalize_url("postgresql+psycopg2://u:p@h/db") == "postgresql+psycopg2://u:p@h/db"
    monkeypatch.setattr(storage, "_postgres_driver", lambda: None)  # neither: let SQLAlchemy name what is missing
    assert storage.normalize_url("postgres://u:p@h/db") == "postgresql://u:p@h/db"


def test_messages_never_show_the_password() -> None:
    url = "postgresql://autotune:s3cret%2Fpw@127.0.0.1:9/db"  # nothing listens on port 9
    with pytest.raises(StorageError) as raised:
        storage.open_storage(url, timeout=1)
    assert "s3cret" not in str(raised.value) and "autotune:***@127.0.0.1:9/db" in str(raised.value)
    assert storage.redact("sqlite:////home/a@b/x.db") == "sqlite:////home/a@b/x.db"
    assert storage._scrub("failed for s3cret/pw and s3cret%2Fpw", url) == "failed for *** and ***"


def test_open_study_retries_lock_and_duplicate_errors_for_a_bounded_time(monkeypatch: pytest.MonkeyPatch) -> None:
    import optuna
    from sqlalchemy import exc as sa_exc

    def locked() -> Exception:
        try:
            try:
                raise sa_exc.OperationalError("COMMIT", {}, Exception("database is locked"))
            except sa_exc.OperationalError as cause:
                raise optuna.exceptions.StorageInternalError("An exception is raised during the commit.") from cause
        except optuna.exceptions.StorageInternalError as wrapped:
            return wrapped

    real = optuna.create_study
    failures = [locked(), optuna.exceptions.DuplicatedStudyError("taken"), locked()]
    calls = []

    def flaky(**kwargs: object) -> object:
        calls.append(kwargs["study_name"])
        if failures:
            raise failures.pop(0)
        return real(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(optuna, "create_study", flaky)
    memory = optuna.storages.InMemoryStorage()
    study = storage.open_study("flaky", memory, optuna.samplers.RandomSampler(), timeout=10)
    assert study.study_name == "flaky" and len(calls) == 4

    failures[:] = [locked()] * 1000  # locked for good: StorageError once the time is up
    started = time.monotonic()
    with pytest.raises(StorageError, match="database is locked"):
        storage.open_study("stuck", memory, None, timeout=0.5)
    assert 0.3 < time.monotonic() - started < 5

    failures[:] = [ValueError("not a race")]  # anything else fails at once
    calls.clear()
    with pytest.raises(StorageError, match="not a race"):
        storage.open_study("other", memory, None, timeout=10)
    assert len(calls) == 1


def test_a_stale_trial_another_process_failed_first_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    import optuna
    from optuna.trial import TrialState

    study = optuna.create_study()
    dead = study.ask()
    dead.set_user_attr("host", storage.worker_attrs()["host"])
    dead.set_user_attr("pid", 2**22 + 12345)  # above the default pid_max: never a live process
    listed = study.get_trials(deepcopy=True, states=(TrialState.RUNNING,))
    assert storage.fail_stale_trials(study) == 1
    # Another process listed the running trials before this one failed them.
    monkeypatch.setattr(study, "get_trials", lambda **_: listed)
    assert storage.fail_stale_trials(study) == 0
