"""Subprocess helper: tune slowly (so a trial is always running) until killed; ``resume`` runs one trial."""

from __future__ import annotations

import sys

import numpy as np

import autotune

from . import tuning_kernels as tk
from .tuning_kernels import dot


def main(mode: str) -> None:
    autotune.configure(round_seconds=0.05, rounds=5, patience=1000)
    kernel = autotune.tunable(vectorize=[1, 2, 4, 8, 16], unroll=[1, 2, 4, 8], interleave=[1, 2])(tk.dot)
    x = np.linspace(0.0, 1.0, 4096)
    kernel(x, x, 4096)
    from autotune.storage import study_name

    print(study_name(kernel, "__default__"), flush=True)
    kernel.tune(n_trials=1 if mode == "resume" else None, progress=False)
    print("resumed" if mode == "resume" else "finished", flush=True)


assert dot is tk.dot
if __name__ == "__main__":
    main(sys.argv[1])
