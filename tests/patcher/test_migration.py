"""Migration out of sealed generations costs what changed: no storm with many live slots, bounded memory."""

from __future__ import annotations

import time

from dylibs import Session
from patcher import PatchTable

from ._variants import I64_I64, slow_add


def _settle(table: PatchTable) -> None:
    table.drain(10)
    time.sleep(0.2)
    table.drain(10)


def test_more_live_slots_than_a_generation_holds_cause_no_migration_storm() -> None:
    """12 live units with 4 per generation: sealing must not re-link them into the next generation for
    ever (before the fix every seal migrated every live unit, which sealed the next generation)."""
    table = PatchTable(Session(cache=None, units_per_generation=4))
    slots = [table.slot(f"s{i}", "int64_t(int64_t)") for i in range(12)]
    for k, slot in enumerate(slots):
        slot.publish(table.session.load(slow_add(k), exports=["f"]), "f")
    _settle(table)
    settled = table.session.stats()
    time.sleep(0.5)
    assert table.session.stats() == settled  # idle: nothing links, nothing moves
    assert settled.migrated_units == 0
    assert [I64_I64(s.address)(1) for s in slots] == [1 + k for k in range(12)]
    table.session.close()


def test_a_drained_generation_is_migrated_away_from_and_closed() -> None:
    """One long-lived slot among a busy one: its generation closes once drained; migrations stay a small
    share of the swaps, and only a few generations stay open."""
    table = PatchTable(Session(cache=None, units_per_generation=4))
    keeper, busy = table.slot("keeper", "int64_t(int64_t)"), table.slot("busy", "int64_t(int64_t)")
    keeper.publish(table.session.load(slow_add(7), exports=["f"]), "f")
    for k in range(200):
        busy.publish(table.session.load(slow_add(k), exports=["f"]), "f")
        if k % 20 == 0:
            table.drain(10)
    _settle(table)
    stats = table.session.stats()
    assert stats.generations <= 4, stats
    assert stats.migrated_units <= 200 // 3, stats
    assert stats.live_units == 2
    assert I64_I64(keeper.address)(1) == 8 and I64_I64(busy.address)(1) == 200
    table.session.close()
