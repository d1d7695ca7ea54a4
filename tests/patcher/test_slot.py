from __future__ import annotations

import ctypes
import threading
import time

import numpy as np
import pytest

from dylibs import HostGlobal, Session, SymbolMap, UnitStateError
from patcher import DrainTimeout, PatchTable, SlotError

from ._variants import COUNT, GATE_SPIN, I64_I64, slow_add


@pytest.fixture
def table() -> PatchTable:
    return PatchTable(Session(cache=None))


def test_calls_reach_the_published_variant_and_see_each_swap(table: PatchTable) -> None:
    slot = table.slot("f", "int64_t(int64_t)")
    call = I64_I64(slot.address)
    assert call(5) == 0  # the stub, before any publish
    for k in (1, 2, 3, 1000):
        slot.publish(table.session.load(slow_add(k), exports=["f"]), "f")
        assert call(5) == 5 + k
    assert slot.address == ctypes.cast(call, ctypes.c_void_p).value
    table.drain(5)
    assert table.reclaimer.reclaimed == 3
    assert slot.calls == 5 and slot.swaps == 4
    assert [s.calls for s in table.stats()] == [5]


def test_host_global_keeps_counting_across_100_swaps(table: PatchTable) -> None:
    counter = HostGlobal("counter", np.int64, (), 0)
    symbols = SymbolMap().add_global(counter)
    slot = table.slot("count", "int64_t(int64_t)")
    call = I64_I64(slot.address)
    for k in range(100):
        slot.publish(table.session.load(COUNT.format(k=k), exports=["f"], symbols=symbols), "f")
        for _ in range(3):
            assert call(10) == 10 + k
    table.drain(5)
    assert counter.array[()] == 300


def test_published_unit_cannot_be_retired_behind_the_slot(table: PatchTable) -> None:
    slot = table.slot("f", "int64_t(int64_t)")
    first = table.session.load(slow_add(1), exports=["f"])
    slot.publish(first, "f")
    with pytest.raises(UnitStateError):
        first.retire()
    slot.publish(table.session.load(slow_add(2), exports=["f"]), "f")
    table.drain(5)
    assert first.retired and not slot.live.retired  # type: ignore[union-attr]


def test_drain_waits_for_a_caller_inside_the_old_variant(table: PatchTable) -> None:
    gate = HostGlobal("gate", np.int64, (), 1)
    slot = table.slot("spin", "int64_t(int64_t)")
    old = table.session.load(GATE_SPIN, exports=["f"], symbols=SymbolMap().add_global(gate))
    slot.publish(old, "f")
    caller = threading.Thread(target=I64_I64(slot.address), args=(7,))
    caller.start()
    while slot.calls == 0:
        time.sleep(0.001)
    slot.publish(table.session.load(slow_add(1), exports=["f"]), "f")
    with pytest.raises(DrainTimeout) as info:
        table.drain(0.3)
    assert info.value.pending == 1 and not old.retired  # still running in it: never freed
    gate.array[()] = 0
    caller.join(5)
    table.drain(5)
    assert old.retired


def test_signatures_pass_arguments_through(table: PatchTable) -> None:
    ir = """
define double @mix(double %a, float %b, i32 %c, ptr %p) {
  %bf = fpext float %b to double
  %cf = sitofp i32 %c to double
  %v = load double, ptr %p
  %s1 = fadd double %a, %bf
  %s2 = fadd double %s1, %cf
  %s3 = fadd double %s2, %v
  ret double %s3
}
define void @store(ptr %p, double %v) {
  store double %v, ptr %p
  ret void
}
"""
    unit = table.session.load(ir, exports=["mix", "store"])
    mix = table.slot("mix", "double(double, float, int32_t, const double* p)")
    store = table.slot("store", "void(double*, double)")
    mix.publish(unit, "mix")
    store.publish(unit, "store")
    cell = ctypes.c_double(0.25)
    fn = mix.signature.ctypes_prototype()(mix.address)
    assert fn(1.0, 2.0, -3, ctypes.byref(cell)) == 0.25
    store.signature.ctypes_prototype()(store.address)(ctypes.byref(cell), 9.5)
    assert cell.value == 9.5


def test_duplicate_slot_names_are_refused(table: PatchTable) -> None:
    table.slot("f", "void()")
    with pytest.raises(SlotError):
        table.slot("f", "void()")
