"""``BestRecords``: the best parameters of each study, as small files next to the object cache.

Opening optuna storage costs a fraction of a second, too much for a kernel's first call. The tuner writes
the best parameters of a study here whenever it publishes, so a new process adopts them at its first call
with one file read (and an object cache hit) and opens the study later, in the background.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from dylibs import default_cache_dir

__all__ = ["BestRecords"]


class BestRecords:
    """One JSON file per study name under ``<cache dir>/best``."""

    def __init__(self, directory: Path | None = None) -> None:
        self._directory = directory

    @property
    def directory(self) -> Path:
        """The records directory (resolved at each use: the cache directory may be reconfigured)."""
        return self._directory or default_cache_dir() / "best"

    def _path(self, study: str) -> Path:
        return self.directory / (hashlib.sha256(study.encode()).hexdigest()[:32] + ".json")

    def load(self, study: str) -> tuple[dict[str, Any], float] | None:
        """The recorded (params, value) of ``study``; None if absent or unreadable (a bad file is ignored)."""
        try:
            data = json.loads(self._path(study).read_text())
            if data.get("study") != study or not isinstance(data.get("params"), dict):
                return None
            return dict(data["params"]), float(data["value"])
        except (OSError, ValueError, TypeError, KeyError):
            return None

    def damaged(self, study: str) -> bool:
        """Whether ``study`` has a record file that :meth:`load` ignores (unreadable, not JSON, another
        study's, or missing fields): the next process then starts on the default."""
        return self._path(study).exists() and self.load(study) is None

    def save(self, study: str, params: dict[str, Any], value: float) -> None:
        """Record atomically (temporary file, then rename); failures are ignored: this is only a shortcut."""
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=self.directory)
            with os.fdopen(fd, "w") as out:
                json.dump({"study": study, "params": params, "value": value}, out)
            os.replace(tmp, self._path(study))
        except OSError:
            pass

    def clear(self) -> int:
        """Delete every record; returns how many."""
        removed = 0
        for path in self.directory.glob("*.json"):
            path.unlink(missing_ok=True)
            removed += 1
        return removed
