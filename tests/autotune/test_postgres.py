"""A fleet shares studies through a real PostgreSQL server on loopback.

Skipped where no PostgreSQL server binaries or psycopg2 are installed, unless AUTOTUNE_TEST_POSTGRES=1
(CI sets it after installing them), in which case their absence is a failure.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .postgres_server import postgres_server, server_binaries
from .procs import run_json

REQUIRED = os.environ.get("AUTOTUNE_TEST_POSTGRES") == "1"


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    binaries = server_binaries()
    missing = [] if binaries else ["PostgreSQL server binaries (initdb, pg_ctl)"]
    try:
        import psycopg2  # noqa: F401
    except ImportError:
        missing.append("psycopg2 (pip install '.[postgres]')")
    if missing:
        message = "needs " + " and ".join(missing)
        if REQUIRED:
            pytest.fail(message)
        pytest.skip(message)
    assert binaries is not None
    with postgres_server(binaries) as url:
        yield url


def test_a_fleet_member_adopts_what_another_machine_learned(postgres_url: str, tmp_path: Path) -> None:
    base = {**os.environ, "AUTOTUNE_STORAGE": postgres_url}
    # Two "machines": separate cache directories, so nothing is shared but the PostgreSQL study.
    first = run_json(
        "_fleet", "tune", env={**base, "AUTOTUNE_CACHE_DIR": str(tmp_path / "a"), "AUTOTUNE_BACKGROUND": "0"}
    )
    assert first["live"] == {"REPEAT": 1}
    second = run_json(
        "_fleet", "join", env={**base, "AUTOTUNE_CACHE_DIR": str(tmp_path / "b"), "AUTOTUNE_BACKGROUND": "1"}
    )
    assert second["live"] == {"REPEAT": 1}
    assert second["trials"] == first["trials"]  # nothing measured again: the study was already exhausted
    assert "adopt" in second["events"] and "trial" not in second["events"]


def test_report_reads_the_shared_storage(postgres_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "AUTOTUNE_STORAGE": postgres_url, "AUTOTUNE_CACHE_DIR": str(tmp_path)}
    run_json("_fleet", "tune", env={**env, "AUTOTUNE_BACKGROUND": "0"})
    report = subprocess.run(
        [sys.executable, "-m", "autotune", "report"], capture_output=True, text=True, env=env, timeout=120, check=True
    ).stdout
    assert "slow_default_sum" in report and "REPEAT=1" in report
    assert report.startswith("studies in postgresql")
