"""Command line: ``python -m autotune demo | report | cache info | cache clear``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from dylibs import ObjectCache

from .config import current
from .errors import AutotuneError
from .records import BestRecords
from .storage import open_storage, redact, storage_url

__all__ = ["main"]


def _report(storage_arg: str | None) -> int:
    import optuna
    from optuna.trial import TrialState

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    url = storage_arg or storage_url(current())
    storage = open_storage(url)
    names = sorted(n for n in optuna.get_all_study_names(storage) if n.startswith("autotune:"))
    if not names:
        print(f"no autotune studies in {redact(url)}")
        return 0
    print(f"studies in {redact(url)}\n")
    print(f"{'kernel':<28} {'key':<14} {'machine':<12} {'done':>5} {'failed':>6} {'speedup':>8}  best parameters")
    for name in names:
        _, kernel, _fp, rest = name.split(":", 3)
        key, machine = rest.rsplit(":", 1)
        study = optuna.load_study(study_name=name, storage=storage)
        trials = study.get_trials(deepcopy=False)
        complete = [t for t in trials if t.state == TrialState.COMPLETE]
        failed = sum(t.state == TrialState.FAIL for t in trials)
        if complete:
            best = min(complete, key=lambda t: t.value if t.value is not None else float("inf"))
            speedup = f"{1 / best.value:.2f}x" if best.value else "-"
            params = " ".join(f"{k}={v}" for k, v in sorted(best.params.items()))
        else:
            speedup, params = "-", ""
        print(f"{kernel:<28} {key:<14} {machine:<12} {len(complete):>5} {failed:>6} {speedup:>8}  {params}")
    return 0


def _cache(action: str) -> int:
    cache = ObjectCache()
    records = BestRecords()
    if action == "clear":
        objects = cache.clear()
        bests = records.clear()
        print(f"removed {objects} cached object(s) and {bests} best-variant record(s) from {cache.directory.parent}")
        print("(studies are kept: they live in the optuna storage; see `python -m autotune report`)")
        return 0
    stats = cache.stats()
    record_count = len(list(records.directory.glob("*.json"))) if records.directory.exists() else 0
    print(f"cache directory   {cache.directory.parent}")
    print(f"compiled objects  {stats.entries} ({stats.bytes / 1024:.1f} KiB)")
    print(f"best records      {record_count}")
    print(f"storage           {redact(storage_url(current()))}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m autotune``."""
    parser = argparse.ArgumentParser(prog="python -m autotune", description=__doc__)
    verbs = parser.add_subparsers(dest="verb", required=True)
    demo = verbs.add_parser("demo", help="run the suite kernels in an application loop while tuning")
    demo.add_argument("--seconds", type=float, default=120.0, help="how long to run (default 120)")
    demo.add_argument("--scale", type=float, default=1.0, help="multiply the problem sizes")
    report = verbs.add_parser("report", help="studies, best parameters and speedups from storage")
    report.add_argument("--storage", help="optuna storage URL (default: the configured one)")
    cache = verbs.add_parser("cache", help="object cache information or cleanup")
    cache.add_argument("action", choices=["info", "clear"])
    args: Any = parser.parse_args(argv)
    try:
        if args.verb == "demo":
            from .demo import run_demo

            if args.seconds <= 0 or args.scale <= 0:
                parser.error("--seconds and --scale must be positive")
            return run_demo(seconds=args.seconds, scale=args.scale)
        if args.verb == "report":
            return _report(args.storage)
        return _cache(args.action)
    except AutotuneError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
