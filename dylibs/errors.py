"""Typed errors of the dylibs layer: callers branch on the class and read the fields."""

from __future__ import annotations

__all__ = ["CompileError", "DylibError", "LinkError", "UnitStateError"]


class DylibError(Exception):
    """Base class of every error raised by :mod:`dylibs`."""


class CompileError(DylibError):
    """LLVM rejected the IR or failed to emit code; ``llvm_message`` is LLVM's own text."""

    def __init__(self, message: str, llvm_message: str = "") -> None:
        self.message = message
        self.llvm_message = llvm_message
        super().__init__(f"{message}: {llvm_message}" if llvm_message else message)

    def __reduce__(self) -> tuple[type[CompileError], tuple[str, str]]:
        # Pickled across compile worker processes with both fields intact.
        return (type(self), (self.message, self.llvm_message))


class LinkError(DylibError):
    """A unit could not be linked; ``symbols`` names what was missing or refused."""

    def __init__(self, message: str, symbols: tuple[str, ...] = ()) -> None:
        self.message = message
        self.symbols = symbols
        super().__init__(message)

    def __reduce__(self) -> tuple[type[LinkError], tuple[str, tuple[str, ...]]]:
        return (type(self), (self.message, self.symbols))


class UnitStateError(DylibError):
    """A unit was used in a state that forbids it (retired, or retired while still held)."""
