"""Run every benchmark: ``python -m bench`` (or ``make bench``); ``python -m bench NAME ...`` for some."""

from __future__ import annotations

import importlib
import sys

ALL = [
    "native_dispatch",
    "call_overhead",
    "compile",
    "memory",
    "suite",
    "tuning",
    "latency",
    "latency_trace",
    "latency_before_after",
    "first_call",
    "throughput",
    "host_memory",
    "keys_memory",
    "validation_cost",
    "parallel",
    "classic",
    "polybench",
    "matmul",
    "schedule_search",
]
#: the arguments ``python -m bench`` runs a benchmark with (the figures docs/benchmarks.md reports)
ARGUMENTS = {"polybench": ["--schedule"], "matmul": ["--schedule"]}


def main(names: list[str]) -> None:
    unknown = sorted(set(names) - set(ALL))
    if unknown:
        sys.exit(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(ALL)}")
    for name in names or ALL:
        module = importlib.import_module(f"bench.{name}")
        if name in ARGUMENTS:
            module.main(ARGUMENTS[name])
        else:
            module.main()


if __name__ == "__main__":
    main(sys.argv[1:])
