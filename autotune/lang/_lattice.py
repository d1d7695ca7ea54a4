"""The type lattice of kernel expressions: numpy 2 promotion and the result type of every operator and
function.

The rules follow what the undecorated kernel does when run with numpy arrays (NEP 50):

- Python scalars are *weak*: a literal, a module constant, a ``Const``, ``len()``/``x.shape[k]``, a
  ``range`` variable or a local only ever assigned such values takes the type of the strong operand it
  meets (``x32[i] * 2.0`` stays f32, ``a32[i] + 1`` stays i32). Two weak operands give a weak result.
- Array elements and scalar parameters are *strong*: two strong numbers give ``np.result_type`` of the
  two (i32 with i64 gives i64, u8 with i8 i16, u64 with i64 f64, i32 with f32 f64 but i16 with f32 f32),
  a weak float with a strong integer gives f64. A weak int *literal* out of the range of the strong
  integer type it meets is a KernelSyntaxError (numpy raises OverflowError at run time); in a
  comparison it compares exactly, like numpy 2; a weak int that is not a literal wraps (*).
- Booleans take part in arithmetic as Python ints (``True + True == 2``).
- ``/`` always gives a float; ``int ** int`` is an int, except that a compile-time negative exponent gives
  a float (Python: ``2 ** -1 == 0.5``).
- ``math.*`` functions give f32 for an f32 argument (like numpy ufuncs; Python's ``math`` would compute in
  double: a documented divergence) and a Python float otherwise; ``floor``/``ceil``/``trunc`` give ints.
- ``np.*`` ufuncs and casts give strong numpy scalars (``np.sqrt(2.0)`` is an ``np.float64``): the
  arguments promote as above, an integer becomes f64 for a float function, ``floor``/``ceil``/``trunc``,
  ``abs``, ``sign``, ``power``, ``fmod``, ``minimum`` and ``maximum`` keep integers integers.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np

from ..types import ScalarType, boolean, c128, f32, f64, i64, scalar_type_of
from ._builtins import MATH_FUNCS, NUMPY_CASTS, NUMPY_FUNCS
from ._complex import NUMPY_COMPLEX
from ._model import (
    ConstValue,
)

__all__ = [
    "BOOL",
    "COMPLEX",
    "FLOAT",
    "INT",
    "Ty",
    "TypingProblem",
    "arith",
    "binop_types",
    "cmath_types",
    "compare_type",
    "const_type",
    "literal_problem",
    "math_types",
    "numpy_types",
    "promote",
]


@dataclass(frozen=True)
class Ty:
    """A static scalar type; ``weak`` marks Python scalars (NEP 50 promotion)."""

    scalar: ScalarType
    weak: bool = False

    @property
    def kind(self) -> str:
        """``"bool"``, ``"int"`` or ``"float"``."""
        return self.scalar.kind

    def __str__(self) -> str:
        if self.weak:
            return {"int": "int", "complex": "complex"}.get(self.kind, "float")
        return "bool" if self.kind == "bool" else self.scalar.name


BOOL = Ty(boolean)


INT = Ty(i64, weak=True)


FLOAT = Ty(f64, weak=True)


COMPLEX = Ty(c128, weak=True)


_ORDER = {"bool": 0, "int": 1, "float": 2, "complex": 3}


class TypingProblem(Exception):
    """A type rule does not apply; the caller turns it into a positioned KernelSyntaxError."""


def promote(a: Ty, b: Ty) -> Ty:
    """The common type of two values (also the join of a local's assignments)."""
    if a == b:
        return a
    ka, kb = _ORDER[a.kind], _ORDER[b.kind]
    if a.weak and b.weak:
        return a if ka >= kb else b
    if a.weak or b.weak:
        weak, strong = (a, b) if a.weak else (b, a)
        if _ORDER[weak.kind] <= _ORDER[strong.kind]:
            return strong
        return Ty(weak.scalar)
    if ka == 0 or kb == 0:
        return a if ka > kb else b  # a boolean with a number: the number's type
    return Ty(_strong_join(a.scalar, b.scalar))


@cache
def _strong_join(a: ScalarType, b: ScalarType) -> ScalarType:
    """numpy's own answer for two strong numbers (u8 with i8 gives i16, u64 with i64 f64, i16 with f32 f32)."""
    return scalar_type_of(np.result_type(a.dtype, b.dtype))


def literal_problem(value: ConstValue | None, operand: Ty) -> str | None:
    """Why a Python int literal cannot meet the strong integer type ``operand`` (numpy raises OverflowError
    at run time there, NEP 50); None if it can. The kernel refuses it when compiling."""
    if not isinstance(value, int) or isinstance(value, bool) or operand.weak or operand.kind != "int":
        return None
    scalar = operand.scalar
    if scalar.min <= value <= scalar.max:
        return None
    return (
        f"Python integer {value} is out of bounds for {scalar.name} ({scalar.min}..{scalar.max}; numpy raises "
        f"OverflowError here): write a value in range, or convert the other operand (int(x), np.int64(x))"
    )


def arith(t: Ty) -> Ty:
    """The type a value takes part in arithmetic with: booleans count as Python ints."""
    return INT if t.kind == "bool" else t


def _float_of(t: Ty) -> Ty:
    return Ty(f64, weak=t.weak) if t.kind != "float" else t


def binop_types(op: ast.operator, a: Ty, b: Ty, exponent: ConstValue | None = None) -> tuple[Ty, Ty]:
    """(operand type, result type) of ``a <op> b``; ``exponent`` is the right operand of ``**`` if constant."""
    symbol = _OP_SYMBOLS.get(type(op), "?")
    if "complex" in (a.kind, b.kind):
        return _complex_binop_types(op, symbol, a, b, exponent)
    if isinstance(op, ast.BitAnd | ast.BitOr | ast.BitXor):
        if a.kind == "bool" and b.kind == "bool":
            return BOOL, BOOL
        if a.kind == "float" or b.kind == "float":
            raise TypingProblem(f"unsupported operand types for {symbol}: {a} and {b}")
        t = promote(arith(a), arith(b))
        return t, t
    a, b = arith(a), arith(b)
    t = promote(a, b)
    if isinstance(op, ast.LShift | ast.RShift):
        if t.kind == "float":
            raise TypingProblem(f"unsupported operand types for {symbol}: {a} and {b}")
        return t, t
    if isinstance(op, ast.Div) and t.kind == "int":
        f = _float_of(t)
        return f, f
    if isinstance(op, ast.Pow) and t.kind == "int" and isinstance(exponent, int) and exponent < 0:
        f = _float_of(t)
        return f, f
    return t, t


def _complex_binop_types(op: ast.operator, symbol: str, a: Ty, b: Ty, exponent: ConstValue | None) -> tuple[Ty, Ty]:
    """Python's and numpy's rules with a complex operand: ``+ - * / **``."""
    t = promote(arith(a), arith(b))
    if isinstance(op, ast.Add | ast.Sub | ast.Mult | ast.Div | ast.Pow):
        return t, t
    raise TypingProblem(f"unsupported operand types for {symbol}: {a} and {b} (complex numbers have no {symbol})")


def compare_type(a: Ty, b: Ty) -> Ty:
    """The type both sides of a comparison are converted to."""
    return promote(arith(a), arith(b))


def math_types(name: str, args: Sequence[Ty]) -> tuple[Ty, Ty]:
    """(argument type, result type) of ``math.<name>(*args)``."""
    if any(t.kind == "complex" for t in args):
        raise TypingProblem(f"math.{name} does not take complex numbers (Python raises TypeError): use cmath.{name}")
    spec = MATH_FUNCS[name]
    common = arith(args[0])
    for t in args[1:]:
        common = promote(common, arith(t))
    if spec.result == "int" and common.kind == "int":
        return INT, INT  # math.floor(3) == 3: an int argument passes through
    arg = Ty(f32) if common == Ty(f32) else FLOAT
    if spec.result == "bool":
        return arg, BOOL
    return arg, INT if spec.result == "int" else arg


def numpy_types(name: str, args: Sequence[Ty]) -> tuple[Ty, Ty]:
    """(argument type, result type) of ``np.<name>(*args)`` on scalars (a ufunc or a cast): numpy's loop
    selection for f64/f32/i64/i32 under NEP 50, with a strong numpy scalar as the result."""
    cast = NUMPY_CASTS.get(name)
    if cast is not None:
        if args[0].kind == "complex" and cast.kind != "complex":
            raise TypingProblem(f"np.{name}(z) drops the imaginary part (numpy warns): take z.real or abs(z)")
        return args[0], Ty(cast)
    if any(t.kind == "bool" for t in args):
        raise TypingProblem(f"np.{name} of a bool is not supported in kernels (convert it with int() or float())")
    spec = NUMPY_FUNCS[name]
    common = args[0]
    for t in args[1:]:
        common = promote(common, t)
    strong = Ty(common.scalar)
    if common.kind == "complex":
        if name in ("abs", "absolute"):
            return strong, Ty(f64)
        if name not in NUMPY_COMPLEX:
            raise TypingProblem(
                f"np.{name} of a complex is not supported in kernels (complex: {', '.join(NUMPY_COMPLEX)})"
            )
        return strong, BOOL if spec.rule == "bool" else strong
    if spec.rule == "same" or (spec.rule == "round" and common.kind == "int"):
        return strong, strong
    if spec.rule == "bool":
        return (strong if common.kind == "float" else Ty(f64)), BOOL
    arg = strong if common.kind == "float" else Ty(_ufunc_float(common))
    return arg, arg


def _ufunc_float(t: Ty) -> ScalarType:
    """The float type a numpy float ufunc computes an integer in: f32 for 16 bits, f64 from 32 bits on."""
    if t.weak or t.scalar.bits >= 32:
        return f64
    if t.scalar.bits == 16:
        return f32
    raise TypingProblem(
        f"numpy computes a float function of {t.scalar.name} in float16, which kernels do not have: "
        "convert the argument first (np.float32(x) or float(x))"
    )


_OP_SYMBOLS: dict[type[ast.AST], str] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Pow: "**",
    ast.BitAnd: "&",
    ast.BitOr: "|",
    ast.BitXor: "^",
    ast.LShift: "<<",
    ast.RShift: ">>",
}


def cmath_types(name: str, args: Sequence[Ty]) -> tuple[Ty, Ty]:
    """(argument type, result type) of ``cmath.<name>(*args)``: Python complex arguments and result
    (weak), ``rect`` takes floats, ``phase`` gives a float and the predicates a bool."""
    if name == "rect":
        if any(t.kind == "complex" for t in args):
            raise TypingProblem("cmath.rect takes real numbers")
        return FLOAT, COMPLEX
    if name == "phase":
        return COMPLEX, FLOAT
    if name in ("isnan", "isinf", "isfinite"):
        return COMPLEX, BOOL
    return COMPLEX, COMPLEX


def const_type(value: ConstValue) -> Ty:
    """The type of a Python scalar constant (weak, except booleans)."""
    if isinstance(value, bool):
        return BOOL
    return INT if isinstance(value, int) else FLOAT
