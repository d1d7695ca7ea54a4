"""Complex numbers (``c128``, numpy's complex128 and Python's ``complex``): type rules and IR.

A complex value is a ``{double, double}`` struct (real, imaginary) in registers and in memory, where it
has numpy's complex128 layout. It never crosses the C ABI as a C ``double complex`` (whose passing rules
differ between targets): a scalar parameter is two ``double`` arguments (:mod:`autotune.abi`), a result
is stored through the result pointer, and the ``cmath`` functions are written here in IR over the real
libm functions the units already link (exp, log, log1p, sin, cos, sinh, cosh, tanh, tan, atan2, hypot),
with CPython's ``cmath`` formulas for finite arguments (division is Smith's, as Python's and numpy's;
``log`` near the unit circle uses ``log1p``, ``sqrt`` and ``tanh`` avoid overflow as CPython does).
Divergences: infinities and NaNs in ``cmath`` follow the formulas, not C99 Annex G's special cases;
division by zero gives inf/nan as numpy does (Python raises ZeroDivisionError); subnormal ``sqrt``
arguments lose the scaling CPython applies.

Typing (numpy 2, NEP 50): a Python complex (a literal ``1j``, ``complex(a, b)``, a ``cmath`` result) is
weak, a c128 parameter or element strong; anything with a complex is complex. Only ``+ - * / **``,
unary ``-``/``+``, ``==``/``!=``, ``abs``, ``.real``, ``.imag`` and ``.conjugate()`` apply (Python raises
TypeError for ``//``, ``%``, ordering and bit operations). ``**`` by a constant int up to 100 multiplies
(CPython's ``c_powi``), any other exponent goes through the polar form (``c_pow``).
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from llvmlite import ir

if TYPE_CHECKING:
    from ._emit import Emitter

__all__ = [
    "CMATH_ARITY",
    "CMATH_CONSTS",
    "NUMPY_COMPLEX",
    "cmath_call",
    "complex_abs",
    "complex_binop",
    "complex_compare",
    "complex_const",
    "complex_parts",
    "make_complex",
]

D = ir.DoubleType()
C = ir.LiteralStructType([D, D])

#: ``cmath`` functions kernels may call, with their argument count.
CMATH_ARITY: dict[str, int] = {
    **dict.fromkeys(("exp", "log", "sqrt", "sin", "cos", "tan", "sinh", "cosh", "tanh"), 1),
    **dict.fromkeys(("phase", "isnan", "isinf", "isfinite"), 1),
    "rect": 2,
}
CMATH_CONSTS: dict[str, float] = {"pi": 3.141592653589793, "e": 2.718281828459045, "tau": 6.283185307179586}
#: numpy functions that take a complex argument in kernels, computed like the ``cmath`` ones
NUMPY_COMPLEX = ("exp", "log", "sqrt", "sin", "cos", "tan", "sinh", "cosh", "tanh", "isnan", "isinf", "isfinite")
_LOG_LARGE = 354.0  # CPython's CM_LOG_LARGE_DOUBLE: beyond it tanh's formula overflows


def complex_const(value: complex) -> Any:
    return ir.Constant(C, [ir.Constant(D, value.real), ir.Constant(D, value.imag)])


def make_complex(em: Emitter, real: Any, imag: Any) -> Any:
    """The struct of two doubles."""
    value = em.builder.insert_value(ir.Constant(C, ir.Undefined), real, 0)
    return em.builder.insert_value(value, imag, 1)


def complex_parts(em: Emitter, value: Any) -> tuple[Any, Any]:
    return em.builder.extract_value(value, 0), em.builder.extract_value(value, 1)


def _const(x: float) -> Any:
    return ir.Constant(D, x)


class _Math:
    """Double arithmetic with the kernel's fast-math flags, and libm calls by name."""

    def __init__(self, em: Emitter) -> None:
        self.em, self.b, self.fl = em, em.builder, em.flags

    def add(self, x: Any, y: Any) -> Any:
        return self.b.fadd(x, y, flags=self.fl)

    def sub(self, x: Any, y: Any) -> Any:
        return self.b.fsub(x, y, flags=self.fl)

    def mul(self, x: Any, y: Any) -> Any:
        return self.b.fmul(x, y, flags=self.fl)

    def div(self, x: Any, y: Any) -> Any:
        return self.b.fdiv(x, y, flags=self.fl)

    def neg(self, x: Any) -> Any:
        return self.b.fneg(x, flags=self.fl)

    def call(self, name: str, *args: Any) -> Any:
        """``llvm.<name>`` for the functions LLVM has intrinsics of, else the libm function."""
        if name in ("exp", "log", "sin", "cos", "sqrt", "fabs", "copysign"):
            return self.em.intrinsic(f"llvm.{name}", list(args))
        fn = self.em.declare(name, D, [D] * len(args))
        return self.b.call(fn, list(args), fastmath=self.fl)

    def select(self, cond: Any, x: Any, y: Any) -> Any:
        return self.b.select(cond, x, y)

    def cmp(self, symbol: str, x: Any, y: Any) -> Any:
        return self.b.fcmp_ordered(symbol, x, y)


