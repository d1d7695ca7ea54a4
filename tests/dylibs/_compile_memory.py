"""Run as a script: RSS of one long-lived session loading N distinct IR modules (cache misses, compiled).

Prints ``before=KB after=KB`` (RSS after the warm-up loads and at the end) and the session's compile counts.
"""

from __future__ import annotations

import os
import sys
import time

from dylibs import Session
from dylibs.compiler import pipeline_runs

IR = """
define i64 @add(i64 %x) {{
  %r = add i64 %x, {k}
  ret i64 %r
}}
"""


def rss_kb() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def main(loads: int, warmup: int) -> None:
    started = time.monotonic()
    session = Session(cache=None)
    before = 0
    for k in range(loads):
        if k == warmup:
            before = rss_kb()
        unit = session.load(IR.format(k=k), exports=["add"])
        unit.retire()
    after = rss_kb()
    stats = session.stats()
    session.close()
    print(
        f"before={before} after={after} in_process={stats.compiled_in_process} in_worker={stats.compiled_in_worker} "
        f"pipeline_runs={pipeline_runs()} ms={int((time.monotonic() - started) * 1000)}"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
