"""Measurement: a native timing loop per kernel signature and interleaved A/B comparison.

Timing from Python would drown a 50 ns kernel in call overhead, so the loop that calls a variant N times
is JIT-compiled too: it loads the arguments once, reads ``CLOCK_MONOTONIC``, calls through the function
pointer ``reps`` times and reads the clock again. The comparison alternates incumbent and candidate
(A B, then B A, ...) so drift on a shared machine hits both, and reports the median ratio and how many
rounds the candidate won by the margin (the bakeoff rule HALO uses: a clear, consistent win).
"""

from __future__ import annotations

import ctypes
import statistics
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from dylibs import SymbolMap

from .abi import ALLOCATOR, llvm_arg_types
from .lang import ParamSpec
from .runtime import permanent_session
from .types import Result

__all__ = ["Comparison", "Timer", "compare", "native_types", "pack_arguments"]

_CLOCK_MONOTONIC = 1
_MAX_REPS = 1 << 22


@dataclass(frozen=True)
class Comparison:
    """Result of measuring a candidate against the incumbent: ratio < 1 means the candidate is faster."""

    ratio: float
    wins: int
    rounds: int
    incumbent_ns: float
    candidate_ns: float
    #: the first and third quartiles of the per-round ratios (the spread of ``ratio``)
    quartiles: tuple[float, float] = (float("nan"), float("nan"))


def native_types(params: Sequence[ParamSpec], ret: Result | None) -> list[str]:
    """LLVM types of the native arguments, in order (arrays expand to a pointer and their extents)."""
    return llvm_arg_types(params, ret)


def pack_arguments(types: Sequence[str], values: Sequence[Any]) -> np.ndarray[Any, Any]:
    """Native argument values in 8-byte cells, as the timing loop reads them (little-endian x86-64)."""
    cells = np.zeros(max(len(types), 1), dtype=np.uint64)
    for i, (kind, value) in enumerate(zip(types, values, strict=True)):
        if kind == "double":
            cells[i : i + 1].view(np.float64)[0] = value
        elif kind == "float":
            cells[i : i + 1].view(np.float32)[0] = value
        elif kind in ("i32", "i16", "i8"):  # signed or unsigned: the low bits of the two's complement
            bits = int(kind[1:])
            cells[i : i + 1].view(f"<u{bits // 8}")[0] = int(value) % (1 << bits)
        else:
            cells[i : i + 1].view(np.uint64)[0] = int(value) % (1 << 64)
    return cells


def _timer_ir(types: Sequence[str], free_result: bool = False) -> str:
    """The timing loop; ``free_result``: the last argument points to an array result's slots, whose buffer
    each call allocates, so the loop frees it after every call (the measured time includes both)."""
    loads = []
    for i, kind in enumerate(types):
        loads.append(f"  %p{i} = getelementptr inbounds i64, ptr %argv, i64 {i}")
        loads.append(f"  %a{i} = load {kind}, ptr %p{i}, align 8")
    args = ", ".join(f"{kind} %a{i}" for i, kind in enumerate(types))
    body = "\n".join(loads)
    free = ""
    if free_result:
        free = f"\n  %buf = load ptr, ptr %a{len(types) - 1}, align 8\n  call void @{ALLOCATOR[1]}(ptr %buf)"
    return f"""
declare i32 @clock_gettime(i32, ptr)
declare void @{ALLOCATOR[1]}(ptr)

define i64 @time(ptr %fn, ptr %argv, i64 %reps) {{
entry:
  %t0 = alloca [2 x i64], align 8
  %t1 = alloca [2 x i64], align 8
{body}
  %c0 = call i32 @clock_gettime(i32 {_CLOCK_MONOTONIC}, ptr %t0)
  br label %loop
loop:
  %i = phi i64 [0, %entry], [%i1, %loop]
  %s = call i32 %fn({args}){free}
  %i1 = add i64 %i, 1
  %more = icmp slt i64 %i1, %reps
  br i1 %more, label %loop, label %exit
exit:
  %c1 = call i32 @clock_gettime(i32 {_CLOCK_MONOTONIC}, ptr %t1)
  %s0 = load i64, ptr %t0, align 8
  %n0p = getelementptr inbounds i64, ptr %t0, i64 1
  %n0 = load i64, ptr %n0p, align 8
  %s1 = load i64, ptr %t1, align 8
  %n1p = getelementptr inbounds i64, ptr %t1, i64 1
  %n1 = load i64, ptr %n1p, align 8
  %ds = sub i64 %s1, %s0
  %dn = sub i64 %n1, %n0
  %dsn = mul i64 %ds, 1000000000
  %total = add i64 %dsn, %dn
  ret i64 %total
}}
"""


