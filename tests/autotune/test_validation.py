"""Validation that one captured call cannot fool: subprocess applications check every call while the
background tuner meets variants that are wrong off the captured size, overrun, write an input, reorder a
compensated sum, or are wrong only on inputs seen after they went live."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .procs import run_json


def _env(cache: Path) -> dict[str, str]:
    return {**os.environ, "AUTOTUNE_CACHE_DIR": str(cache), "AUTOTUNE_BACKGROUND": "0"}


def _fails(events: Any) -> dict[int, str]:
    return {params["MODE"]: detail for kind, params, detail in events if kind == "fail"}


def test_wrong_overrunning_and_input_writing_variants_are_never_published(private_cache: Path) -> None:
    first = run_json("_wrong", "faults", env=_env(private_cache))
    assert first["wrong"] == 0 and int(str(first["calls"])) > 100
    fails = _fails(first["events"])
    assert sorted(fails) == [1, 2, 3, 4], fails
    assert "on extents n=" in fails[1]  # right at n=4096, wrong on the smaller extents
    for mode in (2, 3, 4):  # stores past y or into the read-only x fault at once
        assert fails[mode].startswith("signal SIGSEGV"), fails[mode]
    assert first["live"] == {"MODE": 0}
    again = run_json("_wrong", "faults", env=_env(private_cache))  # a restart adopts none of them
    assert again["wrong"] == 0 and again["live"] == {"MODE": 0}
    assert not [e for e in again["events"] if e[0] in ("adopt", "swap")]  # type: ignore[index, union-attr]


def test_fast_math_that_breaks_a_compensated_sum_is_never_published(private_cache: Path) -> None:
    result = run_json("_wrong", "fastmath", env=_env(private_cache))
    assert result["wrong"] == 0
    events: Any = result["events"]
    fails = [(params, detail) for kind, params, detail in events if kind == "fail"]
    assert {str(p) for p, _ in fails} == {str(p) for _, p, _ in events if p["fastmath"]}  # every fast-math one
    assert all("cancellation" in detail for _, detail in fails), fails
    assert result["live"]["fastmath"] is False  # type: ignore[index]


def test_a_live_variant_wrong_on_later_calls_is_rolled_back_and_revoked(private_cache: Path) -> None:
    result = run_json("_wrong", "live", "4096", "8192", "6", env=_env(private_cache))
    assert result["tuned"] == {"MODE": 5}  # right on every call it was tuned on, so published
    kinds = [e[0] for e in result["events"]]  # type: ignore[union-attr]
    assert "rollback" in kinds, result["events"]
    assert result["live"] == {"MODE": 0} and result["wrong_after"] == 0
    restart = run_json("_wrong", "live", "8192", "8192", "2", env=_env(private_cache))
    assert restart["started_on"] == {"MODE": 0} and restart["live"] == {"MODE": 0}  # never adopted again
    assert restart["wrong_before"] == restart["wrong_after"] == 0


def test_a_stored_best_adopted_at_start_is_checked_and_rolled_back(private_cache: Path) -> None:
    tuned = run_json("_wrong", "live", "4096", "4096", "1", env=_env(private_cache))
    assert tuned["live"] == {"MODE": 5}
    restart = run_json("_wrong", "live", "8192", "8192", "2", env=_env(private_cache))
    assert restart["started_on"] == {"MODE": 5}  # adopted at the first call, from the records
    kinds = [e[0] for e in restart["events"]]  # type: ignore[union-attr]
    assert kinds[:2] == ["adopt", "rollback"], restart["events"]
    assert restart["live"] == {"MODE": 0} and restart["wrong_after"] == 0


def test_a_default_that_writes_an_input_not_in_writes_ends_its_search_once(private_cache: Path) -> None:
    """Inputs are read-only in the worker: a default variant that writes one crashes there, every time,
    so the search ends at the first crash with a reason that says so (not after three worker deaths)."""
    import numpy as np

    import autotune

    from .wrong_kernels import saxpy_reference, wrong_ir

    kernel = autotune.tunable_ir(reference=saxpy_reference, writes=["y"], MODE=[4, 0], name="writes_x")(wrong_ir)
    kernel(2.0, np.ones(100), np.ones(100))
    kernel.tune(progress=False)
    (status,) = [s for s in autotune.tuner.status() if s.kernel == kernel.name]
    assert status.done and "reference variant crashed: signal SIGSEGV" in status.reason, status
    assert [e.kind for e in kernel.events.events()].count("error") == 1
