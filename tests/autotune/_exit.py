"""Subprocess helper: start background tuning, then let the interpreter exit mid-search."""

from __future__ import annotations

import time

import numpy as np

import autotune

from . import tuning_kernels as tk

autotune.configure(round_seconds=0.01, patience=1000)
kernel = autotune.tunable(vectorize=[1, 2, 4, 8, 16], unroll=[1, 2, 4, 8], interleave=[1, 2, 4])(tk.dot)
x = np.linspace(0.0, 1.0, 4096)
kernel(x, x, 4096)
from autotune.storage import study_name  # noqa: E402

print(study_name(kernel, "__default__"), flush=True)
autotune.tuner.start()
deadline = time.monotonic() + 60
while not [e for e in kernel.events.events() if e.kind == "trial"] and time.monotonic() < deadline:
    kernel(x, x, 4096)
time.sleep(0.3)
# falling off the end: the interpreter exits while the tuner is mid-search
