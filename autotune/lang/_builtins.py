"""The functions and constants kernels may call: supported builtins, the ``math`` and ``numpy`` subsets.

One table serves the checker (names, arity), the type rules (result kind) and the lowering (intrinsic
or libm name), so the three cannot disagree.
"""

from __future__ import annotations

import builtins
import math
from dataclasses import dataclass
from typing import Literal

from ..types import ScalarType, boolean, c128, f32, f64, i8, i16, i32, i64, u8, u16, u32, u64

__all__ = [
    "BUILTIN_ARITY",
    "BUILTIN_FUNCS",
    "MATH_CONSTS",
    "MATH_FUNCS",
    "NUMPY_CASTS",
    "NUMPY_CONSTS",
    "NUMPY_FUNCS",
    "NUMPY_SUPPORTED",
    "MathSpec",
    "NumpySpec",
    "numpy_arity",
]


@dataclass(frozen=True)
class MathSpec:
    """How ``math.<name>`` is typed and lowered.

    ``result`` is the result kind: ``"float"`` (the float type of the argument), ``"int"`` (``floor``,
    ``ceil``, ``trunc`` return Python ints, so i64) or ``"bool"``. ``intrinsic`` names an LLVM intrinsic
    (suffixed ``.f64``/``.f32``); ``libm`` a C function (``f``-suffixed for f32); ``None`` for both means
    the lowering open-codes it.
    """

    arity: int
    result: Literal["float", "int", "bool"]
    intrinsic: str | None = None
    libm: str | None = None


def _intr(name: str, arity: int = 1, result: Literal["float", "int"] = "float") -> MathSpec:
    return MathSpec(arity, result, intrinsic=f"llvm.{name}")


def _libm(name: str, arity: int = 1) -> MathSpec:
    return MathSpec(arity, "float", libm=name)


MATH_FUNCS: dict[str, MathSpec] = {
    "sqrt": _intr("sqrt"),
    "exp": _intr("exp"),
    "exp2": _intr("exp2"),
    "log": _intr("log"),
    "log2": _intr("log2"),
    "log10": _intr("log10"),
    "sin": _intr("sin"),
    "cos": _intr("cos"),
    "tan": _intr("tan"),
    "pow": _intr("pow", 2),
    "fabs": _intr("fabs"),
    "copysign": _intr("copysign", 2),
    "floor": _intr("floor", result="int"),
    "ceil": _intr("ceil", result="int"),
    "trunc": _intr("trunc", result="int"),
    "fmod": MathSpec(2, "float"),
    "log1p": _libm("log1p"),
    "expm1": _libm("expm1"),
    "tanh": _libm("tanh"),
    "sinh": _libm("sinh"),
    "cosh": _libm("cosh"),
    "asin": _libm("asin"),
    "acos": _libm("acos"),
    "atan": _libm("atan"),
    "atan2": _libm("atan2", 2),
    "hypot": _libm("hypot", 2),
    "erf": _libm("erf"),
    "erfc": _libm("erfc"),
    "isnan": MathSpec(1, "bool"),
    "isinf": MathSpec(1, "bool"),
    "isfinite": MathSpec(1, "bool"),
}

MATH_CONSTS: dict[str, float] = {"pi": math.pi, "e": math.e, "tau": math.tau, "inf": math.inf, "nan": math.nan}

#: Builtins kernels may call, with (min, max) positional argument counts (max ``None``: unbounded).
BUILTIN_ARITY: dict[str, tuple[int, int | None]] = {
    "range": (1, 3),
    "len": (1, 1),
    "abs": (1, 1),
    "min": (2, None),
    "max": (2, None),
    "float": (1, 1),
    "int": (1, 1),
    "bool": (1, 1),
    "complex": (1, 2),
}

#: The builtin function objects, to recognise them by identity whatever name they are bound to.
BUILTIN_FUNCS: dict[int, str] = {id(getattr(builtins, name)): name for name in BUILTIN_ARITY}


