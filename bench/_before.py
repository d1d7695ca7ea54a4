"""The source tree as it was before tuning moved into a worker process, for before/after benchmarks."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
#: The last commit with the tuner (optuna, storage, measuring) in the application's process.
BEFORE = "e4210b5"


@contextlib.contextmanager
def before_tree() -> Iterator[Path]:
    """A temporary ``git worktree`` of :data:`BEFORE` (detached), removed afterwards."""
    parent = Path(tempfile.mkdtemp(prefix="bench-before-"))
    tree = parent / "tree"
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), BEFORE],
        check=True,
        capture_output=True,
    )
    try:
        yield tree
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False)
        shutil.rmtree(parent, ignore_errors=True)


def commit_of(tree: Path) -> str:
    """Short commit of ``tree``, with a note when its library code has uncommitted changes."""
    head = subprocess.run(["git", "-C", str(tree), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(
        ["git", "-C", str(tree), "status", "--porcelain", "--", "autotune", "dylibs", "patcher"],
        capture_output=True,
        text=True,
    )
    return head.stdout.strip() + (" + uncommitted changes" if dirty.stdout.strip() else "")


def run_in(tree: Path, argv: list[str], env: Mapping[str, str], what: str) -> dict[str, Any]:
    """Run ``python argv...`` in ``tree`` and return the JSON line it prints last (RuntimeError on failure)."""
    proc = subprocess.run([sys.executable, *argv], cwd=tree, env=dict(env), capture_output=True, text=True, check=False)
    if proc.returncode:
        sys.stderr.write(proc.stderr[-3000:])
        raise RuntimeError(f"{what} in {tree} failed with exit code {proc.returncode}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result
