"""Shared benchmark plumbing: timing medians, the machine description, a table printer and JSON output."""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"


def machine() -> dict[str, Any]:
    """CPU model, core count and versions: every result says where it was measured."""
    model = platform.processor()
    try:
        with open("/proc/cpuinfo") as info:
            model = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    import llvmlite
    import numpy

    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "llvmlite": llvmlite.__version__,
        "numpy": numpy.__version__,
    }


def median_time(fn: Callable[[], object], repeats: int = 7) -> float:
    """Median wall time of ``fn()`` in seconds over ``repeats`` runs (after one warm-up run)."""
    fn()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def rss_kb() -> int:
    """Resident set size of this process in KiB."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def report(
    name: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    extra: dict[str, Any],
    *,
    hidden: Sequence[str] = (),
) -> None:
    """Print ``rows`` as an aligned table and write them with ``extra`` to ``results/<name>.json``.

    Keys of ``extra`` in ``hidden`` (per-round samples, say) go to the JSON only.
    """
    cells = [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    print(f"\n== {name} ==")
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    for row in cells:
        print("  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)))
    for key, value in extra.items():
        if key != "machine" and key not in hidden:
            print(f"{key}: {value}")
    RESULTS.mkdir(exist_ok=True)
    payload = {"name": name, "headers": list(headers), "rows": rows, "machine": machine(), **extra}
    (RESULTS / f"{name}.json").write_text(json.dumps(payload, indent=2, default=str))


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 100 else f"{value:,.0f}"
    return str(value)
