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
  bounds-checked (*: out of bounds is undefined behaviour; status 2 is reserved for a future check).
- ``//`` and ``%`` round toward negative infinity; integer ``//``/``%`` by zero return status 1
  (ZeroDivisionError). ``range`` with step 0, a negative shift count and a negative runtime exponent of
  an int power return status 3 (ValueError; * for the power: Python returns a float).
- * Integers wrap at their width (64 bits for Python ints); ``int(x)`` truncates toward zero and
  saturates (NaN gives 0); float division by zero, math domain errors and complex powers give IEEE
  inf/nan; int/float comparisons convert the int to float.
"""

from __future__ import annotations

from ._knobs import BUILTIN_KNOBS, Knobs
from ._lower import lower
from ._model import GlobalRef, HostArray, KernelInfo, LoweredKernel, ParamSpec
from ._parse import parse_kernel, parse_kernel_source
from ._rebuild import rebuild_function

__all__ = [
    "BUILTIN_KNOBS",
    "GlobalRef",
    "HostArray",
    "KernelInfo",
    "Knobs",
    "LoweredKernel",
    "ParamSpec",
    "lower",
    "parse_kernel",
    "parse_kernel_source",
    "rebuild_function",
]
