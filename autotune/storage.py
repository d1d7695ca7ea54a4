"""Persistent studies: names that never mix kernels or machines, optuna storage, stale-trial cleanup.

One optuna study per (kernel, key, machine). The study name holds a kernel fingerprint (source, space,
signature, versions) and a machine fingerprint (triple, CPU, features), so a result is only ever reused
where it is valid. Storage is embedded SQLite in the cache directory by default, or any optuna storage
URL (PostgreSQL for a fleet sharing studies).
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
from collections.abc import Hashable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import llvmlite

from dylibs import default_cache_dir
from dylibs._llvm import host_target

from .config import Config
from .errors import StorageError

if TYPE_CHECKING:
    from .kernel import Kernel

__all__ = [
    "FORMAT",
    "fail_stale_trials",
    "kernel_fingerprint",
    "machine_fingerprint",
    "open_storage",
    "open_study",
    "storage_url",
    "study_name",
]

#: Part of every kernel fingerprint: bump when variants built from the same parameters change meaning.
FORMAT = "autotune-1"
_STALE_AFTER = timedelta(hours=1)
_OWNERLESS_AFTER = timedelta(minutes=2)
_log = logging.getLogger("autotune")
_lock = threading.Lock()
_storages: dict[str, Any] = {}


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:12]


def machine_fingerprint() -> str:
    """Short hash of the target triple, CPU name and CPU features."""
    host = host_target()
    return _digest(host.triple, host.cpu, host.features)


def kernel_fingerprint(kernel: Kernel) -> str:
    """Short hash of the kernel source, its space, native signature and the versions that build it."""
    return _digest(FORMAT, kernel.info.source, kernel.space.fingerprint(), kernel.signature, llvmlite.__version__)


def study_name(kernel: Kernel, key: Hashable) -> str:
    """``autotune:<kernel name>:<kernel fp>:<key>:<machine fp>``."""
    return f"autotune:{kernel.name}:{kernel_fingerprint(kernel)}:{key!r}:{machine_fingerprint()}"


def storage_url(config: Config) -> str:
    """The configured storage URL, or SQLite in the cache directory."""
    if config.storage:
        return config.storage
    directory = default_cache_dir()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    return f"sqlite:///{directory / 'studies.db'}"


def open_storage(url: str) -> Any:
    """An optuna RDB storage for ``url`` (one per URL per process); StorageError if it cannot be opened."""
    import optuna

    with _lock:
        storage = _storages.get(url)
        if storage is None:
            engine: dict[str, Any] = {"connect_args": {"timeout": 30}} if url.startswith("sqlite") else {}
            try:
                storage = optuna.storages.RDBStorage(url, engine_kwargs=engine)
            except Exception as exc:  # SQLAlchemy and driver errors vary by backend
                raise StorageError(f"cannot open optuna storage {_redact(url)}: {exc}") from exc
            _storages[url] = storage
        return storage


def _redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        credentials, host = rest.rsplit("@", 1)
        return f"{scheme}://{credentials.split(':', 1)[0]}:***@{host}"
    return url


def open_study(name: str, storage: Any, sampler: Any) -> Any:
    """Create or load the study ``name`` (minimising time relative to the default variant)."""
    import optuna

    try:
        study = optuna.create_study(
            study_name=name, storage=storage, sampler=sampler, direction="minimize", load_if_exists=True
        )
    except Exception as exc:
        raise StorageError(f"cannot open study {name!r}: {exc}") from exc
    failed = fail_stale_trials(study)
    if failed:
        _log.warning("study %s: marked %d trial(s) left running by dead processes as failed", name, failed)
    return study


def worker_attrs() -> dict[str, Any]:
    """User attributes that identify the process running a trial (for stale-trial detection)."""
    return {"host": socket.gethostname(), "pid": os.getpid()}


def fail_stale_trials(study: Any) -> int:
    """Mark RUNNING trials whose process is gone as FAIL; returns how many.

    On this host a trial is stale when its pid no longer runs; from other hosts, when it started more than
    an hour ago. A trial without owner attributes (its process died between creating it and naming itself)
    is stale two minutes after it started.
    """
    from optuna.trial import TrialState

    host = socket.gethostname()
    now = datetime.now()
    failed = 0
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        attrs = trial.user_attrs
        age = now - trial.datetime_start if trial.datetime_start is not None else timedelta(0)
        if "host" not in attrs:
            stale = age > _OWNERLESS_AFTER
        elif attrs.get("host") == host:
            stale = attrs.get("pid") != os.getpid() and not _alive(int(attrs.get("pid", -1)))
        else:
            stale = age > _STALE_AFTER
        if stale:
            study._storage.set_trial_user_attr(trial._trial_id, "error", "the tuning process died during this trial")
            study._storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
            failed += 1
    return failed


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, killed but not yet reaped, counts as dead)."""
    if pid <= 0:
        return False
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
