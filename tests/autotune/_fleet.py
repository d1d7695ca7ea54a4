"""Subprocess helper for the PostgreSQL fleet test: ``tune`` a kernel, or ``join`` and report what it adopted."""

from __future__ import annotations

import json
import sys

import numpy as np

import autotune
from autotune.storage import open_storage, storage_url, study_name

from . import tuning_kernels as tk


def main(mode: str) -> None:
    kernel = autotune.tunable(REPEAT=[8, 1])(tk.slow_default_sum)
    kernel(np.linspace(0.0, 1.0, 5000))
    if mode == "tune":
        kernel.tune(progress=False)
    else:
        assert autotune.tuner.wait(kernel, timeout=120)
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(
        study_name=study_name(kernel, "__default__"), storage=open_storage(storage_url(autotune.config.current()))
    )
    print(
        json.dumps(
            {"live": kernel.live, "trials": len(study.trials), "events": [e.kind for e in kernel.events.events()]}
        )
    )


if __name__ == "__main__":
    main(sys.argv[1])
