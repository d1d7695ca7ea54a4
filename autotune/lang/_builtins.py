"""The functions and constants kernels may call: supported builtins and the ``math`` module subset.

One table serves the checker (names, arity), the type rules (result kind) and the lowering (intrinsic
or libm name), so the three cannot disagree.
"""

from __future__ import annotations

import builtins
import math
from dataclasses import dataclass
from typing import Literal

__all__ = ["BUILTIN_ARITY", "BUILTIN_FUNCS", "MATH_CONSTS", "MATH_FUNCS", "MathSpec"]


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
}

#: The builtin function objects, to recognise them by identity whatever name they are bound to.
BUILTIN_FUNCS: dict[int, str] = {id(getattr(builtins, name)): name for name in BUILTIN_ARITY}
