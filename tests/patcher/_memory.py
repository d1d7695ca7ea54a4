"""Run as a script: RSS before and after N load-publish-retire cycles (printed as ``before=KB after=KB``)."""

from __future__ import annotations

import os
import sys

from dylibs import Session, compile_ir
from patcher import PatchTable

from ._variants import slow_add


def rss_kb() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def main(cycles: int) -> None:
    session = Session(cache=None, units_per_generation=100)
    table = PatchTable(session)
    slot = table.slot("f", "int64_t(int64_t)")
    objects = [compile_ir(slow_add(k)) for k in range(1, 9)]

    def cycle(n: int) -> None:
        for i in range(n):
            slot.publish(session.load(objects[i % len(objects)], exports=["f"]), "f")
        table.drain(30)

    cycle(500)  # warm up allocators and the first generations
    before = rss_kb()
    cycle(cycles)
    after = rss_kb()
    stats = session.stats()
    print(
        f"before={before} after={after} generations={stats.generations} live={stats.live_units} "
        f"closed={stats.closed_generations}"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]))
