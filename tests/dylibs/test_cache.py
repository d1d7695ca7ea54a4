from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from dylibs import CompileOptions, ObjectCache, Session

from .conftest import ADD_IR, I64_I64


def _entries(cache: ObjectCache) -> list[Path]:
    return sorted(cache.directory.glob("*.obj"))


def test_second_load_is_a_cache_hit(tmp_path: Path) -> None:
    cache = ObjectCache(tmp_path)
    with Session(cache=cache) as session:
        session.load(ADD_IR.format(k=1), exports=["add"])
        session.load(ADD_IR.format(k=1), exports=["add"])
        session.load(ADD_IR.format(k=1), exports=["add"], options=CompileOptions(opt=1))
    stats = cache.stats()
    assert (stats.hits, stats.misses, stats.entries) == (1, 2, 2)
    assert stat.S_IMODE(os.stat(cache.directory).st_mode) == 0o700


@pytest.mark.parametrize("damage", ["flip", "truncate", "empty", "garbage"])
def test_damaged_entry_is_deleted_and_rebuilt(tmp_path: Path, damage: str) -> None:
    cache = ObjectCache(tmp_path)
    with Session(cache=cache) as session:
        session.load(ADD_IR.format(k=2), exports=["add"])
    (entry,) = _entries(cache)
    data = entry.read_bytes()
    damaged = {
        "flip": data[:-20] + bytes([data[-20] ^ 0xFF]) + data[-19:],
        "truncate": data[: len(data) // 2],
        "empty": b"",
        "garbage": os.urandom(200),
    }[damage]
    entry.write_bytes(damaged)
    with Session(cache=cache) as session:
        unit = session.load(ADD_IR.format(k=2), exports=["add"])
        assert I64_I64(unit.address("add"))(40) == 42
    stats = cache.stats()
    assert stats.rejected == 1
    assert _entries(cache) == [entry] and entry.read_bytes() == data  # rebuilt in place


@pytest.mark.parametrize("how", ["swapped", "copied"])
def test_an_entry_holding_another_keys_code_is_rejected_and_rebuilt(tmp_path: Path, how: str) -> None:
    """Each entry's own hash checks out; only the key inside it says whose code it is."""
    cache = ObjectCache(tmp_path)
    with Session(cache=cache) as session:
        session.load(ADD_IR.format(k=2), exports=["add"])
        session.load(ADD_IR.format(k=5), exports=["add"])
    two, five = (cache.directory / (ObjectCache.key(ADD_IR.format(k=k), CompileOptions()) + ".obj") for k in (2, 5))
    data_two, data_five = two.read_bytes(), five.read_bytes()
    two.write_bytes(data_five)
    if how == "swapped":
        five.write_bytes(data_two)
    with Session(cache=cache) as session:
        assert I64_I64(session.load(ADD_IR.format(k=2), exports=["add"]).address("add"))(40) == 42
        assert I64_I64(session.load(ADD_IR.format(k=5), exports=["add"]).address("add"))(40) == 45
    assert cache.stats().rejected == (2 if how == "swapped" else 1)
    assert two.read_bytes() == data_two and five.read_bytes() == data_five  # rebuilt under the right keys


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to give a file to another user")
def test_entries_of_other_users_are_ignored_not_deleted(tmp_path: Path) -> None:
    cache = ObjectCache(tmp_path)
    key = cache.key(ADD_IR.format(k=3), CompileOptions())
    with Session(cache=cache) as session:
        session.load(ADD_IR.format(k=3), exports=["add"])
    (entry,) = _entries(cache)
    os.chown(entry, 12345, 12345)
    assert cache.get(key) is None
    assert entry.exists()


def test_symlinked_entry_is_not_followed(tmp_path: Path) -> None:
    cache = ObjectCache(tmp_path / "c")
    key = cache.key(ADD_IR.format(k=4), CompileOptions())
    target = tmp_path / "elsewhere.obj"
    cache.put(key, b"payload")
    (entry,) = _entries(cache)
    entry.rename(target)
    entry.symlink_to(target)
    assert cache.get(key) is None


def test_key_covers_ir_and_options() -> None:
    base = ObjectCache.key("x", CompileOptions())
    assert base == ObjectCache.key("x", CompileOptions())
    assert base != ObjectCache.key("y", CompileOptions())
    assert base != ObjectCache.key("x", CompileOptions(opt=2))
    assert base != ObjectCache.key("x", CompileOptions(slp_vectorize=False))


def test_clear_removes_entries(tmp_path: Path) -> None:
    cache = ObjectCache(tmp_path)
    cache.put(cache.key("a", CompileOptions()), b"1")
    cache.put(cache.key("b", CompileOptions()), b"2")
    assert cache.clear() == 2 and cache.stats().entries == 0
