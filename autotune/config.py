"""Configuration: one frozen dataclass, read from the environment once and changed with :func:`configure`."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, fields, replace
from typing import Any

from .errors import ConfigError

__all__ = ["ENVIRONMENT", "Config", "configure", "current"]


def _flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}={raw!r}: use 1 or 0")


#: Settings read from the environment too (the variable, the field, its type): the budgets and the margin.
ENVIRONMENT = (
    ("AUTOTUNE_MAX_TRIALS", "max_trials", int),
    ("AUTOTUNE_MAX_SECONDS", "max_seconds", float),
    ("AUTOTUNE_PATIENCE", "patience", int),
    ("AUTOTUNE_MARGIN", "margin", float),
)


def _numbers() -> dict[str, Any]:
    """The numeric settings the environment gives; ConfigError naming the variable for a bad value."""
    found: dict[str, Any] = {}
    for variable, name, kind in ENVIRONMENT:
        raw = os.environ.get(variable)
        if raw is None or raw == "":
            continue
        try:
            value = kind(raw)
        except ValueError:
            raise ConfigError(f"{variable}={raw!r}: expected a{'n integer' if kind is int else ' number'}") from None
        if value < 0 or (value == 0 and name != "margin") or value != value:
            raise ConfigError(f"{variable}={raw!r}: must be positive")
        found[name] = value
    return found


@dataclass(frozen=True)
class Config:
    """Everything the runtime and the tuner read. Environment: ``AUTOTUNE_STORAGE``, ``AUTOTUNE_BACKGROUND``,
    ``AUTOTUNE_CACHE_DIR`` (see :func:`dylibs.default_cache_dir`), and :data:`ENVIRONMENT` (budgets, margin)."""

    #: optuna storage URL; None: SQLite file ``studies.db`` in the cache directory.
    storage: str | None = None
    #: start the background tuner at the first call of a tunable kernel.
    background: bool = True
    #: a candidate must beat the live variant by this fraction (median of rounds) to be published.
    margin: float = 0.03
    #: trials per (kernel, key, machine) study before its search stops.
    max_trials: int = 200
    #: seconds of tuning per study before its search stops.
    max_seconds: float = 300.0
    #: stop a study after this many trials without a new best.
    patience: int = 40
    #: interleaved measurement rounds per trial (A B A B ...).
    rounds: int = 7
    #: target duration of one round, seconds (calls per round are chosen to fill it).
    round_seconds: float = 0.002
    #: OS niceness of the tuning worker process and its compiler (0-19), so the application wins the CPU
    #: whenever both want it: on 2 cores an equal-priority tuner cost callers 6-8 ms scheduler stalls. On
    #: Linux the worker also runs at SCHED_IDLE priority (only on otherwise idle cores).
    nice: int = 10
    #: CPU seconds a trial's candidate code may use before the worker is killed and the trial fails
    #: ("timeout after ..."): at least this floor, or ``trial_timeout_factor`` times what the trial would
    #: cost at the live variant's speed, whichever is larger. CPU time, not wall time: a worker starved by
    #: a busy application is slow, not faulty (a wall-clock cap of 30 times the limit, at least a minute,
    #: catches code that blocks).
    trial_timeout: float = 2.0
    trial_timeout_factor: float = 10.0
    #: CPU seconds the worker may spend running the Python function to cross-check the compiled reference
    #: (kernel language; for the expert route the host's thread, on its wall clock); past it the check is
    #: skipped (a loop that wraps integers can take minutes). A ``tune(timeout=)`` shortens it.
    reference_seconds: float = 5.0
    #: captured calls kept per key for validation (the first one, which trials are timed on, included).
    samples: int = 4
    #: how often (seconds) the live variant of a called key is checked again on a freshly captured call;
    #: 0 never. A mismatch rolls the key back to the default and revokes the variant.
    revalidate_seconds: float = 30.0
    #: relative and absolute tolerance when validating a candidate's outputs against the reference.
    rtol: float = 1e-6
    atol: float = 1e-9
    #: keys of one kernel (``key=``) that get a slot of their own; each costs well under 64 KB beyond its
    #: variant's code. A new key beyond the cap shares the slot of the default key (``"__default__"``),
    #: and runs what that slot runs; the first such key is logged once per kernel, at WARNING.
    max_keys: int = 1024

    def __post_init__(self) -> None:
        checks = {
            "margin": 0 <= self.margin < 1,
            "max_trials": self.max_trials >= 1,
            "max_seconds": self.max_seconds > 0,
            "patience": self.patience >= 1,
            "rounds": self.rounds >= 1,
            "round_seconds": self.round_seconds > 0,
            "nice": 0 <= self.nice <= 19,
            "trial_timeout": self.trial_timeout > 0,
            "reference_seconds": self.reference_seconds > 0,
            "samples": self.samples >= 1,
            "revalidate_seconds": self.revalidate_seconds >= 0,
            "trial_timeout_factor": self.trial_timeout_factor >= 1,
            "rtol": self.rtol >= 0,
            "atol": self.atol >= 0,
            "max_keys": isinstance(self.max_keys, int) and not isinstance(self.max_keys, bool) and self.max_keys >= 1,
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise ConfigError(f"invalid configuration value(s): {', '.join(f'{n}={getattr(self, n)!r}' for n in bad)}")
        if self.storage is not None and (not isinstance(self.storage, str) or "://" not in self.storage):
            raise ConfigError(f"storage must be an optuna storage URL such as sqlite:///path.db, got {self.storage!r}")


_lock = threading.Lock()
_config: Config | None = None


def current() -> Config:
    """The configuration in force (read from the environment on first use)."""
    global _config
    with _lock:
        if _config is None:
            _config = Config(
                storage=os.environ.get("AUTOTUNE_STORAGE") or None,
                background=_flag("AUTOTUNE_BACKGROUND", True),
                **_numbers(),
            )
        return _config


def configure(**changes: Any) -> Config:
    """Change configuration values (unknown names are a ConfigError listing the known ones)."""
    known = {f.name for f in fields(Config)}
    unknown = sorted(set(changes) - known)
    if unknown:
        raise ConfigError(f"unknown option(s) {', '.join(unknown)}; options: {', '.join(sorted(known))}")
    global _config
    updated = replace(current(), **changes)
    with _lock:
        _config = updated
    return updated
