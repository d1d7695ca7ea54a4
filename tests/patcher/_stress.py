"""Run as a script: two threads call through a trampoline while the main thread swaps variants.

Prints one line ``calls=N wrong=W swaps=S reclaimed=R``. A use-after-free would crash this process,
which is why the test runs it in a subprocess.
"""

from __future__ import annotations

import sys
import threading

from dylibs import Session, compile_ir
from patcher import PatchTable

from ._variants import I64_I64, slow_add

KINDS = 64


def main(swaps: int, shared: bool = False) -> None:
    if shared:  # the fallback for kernels without membarrier: every call uses the locked shared record
        import patcher.slot

        patcher.slot.membarrier_available = lambda: False
    session = Session(cache=None, units_per_generation=10)  # frequent unmaps: a stale caller would crash
    table = PatchTable(session)
    slot = table.slot("f", "int64_t(int64_t)")
    objects = [compile_ir(slow_add(k, 1 << 18)) for k in range(1, KINDS + 1)]
    slot.publish(session.load(objects[0], exports=["f"]), "f")
    call = I64_I64(slot.address)
    stop = threading.Event()
    counts = [0, 0]
    wrong = [0, 0]

    def caller(index: int) -> None:
        n = bad = 0
        while not stop.is_set():
            for x in range(200):  # GIL released for each ctypes call
                r = call(x) - x
                if not 1 <= r <= KINDS:
                    bad += 1
            n += 200
        counts[index], wrong[index] = n, bad

    threads = [threading.Thread(target=caller, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for i in range(swaps):
        slot.publish(session.load(objects[i % KINDS], exports=["f"]), "f")
    stop.set()
    for thread in threads:
        thread.join()
    table.drain(30)
    stats = session.stats()
    print(
        f"per_thread={int(slot.per_thread)} calls={sum(counts)} wrong={sum(wrong)} swaps={slot.swaps} "
        f"reclaimed={table.reclaimer.reclaimed} live={stats.live_units} generations={stats.generations}"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]), shared="--shared" in sys.argv)
