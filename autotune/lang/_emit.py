"""IR emission primitives with Python semantics, on top of ``llvmlite.ir``.

Where Python and C disagree the emitted code follows Python: ``//`` and ``%`` round toward negative
infinity (for ints and floats), integer ``//``/``%`` by zero returns a status (``autotune.abi.Status``,
ZeroDivisionError at the call) instead of trapping and
``INT_MIN // -1`` wraps, ``!=`` is true for NaN, ``int(x)`` truncates toward zero. Integer overflow
wraps at the width of the type (64 bits for Python ints): a documented divergence, as is IEEE behaviour
for float division by zero, math domain errors and float powers with a complex result (inf/nan instead
of exceptions or complex numbers).
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from llvmlite import ir

from ..abi import Status
from ..types import ScalarType, f32, f64
from ._builtins import MATH_FUNCS
from ._complex import complex_binop, complex_compare, complex_const, complex_parts, make_complex
from ._fold import wrap_int
from ._knobs import FASTMATH_FLAGS, LoopProperty
from ._lattice import INT, Ty
from ._unsigned import unsigned_divmod, unsigned_shift

__all__ = [
    "I1",
    "I8",
    "I32",
    "I64",
    "STATUS_VALUE_ERROR",
    "STATUS_ZERO_DIVISION",
    "Emitter",
    "Val",
    "module_text",
    "reg_type",
    "wrap_to",
]

I1, I8, I32, I64 = ir.IntType(1), ir.IntType(8), ir.IntType(32), ir.IntType(64)
PTR = ir.PointerType()

# The status codes are :class:`autotune.abi.Status`; these names stay for existing importers.
STATUS_ZERO_DIVISION = Status.ZERO_DIVISION
STATUS_VALUE_ERROR = Status.RANGE_STEP_ZERO

_INF = float("inf")


def module_text(module: Any) -> str:
    """The IR text of an ``ir.Module`` without llvmlite's placeholder triple and data layout: the loader
    sets the host's, so the text stays a pure function of what generated it (and a stable cache key)."""
    lines = str(module).splitlines()
    return "\n".join(line for line in lines if not line.startswith(("target triple", "target datalayout"))) + "\n"


@dataclass(frozen=True)
class Val:
    """An SSA value with its static type.

    ``lo`` is a known lower bound of an integer value (lets indexing skip negative-index wrap-around);
    ``const`` is its compile-time value, when known.
    """

    value: Any
    ty: Ty
    lo: int | None = None
    const: int | float | bool | None = None


def reg_type(ty: Ty) -> Any:
    """The IR type of a value in a register (booleans are ``i1`` there, ``i8`` in memory)."""
    return I1 if ty.kind == "bool" else ty.scalar.ir_type


class _LoopID(ir.values.MDValue):  # type: ignore[misc]
    """A ``distinct`` self-referential ``!llvm.loop`` node (llvmlite only makes uniqued ones)."""

    def descr(self, buf: list[str]) -> None:
        refs = [self.get_reference(), *(op.get_reference() for op in self.operands)]
        buf += ("distinct !{" + ", ".join(refs) + "}", "\n")


class _FunctionAttributes(ir.values.FunctionAttributes):  # type: ignore[misc]
    """Function attributes that also accept string attributes (``"prefer-vector-width"="256"``)."""

    def add(self, name: str) -> None:
        if name.startswith('"'):
            set.add(self, name)
        else:
            super().add(name)


