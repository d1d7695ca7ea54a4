"""The kernel language: a numeric subset of Python compiled to LLVM IR (``ast`` -> ``llvmlite.ir``).

``parse_kernel`` validates a plain annotated function once (when the decorator runs); ``lower`` emits one
variant per (constants, knobs). The undecorated function stays runnable with numpy arrays and is the
semantic reference; where the compiled code must differ (integer overflow wraps, float division by zero
and math domain errors follow IEEE, out-of-bounds indexes are not checked) the modules say so.

Semantics in brief (divergences from plain Python are marked *):

- Types: ``f64 f32 i64 i32 boolean`` scalars and C-contiguous arrays of them. Promotion follows numpy 2
  (NEP 50): Python scalars (literals, constants, ``len``, ``range`` variables) are weak, array elements
  and scalar parameters strong (see ``_typing``). ``math.*`` of an f32 gives f32 (*: ``math`` gives a
  Python float). ``x: f32 = 0.0`` fixes a local's type (*: Python ignores the annotation).
- Locals are typed by the join of all values assigned to them (an int local that is also assigned a
  float is a float everywhere); a local read before any assignment reads 0 (*: UnboundLocalError).
- Indexing wraps negative indexes like Python (``a[-1]`` is the last element); indexes are not
  bounds-checked (*: out of bounds is undefined behaviour; ``Status.INDEX_ERROR`` is reserved for a
  future check).
- Errors are statuses (:mod:`autotune.abi`), raised as Python exceptions at the call. ``//`` and ``%``
  round toward negative infinity; integer ``//``/``%`` by zero raises ZeroDivisionError. ``range`` with
  step 0, a negative shift count and a negative runtime exponent of an int power raise ValueError (* for
  the power: Python returns a float).
- ``raise E`` / ``raise E("a string literal")`` for E in ValueError, IndexError, ZeroDivisionError,
  ArithmeticError, OverflowError, RuntimeError, AssertionError, and ``assert cond`` /
  ``assert cond, "a string literal"``, raise that exception with that message at the call (no variables,
  f-strings, other classes, bare ``raise`` or ``raise ... from``). Asserts are always checked, like
  numba's (* ``python -O`` does not remove them): each costs a compare and a branch, and one inside a
  loop whose condition depends on the loop can keep LLVM from vectorizing it (hoist such checks).
- Calls: an undecorated function written in the language (a module global, a closure variable, or
  ``module.f`` of an imported module) or another ``@tunable`` kernel, defined before the caller is
  decorated. Each call is compiled into the caller (inlined, with the caller's knobs; a called kernel's
  own ``Const`` parameters take their defaults, and its Python function is compiled, never its live
  tuned variant). Annotated parameters convert their argument as a kernel call would (never a float to
  an int); unannotated scalar parameters take the argument's type; arrays are passed by name and must
  match dtype and ndim; scalar parameters may have defaults and be passed by keyword. Results:
  ``-> f64``, ``-> tuple[f64, i64]`` or inferred from the returns; a tuple is unpacked
  (``lo, hi = minmax(x)``) or indexed with a constant (``minmax(x)[0]``, ``t = minmax(x); t[1]``).
  A callee's raises raise at the kernel's call. Recursion (direct or mutual) is refused.
- * Integers wrap at their width (64 bits for Python ints); ``int(x)`` truncates toward zero and
  saturates (NaN gives 0); float division by zero, math domain errors and complex powers give IEEE
  inf/nan; int/float comparisons convert the int to float.
"""

from __future__ import annotations

from ._callee import compiled_source, kernel_statuses, map_host_arrays
from ._knobs import BUILTIN_KNOBS, Knobs
from ._lower import lower
from ._model import GlobalRef, HostArray, KernelInfo, LoweredKernel, ParamSpec
from ._parse import parse_kernel, parse_kernel_source
from ._rebuild import rebuild_function
from ._validate import status_table

__all__ = [
    "BUILTIN_KNOBS",
    "GlobalRef",
    "HostArray",
    "KernelInfo",
    "Knobs",
    "LoweredKernel",
    "ParamSpec",
    "compiled_source",
    "kernel_statuses",
    "lower",
    "map_host_arrays",
    "parse_kernel",
    "parse_kernel_source",
    "rebuild_function",
    "status_table",
]