def complex_binop(em: Emitter, op: ast.operator, a: Any, b: Any, exponent: int | None) -> Any:
    """``a <op> b`` of two complex values (``**``: ``exponent`` is the constant int power)."""
    m = _Math(em)
    if isinstance(op, ast.Pow) and exponent is not None:
        return _powi(em, m, a, exponent)
    (x, y), (u, v) = complex_parts(em, a), complex_parts(em, b)
    if isinstance(op, ast.Add):
        return make_complex(em, m.add(x, u), m.add(y, v))
    if isinstance(op, ast.Sub):
        return make_complex(em, m.sub(x, u), m.sub(y, v))
    if isinstance(op, ast.Mult):
        return _mul(em, m, (x, y), (u, v))
    if isinstance(op, ast.Div):
        return _div(em, m, (x, y), (u, v))
    if isinstance(op, ast.Pow):
        return _pow(em, m, (x, y), (u, v))
    raise NotImplementedError(type(op).__name__)  # the type rules admit no other operator


def _mul(em: Emitter, m: _Math, a: tuple[Any, Any], b: tuple[Any, Any]) -> Any:
    (x, y), (u, v) = a, b
    return make_complex(em, m.sub(m.mul(x, u), m.mul(y, v)), m.add(m.mul(x, v), m.mul(y, u)))


def _div(em: Emitter, m: _Math, a: tuple[Any, Any], b: tuple[Any, Any]) -> Any:
    """Smith's division (numpy's ``nc_quot``): a zero divisor gives inf/nan like numpy."""
    (x, y), (u, v) = a, b
    au, av = m.call("fabs", u), m.call("fabs", v)
    ratio1 = m.div(v, u)
    denom1 = m.add(u, m.mul(v, ratio1))
    real1, imag1 = m.div(m.add(x, m.mul(y, ratio1)), denom1), m.div(m.sub(y, m.mul(x, ratio1)), denom1)
    ratio2 = m.div(u, v)
    denom2 = m.add(m.mul(u, ratio2), v)
    real2, imag2 = m.div(m.add(m.mul(x, ratio2), y), denom2), m.div(m.sub(m.mul(y, ratio2), x), denom2)
    zero = m.b.and_(m.cmp("==", au, _const(0.0)), m.cmp("==", av, _const(0.0)))
    real_first = m.b.fcmp_ordered(">=", au, av)
    real = m.select(zero, m.div(x, au), m.select(real_first, real1, real2))
    imag = m.select(zero, m.div(y, au), m.select(real_first, imag1, imag2))
    return make_complex(em, real, imag)


