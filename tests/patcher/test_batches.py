"""Trampolines linked in batches: one link serves many slots, each slot keeps its own address, memory,
counts and grace periods."""

from __future__ import annotations

import ctypes
import itertools
import re

import pytest

import patcher.slot
from dylibs import Session
from patcher import PatchTable, Signature
from patcher.trampoline import WORDS, trampoline_ir

from ._variants import I64_I64, slow_add

# A signature no other test uses, so this module sees the batch schedule from its start.
_SIG = "int64_t(int64_t, uint16_t, int8_t)"
_IR = """
define i64 @f(i64 %x, i16 zeroext %y, i8 signext %z) {{
  %y64 = zext i16 %y to i64
  %z64 = sext i8 %z to i64
  %s = add i64 %x, %y64
  %t = add i64 %s, %z64
  %r = add i64 %t, {k}
  ret i64 %r
}}
"""
_CALL = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_int64, ctypes.c_uint16, ctypes.c_int8)


def _batches(signature: str) -> list[patcher.slot._Batch]:
    parsed = Signature.parse(signature)
    return [b for b in patcher.slot._all_batches if b.signature == parsed]


@pytest.fixture
def table() -> PatchTable:
    return PatchTable(Session(cache=None))


def test_one_link_serves_a_batch_of_slots_and_batches_double_up_to_the_cap(table: PatchTable) -> None:
    slots = [table.slot(f"b{i}", _SIG) for i in range(100)]
    sizes = [len(b.addresses) for b in _batches(_SIG)]
    cap = patcher.slot.MAX_BATCH
    growing = [min(2**k, cap) for k in range(8)]
    assert sizes[: len(growing)] == growing[: len(sizes)] and sum(sizes) >= 100
    assert len(sizes) <= 8  # 100 slots, at most 8 links: 1 + 2 + 4 + 8 + 16 + 32 + 32 + ...
    addresses = [s.address for s in slots]
    words = [s._word for s in slots]
    assert len(set(addresses)) == 100 and len(set(words)) == 100
    assert all(w % 64 == 0 for w in words)  # slot memory on cache lines, never shared between slots
    spans = sorted(words)
    assert all(b - a >= 8 * WORDS for a, b in itertools.pairwise(spans))
    for k, slot in enumerate(slots):
        assert _CALL(slot.address)(1, 2, -3) == 0  # the stub, before any publish
        slot.publish(table.session.load(_IR.format(k=k), exports=["f"]), "f")
    for k, slot in enumerate(slots):
        assert _CALL(slot.address)(100, 7, -3) == 104 + k
        assert slot.address == addresses[k]  # stable across publishes
    for _ in range(3):
        _CALL(slots[5].address)(0, 0, 0)
    assert [slots[5].calls, slots[6].calls, slots[99].calls] == [5, 2, 2]
    table.drain(10)
    table.session.close()


def test_grace_periods_of_slots_in_one_batch_are_independent(table: PatchTable) -> None:
    slots = [table.slot(f"g{i}", "int64_t(int64_t)") for i in range(40)]
    for k, slot in enumerate(slots):
        slot.publish(table.session.load(slow_add(k), exports=["f"]), "f")
    first = [s.live for s in slots]
    for k, slot in enumerate(slots[::2]):
        slot.publish(table.session.load(slow_add(1000 + k), exports=["f"]), "f")
    table.drain(10)
    assert [u.retired for u in first if u is not None] == [i % 2 == 0 for i in range(40)]
    assert [I64_I64(s.address)(1) for s in slots] == [1 + (1000 + i // 2 if i % 2 == 0 else i) for i in range(40)]
    table.session.close()


def test_batch_ir_holds_no_address_so_the_object_cache_serves_it() -> None:
    sig = Signature.parse(_SIG)
    text = trampoline_ir(sig, per_thread=True, count=4)
    assert text == trampoline_ir(sig, per_thread=True, count=4)
    assert "inttoptr" not in text and not re.search(r"\b\d{9,}\b", text.replace("-7046029254386353131", ""))
    assert [f"@trampoline{i}(" in text for i in range(5)] == [True] * 4 + [False]
    assert text.count("define") == 5  # four trampolines and one stub
