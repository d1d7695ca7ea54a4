"""Guarded copies, other extents and inputs that expose reordering, tested directly."""

from __future__ import annotations

import ctypes
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

from autotune.budget import OverBudget, cpu_budget
from autotune.cases import cancelling, other_extents
from autotune.errors import ValidationError
from autotune.guard import GuardedCopies
from autotune.lang import ParamSpec
from autotune.types import f64 as F64
from autotune.types import i64 as I64

X = ParamSpec("x", "array", F64, 1, ("n",), False)
Y = ParamSpec("y", "array", F64, 1, ("n",), True)
N = ParamSpec("n", "scalar", I64, 0, (), False)


@pytest.mark.parametrize("size", [1, 5, 8, 1000])
def test_a_small_overrun_past_either_end_is_found(size: int) -> None:
    with GuardedCopies([Y], [np.arange(size, dtype=np.float64)]) as copies:
        copies.check()
        y = copies.values[0]
        assert np.array_equal(y, np.arange(size)) and y.ctypes.data % 64 == 0
        room = (-y.nbytes) % 64
        if room:
            ctypes.memset(y.ctypes.data + y.nbytes, 0, 1)  # one byte past the end, within the canaries
            with pytest.raises(ValidationError, match="past its end"):
                copies.check()
    with GuardedCopies([Y], [np.zeros(size)]) as copies:
        ctypes.memset(copies.values[0].ctypes.data - 8, 0, 8)
        with pytest.raises(ValidationError, match="before its start"):
            copies.check()


def test_inputs_are_read_only_and_stores_beyond_the_canaries_fault() -> None:
    script = textwrap.dedent(
        """
        import ctypes, sys, numpy as np
        from autotune.guard import GuardedCopies
        from autotune.lang import ParamSpec
        from autotune.types import f64 as F64
        x = ParamSpec("x", "array", F64, 1, ("n",), False)
        y = ParamSpec("y", "array", F64, 1, ("n",), True)
        copies = GuardedCopies([x, y], [np.ones(8), np.ones(8)])
        target = copies.values[0].ctypes.data if sys.argv[1] == "input" else copies.values[1].ctypes.data + 72
        ctypes.memset(target, 0, 8)
        """
    )
    for where in ("input", "past"):
        done = subprocess.run([sys.executable, "-c", script, where], capture_output=True, timeout=60, check=False)
        assert done.returncode == -11, (where, done.stderr)


def test_other_extents_cut_named_dimensions_together_and_the_size_argument_with_them() -> None:
    x, y = np.arange(4096.0), np.ones(4096)
    cases = other_extents([X, Y, N], [x, y, 4096])
    sizes = [(len(c.values[0]), len(c.values[1]), c.values[2]) for c in cases]
    assert sizes == [(1, 1, 1), (7, 7, 7), (131, 131, 131), (4095, 4095, 4095)]
    assert np.array_equal(cases[1].values[0], x[:7])
    assert other_extents([X, Y], [np.ones(3), np.ones(4)]) == []  # the call breaks its own dimensions
    assert other_extents([X], [np.ones(1)]) == []


def test_cancelling_inputs_hold_pairs_that_cancel() -> None:
    case = cancelling([np.random.default_rng(0).random(4096), 3])
    assert case is not None
    x = case.values[0]
    assert (x > 1e14).sum() == (x < -1e14).sum() == 256 and case.values[1] == 3
    assert set(np.abs(x[np.abs(x) > 1e14])) == {np.max(x)}  # +B and -B: pairs that cancel exactly
    assert cancelling([np.arange(5), 1.0]) is None  # nothing to reorder


def test_a_cpu_budget_stops_pure_python_in_another_thread() -> None:
    outcome: list[str] = []

    def lcg() -> None:  # a function, as the Python reference is: trace functions see new frames only
        x = 1
        while True:
            x = x * 6364136223846793005 + 1442695040888963407  # Python ints: grows for ever

    def spin() -> None:
        try:
            with cpu_budget(0.2, trace=True):
                lcg()
        except OverBudget:
            outcome.append("stopped")

    thread = threading.Thread(target=spin, daemon=True)
    thread.start()
    thread.join(20)
    assert outcome == ["stopped"]
