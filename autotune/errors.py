"""Typed exceptions of the autotune package.

Every exception carries the fields a caller needs (file and line of a kernel construct, the argument that
failed a check) and pickles with them, so errors raised in compile worker processes arrive intact.
"""

from __future__ import annotations

__all__ = [
    "AutotuneError",
    "ConfigError",
    "KernelSyntaxError",
    "KernelTypeError",
    "SpaceError",
    "StorageError",
    "TuningError",
    "ValidationError",
]


class AutotuneError(Exception):
    """Base class of every error raised by autotune."""


class KernelSyntaxError(AutotuneError):
    """A kernel uses a construct outside the language, or its types do not check.

    ``str()`` reads like a compiler diagnostic: ``file.py:12:4: 'with' statements are not supported in
    kernels`` (``lineno`` is 1-based, ``col`` is the 0-based column in the file).
    """

    def __init__(self, filename: str, lineno: int, col: int, message: str) -> None:
        super().__init__(filename, lineno, col, message)
        self.filename = filename
        self.lineno = lineno
        self.col = col
        self.message = message

    def __str__(self) -> str:
        return f"{self.filename}:{self.lineno}:{self.col}: {self.message}"


class KernelTypeError(AutotuneError, TypeError):
    """An argument (or annotation) does not match the kernel's declared type.

    ``argument`` names the parameter, or is ``None`` when the problem is not tied to one.
    """

    def __init__(self, argument: str | None, message: str) -> None:
        super().__init__(argument, message)
        self.argument = argument
        self.message = message

    def __str__(self) -> str:
        return self.message if self.argument is None else f"argument {self.argument!r}: {self.message}"


class ConfigError(AutotuneError, ValueError):
    """A configuration value (knob, constant, option) is invalid."""


class SpaceError(ConfigError):
    """A search space is malformed (unknown knob, empty choice list, wrong value type)."""


class TuningError(AutotuneError):
    """Tuning a kernel failed."""


class ValidationError(TuningError):
    """A variant's results differ from the reference implementation."""


class StorageError(AutotuneError):
    """Persistent tuning results could not be read or written."""
