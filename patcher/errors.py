"""Typed errors of the patcher layer."""

from __future__ import annotations

__all__ = ["DrainTimeout", "PatcherError", "SignatureError", "SlotError"]


class PatcherError(Exception):
    """Base class of every error raised by :mod:`patcher`."""


class SignatureError(PatcherError, ValueError):
    """A C declaration the trampoline generator cannot express; ``text`` is the declaration."""

    def __init__(self, text: str, reason: str) -> None:
        self.text = text
        super().__init__(f"bad signature {text!r}: {reason}")


class SlotError(PatcherError):
    """A slot was asked for something inconsistent (duplicate name, unknown symbol)."""


class DrainTimeout(PatcherError, TimeoutError):
    """Retired units were still in use when ``drain`` gave up; ``pending`` is how many remain."""

    def __init__(self, pending: int, timeout: float) -> None:
        self.pending = pending
        super().__init__(f"{pending} retired unit(s) still draining after {timeout:g}s")
