"""Hot-swap hand-written LLVM IR variants under two calling threads.

Each variant sums an array with different loop hints (vector width, interleave) and counts its calls in a
host global. Two threads call the slot's stable trampoline address with the GIL released while the main
thread swaps variants hundreds of times. The global keeps counting across every swap, and RSS stays flat
because replaced variants are reclaimed once no thread is inside them.

Run: python examples/hotswap_ir.py [swaps]
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
import time

import numpy as np

from dylibs import HostGlobal, Session, SymbolMap, Unit
from patcher import PatchTable

VARIANT = """
@calls = external global i64

define double @sum(ptr %x, i64 %n) {{
entry:
  %c = atomicrmw add ptr @calls, i64 1 monotonic
  %empty = icmp sle i64 %n, 0
  br i1 %empty, label %exit, label %loop
loop:
  %i = phi i64 [0, %entry], [%i1, %loop]
  %s = phi double [0.0, %entry], [%s1, %loop]
  %p = getelementptr inbounds double, ptr %x, i64 %i
  %v = load double, ptr %p, align 8
  %s1 = fadd reassoc double %s, %v
  %i1 = add nuw nsw i64 %i, 1
  %more = icmp slt i64 %i1, %n
  br i1 %more, label %loop, label %exit, !llvm.loop !0
exit:
  %r = phi double [0.0, %entry], [%s1, %loop]
  ret double %r
}}
!0 = distinct !{{!0, !1, !2, !3}}
!1 = !{{!"llvm.loop.vectorize.enable", i1 true}}
!2 = !{{!"llvm.loop.vectorize.width", i32 {width}}}
!3 = !{{!"llvm.loop.interleave.count", i32 {interleave}}}
"""
VARIANTS = [(w, il) for w in (1, 2, 4, 8) for il in (1, 2, 4)]


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main(swaps: int = 600) -> None:
    session = Session()  # object cache on: each distinct variant compiles once, later loads only link
    table = PatchTable(session)
    calls = HostGlobal("calls", np.int64)
    symbols = SymbolMap().add_global(calls)
    slot = table.slot("sum", "double(double*, int64_t)")

    def load(i: int) -> Unit:
        width, interleave = VARIANTS[i % len(VARIANTS)]
        ir = VARIANT.format(width=width, interleave=interleave)
        return session.load(ir, exports=["sum"], symbols=symbols)

    for i in range(len(VARIANTS)):  # compile each variant once (later loads hit the object cache)
        slot.publish(load(i), "sum")
    table.drain(timeout=10)

    data = np.arange(1000, dtype=np.float64)
    expected = float(data.sum())
    call = ctypes.CFUNCTYPE(ctypes.c_double, ctypes.c_void_p, ctypes.c_int64)(slot.address)
    stop = threading.Event()
    made = [0, 0]
    wrong = [0, 0]

    def caller(index: int) -> None:
        pointer = data.ctypes.data
        while not stop.is_set():
            if call(pointer, len(data)) != expected:
                wrong[index] += 1
            made[index] += 1

    before = rss_mb()
    threads = [threading.Thread(target=caller, args=(i,)) for i in range(2)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for i in range(swaps):
        slot.publish(load(i), "sum")
    stop.set()
    for thread in threads:
        thread.join()
    table.drain(timeout=10)
    elapsed = time.perf_counter() - started
    after = rss_mb()
    stats = session.stats()
    print(f"calls made       {sum(made):>12,}  ({sum(made) / elapsed / 1e6:.2f} M/s from 2 threads)")
    print(f"wrong results    {sum(wrong):>12,}")
    print(f"swaps            {slot.swaps:>12,}  in {elapsed:.2f} s")
    print(f"global 'calls'   {int(calls.array[()]):>12,}  (== calls made: state survived every swap)")
    print(
        f"units reclaimed  {table.reclaimer.reclaimed:>12,}  live {stats.live_units}, "
        f"generations open {stats.generations}, closed {stats.closed_generations}"
    )
    print(f"RSS              {before:>9.1f} MB before, {after:.1f} MB after")
    if sum(wrong) or int(calls.array[()]) != sum(made):
        sys.exit("FAILED: a call saw a wrong result or the global lost counts")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 600)
