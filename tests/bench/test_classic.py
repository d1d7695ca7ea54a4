"""bench/classic.py: its ten kernels compile unchanged under autotune and numba, and the quick run works."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import autotune
from bench.classic import CASES, STRICT, mismatch, numba_function, outputs

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.mark.parametrize("name", list(CASES))
def test_kernel_compiles_unchanged_and_matches_python(name: str) -> None:
    case = CASES[name]
    kernel = autotune.tunable(name=f"tests.bench.classic.{name}", vectorize=[0, 4])(case.func)
    small = case.make_inputs(case.small, np.random.default_rng(3))
    assert mismatch(outputs(case, kernel, small), outputs(case, case.func, small), STRICT, STRICT) == ""


@pytest.mark.parametrize("name", ["kmeans_assign", "black_scholes", "parallel_sum"])
def test_numba_compiles_the_same_source_with_its_helpers(name: str) -> None:
    """numba calls only jitted functions and needs numba.prange: the bench rebinds both, source unchanged."""
    pytest.importorskip("numba")
    case = CASES[name]
    nb, how = numba_function(case.func)
    assert how == ("njit(parallel=True), numba.prange" if name == "parallel_sum" else "njit")
    small = case.make_inputs(case.small, np.random.default_rng(5))
    assert mismatch(outputs(case, nb, small), outputs(case, case.func, small), STRICT, STRICT) == ""


def test_mismatch_names_what_differs() -> None:
    assert mismatch([np.arange(4)], [np.arange(4)], 0.0, 0.0) == ""
    assert "1 of 4 integers differ" in mismatch([np.array([0, 1, 2, 4])], [np.arange(4)], 1.0, 1.0)
    assert "relative error" in mismatch([1.0 + 1e-6], [1.0], 1e-9, 0.0)
    assert "2 outputs" in mismatch([1.0, 2.0], [1.0], 0.0, 0.0)


def test_quick_run_of_one_kernel(private_cache: Path) -> None:
    pytest.importorskip("numba")
    done = subprocess.run(
        [sys.executable, "-m", "bench.classic", "--quick", "--kernels", "prefix_sum"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, "AUTOTUNE_CACHE_DIR": str(private_cache)},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "prefix_sum: ok;" in done.stdout
    assert any(line.split()[:1] == ["geomean"] for line in done.stdout.splitlines())
