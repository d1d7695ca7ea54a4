"""Validation cost per trial, before and after validation on several inputs with guarded copies.

Why: validation now runs every candidate on each captured call, on inputs cut to other extents, on a
cancellation input (fast-math variants) and on guarded copies (an mmap with guard pages per array),
where it used to run it once on plain copies of one captured call. That must stay a small share of a
trial, whose cost is dominated by the interleaved timing of candidate and incumbent.

For each kernel, in this process (a search built as the tuning worker builds it, no worker process):
- ``before``: one run on plain page-placed copies of the captured call, outputs compared (the old check);
- ``after``: ``Search._check`` (every case, guarded), for a fast-math variant (the most cases);
- ``trial``: one comparison of the candidate against the incumbent (what a trial spends timing).
Medians of ``REPS`` repetitions with the range; ``share`` is after / (after + trial).

Run: python -m bench.validation_cost
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from autotune import f64

REPS = 15


def saxpy(a: f64, x: f64["n"], y: f64["n"]) -> None:
    for i in range(x.shape[0]):
        y[i] += a * x[i]


def dot(a: f64["n"], b: f64["n"]) -> float:
    s = 0.0
    for i in range(a.shape[0]):
        s += a[i] * b[i]
    return s


def stencil(u: f64["n", "m"], v: f64["n", "m"]) -> None:
    for i in range(1, u.shape[0] - 1):
        for j in range(1, u.shape[1] - 1):
            v[i, j] = 0.25 * (u[i - 1, j] + u[i + 1, j] + u[i, j - 1] + u[i, j + 1])


def _kernels() -> list[tuple[str, Any, list[Any], dict[str, Any]]]:
    import autotune

    rng = np.random.default_rng(0)
    knobs = {"vectorize": [0, 8], "fastmath": [False, True]}
    fast = {"vectorize": 8, "fastmath": True}
    return [
        ("saxpy n=4096", autotune.tunable(**knobs)(saxpy), [2.0, rng.random(4096), rng.random(4096)], fast),
        ("dot n=100000", autotune.tunable(**knobs)(dot), [rng.random(100_000), rng.random(100_000)], fast),
        ("stencil 256x256", autotune.tunable(**knobs)(stencil), [rng.random((256, 256)), np.zeros((256, 256))], fast),
    ]


def _median_ms(fn: Callable[[], Any]) -> tuple[float, float, float]:
    times = []
    for _ in range(REPS):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times), min(times), max(times)


def _row(label: str, kernel: Any, args: list[Any], params: dict[str, Any]) -> str:
    import optuna

    from autotune.config import current
    from autotune.sample import placed_copy
    from autotune.search import Search
    from autotune.spec import kernel_spec
    from autotune.workspace import Outputs, check_outputs
    from dylibs import Session

    kernel(*args)
    binding = kernel.bindings[0]
    spec = kernel_spec(kernel, binding, f"bench-{label}", current())
    assert binding.sample is not None
    storage = optuna.storages.InMemoryStorage()
    search = Search(1, spec, [binding.sample.values()], storage, Session(), notify=lambda n: None)
    search.prepare()
    candidate = search._build(search._complete(params))
    incumbent = search._require_incumbent()
    workspace = search._require_workspace()
    validation = search._validation
    assert validation is not None
    expected = validation.cases[0][1]

    def before() -> None:
        fresh = [placed_copy(v) for v in workspace._pristine]
        result = workspace.arguments.call(candidate.address, fresh)
        check_outputs(Outputs(workspace._outputs(result, fresh)), expected, rtol=1e-3, atol=1e-3)

    def after() -> None:
        try:
            search._check(candidate)
        except Exception:
            pass  # a fast-math reduction fails the cancellation case: the cost is what counts

    b, a, t = _median_ms(before), _median_ms(after), _median_ms(lambda: search._measure(candidate, incumbent))
    share = a[0] / (a[0] + t[0])
    return (
        f"| {label} | {len(validation.cases)} | {b[0]:.3f} ({b[1]:.3f}-{b[2]:.3f}) "
        f"| {a[0]:.3f} ({a[1]:.3f}-{a[2]:.3f}) | {t[0]:.1f} ({t[1]:.1f}-{t[2]:.1f}) | {share:.1%} |"
    )


def main() -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    print(
        "| kernel | cases | before: one plain run, ms | after: every case, guarded, ms | one comparison, ms | share |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for row in _kernels():
        print(_row(*row))


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as cache:
        import os

        os.environ.setdefault("AUTOTUNE_CACHE_DIR", cache)
        os.environ.setdefault("AUTOTUNE_BACKGROUND", "0")
        main()
