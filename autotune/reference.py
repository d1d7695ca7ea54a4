"""``Reference``: what a search's candidates must reproduce, worked out once when the search opens.

The reference variant (the default parameters without fast-math) runs on every validation input: the
captured calls, inputs cut to other extents and the cancellation input (:mod:`autotune.cases`). Its
outputs are cross-checked with the kernel's Python function where that is cheap: the kernel language's
function is rebuilt here from its parsed tree; the expert route's is user code, which the tuning worker
never imports, so the host runs it (:class:`~autotune.messages.NeedPython`). Python also decides which
cut inputs are inside the kernel's contract: one it fails on (an index argument past the cut size) is
dropped before the reference runs on it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .abi import KERNEL_EXCEPTIONS
from .budget import OverBudget, cpu_budget
from .cases import Case, cancelling, other_extents
from .errors import ValidationError
from .lang import rebuild_function
from .messages import NeedPython, Notice
from .space import Value
from .spec import KernelSpec
from .validation import Validation
from .variant import Variants
from .workspace import Outputs, Workspace, check_outputs

__all__ = ["Reference"]

_PYTHON_REFERENCE_BUDGET_NS = 5e6  # check the default against Python when one native call takes < 5 ms
_DERIVED_PYTHON_SECONDS = 0.5  # CPU for the Python function on one input cut to other extents
#: Python checks cut inputs of at most this many elements (the small extents); a larger one (one less than
#: the captured size) would cost as much as the captured call in Python: the guards and the determinism
#: check cover it instead
_DERIVED_PYTHON_ELEMENTS = 20_000

#: ``running(params, limit, phase)``: tell the host that the reference's code is about to run
Running = Callable[[dict[str, Value], float, str], None]


class Reference:
    """The reference variant of one search and the Python function beside it."""

    def __init__(
        self,
        search: int,
        spec: KernelSpec,
        variants: Variants,
        workspace: Workspace,
        *,
        notify: Callable[[Notice], Any],
        running: Running,
        log: Callable[[int, str], None],
        event: Callable[..., None],
        budget: Callable[[], float],
        limit: float,
    ) -> None:
        self._search = search
        self._spec = spec
        self._variants = variants
        self._workspace = workspace
        self._notify = notify
        self._running = running
        self._log = log
        self._event = event
        self._budget = budget  # CPU seconds the Python function may take now
        self._limit = limit  # seconds the reference's runs may take (no incumbent speed known yet)
        space = spec.space
        self.params = space.default
        if "fastmath" in space.names and False in space.values("fastmath"):
            self.params["fastmath"] = False
        serial = [v for v in space.values("parallel") if int(v) <= 1] if "parallel" in space.names else []
        if serial:  # one thread: prange reductions in iteration order, like the Python function
            self.params["parallel"] = serial[0]

    def validation(self, address: int, samples: Sequence[list[Any]], *, extents: bool) -> Validation:
        """The inputs every candidate must get right, with the reference (at ``address``) outputs on each."""
        config = self._spec.config
        workspace = self._workspace
        validation = Validation(workspace, config.rtol, config.atol)
        validation.add(Case("the captured call", samples[0]), self._captured(address))
        for number, values in enumerate(samples[1:], 2):
            try:
                validation.add(Case(f"captured call {number}", values), workspace.run(address, values))
            except KERNEL_EXCEPTIONS:  # a call on which the kernel raises (its own raise/assert): no case
                continue
        if extents:
            self._running(self.params, self._limit, "extents")
            for case in other_extents(workspace.arguments.params, samples[0]):
                expected = self._derived(address, case)
                if expected is not None:
                    validation.add(case, expected)
        cancel = cancelling(samples[0])
        if cancel is not None:
            self._running(self.params, self._limit, "")
            try:
                validation.add(cancel, workspace.run(address, cancel.values))
            except KERNEL_EXCEPTIONS:  # outside the kernel's contract (an assert on its inputs, say): no case
                pass
        return validation

    def _derived(self, address: int, case: Case) -> Outputs | None:
        """The reference's outputs on ``case``, or None when the input is outside the kernel's contract: for
        the kernel language and a small input, the Python function fails on it or disagrees (checked first,
        so the reference never runs out of bounds where Python would have raised), or the reference raises
        or overruns."""
        config = self._spec.config
        python: Outputs | None = None
        small = sum(v.size for v in case.values if isinstance(v, np.ndarray)) <= _DERIVED_PYTHON_ELEMENTS
        if small and self._spec.info is not None and not self._spec.facts.globals:
            try:
                python = self.python_outputs(case.values, quiet=True, budget=_DERIVED_PYTHON_SECONDS)
            except Exception:
                return None
        try:
            expected = self._workspace.run(address, case.values)
            if python is not None:
                check_outputs(expected, python, rtol=config.rtol, atol=config.atol)
            else:  # nothing to compare with: at least the reference must give the same answer twice
                check_outputs(self._workspace.run(address, case.values), expected, rtol=0.0, atol=0.0)
        except Exception:
            return None
        return expected

    def _captured(self, address: int) -> Outputs:
        """Outputs on the captured call; cross-checked against the Python function when that is cheap."""
        config, workspace, name = self._spec.config, self._workspace, self._spec.study
        self._running(self.params, self._limit, "reference")
        expected = workspace.run(address)
        if self._spec.facts.globals:
            return expected
        workspace.reset()
        if workspace.time(address, 1) > _PYTHON_REFERENCE_BUDGET_NS:
            return expected
        python = self.python_outputs()
        if python is None:
            return expected
        try:
            check_outputs(expected, python, rtol=config.rtol, atol=config.atol)
        except ValidationError as exc:
            self._log(
                logging.ERROR, f"{name}: the compiled reference disagrees with Python ({exc}); no variant will pass"
            )
            self._event("error", detail=f"reference differs from Python: {exc}")
            return python
        return expected

    def python_outputs(
        self, values: list[Any] | None = None, *, quiet: bool = False, budget: float | None = None
    ) -> Outputs | None:
        """The Python function's outputs on ``values`` (default: the captured call), None past its budget:
        rebuilt here for the kernel language, asked of the host for the expert route."""
        info = self._spec.info
        budget = min(self._budget(), budget or float("inf"))
        if info is None:
            answer = self._notify(NeedPython(self._search, budget))
            if isinstance(answer, str):
                self._log(logging.INFO, f"{self._spec.study}: Python reference check skipped: {answer}")
            return Outputs(answer) if isinstance(answer, dict) else None
        _, consts, _ = self._variants.split(self.params)
        declared = {p.name for p in self._spec.facts.params if p.kind == "const"}
        function = rebuild_function(info)
        try:
            with cpu_budget(budget):
                return self._workspace.run_python(function, {k: v for k, v in consts.items() if k in declared}, values)
        except OverBudget:
            if not quiet:
                message = f"{self._spec.study}: Python reference check skipped: over its {budget:g} s budget"
                self._log(logging.INFO, message)
            return None
