"""Command line: ``python -m autotune demo | report | cache info | cache clear``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from dylibs import ObjectCache

from .config import current
from .errors import AutotuneError
from .kernel import NO_KEY
from .records import BestRecords
from .storage import machine_fingerprint, open_storage, redact, storage_url

__all__ = ["main"]


#: What the report's words mean (its header and ``report --help`` say it).
DEFINITIONS = (
    "live: the stored best the next process adopts at its first call (a damaged record is flagged, and the "
    "process starts on the default); best: the fastest trial measured. x vs default: the default's time per "
    "call / the variant's, the median of interleaved rounds, with the interquartile range of those rounds "
    "in brackets."
)


def _report(storage_arg: str | None, as_json: bool) -> int:
    """Per study: the live variant (what the next process adopts), the best measured trial, trial counts,
    speedups against the default with their spread, and the last update."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    url = storage_arg or storage_url(current())
    storage = open_storage(url)
    names = sorted(n for n in optuna.get_all_study_names(storage) if n.startswith("autotune:"))
    rows = [_study_row(optuna.load_study(study_name=name, storage=storage), name) for name in names]
    if as_json:
        print(json.dumps({"storage": redact(url), "studies": rows}, indent=2, default=str))
        return 0
    if not rows:
        print(f"no autotune studies in {redact(url)}")
        return 0
    print(f"studies in {redact(url)}")
    print(DEFINITIONS + "\n")
    for row in rows:
        counts = row["trials"]
        key = "" if row["key"] == repr(NO_KEY) else f"  key {row['key']}"
        print(f"{row['kernel']}{key}  machine {row['machine']}  updated {row['updated'] or '-'}")
        print(f"  trials: {counts['complete']} measured, {counts['failed']} failed, {counts['pruned']} repeats")
        if row["live"] is not None:
            print(f"  live:  {_speedup(row['live'])}")
        elif row["record"] == "damaged":
            print("  live:  default (the stored record is damaged and ignored; the next search rewrites it)")
        else:
            print("  live:  default (no stored best)")
        print(f"  best:  {_speedup(row['best']) if row['best'] else '-'}")
    return 0


def _speedup(entry: dict[str, Any]) -> str:
    spread = entry.get("spread")
    within = f" [{spread[0]:.2f}-{spread[1]:.2f}]" if spread else ""
    params = " ".join(f"{k}={v}" for k, v in sorted(entry["params"].items()))
    return f"{entry['x_vs_default']:.2f}x vs default{within}  {params}"


def _spread(trial: Any) -> list[float] | None:
    """The trial's speedup range (from its value's quartiles), or None when it was not measured in rounds."""
    quartiles = trial.user_attrs.get("value_quartiles")
    if not quartiles or not all(isinstance(q, int | float) and q > 0 for q in quartiles):
        return None
    return [1 / quartiles[1], 1 / quartiles[0]]


def _study_row(study: Any, name: str) -> dict[str, Any]:
    from optuna.trial import TrialState

    _, kernel, _fingerprint, rest = name.split(":", 3)
    key, machine = rest.rsplit(":", 1)
    trials = study.get_trials(deepcopy=False)
    complete = [t for t in trials if t.state == TrialState.COMPLETE and t.value]
    best: dict[str, Any] | None = None
    if complete:
        top = min(complete, key=lambda t: t.value)
        best = {"params": top.params, "x_vs_default": 1 / top.value, "spread": _spread(top), "trial": top.number}
    records = BestRecords()
    stored = records.load(name)
    live = None
    if stored is not None:
        params, value = stored
        same = [t for t in complete if t.params == params]
        live = {
            "params": params,
            "x_vs_default": 1 / value if value else 1.0,
            "spread": _spread(min(same, key=lambda t: t.value)) if same else None,
        }
    finished = [t.datetime_complete for t in trials if t.datetime_complete is not None]
    return {
        "study": name,
        "kernel": kernel,
        "key": key,
        "machine": machine,
        "live": live,
        "record": "ok" if stored is not None else "damaged" if records.damaged(name) else "absent",
        "best": best,
        "trials": {
            "complete": sum(t.state == TrialState.COMPLETE for t in trials),
            "failed": sum(t.state == TrialState.FAIL for t in trials),
            "pruned": sum(t.state == TrialState.PRUNED for t in trials),
        },
        "updated": max(finished).isoformat(timespec="seconds") if finished else None,
    }


def _delete_studies(storage_arg: str | None, every_machine: bool) -> int:
    """Delete this machine's autotune studies (every machine's with ``every_machine``); returns how many."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = open_storage(storage_arg or storage_url(current()))
    suffix = ":" + machine_fingerprint()
    names = [
        n
        for n in optuna.get_all_study_names(storage)
        if n.startswith("autotune:") and (every_machine or n.endswith(suffix))
    ]
    for name in names:
        optuna.delete_study(study_name=name, storage=storage)
    return len(names)


def _cache(action: str, studies: bool, every_machine: bool, storage_arg: str | None) -> int:
    cache = ObjectCache()
    records = BestRecords()
    if action == "clear":
        objects = cache.clear()
        bests = records.clear()
        print(f"removed {objects} cached object(s) and {bests} best-variant record(s) from {cache.directory.parent}")
        if studies:
            removed = _delete_studies(storage_arg, every_machine)
            where = redact(storage_arg or storage_url(current()))
            whose = "every machine's" if every_machine else f"this machine's ({machine_fingerprint()})"
            print(f"removed {removed} of {whose} stud{'y' if removed == 1 else 'ies'} from {where}")
        else:
            print("studies are kept (they hold every trial); `python -m autotune cache clear --studies` removes them")
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
    report = verbs.add_parser(
        "report",
        help="per study: the live variant, the best measured, trials, speedups vs the default",
        description=DEFINITIONS + " Storage: --storage, else AUTOTUNE_STORAGE, else studies.db in the cache "
        "directory (AUTOTUNE_CACHE_DIR).",
    )
    report.add_argument("--storage", help="optuna storage URL (default: the configured one)")
    report.add_argument("--json", action="store_true", help="print JSON, for scripts")
    cache = verbs.add_parser("cache", help="object cache information or cleanup")
    cache.add_argument("action", choices=["info", "clear"])
    cache.add_argument(
        "--studies", action="store_true", help="clear: also delete this machine's autotune studies (every trial)"
    )
    cache.add_argument(
        "--all-machines",
        action="store_true",
        help="with --studies: delete every machine's studies (a shared PostgreSQL storage holds a fleet's)",
    )
    cache.add_argument("--storage", help="optuna storage URL (default: the configured one)")
    args: Any = parser.parse_args(argv)
    if getattr(args, "all_machines", False) and not args.studies:
        parser.error("--all-machines only goes with --studies")
    try:
        current()  # a bad environment value is an error line here, not a traceback later
        if args.verb == "demo":
            from .demo import run_demo

            if args.seconds <= 0 or args.scale <= 0:
                parser.error("--seconds and --scale must be positive")
            return run_demo(seconds=args.seconds, scale=args.scale)
        if args.verb == "report":
            return _report(args.storage, args.json)
        return _cache(args.action, args.studies, args.all_machines, args.storage)
    except AutotuneError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
