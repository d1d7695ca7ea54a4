"""Fault injection: candidates that crash, abort, hang, crawl or fail to build never reach the application."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .procs import run_json

REASONS = {
    1: "signal SIGSEGV",
    2: "signal SIGABRT",
    3: "timeout after 1.0 s",
    4: "timeout after 1.0 s",
    5: "CompileError",
    6: "LinkError",
}


def test_faulty_candidates_fail_their_trials_and_the_application_never_notices(private_cache: Path) -> None:
    env = {**os.environ, "AUTOTUNE_CACHE_DIR": str(private_cache), "AUTOTUNE_BACKGROUND": "0"}
    first = run_json("_faults", "run", env=env)
    assert first["wrong"] == 0 and int(str(first["calls"])) > 200
    events: list[Any] = first["events"]  # type: ignore[assignment]
    fails = {params["MODE"]: detail for kind, params, detail in events if kind == "fail"}
    assert sorted(fails) == sorted(REASONS), fails
    for mode, reason in REASONS.items():
        assert fails[mode].startswith(reason), (mode, fails[mode])
    assert first["faulty_live"] == {"MODE": 0}
    assert first["other_live"] == {"REPEAT": 1}  # the other kernel was tuned all the same
    assert int(str(first["workers"])) >= 4  # three deaths and two timeouts replaced the worker
    status: dict[str, Any] = first["status"]  # type: ignore[assignment]
    assert all(done for done, _ in status.values()), status

    again = run_json("_faults", "run", env=env)  # a restart neither retries nor adopts a failed variant
    assert again["wrong"] == 0
    assert again["events"] == [] and again["faulty_live"] == {"MODE": 0}
    assert int(str(again["workers"])) == 1


def test_a_starved_worker_is_slow_not_faulty(private_cache: Path) -> None:
    env = {**os.environ, "AUTOTUNE_CACHE_DIR": str(private_cache), "AUTOTUNE_BACKGROUND": "0"}
    result = run_json("_faults", "starved", env=env)
    assert result["stops"] == 4 and result["done"] and int(str(result["trials"])) >= 4
    assert result["fails"] == []  # limits count the worker's CPU time, not the time it was stopped
