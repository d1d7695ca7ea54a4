"""Real threads, real swaps, in a subprocess so a crash fails the test instead of killing the run."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest


def _run(module: str, *args: str, timeout: float = 300) -> dict[str, int]:
    done = subprocess.run(
        [sys.executable, "-m", f"tests.patcher.{module}", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"exit {done.returncode} (negative: killed by a signal)\n{done.stderr}"
    return {k: int(v) for k, v in re.findall(r"(\w+)=(-?\d+)", done.stdout)}


@pytest.mark.parametrize("mode", ["per-thread", "shared"])
def test_two_callers_and_2000_swaps_see_no_wrong_result(mode: str) -> None:
    result = _run("_stress", "2000", *(["--shared"] if mode == "shared" else []))
    assert result["per_thread"] == (mode == "per-thread")
    assert result["wrong"] == 0
    # swaps beyond 2001 are migrations out of sealed generations
    assert result["swaps"] >= 2001 and result["calls"] > 1_000
    assert result["reclaimed"] == result["swaps"] - 1 and result["live"] == 1
    assert result["generations"] <= 2


def test_3000_cycles_keep_rss_growth_under_5_mb() -> None:
    result = _run("_memory", "3000")
    assert result["after"] - result["before"] < 5 * 1024, result
    assert result["generations"] <= 2 and result["live"] == 1


@pytest.mark.soak
def test_soak_100k_swaps() -> None:
    result = _run("_stress", "100000", timeout=3600)
    assert result["wrong"] == 0 and result["reclaimed"] == result["swaps"] - 1
