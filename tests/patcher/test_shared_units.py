"""One unit published in several slots: retired exactly once, only after its last holder let go, and
migrated once for all of them."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import Counter
from collections.abc import Iterator

import numpy as np
import pytest

from dylibs import HostGlobal, Session, SymbolMap, Unit, UnitStateError
from patcher import PatchTable

from ._variants import GATE_SPIN, I64_I64, slow_add


@pytest.fixture
def disposed(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    """Counts, per unit name, how often a unit's code is freed (``Unit._dispose``)."""
    counts: Counter[str] = Counter()
    original = Unit._dispose

    def counting(unit: Unit) -> None:
        counts[unit.name] += 1
        original(unit)

    monkeypatch.setattr(Unit, "_dispose", counting)
    yield counts


@pytest.fixture
def reclaimer_errors(caplog: pytest.LogCaptureFixture) -> Iterator[list[logging.LogRecord]]:
    caplog.set_level(logging.ERROR, logger="patcher")
    yield caplog.records


def test_a_shared_unit_is_retired_once_after_its_last_holder(
    disposed: Counter[str], reclaimer_errors: list[logging.LogRecord]
) -> None:
    table = PatchTable(Session(cache=None))
    shared = table.session.load(slow_add(7), exports=["f"])
    slots = [table.slot(f"s{i}", "int64_t(int64_t)") for i in range(3)]
    for slot in slots:
        slot.publish(shared, "f")
    assert shared.holds == 3
    assert [I64_I64(s.address)(1) for s in slots] == [8, 8, 8]
    for done, slot in enumerate(slots, 1):
        slot.publish(table.session.load(slow_add(100 + done), exports=["f"]), "f")
        table.drain(10)
        assert shared.holds == 3 - done
        assert shared.retired == (done == 3)
        assert disposed[shared.name] == (done == 3)
        with pytest.raises(UnitStateError) if done == 3 else contextlib.nullcontext():
            shared.address("f")
    assert [I64_I64(s.address)(1) for s in slots] == [102, 103, 104]
    assert table.reclaimer.reclaimed == 3  # one release per slot that replaced it
    assert disposed[shared.name] == 1 and not reclaimer_errors
    table.session.close()


def test_a_shared_unit_is_never_retired_while_a_caller_of_another_slot_runs_in_it() -> None:
    """Slot A lets go while a call through slot B is still inside the unit: the unit stays."""
    gate = HostGlobal("gate", np.int64, (), 1)
    table = PatchTable(Session(cache=None))
    shared = table.session.load(GATE_SPIN, exports=["f"], symbols=SymbolMap().add_global(gate))
    a, b = table.slot("a", "int64_t(int64_t)"), table.slot("b", "int64_t(int64_t)")
    a.publish(shared, "f")
    b.publish(shared, "f")
    caller = threading.Thread(target=I64_I64(b.address), args=(5,))
    caller.start()
    while b.calls == 0:
        time.sleep(0.001)
    a.publish(table.session.load(slow_add(1), exports=["f"]), "f")
    table.drain(5)  # a's grace period ends: nobody is inside through a
    assert shared.holds == 1 and not shared.retired
    b.publish(table.session.load(slow_add(2), exports=["f"]), "f")
    time.sleep(0.2)
    assert not shared.retired  # the caller entered through b and is still inside
    gate.array[()] = 0
    caller.join(5)
    table.drain(5)
    assert shared.retired and shared.holds == 0
    table.session.close()


def test_publishing_a_shared_unit_races_its_release_without_a_double_free(
    disposed: Counter[str], reclaimer_errors: list[logging.LogRecord]
) -> None:
    """The only slot holding the shared unit moves on (its release is pending on the reclaimer thread)
    while a new slot takes the unit: whichever comes first, every unit is freed at most once and only with
    no holder, and a retired unit is refused (the publisher then links a new one)."""
    table = PatchTable(Session(cache=None, units_per_generation=1000))
    shared = table.session.load(slow_add(3), exports=["f"])
    shared_units = [shared]
    slots = [table.slot("s0", "int64_t(int64_t)")]
    slots[0].publish(shared, "f")
    kept = refused = 0
    for i in range(1, 400):
        slots[i - 1].publish(table.session.load(slow_add(i), exports=["f"]), "f")  # holds may now reach 0
        time.sleep((i % 5) * 0.0002)
        slot = table.slot(f"s{i}", "int64_t(int64_t)")
        try:
            slot.publish(shared, "f")
            kept += 1
        except UnitStateError:  # the reclaimer released the last hold first: the unit is gone
            assert shared.retired
            refused += 1
            shared = table.session.load(slow_add(3), exports=["f"])
            shared_units.append(shared)
            slot.publish(shared, "f")
        slots.append(slot)
        assert I64_I64(slot.address)(1) == 4
    table.drain(30)
    assert not reclaimer_errors
    assert kept and refused, (kept, refused)  # both orders happened
    assert all(n == 1 for n in disposed.values()), disposed
    assert shared.holds == 1 and not shared.retired  # the last slot still publishes it
    assert all(u.retired and u.holds == 0 and disposed[u.name] == 1 for u in shared_units[:-1])
    assert [I64_I64(s.address)(1) for s in slots] == [1 + i for i in range(1, 400)] + [4]
    table.session.close()


def test_a_shared_unit_is_migrated_once_for_all_its_slots(disposed: Counter[str]) -> None:
    table = PatchTable(Session(cache=None, units_per_generation=4))
    shared = table.session.load(slow_add(9), exports=["f"])
    holders = [table.slot(f"h{i}", "int64_t(int64_t)") for i in range(6)]
    for slot in holders:
        slot.publish(shared, "f")
    for k in range(3):  # fill the shared unit's generation; only the shared unit stays live in it
        table.session.load(slow_add(k), exports=["f"]).retire()
    table.session.load(slow_add(50), exports=["f"]).retire()  # seals it: 1 of its 4 links is live
    for _ in range(200):
        table.drain(10)
        if shared.retired:
            break
        time.sleep(0.01)
    stats = table.session.stats()
    assert shared.retired and disposed[shared.name] == 1
    assert stats.migrated_units == 1, stats  # one re-link for six slots
    assert stats.closed_generations == 1, stats
    fresh = holders[0].live
    assert fresh is not None and fresh is not shared
    assert all(s.live is fresh for s in holders) and fresh.holds == 6
    assert [I64_I64(s.address)(1) for s in holders] == [10] * 6
    table.session.close()


def test_a_migrated_copy_no_slot_took_is_retired(disposed: Counter[str]) -> None:
    """Every holder was republished between the stale scan and the swap: the copy goes at once."""
    table = PatchTable(Session(cache=None, units_per_generation=1000))
    shared = table.session.load(slow_add(1), exports=["f"])
    slots = [table.slot(f"s{i}", "int64_t(int64_t)") for i in range(2)]
    for slot in slots:
        slot.publish(shared, "f")
    copies: list[Unit] = []
    session = table.session
    original = session.migrate

    def migrate_while_republished(unit: Unit) -> Unit:
        for k, slot in enumerate(slots):
            slot.publish(session.load(slow_add(20 + k), exports=["f"]), "f")
        copies.append(original(unit))
        return copies[-1]

    session.stale_units = lambda: [shared]  # type: ignore[method-assign]
    session.migrate = migrate_while_republished  # type: ignore[method-assign]
    assert table.migrate_stale() == 0
    assert copies and copies[0].retired and disposed[copies[0].name] == 1
    table.drain(10)
    assert shared.retired and disposed[shared.name] == 1
    assert [I64_I64(s.address)(1) for s in slots] == [21, 22]
    session.close()
