"""``python -m autotune demo``: an application loop calls the suite kernels while the tuner works.

The loop calls each kernel of :mod:`autotune.demo_kernels` on realistic sizes, round robin, and checks every
result against numpy now and then. The background tuner meanwhile searches each kernel's variants and
swaps winners in; a live table shows trials, the live variant, its speed against the default, swaps and
RSS. Everything is stored in the configured storage, so a second run starts on the best variants at once.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from types import ModuleType
from typing import Any

import numpy as np

from .events import rss_kb
from .kernel import Kernel
from .tunable import tunable

__all__ = ["run_demo"]

# Sizes that keep one call between a few microseconds and a millisecond on one core.
SIZES = {"dot": 20_000, "saxpy": 20_000, "stencil5": 192, "matmul": 96, "softmax": 128, "histogram": 20_000}


def load_suite() -> ModuleType:
    """The demo's kernels (:mod:`autotune.demo_kernels`, inside the package so an installed wheel has them)."""
    return importlib.import_module("autotune.demo_kernels")


#: The table's knob abbreviations, explained by its legend line.
_SHORT = {"vectorize": "vw", "interleave": "il", "unroll": "un", "fastmath": "fm", "prefer_vector_width": "pvw"}
_LEGEND = (
    "x vs default: the default variant's time per call / the live one's, as the tuner measured them;"
    " adopted: started on a stored best.\n"
    "live variant: the knobs that differ from the default (the first value of each): vw vector width,"
    " il interleave, un unroll, fm fast-math, pvw preferred vector width in bits."
)


def _compact(params: dict[str, Any], space_default: dict[str, Any]) -> str:
    changed = {k: v for k, v in params.items() if space_default.get(k) != v}
    short = _SHORT
    text = " ".join(f"{short.get(k, k)}={int(v) if isinstance(v, bool) else v}" for k, v in sorted(changed.items()))
    return text or "default"


def _speedup(kernel: Kernel) -> float:
    values = [e.value for e in kernel.events.events() if e.kind in ("swap", "adopt", "rollback") and e.value]
    return 1.0 / values[-1] if values else 1.0


def _table(kernels: dict[str, Kernel], calls: dict[str, int], started: float, rss0: int) -> str:
    lines = [
        f"autotune demo: {time.monotonic() - started:5.1f}s   RSS {rss_kb() / 1024:.0f} MB "
        f"(after first calls {rss0 / 1024:.0f} MB)",
        f"{'kernel':<10} {'calls':>9} {'trials':>7} {'swaps':>6} {'adopted':>8} {'x vs default':>13}  live variant",
    ]
    for name, kernel in kernels.items():
        events = kernel.events.events()
        trials = sum(e.kind in ("trial", "fail") for e in events)
        swaps = sum(e.kind == "swap" for e in events)
        adopted = "stored" if any(e.kind == "adopt" for e in events) else "-"
        done = next((e.detail for e in reversed(events) if e.kind == "done"), "")
        live = kernel.bindings[0].live if kernel.bindings else {}
        lines.append(
            f"{name:<10} {calls[name]:>9,} {trials:>7} {swaps:>6} {adopted:>8} {_speedup(kernel):>12.2f}x  "
            f"{_compact(dict(live), kernel.space.default)}{'  [' + done + ']' if done else ''}"
        )
    return "\n".join([*lines, _LEGEND])


def _progress(kernels: dict[str, Kernel], calls: dict[str, int], started: float) -> str:
    events = [e for kernel in kernels.values() for e in kernel.events.events()]
    trials = sum(e.kind in ("trial", "fail") for e in events)
    swaps = sum(e.kind == "swap" for e in events)
    return f"{time.monotonic() - started:6.1f}s: {sum(calls.values()):,} calls, {trials} trials, {swaps} swaps"


def run_demo(seconds: float = 120.0, scale: float = 1.0, refresh: float = 1.0) -> int:
    """Run the application loop for ``seconds``; returns a process exit code (non-zero on a wrong result)."""
    suite = load_suite()
    rng = np.random.default_rng(2024)
    kernels: dict[str, Kernel] = {}
    inputs: dict[str, tuple[Any, ...]] = {}
    for name, entry in suite.SUITE.items():
        kernels[name] = tunable(name=f"demo.{name}", **entry.space)(entry.kernel)
        entry.setup()
        inputs[name] = entry.make_inputs(max(8, int(SIZES[name] * scale)), rng)
    calls = dict.fromkeys(kernels, 0)
    wrong = 0
    hist_expected = None
    tty = sys.stdout.isatty()
    for name, kernel in kernels.items():  # first calls: compile defaults (or adopt stored bests)
        kernel(*inputs[name])
        calls[name] += 1
    rss0 = rss_kb()
    started = last = time.monotonic()
    while time.monotonic() - started < seconds:
        for name, kernel in kernels.items():
            entry = suite.SUITE[name]
            result = kernel(*inputs[name])  # Const parameters are compile-time: callers never pass them
            calls[name] += 1
            if calls[name] % 500 == 1 and name != "histogram":
                expected = entry.reference(*inputs[name]) if name != "saxpy" else None
                got = entry.output(inputs[name], result)
                if expected is not None and not np.allclose(got, expected, rtol=1e-6, atol=1e-9):
                    wrong += 1
                    print(f"WRONG RESULT from {name} with {kernel.live}", file=sys.stderr)
        if time.monotonic() - last >= refresh:
            last = time.monotonic()
            if tty:  # redrawn in place; the final table replaces it
                print("\x1b[H\x1b[J" + _table(kernels, calls, started, rss0), flush=True)
            else:  # a log: one progress line per refresh, the table once at the end
                print(_progress(kernels, calls, started), flush=True)
    hist = suite.SUITE["histogram"]
    hist_expected = hist.reference(*inputs["histogram"]) * calls["histogram"]
    hist_ok = np.array_equal(hist.output(inputs["histogram"], None), hist_expected)
    print(("\x1b[H\x1b[J" if tty else "\n") + _table(kernels, calls, started, rss0))
    print(f"\nresults checked against numpy: {'all correct' if not wrong else f'{wrong} WRONG'}")
    print(
        f"histogram host global: {'exact' if hist_ok else 'WRONG'} after {calls['histogram']:,} calls "
        "(tuning runs on scratch copies; counts survive every swap)"
    )
    return 0 if wrong == 0 and hist_ok else 1
