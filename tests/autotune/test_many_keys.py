"""Many keys: memory per live key, an idle application's CPU, and the cap on keys per kernel.

The figures come from an app in a subprocess (tests/autotune/_many_keys.py), so resident memory and CPU
time are its own; sharing and the cap are also checked in this process.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import autotune
import autotune.config
from autotune import f64, i64
from autotune.errors import ConfigError
from autotune.runtime import runtime

KEYS = 1000
IDLE = 5.0


def test_1000_keys_then_idle_memory_cpu_and_the_key_cap(tmp_path: Path) -> None:
    env = dict(os.environ, AUTOTUNE_CACHE_DIR=str(tmp_path / "cache"), AUTOTUNE_BACKGROUND="0")
    done = subprocess.run(
        [sys.executable, "-m", "tests.autotune._many_keys", str(KEYS), str(IDLE)],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["wrong"] == 0, result
    # Memory per live key beyond its code: at most 64 KB (it was 174 KB with a link per slot, per entry
    # and per start variant).
    assert result["kb_per_key"] <= 64, result
    assert result["bindings"] == KEYS + 1
    assert result["links_for_keys"] <= 3, result  # keys starting on the default share one unit
    # 1,000 live variants, then idle: no migration, nothing linked, (almost) no CPU.
    assert result["live_units"] >= KEYS + 1 and result["migrated_units"] == 0, result
    assert result["quiet"], result
    assert result["idle_cpu"] < 0.1, result
    # max_keys=3: keys 0-2 own a slot; 3-9 share the default key's slot; one warning names key 3.
    assert result["capped_bindings"] == sorted(["0", "1", "2", "'__default__'"]), result
    assert result["folded_share_default"] and result["own_slots_differ"], result
    assert len(result["warnings"]) == 1 and "key 3 " in result["warnings"][0], result


def test_keys_starting_on_the_default_share_one_unit_until_the_last_moves_on() -> None:
    @autotune.tunable(key=lambda x, k: k)
    def shifted(x: f64[:], k: i64) -> f64:
        s = 0.0
        for i in range(x.shape[0]):
            s += x[i] + k
        return s

    x = np.ones(8)
    assert [shifted(x, k) for k in range(3)] == [8.0, 16.0, 24.0]
    bindings = shifted.bindings
    shared = bindings[0].slot.live
    assert shared is not None and all(b.slot.live is shared for b in bindings) and shared.holds == 3
    for moved, binding in enumerate(bindings, 1):
        shifted.publish(binding, shifted.compile(), shifted.space.default)
        runtime().table.drain(10)
        assert shared.retired == (moved == 3) and shared.holds == 3 - moved
        assert [shifted(x, k) for k in range(3)] == [8.0, 16.0, 24.0]
    # the shared unit is gone: a new key links a fresh one, and the next new key shares that
    assert shifted(x, 7) == 64.0 and shifted(x, 8) == 72.0
    fresh = shifted.bindings[3].slot.live
    assert fresh is not None and not fresh.retired and fresh is not shared
    assert shifted.bindings[4].slot.live is fresh


def test_max_keys_folds_new_keys_onto_the_default_slot_and_logs_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="autotune")
    previous = autotune.config.current().max_keys
    autotune.configure(max_keys=2)
    try:

        @autotune.tunable(key=lambda x, k: k)
        def offset(x: f64[:], k: i64) -> f64:
            return x[0] + k

        x = np.ones(1)
        for _ in range(2):
            assert [offset(x, k) for k in range(6)] == [1.0 + k for k in range(6)]
        assert sorted(map(repr, (b.key for b in offset.bindings))) == ["'__default__'", "0", "1"]
        assert offset.address(0) != offset.address(1) != offset.address()
        assert all(offset.address(k) == offset.address() for k in range(2, 6))
        assert offset.address(99) == offset.address()  # address() folds too
        folds = [r for r in caplog.records if "max_keys=2" in r.getMessage()]
        assert len(folds) == 1 and folds[0].levelno == logging.WARNING and "key 2 " in folds[0].getMessage()
    finally:
        autotune.configure(max_keys=previous)


@pytest.mark.parametrize("bad", [0, -1, True, 2.5, "8"])
def test_max_keys_must_be_a_positive_int(bad: object) -> None:
    with pytest.raises(ConfigError, match="max_keys"):
        autotune.configure(max_keys=bad)