@dataclass(frozen=True)
class NumpySpec:
    """How ``np.<name>`` (a ufunc on scalars) is typed and lowered.

    ``rule`` gives the result type from the promoted argument type (numpy's, NEP 50; always a strong
    numpy scalar): ``"float"`` computes in the float type (ints give f64, f32 stays f32); ``"round"``
    (``floor``/``ceil``/``trunc``) keeps ints as they are and floats as floats; ``"bool"`` is a predicate;
    ``"same"`` keeps the promoted type (``abs``, ``power``, ``fmod``, ``minimum``, ``sign``...). ``math``
    names the :data:`MATH_FUNCS` entry that computes a float, ``None`` where the lowering open-codes it.
    Unlike ``math``, these follow numpy on scalars: ``np.sqrt(-1.0)`` is NaN, ``np.floor(2.5)`` is a float,
    ``np.minimum``/``np.maximum`` propagate NaN, integer ``np.power`` wraps and a negative integer exponent
    raises ValueError, integer ``np.fmod`` by zero is 0. A bool argument is rejected (numpy would compute in
    float16 or int8).
    """

    arity: int
    rule: Literal["float", "round", "bool", "same"]
    math: str | None = None


def _np(math_name: str, arity: int = 1, rule: Literal["float", "round", "bool"] = "float") -> NumpySpec:
    return NumpySpec(arity, rule, math_name)


NUMPY_FUNCS: dict[str, NumpySpec] = {
    **{name: _np(name) for name in ("sqrt", "exp", "exp2", "log", "log2", "log10", "log1p", "expm1")},
    **{name: _np(name) for name in ("sin", "cos", "tan", "sinh", "cosh", "tanh", "fabs")},
    "arcsin": _np("asin"),
    "arccos": _np("acos"),
    "arctan": _np("atan"),
    "arctan2": _np("atan2", 2),
    "hypot": _np("hypot", 2),
    "copysign": _np("copysign", 2),
    "floor": _np("floor", rule="round"),
    "ceil": _np("ceil", rule="round"),
    "trunc": _np("trunc", rule="round"),
    "isnan": _np("isnan", rule="bool"),
    "isinf": _np("isinf", rule="bool"),
    "isfinite": _np("isfinite", rule="bool"),
    "abs": NumpySpec(1, "same"),
    "absolute": NumpySpec(1, "same"),
    "sign": NumpySpec(1, "same"),
    "power": NumpySpec(2, "same", "pow"),
    "fmod": NumpySpec(2, "same", "fmod"),
    "minimum": NumpySpec(2, "same"),
    "maximum": NumpySpec(2, "same"),
}

#: numpy scalar types usable as casts (``np.float32(x)``), by attribute name. Casts convert like ``int()``
#: and ``float()`` in kernels: float to int truncates toward zero; NaN gives 0 and out-of-range values
#: saturate, where numpy raises (a Python float argument) or gives INT_MIN (a numpy float on x86): undefined
#: in numpy, a documented divergence. Int to int wraps; a Python int literal out of the type's range is a
#: KernelSyntaxError (numpy raises OverflowError).
NUMPY_CASTS: dict[str, ScalarType] = {
    "float64": f64,
    "float32": f32,
    "int64": i64,
    "int32": i32,
    "int16": i16,
    "int8": i8,
    "uint64": u64,
    "uint32": u32,
    "uint16": u16,
    "uint8": u8,
    "complex128": c128,
    "bool_": boolean,
    "bool": boolean,
}

NUMPY_CONSTS: dict[str, float] = {
    "pi": math.pi,
    "e": math.e,
    "inf": math.inf,
    "nan": math.nan,
    "euler_gamma": 0.5772156649015329,
}

NUMPY_SUPPORTED = (
    "kernels support np.pi/e/inf/nan/euler_gamma, the casts np.float64/float32/int64/int32/int16/int8/"
    "uint64/uint32/uint16/uint8/complex128/bool_ and "
    "scalar ufuncs such as np.sqrt, np.exp, np.minimum, np.power (no arrays are created in a kernel)"
)


def numpy_arity(name: str) -> int:
    """How many arguments ``np.<name>(...)`` takes in a kernel; ``ValueError`` saying why it is unsupported."""
    if name in NUMPY_CASTS:
        return 1
    spec = NUMPY_FUNCS.get(name)
    if spec is not None:
        return spec.arity
    if name in ("empty", "zeros", "ones", "full", "empty_like", "zeros_like", "ones_like", "full_like"):
        raise ValueError(
            f"np.{name}(...) creates an array only as the whole value of an assignment to a name: b = np.{name}(...)"
        )
    if name == "arange":
        raise ValueError("np.arange is not supported in kernels: create with np.empty(n) and fill it in a loop")
    raise ValueError(f"np.{name} is not supported in kernels ({NUMPY_SUPPORTED})")
