"""``Validation``: the inputs every candidate must get right, each with the reference variant's outputs.

One captured call proves little: a variant may be right at the captured size only, overrun its arrays
by a few bytes, write an input it must not, or reorder a sum whose result then changes. So a candidate
runs on every captured call the search holds (a few, refreshed as the application runs), on inputs cut to
other extents (:func:`autotune.cases.other_extents`), and on inputs built to expose reordering
(:func:`autotune.cases.cancelling`): fast-math reassociates, and a forced vector width reorders a
floating-point reduction even without it. Every run uses guarded copies
(:mod:`autotune.guard`). The first failure names its input and is the trial's reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .abi import KERNEL_EXCEPTIONS
from .cases import Case
from .errors import ValidationError
from .guard import GuardedCopies
from .workspace import Outputs, Workspace, check_outputs

__all__ = ["Validation"]


@dataclass
class Validation:
    """Cases with expected outputs; ``check`` runs a variant on each."""

    workspace: Workspace
    rtol: float
    atol: float
    cases: list[tuple[Case, Outputs]] = field(default_factory=list)
    _copies: dict[int, GuardedCopies] = field(default_factory=dict)  # per case, made at its first run

    def add(self, case: Case, expected: Outputs) -> None:
        self.cases.append((case, expected))

    def check(self, address: int) -> None:
        """Raise :class:`ValidationError` naming the first input on which the variant at ``address`` fails."""
        for case, expected in self.cases:
            copies = self._copies.get(id(case))
            if copies is None:
                copies = self._copies[id(case)] = GuardedCopies(self.workspace.arguments.params, case.values)
            try:
                got = self.workspace.run_on(address, copies)
                check_outputs(got, expected, rtol=self.rtol, atol=self.atol)
            except ValidationError as exc:
                raise ValidationError(f"on {case.label}: {exc}") from None
            except KERNEL_EXCEPTIONS as exc:  # a status (built-in or the kernel's raise) the reference did not raise
                raise ValidationError(f"on {case.label}: raised {type(exc).__name__}: {exc}") from None

    def close(self) -> None:
        """Unmap every case's guarded copies (safe twice; a later check maps them again)."""
        copies, self._copies = self._copies, {}
        for each in copies.values():
            each.close()
