"""Subprocess helper: ``tune`` tunes a kernel and exits; ``use`` starts fresh and reports what it adopted."""

from __future__ import annotations

import json
import sys

import numpy as np

import autotune
from autotune.runtime import runtime
from autotune.storage import open_storage, storage_url, study_name

from . import tuning_kernels as tk


def main(mode: str) -> None:
    kernel = autotune.tunable(REPEAT=[8, 1])(tk.slow_default_sum)
    x = np.linspace(0.0, 1.0, 5000)
    result = kernel(x)
    if mode == "tune":
        kernel.tune(progress=False)
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    url = storage_url(autotune.config.current())
    study = optuna.load_study(study_name=study_name(kernel, "__default__"), storage=open_storage(url))
    cache = runtime().session.cache
    print(
        json.dumps(
            {
                "live": kernel.live,
                "result": result,
                "trials": len(study.trials),
                "misses": cache.stats().misses if cache else -1,
                "events": [e.kind for e in kernel.events.events()],
                "values": [e.value for e in kernel.events.events()],
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1])
