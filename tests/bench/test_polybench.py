"""bench/polybench.py and bench/matmul.py: the PolyBench loop nests compile unchanged under autotune and
numba and give the Python function's results; the quick run works; ``--schedule`` reaches the decorator."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import autotune
from bench import matmul as matmul_bench
from bench import polybench
from bench.classic import STRICT, mismatch, numba_function, outputs
from bench.polybench import CASES

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.mark.parametrize("name", list(CASES))
def test_kernel_compiles_unchanged_and_matches_python(name: str) -> None:
    case = CASES[name]
    small = case.make_inputs(case.small, np.random.default_rng(3))
    expected = outputs(case, case.func, small)
    for width in (0, 4):  # the default variant, and one with the vectorizer forced (first value: default)
        kernel = autotune.tunable(name=f"tests.bench.polybench.{name}.vw{width}", vectorize=[width, 8])(case.func)
        assert mismatch(outputs(case, kernel, small), expected, STRICT, STRICT) == "", f"vectorize={width}"


@pytest.mark.parametrize("name", list(CASES))
def test_numba_compiles_the_same_source(name: str) -> None:
    pytest.importorskip("numba")
    case = CASES[name]
    nb, how = numba_function(case.func)
    assert how == "njit"
    small = case.make_inputs(case.small, np.random.default_rng(5))
    assert mismatch(outputs(case, nb, small), outputs(case, case.func, small), STRICT, STRICT) == ""


def test_in_place_arguments_are_restored() -> None:
    """Every argument a kernel updates from its own values is among its outputs and restored between calls."""
    for name, case in CASES.items():
        assert set(case.restore) <= set(case.outputs), name
        small = case.make_inputs(case.small, np.random.default_rng(1))
        assert all(isinstance(small[i], np.ndarray) for i in case.outputs), name


def test_schedule_keyword_only_with_the_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    """``--schedule`` passes ``schedule=True`` to autotune.tunable (and reaches the child); without it, nothing."""
    seen: list[dict[str, Any]] = []

    def tunable(**kwargs: Any) -> Any:
        seen.append(kwargs)
        return lambda func: func

    monkeypatch.setattr(autotune, "tunable", tunable)
    polybench.autotune_kernels("gemm", CASES["gemm"], schedule=False)
    matmul_bench.autotune_kernels(8, schedule=False)
    assert seen and all("schedule" not in kwargs for kwargs in seen)
    seen.clear()
    polybench.autotune_kernels("gemm", CASES["gemm"], schedule=True)
    matmul_bench.autotune_kernels(8, schedule=True)
    assert len(seen) == 4 and all(kwargs["schedule"] is True for kwargs in seen)
    args = polybench.parse(["--quick", "--kernels", "lu", "--trials", "3", "--schedule"])
    assert polybench.forwarded(args) == ["--quick", "--kernels", "lu", "--trials", "3", "--schedule"]
    assert "--schedule" not in polybench.forwarded(polybench.parse(["--quick"]))


def test_matmul_kernel_and_machine_description() -> None:
    kernel = autotune.tunable(name="tests.bench.matmul", vectorize=[0, 4])(matmul_bench.matmul)
    rng = np.random.default_rng(2)
    a, b, c = rng.random((5, 7)), rng.random((7, 3)), np.zeros((5, 3))
    kernel(a, b, c)
    np.testing.assert_allclose(c, a @ b, rtol=1e-12)
    peak = matmul_bench.cpu_peak()
    assert peak["doubles_per_vector"] in (2, 4, 8) and peak["cores_used"] == 1
    blas = matmul_bench.blas_info()
    assert set(blas["env"]) == set(matmul_bench.THREAD_VARIABLES) and "threads" in blas


def test_quick_run_of_one_kernel(private_cache: Path) -> None:
    pytest.importorskip("numba")
    done = subprocess.run(
        [sys.executable, "-m", "bench.polybench", "--quick", "--kernels", "atax", "--trials", "2"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, "AUTOTUNE_CACHE_DIR": str(private_cache)},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "atax: ok;" in done.stdout
    assert any(line.split()[:1] == ["geomean"] for line in done.stdout.splitlines())
