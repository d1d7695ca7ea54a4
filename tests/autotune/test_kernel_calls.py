"""Tunable kernels calling helpers: dispatch raises the helper's exception, and tuning (in the worker,
which never imports the module) validates and measures variants compiled with the helpers inlined."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import autotune
from autotune.lang import kernel_statuses

from . import calls_kernels as ck


def test_helper_raise_reaches_the_python_caller_on_every_call_path() -> None:
    kernel = autotune.tunable(vectorize=[0, 4])(ck.weighted_sum)
    x = np.linspace(-0.5, 2.0, 101)
    expected = ck.weighted_sum(x)
    ck.HITS.array[...] = 0
    assert kernel(x) == pytest.approx(expected)
    assert list(ck.HITS.array) == [20, 81]
    for _ in range(2):  # the Python path, then the native fast path
        with pytest.raises(ValueError, match="below -1"):
            kernel(np.array([0.0, -3.0]))
    assert kernel.statuses == kernel_statuses(kernel.info)  # type: ignore[arg-type]


def test_tuning_a_kernel_that_calls_helpers() -> None:
    kernel = autotune.tunable(vectorize=[0, 4], unroll=[0, 2])(ck.weighted_sum)
    x = np.random.default_rng(3).random(4000)
    ck.HITS.array[...] = 0
    first = kernel(x)
    counts = ck.HITS.array.copy()
    pickle.loads(pickle.dumps(kernel.info))  # what the worker receives (with snapshots of host arrays)
    kernel.tune(progress=False)
    assert np.array_equal(ck.HITS.array, counts)  # trials ran on scratch copies of the helper's global
    kinds = [e.kind for e in kernel.events.events()]
    assert "trial" in kinds or "swap" in kinds or "done" in kinds, kinds
    assert "fail" not in kinds and "error" not in kinds, kinds
    assert kernel(x) == pytest.approx(first, rel=1e-12)
