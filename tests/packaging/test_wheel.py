"""The wheel as a new user gets it: built, installed into a fresh virtual environment outside the
repository, then the README example, the demo and a type check of ``import autotune`` run there."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 300) -> str:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    assert done.returncode == 0, f"{' '.join(args)}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv (outside the repository) with the wheel and its dependencies installed; its python."""
    where = tmp_path_factory.mktemp("wheel")
    source = where / "source"  # a clean copy: setuptools builds in place and never prunes a stale build/
    junk = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", "results")
    shutil.copytree(ROOT, source, ignore=junk)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(where / "dist"), str(source)], where)
    (wheel,) = (where / "dist").glob("hotpatch_autotune-*.whl")
    _run([sys.executable, "-m", "venv", str(where / "venv")], where)
    python = where / "venv" / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", str(wheel)], capture_output=True, text=True, check=False
    )
    if install.returncode != 0 and "Could not find a version" in install.stderr + install.stdout:
        pytest.skip(f"the wheel's dependencies cannot be installed here (no package index): {install.stderr[-300:]}")
    assert install.returncode == 0, install.stderr[-3000:]
    return python


def _env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(AUTOTUNE_CACHE_DIR=str(tmp / "cache"), AUTOTUNE_BACKGROUND="0")
    return env


def test_the_installed_package_has_a_version_and_no_source_tree(installed: Path, tmp_path: Path) -> None:
    script = "import autotune, sys; print(autotune.__version__, autotune.__file__)"
    out = _run([str(installed), "-c", script], tmp_path, _env(tmp_path))  # no PYTHONPATH to the repository
    version, location = out.split()
    assert version == "0.1.0" and str(ROOT) not in location


def test_the_readme_example_runs_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    example = re.search(r"## Example\n\n```python\n(.*?)```", readme, re.S)
    assert example is not None
    script = tmp_path / "example.py"
    # the same code, with fewer calls and a short wait (no background tuner in a test)
    script.write_text(example.group(1).replace("range(20_000)", "range(200)").replace("timeout=60", "timeout=1"))
    out = _run([str(installed), str(script)], tmp_path, _env(tmp_path))
    compiled, live, python, *assembly = out.splitlines()
    assert float(compiled) == pytest.approx(float(python)) and "vectorize" in live
    assert ".globl\tkernel" in "\n".join(assembly)


def test_the_demo_runs_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    out = _run([str(installed), "-m", "autotune", "demo", "--seconds", "10"], tmp_path, _env(tmp_path))
    assert "results checked against numpy: all correct" in out


def test_type_checkers_accept_the_installed_package(installed: Path, tmp_path: Path) -> None:
    user = tmp_path / "user.py"
    user.write_text(
        "from typing import Literal\n\nimport autotune\nfrom autotune import Array, f64\n\n"
        "version: str = autotune.__version__\nautotune.configure(background=False)\n\n\n"
        "@autotune.tunable\n"
        'def total(a: Array[f64, Literal["n"]]) -> f64:\n'
        "    s = 0.0\n    for v in a:\n        s += v\n    return s\n"
    )
    _run([sys.executable, "-m", "mypy", "--strict", "--python-executable", str(installed), str(user)], tmp_path)
