"""Hot swaps keep the Python side of dylibs bounded: a retired unit leaves nothing behind.

A swap here is what the patch table does to a slot, minus the trampoline: link a variant, make it the live
one, retire the previous one. After thousands of swaps only the live unit may exist, generations must keep
closing, and no allocation made while inside ``dylibs/`` (a unit's name, a per-unit dict or set entry, a
counter key) may survive its unit: with one block kept per swap the growth below would be ~1,000 blocks
per 1,000 swaps; it measures 0-4.
"""

from __future__ import annotations

import gc
import os
import tracemalloc
from collections.abc import Callable

import pytest

import dylibs
from dylibs import Session, Unit
from dylibs.compiler import compile_ir

from .conftest import ADD_IR, I64_I64

#: blocks allocated under dylibs/ that may survive 1,000 swaps (dict resizes, the odd cached object)
MAX_BLOCKS_PER_1000_SWAPS = 100


def _swapper(session: Session) -> tuple[Callable[[int], None], Callable[[], Unit | None]]:
    objects = [compile_ir(ADD_IR.format(k=k)) for k in range(4)]
    state: dict[str, Unit | None] = {"live": None}

    def swap(n: int) -> None:
        for i in range(n):
            new = session.load(objects[i % len(objects)], exports=["add"])
            old, state["live"] = state["live"], new
            if old is not None:
                old.retire()

    return swap, lambda: state["live"]


def _units_alive() -> int:
    return sum(isinstance(o, Unit) for o in gc.get_objects())


@pytest.mark.parametrize("per_generation", [16, 10**9], ids=["rotating", "one-generation"])
def test_retired_units_leave_no_bookkeeping(per_generation: int) -> None:
    pattern = os.path.join(os.path.dirname(os.path.abspath(dylibs.__file__)), "*")
    only_dylibs = [tracemalloc.Filter(True, pattern, all_frames=True)]
    with Session(cache=None, units_per_generation=per_generation) as session:
        swap, live = _swapper(session)
        swap(200)  # warm-up: first generations, interned names, lazily built tables
        gc.collect()
        baseline_units = _units_alive()
        tracemalloc.start(16)
        try:
            swap(500)
            gc.collect()
            before = tracemalloc.take_snapshot().filter_traces(only_dylibs)
            swap(1000)
            gc.collect()
            after = tracemalloc.take_snapshot().filter_traces(only_dylibs)
        finally:
            tracemalloc.stop()

        growth = after.compare_to(before, "traceback")
        kept = sum(stat.count_diff for stat in growth)
        worst = "\n".join(f"{s.count_diff:+d} blocks {s.size_diff:+d} B at {s.traceback[-1]}" for s in growth[:5])
        assert kept < MAX_BLOCKS_PER_1000_SWAPS, f"{kept} blocks allocated in dylibs/ outlived their swap:\n{worst}"

        # Structurally: the retired units themselves are gone, and so are their generations.
        stats = session.stats()
        assert stats.live_units == 1
        assert stats.loaded_units == 1700
        assert sum(len(g.live) for g in session._generations) == 1
        assert _units_alive() == baseline_units
        if per_generation == 16:
            assert stats.generations <= 2
            assert stats.closed_generations >= 1700 // per_generation - 2
        else:
            assert stats.generations == 1
        unit = live()
        assert unit is not None and I64_I64(unit.address("add"))(1) == 1 + 999 % 4  # the last swap linked k = 999 % 4
