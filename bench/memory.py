"""Memory: RSS over 10,000 load-publish-retire cycles, with generations vs one LLJIT for everything.

Each mode runs in its own process so the two RSS curves do not share an allocator. The single-LLJIT mode
is the naive way: every retired library leaves its empty JITDylib behind (about 10 KB each).
Target: growth under 2 MB with generations.

Run: python -m bench.memory [cycles]
"""

from __future__ import annotations

import json
import subprocess
import sys

from ._report import report, rss_kb

VARIANT = """
define i64 @f(i64 %x) {{
  %r = add i64 %x, {k}
  ret i64 %r
}}
"""


def child(mode: str, cycles: int) -> None:
    """Run the cycles in this process and print a JSON line of RSS samples (KiB)."""
    from dylibs import Session, compile_ir
    from patcher import PatchTable

    per_generation = 100 if mode == "generations" else 10**9
    session = Session(cache=None, units_per_generation=per_generation)
    table = PatchTable(session)
    slot = table.slot("f", "int64_t(int64_t)")
    objects = [compile_ir(VARIANT.format(k=k)) for k in range(16)]
    for i in range(300):  # warm-up: allocator arenas, first generations
        slot.publish(session.load(objects[i % 16], exports=["f"]), "f")
    table.drain(30)
    samples = [rss_kb()]
    for i in range(cycles):
        slot.publish(session.load(objects[i % 16], exports=["f"]), "f")
        if (i + 1) % 1000 == 0:
            table.drain(30)
            samples.append(rss_kb())
    stats = session.stats()
    print(json.dumps({"samples": samples, "generations": stats.generations, "live": stats.live_units}))


def main(cycles: int = 10_000) -> None:
    rows = []
    curves = {}
    for mode in ("generations", "single LLJIT"):
        out = subprocess.run(
            [sys.executable, "-m", "bench.memory", "--child", mode, str(cycles)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        result = json.loads(out.strip().splitlines()[-1])
        samples = result["samples"]
        curves[mode] = samples
        growth = (samples[-1] - samples[0]) / 1024
        rows.append([mode, cycles, samples[0] / 1024, samples[-1] / 1024, growth, result["generations"]])
    generations_growth = rows[0][4]
    report(
        "memory",
        ["mode", "cycles", "RSS start MB", "RSS end MB", "growth MB", "generations open"],
        rows,
        {"curves_kb_every_1000": curves, "target": "growth < 2 MB with generations", "met": generations_growth < 2},
    )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], int(sys.argv[3]))
    else:
        main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
