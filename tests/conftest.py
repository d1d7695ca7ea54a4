"""Shared fixtures: every test gets a private cache directory so runs never touch the user's cache."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

# Background tuning only where a test asks for it (tests/autotune/test_tuner*.py start it explicitly).
os.environ.setdefault("AUTOTUNE_BACKGROUND", "0")
# Nothing a test does, even at import time, may touch the user's real cache directory.
os.environ["AUTOTUNE_CACHE_DIR"] = tempfile.mkdtemp(prefix="autotune-tests-")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--soak", action="store_true", default=False, help="run long soak tests")
    parser.addoption(
        "--fuzz-examples", type=int, default=None, help="examples of the soak fuzz (tests/lang/test_lang_fuzz.py)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--soak"):
        return
    skip = pytest.mark.skip(reason="soak test: run with --soak")
    for item in items:
        if "soak" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("AUTOTUNE_CACHE_DIR", str(path))
    yield path
