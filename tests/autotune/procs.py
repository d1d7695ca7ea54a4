"""Run a test helper module in a fresh interpreter and read the JSON line it prints last."""

from __future__ import annotations

import json
import subprocess
import sys


def run_json(module: str, *args: str, env: dict[str, str], timeout: float = 300) -> dict[str, object]:
    """``python -m tests.autotune.<module> args...``; fails the test on a non-zero exit."""
    done = subprocess.run(
        [sys.executable, "-m", f"tests.autotune.{module}", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result
