"""Records of stored bests are bound to their study, as cache entries are to their key."""

from __future__ import annotations

from pathlib import Path

from autotune.records import BestRecords


def test_a_record_copied_under_another_study_is_ignored(tmp_path: Path) -> None:
    records = BestRecords(tmp_path)
    records.save("study-a", {"vectorize": 8}, 0.5)
    records.save("study-b", {"vectorize": 1}, 0.9)
    assert records.load("study-a") == ({"vectorize": 8}, 0.5)
    path_a, path_b = (records._path(name) for name in ("study-a", "study-b"))
    path_b.write_bytes(path_a.read_bytes())  # study-a's best filed under study-b
    assert records.load("study-b") is None
    path_b.write_text("{not json")
    assert records.load("study-b") is None
