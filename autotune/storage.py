"""Persistent studies: names that never mix kernels or machines, optuna storage, stale-trial cleanup.

One optuna study per (kernel, key, machine). The study name holds a kernel fingerprint (source, space,
signature, versions) and a machine fingerprint (triple, CPU, features), so a result is only ever reused
where it is valid. Storage is embedded SQLite in the cache directory by default, or any optuna storage
URL (PostgreSQL for a fleet sharing studies).

Opening is robust against what happens when several tuning processes start together or a file was damaged:
races creating the schema or a study are retried for a bounded time, a SQLite file that is not a readable
database is renamed aside (never replaced silently) and a fresh one created, and plain ``postgresql://``
URLs name the PostgreSQL driver that is installed. All of this runs in tuning workers, never on an
application's call path.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib
import logging
import os
import random
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Hashable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import llvmlite

from dylibs import default_cache_dir
from dylibs._llvm import host_target

from .config import Config
from .errors import StorageError
from .lang import KernelInfo, compiled_source

if TYPE_CHECKING:
    from .kernel import Kernel

__all__ = [
    "FORMAT",
    "STALE_ERROR",
    "fail_stale_trials",
    "kernel_fingerprint",
    "machine_fingerprint",
    "normalize_url",
    "open_storage",
    "open_study",
    "redact",
    "storage_url",
    "study_name",
]

#: Part of every kernel fingerprint: bump when variants built from the same parameters change meaning.
FORMAT = "autotune-1"
_STALE_AFTER = timedelta(hours=1)
#: The error of a trial failed by :func:`fail_stale_trials` (its parameters are not to blame).
STALE_ERROR = "the tuning process died during this trial"
_OWNERLESS_AFTER = timedelta(minutes=2)
#: How long opening a storage or a study keeps retrying races with other processes before StorageError.
TIMEOUT = 30.0
_log = logging.getLogger("autotune")
_lock = threading.Lock()
_storages: dict[str, Any] = {}
_T = TypeVar("_T")
# Messages of database errors that another process causes and that go away when it is done: SQLite's
# lock errors, and two processes creating the same tables or rows at once (SQLite and PostgreSQL spellings).
_RACES = (
    "database is locked",
    "database table is locked",
    "already exists",
    "unique constraint",
    "duplicate key",
    "deadlock detected",
    "could not serialize",
)
_SQLITE_CORRUPT = 11
_SQLITE_NOTADB = 26


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:12]


def machine_fingerprint() -> str:
    """Short hash of the target triple, CPU name and CPU features."""
    host = host_target()
    return _digest(host.triple, host.cpu, host.features)


def kernel_fingerprint(kernel: Kernel) -> str:
    """Short hash of the kernel source, its space, native signature and the versions that build it."""
    # the source of the functions it calls too: a stored best of a caller built against an old callee is stale
    source = compiled_source(kernel.info) if isinstance(kernel.info, KernelInfo) else kernel.info.source
    declared = ["noalias"] if getattr(kernel.info, "noalias", False) else []  # changes the code, not the source
    return _digest(FORMAT, source, kernel.space.fingerprint(), kernel.signature, llvmlite.__version__, *declared)


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


def normalize_url(url: str) -> str:
    """``url`` with a plain ``postgresql://`` or ``postgres://`` scheme naming the installed driver.

    SQLAlchemy maps a plain ``postgresql://`` to one driver (psycopg 3 since 2.1, psycopg2 before) whether
    or not it is installed, and does not know ``postgres://`` at all. Prefer psycopg2 (the ``postgres`` extra
    installs it), else psycopg 3. A URL that already names a driver (``postgresql+xyz://``), or any other
    database, is returned unchanged.
    """
    scheme, separator, rest = url.partition("://")
    if not separator or scheme.lower() not in ("postgresql", "postgres"):
        return url
    driver = _postgres_driver()
    return f"postgresql+{driver}://{rest}" if driver else f"postgresql://{rest}"


@functools.cache
def _postgres_driver() -> str | None:
    """The PostgreSQL DBAPI module that imports here, psycopg2 first; None if neither does."""
    for module in ("psycopg2", "psycopg"):
        try:
            importlib.import_module(module)
        except ImportError:
            continue
        return module
    return None


def open_storage(url: str, *, timeout: float = TIMEOUT) -> Any:
    """An optuna RDB storage for ``url`` (one per URL per process); StorageError if it cannot be opened.

    A SQLite file that is not a readable database is renamed to ``<path>.damaged-<UTC time>`` (with a
    warning) and a fresh one is created in its place. A file another process keeps locked is an error, never
    damage. Races with other processes creating the same storage are retried for up to ``timeout`` seconds,
    which is also how long SQLite waits for a lock.
    """
    url = normalize_url(url)
    with _lock:
        storage = _storages.get(url)
        if storage is None:
            deadline = time.monotonic() + timeout
            path = _sqlite_path(url)
            if path is not None and _sqlite_damage(path, url, timeout) is not None:
                storage = _replace_damaged(path, url, timeout, deadline)
            else:
                storage = _new_storage(url, timeout, deadline)
            _storages[url] = storage
        return storage


def _new_storage(url: str, timeout: float, deadline: float) -> Any:
    import optuna

    engine: dict[str, Any] = {"connect_args": {"timeout": timeout}} if url.startswith("sqlite") else {}
    try:
        return _retrying(lambda: optuna.storages.RDBStorage(url, engine_kwargs=engine), deadline)
    except Exception as exc:  # SQLAlchemy and driver errors vary by backend
        raise StorageError(f"cannot open optuna storage {redact(url)}: {_scrub(exc, url)}") from exc


def _retrying(attempt: Callable[[], _T], deadline: float) -> _T:
    """``attempt()``, again after a short randomised backoff while it fails with a race, until ``deadline``."""
    delay = 0.02
    while True:
        try:
            return attempt()
        except Exception as exc:
            remaining = deadline - time.monotonic()
            if not _is_race(exc) or remaining <= 0:
                raise
        time.sleep(min(delay * (0.5 + random.random()), remaining))
        delay = min(2 * delay, 0.5)


def _is_race(exc: BaseException) -> bool:
    """Whether ``exc`` (or an exception it wraps) comes from another process using the database at once."""
    import optuna
    from sqlalchemy import exc as sa_exc

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, optuna.exceptions.DuplicatedStudyError | sa_exc.IntegrityError | sqlite3.IntegrityError):
            return True
        if isinstance(current, sa_exc.DBAPIError | sqlite3.OperationalError):
            message = str(current).lower()
            if any(race in message for race in _RACES):
                return True
        current = current.__cause__ or current.__context__
    return False


def _sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite:///path`` URL; None for other databases, in-memory and URI-style SQLite."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:
        return None
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    if database.startswith("file:") or "uri" in parsed.query:
        return None
    return Path(database)


def _sqlite_damage(path: Path, url: str, timeout: float) -> str | None:
    """Why the SQLite file ``path`` is not a readable database, or None (it is, it is empty or missing).

    StorageError when it cannot be checked (locked by another process for ``timeout`` seconds, no
    permission, I/O error): none of those is damage.
    """
    try:
        if path.stat().st_size == 0:  # SQLite treats an empty file as an empty database
            return None
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StorageError(f"cannot open optuna storage {redact(url)}: {exc}") from exc
    try:
        # mode=rw: never create the file; a hot journal left by a crashed writer is still rolled back.
        with contextlib.closing(
            sqlite3.connect(f"{path.absolute().as_uri()}?mode=rw", uri=True, timeout=timeout)
        ) as connection:
            rows = connection.execute("PRAGMA quick_check").fetchall()
    except sqlite3.Error as exc:
        if exc.sqlite_errorcode & 0xFF in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
            return str(exc)
        raise StorageError(f"cannot open optuna storage {redact(url)}: {exc}") from exc
    problems = [str(row[0]) for row in rows if row[0] != "ok"]
    return "; ".join(problems)[:500] if problems else None


def _replace_damaged(path: Path, url: str, timeout: float, deadline: float) -> Any:
    """Rename the damaged ``path`` aside and open a fresh storage there, both under a lock between processes.

    Under the lock the file is checked again: another process may have replaced it already.
    """
    with _repair_lock(path, url, deadline):
        reason = _sqlite_damage(path, url, timeout)
        if reason is not None:
            aside = _set_aside(path, url)
            _log.warning(
                "optuna storage %s is damaged (%s): moved it to %s and starting a fresh one", path, reason, aside
            )
        return _new_storage(url, timeout, deadline)


@contextlib.contextmanager
def _repair_lock(path: Path, url: str, deadline: float) -> Iterator[None]:
    """An exclusive lock on ``<path>.repair-lock`` between processes (none where fcntl does not exist)."""
    try:
        import fcntl
    except ImportError:  # not POSIX
        yield
        return
    with open(f"{path}.repair-lock", "a") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise StorageError(
                        f"cannot open optuna storage {redact(url)}: another process keeps repairing it"
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _set_aside(path: Path, url: str) -> Path:
    """Rename ``path`` (and any journal, WAL or shared-memory file of it) to an unused ``.damaged-`` name.

    The journal goes with it: left behind, SQLite would roll it back into the fresh database.
    """
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    base = f"{path}.damaged-{stamp}"
    aside = Path(base)
    number = 1
    while any(Path(f"{aside}{suffix}").exists() for suffix in ("", "-journal", "-wal", "-shm")):
        number += 1
        aside = Path(f"{base}-{number}")
    try:
        path.rename(aside)
        for suffix in ("-journal", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                Path(f"{path}{suffix}").rename(f"{aside}{suffix}")
    except OSError as exc:
        message = f"cannot open optuna storage {redact(url)}: it is damaged and cannot be moved aside: {exc}"
        raise StorageError(message) from exc
    return aside


def redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        if rest.startswith("/"):  # no host part (sqlite:///path): an @ is part of the path
            return url
        credentials, host = rest.rsplit("@", 1)
        return f"{scheme}://{credentials.split(':', 1)[0]}:***@{host}"
    return url


def _scrub(exc: BaseException | str, url: str) -> str:
    """``str(exc)`` and what it was raised from, with the password of ``url`` replaced by ``***``.

    Both spellings of the password are replaced: as written in the URL and percent-decoded.
    """
    from urllib.parse import unquote

    text = str(exc)
    cause = exc.__cause__ if isinstance(exc, BaseException) else None
    while cause is not None and len(text) < 2000:  # optuna wraps database errors in vaguer ones
        text = f"{text}: {cause}"
        cause = cause.__cause__
    if "://" not in url:
        return text
    rest = url.split("://", 1)[1]
    if rest.startswith("/") or "@" not in rest:
        return text
    credentials = rest.rsplit("@", 1)[0]
    if ":" in credentials:
        password = credentials.split(":", 1)[1]
        for spelling in {password, unquote(password)}:
            if spelling:
                text = text.replace(spelling, "***")
    return text


def open_study(name: str, storage: Any, sampler: Any, *, timeout: float = TIMEOUT) -> Any:
    """Create or load the study ``name`` (minimising time relative to the default variant).

    Another process creating the same study at the same moment is not an error: on a duplicate, integrity
    or lock error the study is loaded instead, retried with a short backoff for up to ``timeout`` seconds
    before StorageError.
    """
    import optuna

    url = str(getattr(storage, "url", ""))

    def attempt() -> Any:
        try:
            return optuna.create_study(
                study_name=name, storage=storage, sampler=sampler, direction="minimize", load_if_exists=True
            )
        except Exception as exc:
            if not _is_race(exc):
                raise
            race = exc
        with contextlib.suppress(KeyError):  # KeyError: not there yet, the other process has not committed
            return optuna.load_study(study_name=name, storage=storage, sampler=sampler)
        raise race  # outside the handler, so its chain (what _is_race reads) stays as it was

    try:
        study = _retrying(attempt, time.monotonic() + timeout)
    except Exception as exc:
        where = f" in {redact(url)}" if url else ""
        raise StorageError(f"cannot open study {name!r}{where}: {_scrub(exc, url)}") from exc
    try:
        failed = fail_stale_trials(study)
    except Exception as exc:  # cleanup is best effort: the study itself is usable
        _log.warning("study %s: cannot check for trials left running by dead processes: %s", name, _scrub(exc, url))
        failed = 0
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
    from optuna.exceptions import UpdateFinishedTrialError
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
            try:
                study._storage.set_trial_user_attr(trial._trial_id, "error", STALE_ERROR)
                study._storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
            except UpdateFinishedTrialError:  # another process opening the study failed it first
                continue
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
