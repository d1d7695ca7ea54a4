"""The examples run as a user would run them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_hotswap_ir_example(private_cache: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "hotswap_ir.py"), "300"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "AUTOTUNE_CACHE_DIR": str(private_cache)},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = {" ".join(line.split()[:2]): line.split() for line in done.stdout.splitlines() if line.strip()}
    assert lines["wrong results"][2] == "0"
    made = lines["calls made"][2]
    assert int(made.replace(",", "")) > 0 and lines["global 'calls'"][2] == made  # state survived every swap
    swaps = next(v for k, v in lines.items() if k.startswith("swaps"))
    assert int(swaps[1].replace(",", "")) >= 300