def _powi(em: Emitter, m: _Math, base: Any, exponent: int) -> Any:
    """``z ** n`` for a constant int ``n`` by squaring, ``1 / z ** -n`` for a negative one (CPython's and
    numpy's route for small integer powers)."""
    n = abs(exponent)
    result: Any = complex_const(1 + 0j)
    square = base
    while n:
        if n & 1:
            result = _mul(em, m, complex_parts(em, result), complex_parts(em, square))
        n >>= 1
        if n:
            square = _mul(em, m, complex_parts(em, square), complex_parts(em, square))
    if exponent < 0:
        result = _div(em, m, (_const(1.0), _const(0.0)), complex_parts(em, result))
    return result


def _pow(em: Emitter, m: _Math, a: tuple[Any, Any], b: tuple[Any, Any]) -> Any:
    """CPython's ``c_pow`` (polar form): ``z ** 0`` is 1, ``0 ** w`` is 0 (Python raises ZeroDivisionError
    for a negative or complex ``w``: NaN here)."""
    (x, y), (u, v) = a, b
    magnitude, angle = m.call("hypot", x, y), m.call("atan2", y, x)
    length = m.div(m.call("pow", magnitude, u), m.call("exp", m.mul(angle, v)))
    phase = m.add(m.mul(angle, u), m.mul(v, m.call("log", magnitude)))
    real, imag = m.mul(length, m.call("cos", phase)), m.mul(length, m.call("sin", phase))
    zero, one, nan = _const(0.0), _const(1.0), _const(float("nan"))
    base_zero = m.b.and_(m.cmp("==", x, zero), m.cmp("==", y, zero))
    exponent_zero = m.b.and_(m.cmp("==", u, zero), m.cmp("==", v, zero))
    domain = m.b.or_(m.cmp("!=", v, zero), m.cmp("<", u, zero))
    at_zero = m.select(domain, nan, zero)
    real = m.select(exponent_zero, one, m.select(base_zero, at_zero, real))
    imag = m.select(exponent_zero, zero, m.select(base_zero, at_zero, imag))
    return make_complex(em, real, imag)


def complex_compare(em: Emitter, op: ast.cmpop, a: Any, b: Any) -> Any:
    """``==`` (both parts equal) or ``!=`` (either differs, NaN included) as ``i1``."""
    (x, y), (u, v) = complex_parts(em, a), complex_parts(em, b)
    bld = em.builder
    if isinstance(op, ast.Eq):
        return bld.and_(bld.fcmp_ordered("==", x, u), bld.fcmp_ordered("==", y, v))
    return bld.or_(bld.fcmp_unordered("!=", x, u), bld.fcmp_unordered("!=", y, v))


def complex_abs(em: Emitter, value: Any) -> Any:
    """``abs(z)``: ``hypot`` of the parts, as Python and numpy compute it."""
    x, y = complex_parts(em, value)
    return _Math(em).call("hypot", x, y)


def cmath_call(em: Emitter, name: str, args: Sequence[Any]) -> Any:
    """``cmath.<name>(*args)`` of complex struct values (``rect``: two doubles); see the module notes."""
    m = _Math(em)
    if name == "rect":
        r, phi = args
        return make_complex(em, m.mul(r, m.call("cos", phi)), m.mul(r, m.call("sin", phi)))
    x, y = complex_parts(em, args[0])
    if name == "phase":
        return m.call("atan2", y, x)
    if name in ("isnan", "isinf", "isfinite"):
        bld = em.builder
        if name == "isnan":
            return bld.or_(bld.fcmp_unordered("uno", x, x), bld.fcmp_unordered("uno", y, y))
        inf = _const(float("inf"))
        ax, ay = m.call("fabs", x), m.call("fabs", y)
        if name == "isinf":
            return bld.or_(bld.fcmp_ordered("==", ax, inf), bld.fcmp_ordered("==", ay, inf))
        return bld.and_(bld.fcmp_ordered("!=", ax, inf), bld.fcmp_ordered("!=", ay, inf))
    if name == "exp":
        e = m.call("exp", x)
        return make_complex(em, m.mul(e, m.call("cos", y)), m.mul(e, m.call("sin", y)))
    if name == "log":
        return make_complex(em, _log_abs(m, x, y), m.call("atan2", y, x))
    if name == "sqrt":
        return _sqrt(em, m, x, y)
    if name == "sin":
        real = m.mul(m.call("sin", x), m.call("cosh", y))
        return make_complex(em, real, m.mul(m.call("cos", x), m.call("sinh", y)))
    if name == "cos":
        real = m.mul(m.call("cos", x), m.call("cosh", y))
        return make_complex(em, real, m.neg(m.mul(m.call("sin", x), m.call("sinh", y))))
    if name == "sinh":
        real = m.mul(m.call("sinh", x), m.call("cos", y))
        return make_complex(em, real, m.mul(m.call("cosh", x), m.call("sin", y)))
    if name == "cosh":
        real = m.mul(m.call("cosh", x), m.call("cos", y))
        return make_complex(em, real, m.mul(m.call("sinh", x), m.call("sin", y)))
    if name == "tanh":
        return make_complex(em, *_tanh(m, x, y))
    if name == "tan":  # tan(z) = -i tanh(i z)
        real, imag = _tanh(m, m.neg(y), x)
        return make_complex(em, imag, m.neg(real))
    raise NotImplementedError(name)  # CMATH_ARITY lists no other function