class Emitter:
    """Owns the function being built: blocks, allocas, declarations and Python-semantics arithmetic."""

    def __init__(self, module: Any, fn: Any, *, fastmath: bool) -> None:
        self.module = module
        self.fn = fn
        self.entry = fn.append_basic_block("entry")
        self.builder = ir.IRBuilder(self.entry)
        self.flags: tuple[str, ...] = FASTMATH_FLAGS if fastmath else ()
        self._decls: dict[str, Any] = {}
        self._status: dict[int, Any] = {}
        #: called with a builder before every ``ret`` of the function (frees arrays the kernel created)
        self.on_exit: Callable[[Any], None] | None = None

    @staticmethod
    def string_attributes(fn: Any) -> None:
        """Let ``fn`` take string attributes."""
        fn.attributes = _FunctionAttributes(list(fn.attributes))

    # ---- blocks --------------------------------------------------------------------------------
    def block(self, name: str) -> Any:
        return self.fn.append_basic_block(name)

    def position(self, block: Any) -> None:
        self.builder.position_at_end(block)

    @property
    def terminated(self) -> bool:
        return bool(self.builder.block.is_terminated)

    def alloca(self, typ: Any, name: str) -> Any:
        """A stack slot in the entry block (SROA/mem2reg turn these into SSA values)."""
        with self.builder.goto_block(self.entry):
            slot = self.builder.alloca(typ, name=name)
        slot.type = PTR  # print as an opaque pointer
        return slot

    def status_block(self, code: int) -> Any:
        """The block returning status ``code`` (one per code and function)."""
        code = int(code)
        block = self._status.get(code)
        if block is None:
            block = self.block(f"status{code}")
            self.ret(ir.IRBuilder(block), code)
            self._status[code] = block
        return block

    def ret(self, builder: Any, code: int) -> None:
        """Return status ``code`` from ``builder``'s block, after the exit hook."""
        if self.on_exit is not None:
            self.on_exit(builder)
        builder.ret(ir.Constant(I32, int(code)))

    def check(self, failed: Any, code: int) -> None:
        """Return status ``code`` if the i1 ``failed`` is true; continue in a new block otherwise."""
        ok = self.block("ok")
        self.builder.cbranch(failed, self.status_block(code), ok)
        self.position(ok)

    def fail(self, code: int) -> None:
        """Return status ``code`` unconditionally; later code goes to an unreachable block."""
        self.builder.branch(self.status_block(code))
        self.position(self.block("dead"))

    def loop_id(self, props: list[LoopProperty]) -> Any:
        nodes = []
        for key, value in props:
            operands: list[Any] = [ir.MetaDataString(self.module, key)]
            if isinstance(value, bool):
                operands.append(ir.Constant(I1, int(value)))
            elif isinstance(value, int):
                operands.append(ir.Constant(I32, value))
            nodes.append(self.module.add_metadata(operands))
        return _LoopID(self.module, nodes, name=str(len(self.module.metadata)))

    # ---- constants and conversions -------------------------------------------------------------
    def const(self, ty: Ty, value: int | float | bool) -> Val:
        if ty.kind == "complex":
            return Val(complex_const(complex(value)), ty)
        if ty.kind == "bool":
            return Val(ir.Constant(I1, int(bool(value))), ty, const=bool(value))
        if ty.kind == "int":
            number = wrap_to(int(value), ty.scalar)
            return Val(ir.Constant(reg_type(ty), wrap_int(number, ty.scalar.bits)), ty, lo=number, const=number)
        return Val(ir.Constant(reg_type(ty), float(value)), ty, const=float(value))

    def truthy(self, v: Val) -> Any:
        """Python truth value as ``i1`` (NaN is true)."""
        if v.ty.kind == "bool":
            return v.value
        if v.ty.kind == "int":
            return self.builder.icmp_signed("!=", v.value, ir.Constant(v.value.type, 0))
        if v.ty.kind == "complex":
            real, imag = complex_parts(self, v.value)
            zero = ir.Constant(real.type, 0.0)
            return self.builder.or_(
                self.builder.fcmp_unordered("!=", real, zero), self.builder.fcmp_unordered("!=", imag, zero)
            )
        return self.builder.fcmp_unordered("!=", v.value, ir.Constant(v.value.type, 0.0))

    def convert(self, v: Val, to: Ty) -> Val:
        """``v`` as type ``to`` (numpy casting; float to int truncates, saturating, NaN gives 0)."""
        src, dst, b = v.ty.scalar, to.scalar, self.builder
        if src == dst:
            return Val(v.value, to, v.lo, v.const)
        if v.const is not None:
            return self.const(to, _cast_const(v.const, to))
        target = reg_type(to)
        if dst.kind == "bool":
            return Val(self.truthy(v), to)
        if dst.kind == "complex":  # a real number is (x, 0.0); a complex value has the one complex type
            real = self.convert(v, Ty(f64)).value if src.kind != "complex" else None
            value = v.value if real is None else make_complex(self, real, ir.Constant(ir.DoubleType(), 0.0))
            return Val(value, to)
        if src.kind == "complex":  # the type rules refuse complex to real (TypeError in Python)
            raise NotImplementedError(f"complex to {dst.name}")
        if src.kind == "bool":
            if dst.kind == "int":
                return Val(b.zext(v.value, target), to, lo=0)
            return Val(b.uitofp(v.value, target), to)
        if src.kind == "int" and dst.kind == "int":
            if dst.bits == src.bits:  # same bits, other signedness: the value is reinterpreted (numpy wraps)
                return Val(v.value, to, lo=v.lo if not (src.unsigned or dst.unsigned) else None)
            if dst.bits > src.bits:
                if src.unsigned:
                    return Val(b.zext(v.value, target), to, lo=0)
                return Val(b.sext(v.value, target), to, lo=None if dst.unsigned else v.lo)
            return Val(b.trunc(v.value, target), to)
        if src.kind == "int":
            return Val((b.uitofp if src.unsigned else b.sitofp)(v.value, target), to)
        if dst.kind == "float":
            op = b.fpext if dst.bits > src.bits else b.fptrunc
            return Val(op(v.value, target), to)
        name = f"llvm.fpto{'u' if dst.unsigned else 's'}i.sat.i{dst.bits}.{'f32' if src == f32 else 'f64'}"
        return Val(b.call(self.declare(name, target, [v.value.type]), [v.value]), to)

    def declare(self, name: str, ret: Any, args: list[Any]) -> Any:
        fn = self._decls.get(name) or self.module.globals.get(name)  # an outlined body shares the module
        if fn is None:
            fn = ir.Function(self.module, ir.FunctionType(ret, args), name=name)
            self._decls[name] = fn
        return fn

    # ---- arithmetic ----------------------------------------------------------------------------
    def binop(self, op: ast.operator, a: Val, b: Val, operand: Ty, result: Ty) -> Val:
        """``a <op> b`` with Python semantics; operands are converted to ``operand`` first."""
        if operand.kind == "complex":
            power = isinstance(op, ast.Pow) and isinstance(b.const, int) and not isinstance(b.const, bool)
            exponent = int(b.const) if power and b.const is not None and abs(b.const) <= 100 else None
            a, b = self.convert(a, operand), self.convert(b, operand) if exponent is None else b
            return Val(complex_binop(self, op, a.value, b.value, exponent), result)
        a, b = self.convert(a, operand), self.convert(b, operand)
        if operand.kind == "float":
            return self._float_binop(op, a, b, result)
        if operand.scalar.unsigned and isinstance(op, ast.FloorDiv | ast.Mod):
            return Val(unsigned_divmod(self, op, a, b), result)
        if operand.scalar.unsigned and isinstance(op, ast.LShift | ast.RShift):
            return Val(unsigned_shift(self, op, a, b), result)
        if operand.scalar.unsigned or operand.scalar.bits < 32:  # narrow values wrap often: no bounds kept
            a, b = Val(a.value, a.ty, const=a.const), Val(b.value, b.ty, const=b.const)
        bld = self.builder
        x, y = a.value, b.value
        if isinstance(op, ast.BitAnd):
            lo = 0 if (a.lo is not None and a.lo >= 0) or (b.lo is not None and b.lo >= 0) else None
            return Val(bld.and_(x, y), result, lo=lo)
        if isinstance(op, ast.BitOr):
            return Val(bld.or_(x, y), result)
        if isinstance(op, ast.BitXor):
            return Val(bld.xor(x, y), result)
        if isinstance(op, ast.Add):
            return Val(bld.add(x, y), result, lo=_add(a.lo, b.lo))
        if isinstance(op, ast.Sub):
            lo = a.lo - b.const if a.lo is not None and isinstance(b.const, int) else None
            return Val(bld.sub(x, y), result, lo=lo)
        if isinstance(op, ast.Mult):
            both = a.lo is not None and b.lo is not None and a.lo >= 0 and b.lo >= 0
            return Val(
                bld.mul(x, y), result, lo=a.lo * b.lo if both and a.lo is not None and b.lo is not None else None
            )
        if isinstance(op, ast.FloorDiv | ast.Mod):
            return self._int_divmod(op, a, b, result)
        if isinstance(op, ast.Pow):
            return self._int_pow(a, b, result)
        if isinstance(op, ast.LShift | ast.RShift):
            return self._shift(op, a, b, result)
        raise NotImplementedError(type(op).__name__)  # the checker admits no other operator

    def _float_binop(self, op: ast.operator, a: Val, b: Val, result: Ty) -> Val:
        bld, fl, x, y = self.builder, self.flags, a.value, b.value
        if isinstance(op, ast.Add):
            return Val(bld.fadd(x, y, flags=fl), result)
        if isinstance(op, ast.Sub):
            return Val(bld.fsub(x, y, flags=fl), result)
        if isinstance(op, ast.Mult):
            return Val(bld.fmul(x, y, flags=fl), result)
        if isinstance(op, ast.Div):
            return Val(bld.fdiv(x, y, flags=fl), result)
        if isinstance(op, ast.Pow):
            return Val(self.intrinsic("llvm.pow", [x, y]), result)
        if isinstance(op, ast.FloorDiv | ast.Mod):
            floordiv, mod = self._float_divmod(x, y)
            return Val(floordiv if isinstance(op, ast.FloorDiv) else mod, result)
        raise NotImplementedError(type(op).__name__)

    def _float_divmod(self, x: Any, y: Any) -> tuple[Any, Any]:
        """Python's ``float_divmod`` (Objects/floatobject.c), branch-free: exact floor semantics and signs."""
        bld, fl = self.builder, self.flags
        zero, one = ir.Constant(x.type, 0.0), ir.Constant(x.type, 1.0)
        mod = bld.frem(x, y, flags=fl)
        div = bld.fdiv(bld.fsub(x, mod, flags=fl), y, flags=fl)
        mod_nonzero = bld.fcmp_unordered("!=", mod, zero)
        signs_differ = bld.xor(bld.fcmp_ordered("<", y, zero), bld.fcmp_ordered("<", mod, zero))
        adjust = bld.and_(mod_nonzero, signs_differ)
        mod = bld.select(adjust, bld.fadd(mod, y, flags=fl), mod)
        div = bld.select(adjust, bld.fsub(div, one, flags=fl), div)
        mod = bld.select(mod_nonzero, mod, self.intrinsic("llvm.copysign", [zero, y]))
        floor = self.intrinsic("llvm.floor", [div])
        half = ir.Constant(x.type, 0.5)
        floor = bld.select(
            bld.fcmp_ordered(">", bld.fsub(div, floor, flags=fl), half), bld.fadd(floor, one, flags=fl), floor
        )
        signed_zero = self.intrinsic("llvm.copysign", [zero, bld.fdiv(x, y, flags=fl)])
        floordiv = bld.select(bld.fcmp_unordered("!=", div, zero), floor, signed_zero)
        return floordiv, mod

    def _int_divmod(self, op: ast.operator, a: Val, b: Val, result: Ty) -> Val:
        """Floor division / modulo; status 1 for a zero divisor; ``INT_MIN // -1`` wraps, never traps."""
        bld, typ, x, y = self.builder, a.value.type, a.value, b.value
        zero = ir.Constant(typ, 0)
        is_floordiv = isinstance(op, ast.FloorDiv)
        division_by_zero = Status.MODULO_BY_ZERO if isinstance(op, ast.Mod) else Status.ZERO_DIVISION
        if b.const == 0:
            self.fail(division_by_zero)
            return Val(zero, result)
        if b.const == -1:
            return Val(bld.sub(zero, x) if is_floordiv else zero, result)
        if b.const is None:
            self.check(bld.icmp_signed("==", y, zero), division_by_zero)
            minus_one = bld.icmp_signed("==", y, ir.Constant(typ, -1))
            divisor = bld.select(minus_one, ir.Constant(typ, 1), y)
        else:
            divisor = y
        quotient, remainder = bld.sdiv(x, divisor), bld.srem(x, divisor)
        adjust = bld.and_(bld.icmp_signed("!=", remainder, zero), bld.icmp_signed("<", bld.xor(remainder, y), zero))
        if is_floordiv:
            value = bld.sub(quotient, bld.zext(adjust, typ))
            if b.const is None:
                value = bld.select(minus_one, bld.sub(zero, x), value)
            lo = a.lo // b.const if a.lo is not None and isinstance(b.const, int) and b.const > 0 else None
            return Val(value, result, lo=lo)
        value = bld.select(adjust, bld.add(remainder, y), remainder)
        lo = 0 if isinstance(b.const, int) and b.const > 0 else None
        return Val(value, result, lo=lo)

    def _int_pow(self, a: Val, b: Val, result: Ty) -> Val:
        """``a ** b`` for ints by squaring (no ``llvm.powi``: it needs a compiler-rt helper).

        A negative exponent known at compile time was typed as a float power; at run time it returns
        ``Status.NEGATIVE_POWER`` (the int result type cannot hold Python's float answer).
        """
        bld, typ = self.builder, a.value.type
        if isinstance(b.const, int):
            exponent, value, base = b.const, ir.Constant(typ, 1), a.value
            while exponent:
                if exponent & 1:
                    value = bld.mul(value, base)
                exponent >>= 1
                if exponent:
                    base = bld.mul(base, base)
            return Val(value, result)
        if not b.ty.scalar.unsigned:
            self.check(bld.icmp_signed("<", b.value, ir.Constant(typ, 0)), Status.NEGATIVE_POWER)
        acc, base, exp = (self.alloca(typ, n) for n in ("pow.acc", "pow.base", "pow.exp"))
        bld.store(ir.Constant(typ, 1), acc)
        bld.store(a.value, base)
        bld.store(b.value, exp)
        head, body, done = self.block("pow.head"), self.block("pow.body"), self.block("pow.done")
        bld.branch(head)
        self.position(head)
        e = bld.load(exp, typ=typ)
        bld.cbranch(bld.icmp_signed("!=", e, ir.Constant(typ, 0)), body, done)
        self.position(body)
        cur, mul = bld.load(acc, typ=typ), bld.load(base, typ=typ)
        odd = bld.icmp_signed("!=", bld.and_(e, ir.Constant(typ, 1)), ir.Constant(typ, 0))
        bld.store(bld.select(odd, bld.mul(cur, mul), cur), acc)
        bld.store(bld.mul(mul, mul), base)
        bld.store(bld.lshr(e, ir.Constant(typ, 1)), exp)
        bld.branch(head)
        self.position(done)
        return Val(bld.load(acc, typ=typ), result)

    def _shift(self, op: ast.operator, a: Val, b: Val, result: Ty) -> Val:
        """Shifts: a negative count is ``Status.NEGATIVE_SHIFT`` (ValueError); counts >= the width act as
        Python's would modulo 2**bits (``<<`` gives 0, ``>>`` gives the sign)."""
        bld, typ = self.builder, a.value.type
        width = ir.Constant(typ, typ.width)
        if isinstance(b.const, int):
            if b.const < 0:
                self.fail(Status.NEGATIVE_SHIFT)
                return Val(ir.Constant(typ, 0), result)
            count = min(b.const, typ.width - 1)
            if isinstance(op, ast.LShift):
                if b.const >= typ.width:
                    return Val(ir.Constant(typ, 0), result)
                return Val(bld.shl(a.value, ir.Constant(typ, count)), result)
            return Val(
                bld.ashr(a.value, ir.Constant(typ, count)), result, lo=0 if a.lo is not None and a.lo >= 0 else None
            )
        self.check(bld.icmp_signed("<", b.value, ir.Constant(typ, 0)), Status.NEGATIVE_SHIFT)
        too_big = bld.icmp_unsigned(">=", b.value, width)
        if isinstance(op, ast.LShift):
            shifted = bld.shl(a.value, bld.select(too_big, ir.Constant(typ, 0), b.value))
            return Val(bld.select(too_big, ir.Constant(typ, 0), shifted), result)
        count = bld.select(too_big, ir.Constant(typ, typ.width - 1), b.value)
        return Val(bld.ashr(a.value, count), result, lo=0 if a.lo is not None and a.lo >= 0 else None)

    def compare(self, op: ast.cmpop, a: Val, b: Val) -> Any:
        """``a <op> b`` as ``i1`` (both already of one type); float ``!=`` is unordered (NaN != NaN)."""
        symbol = _CMP[type(op)]
        if a.ty.kind == "complex":
            return complex_compare(self, op, a.value, b.value)
        if a.ty.kind == "int" and a.ty.scalar.unsigned:
            return self.builder.icmp_unsigned(symbol, a.value, b.value)
        if a.ty.kind == "float":
            if symbol == "!=":
                return self.builder.fcmp_unordered(symbol, a.value, b.value)
            return self.builder.fcmp_ordered(symbol, a.value, b.value)
        if a.ty.kind == "bool":
            return self.builder.icmp_unsigned(symbol, a.value, b.value)
        return self.builder.icmp_signed(symbol, a.value, b.value)

    def negate(self, v: Val) -> Val:
        if v.ty.kind == "complex":
            real, imag = complex_parts(self, v.value)
            neg = self.builder.fneg
            return Val(make_complex(self, neg(real, flags=self.flags), neg(imag, flags=self.flags)), v.ty)
        if v.ty.kind == "float":
            return Val(self.builder.fneg(v.value, flags=self.flags), v.ty)
        return Val(self.builder.sub(ir.Constant(v.value.type, 0), v.value), v.ty)

    # ---- math ----------------------------------------------------------------------------------
    def intrinsic(self, name: str, args: list[Any]) -> Any:
        """Call the float intrinsic ``name`` (``llvm.sqrt``...) at the type of its first argument."""
        typ = args[0].type
        suffix = "f32" if typ == ir.FloatType() else "f64"
        fn = self.declare(f"{name}.{suffix}", typ, [typ] * len(args))
        return self.builder.call(fn, args, fastmath=self.flags)

    def math(self, name: str, args: list[Val], arg: Ty, result: Ty) -> Val:
        """``math.<name>(*args)``: an LLVM intrinsic where one exists, else libm (``f``-suffixed for f32)."""
        if arg.kind == "int":  # floor/ceil/trunc of an int is the int itself
            return self.convert(args[0], INT)
        spec, bld = MATH_FUNCS[name], self.builder
        xs = [self.convert(v, arg).value for v in args]
        typ = xs[0].type
        if name == "isnan":
            return Val(bld.fcmp_unordered("uno", xs[0], xs[0]), result)
        if name in ("isinf", "isfinite"):
            magnitude = self.intrinsic("llvm.fabs", xs)
            symbol = "==" if name == "isinf" else "!="
            return Val(bld.fcmp_ordered(symbol, magnitude, ir.Constant(typ, _INF)), result)
        if name == "fmod":
            return Val(bld.frem(xs[0], xs[1], flags=self.flags), result)
        if spec.intrinsic is not None:
            value = self.intrinsic(spec.intrinsic, xs)
            return self.convert(Val(value, arg), result) if result.kind == "int" else Val(value, result)
        if spec.libm is None:  # table invariant: every other entry names a libm function
            raise NotImplementedError(name)
        symbol = spec.libm + ("f" if typ == ir.FloatType() else "")
        fn = self.declare(symbol, typ, [typ] * len(xs))
        return Val(bld.call(fn, xs, fastmath=self.flags), result)


_CMP: dict[type[ast.AST], str] = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
}


def _add(a: int | None, b: int | None) -> int | None:
    return a + b if a is not None and b is not None else None


def _cast_const(value: int | float | bool, to: Ty) -> int | float | bool:
    """A constant cast like the generated code would (float to int truncates and saturates)."""
    if to.kind == "bool":
        return bool(value)
    if to.kind in ("float", "complex"):
        return float(value)
    if isinstance(value, float):
        if value != value:
            return 0
        if value >= float(to.scalar.max):
            return to.scalar.max
        if value <= float(to.scalar.min):
            return to.scalar.min
        return int(value)
    return wrap_to(int(value), to.scalar)


def wrap_to(value: int, scalar: ScalarType) -> int:
    """``value`` wrapped into the range of the integer type ``scalar`` (signed or unsigned)."""
    if scalar.unsigned:
        return value % (1 << scalar.bits)
    return wrap_int(value, scalar.bits)
