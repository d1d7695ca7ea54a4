"""``ObjectCache``: compiled variants on disk, keyed by everything that changes the code.

A cache entry is code that will run, so it is treated as untrusted input: the directory is private
(0700), entries are written to a temporary file and renamed into place, each carries the sha256 of its
payload, entries owned by another user or reached through a link are ignored, and a bad entry is deleted so
the caller recompiles it.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from ._llvm import host_target
from .options import CompileOptions

__all__ = ["FORMAT_VERSION", "CacheStats", "ObjectCache", "default_cache_dir"]

#: Bumped whenever the key or the entry layout changes, so old entries simply miss.
FORMAT_VERSION = 2
# An entry: magic, the key it was stored under, the payload's sha256, the payload. The key inside the entry
# binds it to its file name: a renamed, copied or swapped entry is another key's code, and is rejected.
_MAGIC = b"AUTOTUNE-OBJ2\n"
_SUFFIX = ".obj"


def default_cache_dir() -> Path:
    """``$AUTOTUNE_CACHE_DIR``, else ``$XDG_CACHE_HOME/autotune``, else ``~/.cache/autotune``."""
    explicit = os.environ.get("AUTOTUNE_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "autotune"


@dataclass(frozen=True)
class CacheStats:
    """Counters since the cache object was created, plus what is on disk now."""

    hits: int
    misses: int
    rejected: int
    entries: int
    bytes: int
    directory: str


class ObjectCache:
    """Object code on disk under ``directory/objects`` (default: :func:`default_cache_dir`)."""

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        root = Path(directory) if directory is not None else default_cache_dir()
        self.directory = root / "objects"
        self._lock = threading.Lock()
        self._hits = self._misses = self._rejected = 0
        self._usable = self._prepare()

    def _prepare(self) -> bool:
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            info = os.lstat(self.directory)
        except OSError:
            return False
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
            return False  # a directory someone else controls is never trusted
        if info.st_mode & 0o077:
            os.chmod(self.directory, 0o700)
        return True

    @staticmethod
    def key(ir: str, options: CompileOptions) -> str:
        """sha256 over IR, target triple, CPU, features, options, llvmlite and format version."""
        host = host_target()
        digest = hashlib.sha256()
        for part in (
            f"format={FORMAT_VERSION}",
            f"llvmlite={host.llvmlite_version}",
            host.triple,
            host.cpu,
            host.features,
            options.key(),
            ir,
        ):
            digest.update(part.encode("utf-8"))
            digest.update(b"\0")
        return digest.hexdigest()

    def _path(self, key: str) -> Path:
        if len(key) != 64 or any(c not in "0123456789abcdef" for c in key):
            raise ValueError(f"not a cache key: {key!r}")
        return self.directory / (key + _SUFFIX)

    def get(self, key: str) -> bytes | None:
        """The object for ``key``, or None on a miss. A bad entry is deleted and counts as a miss."""
        path = self._path(key)
        data = self._read_trusted(path) if self._usable else None
        if data is not None:
            payload = _unwrap(data, key)
            if payload is not None:
                self._count(hit=True)
                return payload
            self._reject(path)
        self._count(hit=False)
        return None

    def put(self, key: str, payload: bytes) -> None:
        """Store atomically: a reader sees the old entry, the new one, or none, never a torn one."""
        if not self._usable:
            return
        path = self._path(key)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=self.directory)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(
                    _MAGIC + key.encode() + b"\n" + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload
                )
            os.replace(tmp, path)
        except OSError:
            Path(tmp).unlink(missing_ok=True)

    def stats(self) -> CacheStats:
        """Counters and the size of the cache on disk."""
        entries = size = 0
        if self._usable:
            for path in self.directory.glob("*" + _SUFFIX):
                entries += 1
                size += path.stat().st_size
        with self._lock:
            return CacheStats(self._hits, self._misses, self._rejected, entries, size, str(self.directory))

    def clear(self) -> int:
        """Delete every entry; returns how many were removed."""
        removed = 0
        if self._usable:
            for path in self.directory.glob("*" + _SUFFIX):
                path.unlink(missing_ok=True)
                removed += 1
        return removed

    def _read_trusted(self, path: Path) -> bytes | None:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            return None
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid():
                return None  # ignored, not deleted: it is not ours to delete
            return handle.read()

    def _reject(self, path: Path) -> None:
        path.unlink(missing_ok=True)
        with self._lock:
            self._rejected += 1

    def _count(self, *, hit: bool) -> None:
        with self._lock:
            if hit:
                self._hits += 1
            else:
                self._misses += 1


def _unwrap(data: bytes, key: str) -> bytes | None:
    """The payload of an entry stored under ``key`` whose hash checks out; None for anything else."""
    header = _MAGIC + key.encode() + b"\n"
    if not data.startswith(header):
        return None
    digest_end = len(header) + 64
    if len(data) < digest_end + 1 or data[digest_end : digest_end + 1] != b"\n":
        return None
    payload = data[digest_end + 1 :]
    if hashlib.sha256(payload).hexdigest().encode() != data[len(header) : digest_end]:
        return None
    return payload
