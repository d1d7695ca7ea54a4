"""notebooks/explore_variants.ipynb runs top to bottom on a fresh install and draws real figures.

The notebook is executed from scratch with nbclient into memory (the committed file, outputs included, is never
rewritten), in a kernel running this interpreter, with a private cache directory (the autouse fixture in
conftest.py) so it tunes from an empty storage. Any cell error fails the test. Beyond running, it checks
what keeps the notebook honest: every search's stop reason is printed, importances are either shown or
declined with the trial count, and the timing bars come from repeated rounds with a verdict against the
default.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("matplotlib")

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "explore_variants.ipynb"
KERNEL = "autotune-notebook-test"
MIN_FIGURES = 8
STOP_REASONS = ("budget", "timeout", "patience", "exhausted", "unfinished")


def _texts(nb: Any) -> list[str]:
    texts: list[str] = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                texts.append("\n".join(output.get("traceback", [])))
            texts.append(output.get("text", ""))
            texts.extend(v for k, v in output.get("data", {}).items() if k.startswith("text/"))
    return texts


@pytest.mark.timeout(300)
def test_notebook_executes_and_draws_figures(
    tmp_path: Path, private_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A kernelspec that runs this very interpreter, found first through JUPYTER_PATH (whatever the user has
    # installed elsewhere).
    spec_dir = tmp_path / "jupyter" / "kernels" / KERNEL
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "autotune test",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    # The kernel inherits the environment: the private cache dir (conftest), the default SQLite storage in it.
    monkeypatch.delenv("AUTOTUNE_STORAGE", raising=False)

    nb = nbformat.read(NOTEBOOK, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    client = nbclient.NotebookClient(
        nb, timeout=300, kernel_name=KERNEL, resources={"metadata": {"path": str(NOTEBOOK.parent)}}
    )
    try:
        client.execute()  # raises CellExecutionError on the first failing cell
    finally:
        nbformat.write(nb, tmp_path / "executed.ipynb")  # for inspection when it fails

    figures = sum(
        "image/png" in output.get("data", {})
        for cell in nb.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    )
    assert figures >= MIN_FIGURES, f"only {figures} figure(s) drawn"
    texts = _texts(nb)
    assert not any("Traceback" in text for text in texts), "a cell printed a traceback"
    assert any("0 wrong" in text for text in texts), "the application phase checked results and found wrong ones"
    assert any(str(private_cache) in text for text in texts), "the notebook did not use the private cache directory"
    for name in ("dot", "stencil5", "matmul"):
        lines = [line for text in texts for line in text.splitlines() if line.startswith(f"{name} ")]
        stopped = [line for line in lines if "search stopped" in line]
        assert stopped and any(reason in stopped[0] for reason in STOP_REASONS), f"no stop reason for {name}"
        assert any(" tuned " in line for line in lines), f"no tuned-vs-default verdict for {name}"
        importance = [line for text in texts for line in text.splitlines() if line.startswith(f"{name}: ")]
        assert any("importances" in line and any(c.isdigit() for c in line) for line in importance), (
            f"{name}: importances neither shown nor declined with the trial count"
        )
    assert any("swaps in" in text and "results correct" in text for text in texts), "the stress test's caller failed"
