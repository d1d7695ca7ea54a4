"""Kernels spelled ``Array[f64, N]`` with ``N = Literal["n"]``: mypy --strict and ruff's default rules
accept them in a user's file, and at run time they mean what ``f64["n"]`` means."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pytest

import autotune
from autotune import Array, KernelTypeError, f64, i64

# The README example, as a user's own file: it is written in the typed spelling.
EXAMPLE = re.search(r"## Example\n\n```python\n(.*?)```", (Path(__file__).parents[2] / "README.md").read_text(), re.S)[
    1
]  # type: ignore[index]

# The package the tests import (this worktree, or wherever the suite runs from): the type checker reads it.
PACKAGE_ROOT = Path(autotune.__file__).resolve().parents[1]

N = Literal["n"]
M = Literal["m"]


@autotune.tunable(vectorize=[0, 4])
def dot(a: Array[f64, N], b: Array[f64, N]) -> f64:
    s = 0.0
    for i in range(len(a)):
        s += a[i] * b[i]
    return s


@autotune.tunable
def column_sums(x: Array[f64, Any, M], scale: f64, m: i64) -> Array[f64, M]:
    out = np.zeros(m)
    for i in range(x.shape[0]):
        for j in range(m):
            out[j] += x[i, j] * scale
    return out


def _check(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, f"{' '.join(args)}\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}"
    return done.stdout


def test_mypy_strict_and_ruff_accept_the_typed_example(tmp_path: Path) -> None:
    script = tmp_path / "example.py"
    script.write_text(EXAMPLE)
    env = {**os.environ, "MYPYPATH": str(PACKAGE_ROOT)}
    # follow-imports=silent: the package's own modules are checked by the project, as an installed
    # typed package's would be; what is judged here is the user's file.
    mypy = [sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent", "--cache-dir", str(tmp_path / "mc")]
    assert "Success: no issues found" in _check([*mypy, str(script)], tmp_path, env)
    # --isolated: ruff's default rules, with no project configuration (none exists above tmp_path anyway)
    _check([sys.executable, "-m", "ruff", "check", "--isolated", "--no-cache", str(script)], tmp_path, env)

    # the checker is not vacuous: the old spelling and a wrong result type are reported
    script.write_text(EXAMPLE.replace("Array[f64, N], b", 'f64["n"], b').replace("return s", "return str(s)"))
    done = subprocess.run([*mypy, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
    assert 'Name "n" is not defined' in done.stdout and "Incompatible return value type" in done.stdout


def test_the_typed_example_runs(tmp_path: Path) -> None:
    script = tmp_path / "example.py"
    script.write_text(EXAMPLE.replace("range(20_000)", "range(100)").replace("timeout=60", "timeout=1"))
    env = {**os.environ, "PYTHONPATH": str(PACKAGE_ROOT), "AUTOTUNE_BACKGROUND": "0"}
    compiled, live, python, *assembly = _check([sys.executable, str(script)], tmp_path, env).splitlines()
    assert float(compiled) == pytest.approx(float(python)) and "vectorize" in live and assembly


def test_the_typed_spelling_is_the_kernel_type() -> None:
    assert Array[f64, N] == f64["n"]
    assert Array[f64, Any, M] == f64[:, "m"]
    assert Array[float, N, Any, Literal["k"]] == f64["n", :, "k"]  # float, as the type checker reads f64
    assert Array[i64, "n"] == i64["n"]  # a plain string still works at run time


def test_typed_kernels_compile_run_and_check_named_dimensions() -> None:
    a, b = np.random.rand(1000), np.random.rand(1000)
    assert dot(a, b) == pytest.approx(float(a @ b))
    with pytest.raises(KernelTypeError, match="'n'"):
        dot(a, b[:-1])
    x = np.random.rand(5, 7)
    np.testing.assert_allclose(column_sums(x, 2.0, 7), 2.0 * x.sum(axis=0))
    with pytest.raises(KernelTypeError):
        column_sums(x, 2.0, 7.5)


@pytest.mark.parametrize(
    ("items", "message"),
    [
        ((f64,), "give every dimension"),
        ((f64, Literal["n", "m"]), "one name"),
        ((f64, 3), "each dimension is a name"),
        ((f64, N, N, N, N), "1 to 3 dimensions"),
        (("not a type", N), "the element type comes first"),
    ],
)
def test_a_malformed_array_annotation_says_what_is_wrong(items: tuple[object, ...], message: str) -> None:
    with pytest.raises(KernelTypeError, match=message):
        Array[items]
