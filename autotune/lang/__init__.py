"""The kernel language: a numeric subset of Python compiled to LLVM IR (``ast`` -> ``llvmlite.ir``).

``parse_kernel`` validates a plain annotated function once (when the decorator runs); ``lower`` emits one
variant per (constants, knobs). The undecorated function stays runnable with numpy arrays and is the
semantic reference; where the compiled code must differ (integer overflow wraps, float division by zero
and math domain errors follow IEEE, out-of-bounds indexes are not checked) the modules say so.

Semantics in brief (divergences from plain Python are marked *):

- Types: ``f64 f32 i64 i32 i16 i8 u64 u32 u16 u8 c128 boolean`` scalars and arrays of them.
  Promotion follows numpy 2 (NEP 50): Python scalars (literals, constants, ``len``, ``range`` variables)
  are weak, array elements and scalar parameters strong, two strong types give ``np.result_type`` (u8
  with i8 is i16, u64 with i64 is f64; see ``_typing``). A Python int literal out of the range of the
  strong int it meets is a KernelSyntaxError (numpy: OverflowError); compared, it compares exactly.
  Unsigned types divide, shift, compare and convert unsigned (``_unsigned``). ``c128`` (or ``complex``):
  ``+ - * / **``, ``==``/``!=``, ``abs``, ``.real``/``.imag``/``.conjugate()``,
  ``complex(a, b)``, ``1j`` literals, ``cmath`` exp/log/sqrt/sin/cos/tan/sinh/cosh/tanh/phase/rect/isnan/
  isinf/isfinite and the same ``np.*`` (see ``_complex``; *: f32 with a Python complex is c128, not
  complex64; division by zero and cmath's special values are IEEE, not exceptions). ``math.*`` of an f32
  gives f32 (*: ``math`` gives a Python float). ``x: f32 = 0.0`` fixes a local's type (*: Python
  ignores the annotation).
- Locals are typed by the join of all values assigned to them (an int local that is also assigned a
  float is a float everywhere); a local read before any assignment reads 0 (*: UnboundLocalError).
- Views: ``A[i]`` of a 2-D/3-D array, ``A[:, j]``, ``a[lo:hi:step]`` (constant or runtime bounds and step,
  negative steps, numpy's clamping; step 0 raises ValueError) and mixes are views, not copies: assign them
  to a name (``row = A[i]``; a name holds views of one rank, never scalars), index them, take ``len``,
  ``.shape``, ``.size``, iterate them (``for row in A``, ``for v in a[::2]``); stores through a view write
  the array. Arguments may have any strides (Fortran order, ``x[::2]``): the strided form of the variant
  runs them; a written argument whose elements overlap (zero strides) is a KernelTypeError.
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
- ``for i in prange(...)`` (``autotune.prange``; ``range`` in Python) may run on several threads (knob
  ``parallel``): the body writes array elements (each iteration its own), private locals and reductions
  (``s += e``, ``-=``, ``*=``, ``s = min(s, e)``/``max``); see ``_prange``. A prange inside a prange body
  runs serially. * Float reductions are reordered (validated with a tolerance, like fast-math).
- Arrays created in the kernel: ``b = np.empty/zeros/ones/full(shape[, fill], dtype=...)``, the
  ``_like(a)`` forms and copies (``a.copy()``, ``np.copy(a)``: C-contiguous), shape an int, a tuple of
  1-3 ints or ``a.shape`` (computed at run time), dtype float64 by default like numpy (``np.full``: the
  fill value's type, given by a literal, a scalar parameter or an array element, else ``dtype=`` is
  required). Only as ``name = np.<creator>(...)``; a
  name keeps one dtype and rank. Freed on every exit; reassigning frees the previous one (see
  ``_arrays``). Negative extents raise ValueError, a failed allocation MemoryError, use before
  assignment UnboundLocalError. ``-> f64[:]`` returns such an array (a numpy array owning the buffer, no
  copy; returning a parameter is refused); ``-> tuple[f64, i64]`` returns ``return x, n`` as a tuple;
  ``p: tuple[f64, i64]`` parameters are read as ``p[0]``, ``x, n = p`` and ``len(p)``.
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
- * Integers wrap at their width (64 bits for Python ints, also a computed Python int meeting a narrow
  type); ``int(x)`` truncates toward zero and saturates (NaN gives 0) and gives an i64 (a u64 above
  2**63 - 1 wraps); integer ``//``/``%`` by zero raises where numpy gives 0; float division by zero,
  math domain errors and complex powers give IEEE inf/nan; int/float comparisons convert the int to float.
"""

from __future__ import annotations

from ._callee import compiled_source, kernel_statuses, map_host_arrays
from ._emit import module_text
from ._knobs import BUILTIN_KNOBS, Knobs
from ._lower import lower
from ._model import GlobalRef, HostArray, KernelInfo, LoweredKernel, ParamSpec
from ._parallel import uses_prange
from ._parse import parse_kernel, parse_kernel_source
from ._prange import prange
from ._rebuild import rebuild_function
from ._schedule import Band, apply_schedule, choice_of, effective_jams, find_bands, order_code
from ._validate import status_table

__all__ = [
    "BUILTIN_KNOBS",
    "Band",
    "GlobalRef",
    "HostArray",
    "KernelInfo",
    "Knobs",
    "LoweredKernel",
    "ParamSpec",
    "apply_schedule",
    "choice_of",
    "compiled_source",
    "effective_jams",
    "find_bands",
    "kernel_statuses",
    "lower",
    "map_host_arrays",
    "module_text",
    "order_code",
    "parse_kernel",
    "parse_kernel_source",
    "prange",
    "rebuild_function",
    "status_table",
    "uses_prange",
]
