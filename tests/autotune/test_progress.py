"""``kernel.tune()`` as a user sees it: a progress line with trials, the live speed against the default and
the stop reason in words; nothing-to-do said so; a keyed kernel's result holds every key."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import numpy as np
import autotune
from autotune import f64

@autotune.tunable(vectorize=[0, 4], unroll=[0, 2])
def dot(a: f64["n"], b: f64["n"]) -> f64:
    s = 0.0
    for i in range(len(a)):
        s += a[i] * b[i]
    return s

@autotune.tunable(key=lambda a: len(a) > 100, vectorize=[0, 4])
def total(a: f64[:]) -> f64:
    s = 0.0
    for v in a:
        s += v
    return s

x = np.random.rand(1000)
dot(x, x)
print(repr(dot.tune()))
print(repr(dot.tune()))
total(np.ones(10))
total(np.ones(1000))
print(repr(total.tune(n_trials=1)))
"""


def test_tune_shows_trials_speed_and_why_it_stopped_and_returns_every_key(tmp_path: Path) -> None:
    script = tmp_path / "user.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "AUTOTUNE_CACHE_DIR": str(tmp_path), "AUTOTUNE_BACKGROUND": "0"}
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    first, second, keyed = (ast.literal_eval(line) for line in done.stdout.splitlines())
    assert first == second and set(first) == {"unroll", "vectorize"}
    assert set(keyed) == {False, True} and all(set(p) == {"vectorize"} for p in keyed.values())
    shown = done.stderr.replace("\r", "\n")
    assert "tuning dot:" in shown and "x vs default" in shown and "__default__" not in shown
    assert "stopped: every variant of the space was tried" in shown
    assert "nothing to do: every variant of the space was tried" in shown  # the second tune()
    assert "tuning total[False]:" in shown and "stopped: ran the trials asked for" in shown
