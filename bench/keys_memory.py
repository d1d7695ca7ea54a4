"""Memory per live key of a keyed kernel, and the CPU an idle application with many live variants uses.

Why: a kernel with ``key=`` gets a slot, a native entry and a start variant per key, and applications key
on shapes, so thousands of keys are plausible. Target: at most 64 KB per live key beyond its
variant's code, and an idle application with 1,000 live variants using under 0.1 s of CPU in 5 s.

Each measurement is a fresh child process (so RSS and CPU are the child's own) running, with the tuner
off and an empty object cache:

1. one call of key -1 (compiles the variant and links the first slot, entry and start unit);
2. two calls each of keys 0..N-1: the first binds the key (checked Python path), the second runs the
   key's native entry. **KB/key** is the growth of resident memory (``/proc/self/statm``) over these N
   keys divided by N; **ms/key** the CPU time per key (both calls). Every result is checked;
3. a distinct variant (``kernel.compile()``, an object cache hit and a link) published in every key's slot:
   N+1 live units in about N/100 generations. After the reclaimer drains, the child sleeps ``IDLE``
   seconds: **idle CPU** is the process's CPU time meanwhile (every thread), and **links while idle**
   whatever the session linked in that time (a migration storm would show here). **variant links/key**:
   links into the variants' session while binding the N keys (before sharing: one start variant per key).

``--tree PATH`` runs the child against another source tree (e.g. ``git archive`` of an older commit
unpacked somewhere) for a before/after comparison; the child is this file, run by path, so it needs nothing
from that tree but ``autotune``.

Run: python -m bench.keys_memory [keys] [--tree PATH ...]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from autotune import f64, tunable

ROOT = Path(__file__).resolve().parent.parent
KEYS = 1000
IDLE = 5.0


# ---- child ------------------------------------------------------------------------------------------
def _rss_kb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1024


def child(keys: int, idle: float) -> None:
    from autotune.runtime import runtime

    @tunable(key=lambda x, k: k, name="bench.keys_memory.scaled_sum")
    def scaled_sum(x: f64["n"], k: int) -> float:
        s = 0.0
        for i in range(x.shape[0]):
            s += x[i] * k
        return s

    x = np.ones(16)
    wrong = int(scaled_sum(x, -1) != -16.0)
    session = runtime().session
    links_before = session.stats().loaded_units
    rss, cpu = _rss_kb(), time.process_time()
    for k in range(keys):
        wrong += scaled_sum(x, k) != 16.0 * k
        wrong += scaled_sum(x, k) != 16.0 * k
    cpu_per_key = (time.process_time() - cpu) / keys
    kb_per_key = (_rss_kb() - rss) / keys
    links = session.stats().loaded_units - links_before
    for binding in scaled_sum.bindings:
        scaled_sum.publish(binding, scaled_sum.compile(), scaled_sum.space.default)
    runtime().table.drain(60)
    wrong += sum(scaled_sum(x, k) != 16.0 * k for k in range(-1, keys))
    settled = session.stats()
    cpu = time.process_time()
    time.sleep(idle)
    idle_cpu = time.process_time() - cpu
    after = session.stats()
    print(
        json.dumps(
            {
                "kb_per_key": kb_per_key,
                "ms_per_key": cpu_per_key * 1e3,
                "links_per_key": links / keys,
                "live_units": settled.live_units,
                "generations": settled.generations,
                "idle_cpu": idle_cpu,
                "links_while_idle": after.loaded_units - settled.loaded_units,
                "wrong": int(wrong),
            }
        ),
        flush=True,
    )


# ---- parent -----------------------------------------------------------------------------------------
def _run(tree: Path, keys: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-keys-") as cache:
        env = dict(os.environ, PYTHONPATH=str(tree), AUTOTUNE_CACHE_DIR=cache, AUTOTUNE_BACKGROUND="0")
        proc = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--child", str(keys), str(IDLE)],
            cwd=tree,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
    if proc.returncode:
        sys.stderr.write(proc.stderr[-3000:])
        raise RuntimeError(f"keys_memory child in {tree} failed with exit code {proc.returncode}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    if result["wrong"]:
        raise RuntimeError(f"{result['wrong']} wrong results in {tree}")
    return result


def main(argv: list[str] | None = None) -> None:
    from ._report import report

    args = list(sys.argv[1:] if argv is None else argv)
    trees = [ROOT]
    while "--tree" in args:
        at = args.index("--tree")
        trees.append(Path(args[at + 1]).resolve())
        del args[at : at + 2]
    keys = int(args[0]) if args else KEYS
    rows = []
    for tree in trees:
        r = _run(tree, keys)
        label = "this tree" if tree == ROOT else str(tree)
        rows.append(
            [
                label,
                r["kb_per_key"],
                r["ms_per_key"],
                r["links_per_key"],
                r["live_units"],
                r["generations"],
                r["idle_cpu"],
                r["links_while_idle"],
            ]
        )
    mine = rows[0]
    report(
        "keys_memory",
        [
            "source",
            "KB/key",
            "ms CPU/key",
            "variant links/key",
            "live units",
            "generations",
            "idle CPU s",
            "links idle",
        ],
        rows,
        {
            "keys": keys,
            "idle_seconds": IDLE,
            "target": "<= 64 KB/key; idle CPU < 0.1 s over 5 s",
            "met": mine[1] <= 64 and mine[6] < 0.1,
        },
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(int(sys.argv[2]), float(sys.argv[3]))
    else:
        main()