def _log_abs(m: _Math, x: Any, y: Any) -> Any:
    """``log|z|``; near the unit circle through ``log1p`` as CPython's ``c_log`` (no cancellation)."""
    ax, ay = m.call("fabs", x), m.call("fabs", y)
    h = m.call("hypot", ax, ay)
    big = m.select(m.cmp(">", ax, ay), ax, ay)
    small = m.select(m.cmp(">", ax, ay), ay, ax)
    near = m.b.and_(m.cmp(">=", h, _const(0.71)), m.cmp("<=", h, _const(1.73)))
    fine = m.div(
        m.call("log1p", m.add(m.mul(m.sub(big, _const(1.0)), m.add(big, _const(1.0))), m.mul(small, small))),
        _const(2.0),
    )
    return m.select(near, fine, m.call("log", h))


def _sqrt(em: Emitter, m: _Math, x: Any, y: Any) -> Any:
    """CPython's ``c_sqrt`` for normal arguments: no overflow in ``hypot`` (parts scaled by 1/8)."""
    ax, ay = m.call("fabs", x), m.call("fabs", y)
    s = m.mul(
        _const(2.0),
        m.call("sqrt", m.add(m.div(ax, _const(8.0)), m.call("hypot", m.div(ax, _const(8.0)), m.div(ay, _const(8.0))))),
    )
    d = m.div(ay, m.mul(_const(2.0), s))
    nonnegative = m.cmp(">=", x, _const(0.0))
    real = m.select(nonnegative, s, d)
    imag = m.call("copysign", m.select(nonnegative, d, s), y)
    zero = m.b.and_(m.cmp("==", x, _const(0.0)), m.cmp("==", y, _const(0.0)))
    return make_complex(em, m.select(zero, _const(0.0), real), m.select(zero, y, imag))


def _tanh(m: _Math, x: Any, y: Any) -> tuple[Any, Any]:
    """CPython's ``c_tanh``: the tan/tanh form, and its limit beyond ``|x| > 354``."""
    tx, ty = m.call("tanh", x), m.call("tan", y)
    cx = m.div(_const(1.0), m.call("cosh", x))
    txty = m.mul(tx, ty)
    denom = m.add(_const(1.0), m.mul(txty, txty))
    real = m.div(m.mul(tx, m.add(_const(1.0), m.mul(ty, ty))), denom)
    imag = m.mul(m.mul(m.div(ty, denom), cx), cx)
    large = m.cmp(">", m.call("fabs", x), _const(_LOG_LARGE))
    far_real = m.call("copysign", _const(1.0), x)
    sy, cy = m.call("sin", y), m.call("cos", y)
    far_imag = m.mul(m.mul(m.mul(_const(4.0), sy), cy), m.call("exp", m.mul(_const(-2.0), m.call("fabs", x))))
    return m.select(large, far_real, real), m.select(large, far_imag, imag)
