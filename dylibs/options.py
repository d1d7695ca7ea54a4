"""Compile options: everything outside the IR text that changes the emitted code."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import DylibError

__all__ = ["CompileOptions", "OptionsError"]


class OptionsError(DylibError, ValueError):
    """A compile option is out of range or of the wrong type."""


@dataclass(frozen=True)
class CompileOptions:
    """Pipeline knobs for :func:`dylibs.compile_ir`.

    ``opt`` is both the new-pass-manager speed level and the code generator level. SLP vectorisation is
    off in LLVM's default pipeline even at level 3, so it is a separate switch (on by default, as clang does).
    """

    opt: int = 3
    loop_vectorize: bool = True
    slp_vectorize: bool = True
    loop_unroll: bool = True
    loop_interleave: bool = True
    #: route vectorised math (exp, log, sin, pow, ...) to glibc's libmvec (see :mod:`dylibs.veclib`)
    veclib: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.opt, int) or isinstance(self.opt, bool) or not 0 <= self.opt <= 3:
            raise OptionsError(f"opt must be an int from 0 to 3, got {self.opt!r}")
        for flag in ("loop_vectorize", "slp_vectorize", "loop_unroll", "loop_interleave", "veclib"):
            if not isinstance(getattr(self, flag), bool):
                raise OptionsError(f"{flag} must be a bool, got {getattr(self, flag)!r}")

    def key(self) -> str:
        """A stable text form for cache keys (field order is part of the cache format)."""
        return (
            f"opt={self.opt};lv={int(self.loop_vectorize)};slp={int(self.slp_vectorize)};"
            f"unroll={int(self.loop_unroll)};il={int(self.loop_interleave)};veclib={int(self.veclib)}"
        )
