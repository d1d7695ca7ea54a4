"""``Workspace``: private copies of real inputs and host globals that tuning runs on.

Tuning must never write into the caller's arrays or the program's host globals. A workspace keeps a
pristine copy of one captured call, scratch arrays that measurement reuses (restored before every timed
block) and scratch copies of the kernel's host globals. Variants built for validation and measurement
link their globals to the scratch copies; only the unit that gets published links to the real ones.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .abi import result_slots
from .arguments import Arguments
from .errors import ValidationError
from .guard import GuardedCopies
from .lang import GlobalRef
from .measure import Timer, native_types, pack_arguments
from .sample import placed_copy
from .types import ArrayType

__all__ = ["Outputs", "Workspace", "check_outputs", "python_outputs"]


@dataclass(frozen=True)
class Outputs:
    """What one run produced: the return value, written arrays and host globals, by name."""

    values: dict[str, Any]


class Workspace:
    """Inputs for tuning one (kernel, key): built from a captured call and the kernel's host globals."""

    def __init__(self, arguments: Arguments, sample: Sequence[Any], globals_: Sequence[GlobalRef]) -> None:
        self.arguments = arguments
        self._pristine = [placed_copy(v) for v in sample]
        self._scratch = [placed_copy(v) for v in sample]
        self._globals = {g.ir_name: np.array(_array_of(g), copy=True) for g in globals_}
        self._global_scratch = {name: snapshot.copy() for name, snapshot in self._globals.items()}
        ret = arguments.ret
        self._out = np.zeros(result_slots(ret) if ret is not None else 1, dtype=np.int64)
        types = native_types(arguments.params, ret)
        values = arguments.native(self._scratch)
        if arguments.ret is not None:
            values.append(self._out.ctypes.data)
        self.argv = pack_arguments(types, values)
        self._timer = Timer(types, free_result=isinstance(ret, ArrayType))

    def time(self, address: int, reps: int) -> float:
        """Nanoseconds for ``reps`` native calls of ``address`` on the scratch inputs (GIL released)."""
        return self._timer(address, self.argv, reps)

    @property
    def scratch_globals(self) -> dict[str, int]:
        """Symbol -> address of the scratch copy of each host global (for validation/measurement units)."""
        return {name: int(array.ctypes.data) for name, array in self._global_scratch.items()}

    def reset(self) -> None:
        """Restore scratch arrays and scratch globals to the captured state (in place: addresses stay)."""
        for scratch, pristine in zip(self._scratch, self._pristine, strict=True):
            if isinstance(scratch, np.ndarray):
                np.copyto(scratch, pristine)
        self._reset_globals()

    def _reset_globals(self) -> None:
        for name, scratch in self._global_scratch.items():
            np.copyto(scratch, self._globals[name])

    def run(self, address: int, values: Sequence[Any] | None = None) -> Outputs:
        """Run the function at ``address`` once on guarded copies of ``values`` (default: the captured
        call); collect its outputs (see :meth:`run_on`)."""
        with GuardedCopies(self.arguments.params, self._pristine if values is None else values) as copies:
            return self.run_on(address, copies)

    def run_on(self, address: int, copies: GuardedCopies) -> Outputs:
        """Run the function at ``address`` on ``copies`` (refilled) with the scratch globals restored. Raises
        :class:`ValidationError` when the run wrote outside an array or into one that is not an output."""
        self._reset_globals()
        copies.refill()
        result = self.arguments.call(address, copies.values)
        copies.check()
        written = self._outputs(result, copies.values)
        outputs = {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in written.items()}
        for name, scratch in self._global_scratch.items():
            outputs[name] = scratch.copy()
        return Outputs(outputs)

    def run_python(self, func: Any, consts: dict[str, Any], values: Sequence[Any] | None = None) -> Outputs:
        """Run the undecorated Python function on fresh copies of ``values`` (default: the captured call;
        only for kernels without host globals)."""
        return Outputs(python_outputs(self.arguments, func, self._pristine if values is None else values, consts))

    def _outputs(self, result: Any, arguments: Sequence[Any]) -> dict[str, Any]:
        return _written(self.arguments, result, arguments)


def python_outputs(arguments: Arguments, func: Any, values: Sequence[Any], consts: dict[str, Any]) -> dict[str, Any]:
    """Outputs of the Python function ``func`` run on fresh copies of ``values``."""
    fresh = [placed_copy(v) for v in values]
    named = {p.name: v for p, v in zip(arguments.params, fresh, strict=True)}
    return _written(arguments, func(**named, **consts), fresh)


def _written(arguments: Arguments, result: Any, values: Sequence[Any]) -> dict[str, Any]:
    """The return value and every array argument the kernel may write, by name."""
    outputs: dict[str, Any] = {"return": result}
    for param, value in zip(arguments.params, values, strict=True):
        if param.kind == "array" and param.written:
            outputs[param.name] = value
    return outputs


def _array_of(ref: GlobalRef) -> np.ndarray[Any, Any]:
    obj = ref.obj
    return obj if isinstance(obj, np.ndarray) else obj.array


def check_outputs(got: Outputs, expected: Outputs, *, rtol: float, atol: float) -> None:
    """Raise :class:`ValidationError` naming the first output that differs beyond tolerance."""
    for name, want in expected.values.items():
        have = got.values.get(name)
        if not _close(have, want, rtol, atol):
            raise ValidationError(f"output {name!r} differs from the reference: {_describe(have, want)}")


def _close(have: Any, want: Any, rtol: float, atol: float) -> bool:
    if want is None or have is None:
        return have is None and want is None
    if isinstance(want, tuple):
        if not isinstance(have, tuple) or len(have) != len(want):
            return False
        return all(_close(h, w, rtol, atol) for h, w in zip(have, want, strict=True))
    if isinstance(want, np.ndarray):
        if not isinstance(have, np.ndarray) or have.shape != want.shape:
            return False
        if want.dtype.kind in "fc":
            tolerance = max(rtol, 1e-4) if want.dtype.itemsize == 4 else rtol
            return bool(np.allclose(have, want, rtol=tolerance, atol=atol, equal_nan=True))
        return bool(np.array_equal(have, want))
    if isinstance(want, bool | np.bool_) or (isinstance(want, int | np.integer) and isinstance(have, int | np.integer)):
        return bool(have == want)  # exact, also for u64 values beyond 2**53
    if isinstance(want, complex | np.complexfloating) or isinstance(have, complex | np.complexfloating):
        w_c, h_c = complex(want), complex(have)
        return _close(h_c.real, w_c.real, rtol, atol) and _close(h_c.imag, w_c.imag, rtol, atol)
    w, h = float(want), float(have)
    if math.isnan(w) or math.isnan(h):
        return math.isnan(w) and math.isnan(h)
    return math.isclose(h, w, rel_tol=rtol, abs_tol=atol)


def _describe(have: Any, want: Any) -> str:
    if isinstance(want, np.ndarray) and isinstance(have, np.ndarray) and have.shape == want.shape:
        kind = np.complex128 if want.dtype.kind == "c" else np.float64
        diff = np.abs(have.astype(kind) - want.astype(kind))
        worst = int(np.nanargmax(diff)) if diff.size else 0
        return f"max abs difference {float(np.nanmax(diff)) if diff.size else 0:.3g} at flat index {worst}"
    return f"got {have!r}, expected {want!r}"