class Timer:
    """``time(fn, argv, reps) -> ns``: a native loop calling ``fn`` ``reps`` times (GIL released)."""

    _lock: ClassVar[threading.Lock] = threading.Lock()
    _cache: ClassVar[dict[tuple[str, ...], Any]] = {}

    def __init__(self, types: Sequence[str], *, free_result: bool = False) -> None:
        key = (*types, f"free={free_result}")
        with Timer._lock:
            fn = Timer._cache.get(key)
            if fn is None:
                libc = ctypes.CDLL(None)
                clock = ctypes.cast(libc.clock_gettime, ctypes.c_void_p).value or 0
                free = ctypes.cast(getattr(libc, ALLOCATOR[1]), ctypes.c_void_p).value or 0
                symbols = SymbolMap().add("clock_gettime", clock).add(ALLOCATOR[1], free)
                unit = permanent_session().load(_timer_ir(types, free_result), exports=["time"], symbols=symbols)
                fn = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64)(
                    unit.address("time")
                )
                Timer._cache[key] = fn
        self._fn = fn

    def __call__(self, address: int, argv: np.ndarray[Any, Any], reps: int) -> float:
        return float(self._fn(address, argv.ctypes.data, reps))


def compare(
    timer: Callable[[int, int], float],
    incumbent: int,
    candidate: int,
    *,
    rounds: int,
    round_seconds: float,
    margin: float,
    reset: Callable[[], None] = lambda: None,
    repeats: int = 3,
) -> Comparison:
    """Interleave ``rounds`` timed rounds of incumbent and candidate; ``timer(address, reps) -> ns``.

    Each timed block is the fastest of ``repeats`` sub-blocks: preemption and interrupts only ever add
    time, so the minimum is the robust estimate on a shared machine. The call count per sub-block comes
    from a warm calibration run, so a cold first call cannot make rounds too short to be meaningful.
    ``reset`` runs before every sub-block (outside the timing) so in-place kernels start from the same
    data each time.
    """
    for address in (incumbent, candidate):  # warm caches, TLBs and branch predictors for both
        reset()
        timer(address, 3)
    reset()
    calibration = 16
    per_call = max(timer(incumbent, calibration) / calibration, 1.0)
    reps = int(min(max(round_seconds * 1e9 / repeats / per_call, 1), _MAX_REPS))
    ratios: list[float] = []
    samples: dict[str, list[float]] = {"incumbent": [], "candidate": []}
    wins = 0
    for r in range(rounds):
        order = [("incumbent", incumbent), ("candidate", candidate)]
        if r % 2:
            order.reverse()
        spent: dict[str, float] = {}
        for role, address in order:
            best = float("inf")
            for _ in range(repeats):
                reset()
                best = min(best, max(timer(address, reps), 1.0))
            spent[role] = best
            samples[role].append(best / reps)
        ratio = spent["candidate"] / spent["incumbent"]
        ratios.append(ratio)
        wins += ratio <= 1.0 - margin
    return Comparison(
        ratio=statistics.median(ratios),
        wins=wins,
        rounds=rounds,
        incumbent_ns=statistics.median(samples["incumbent"]),
        candidate_ns=statistics.median(samples["candidate"]),
        quartiles=_quartiles(ratios),
    )


def _quartiles(values: Sequence[float]) -> tuple[float, float]:
    """First and third quartiles (both the value itself for one round)."""
    if len(values) < 2:
        return values[0], values[0]
    q = statistics.quantiles(values, n=4, method="inclusive")
    return q[0], q[2]
