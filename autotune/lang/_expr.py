"""Lowering of kernel expressions to IR values.

Types come from :class:`~autotune.lang._typing.Typer` (one set of rules for inference and lowering);
values from :class:`~autotune.lang._emit.Emitter`. Short-circuit operators (``and``, ``or``, chained
comparisons, ``a if c else b``) branch like Python, so a guarded division or index never executes.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from llvmlite import ir

from ..abi import Status
from ..errors import KernelSyntaxError
from ..types import ScalarType, c128
from ._builtins import NUMPY_CASTS, NUMPY_FUNCS
from ._complex import cmath_call, complex_abs, complex_const, complex_parts, make_complex
from ._emit import I64, Emitter, Val, reg_type
from ._lattice import (
    BOOL,
    COMPLEX,
    FLOAT,
    INT,
    Ty,
    TypingProblem,
    binop_types,
    cmath_types,
    compare_type,
    const_type,
    literal_problem,
    math_types,
    numpy_types,
)
from ._model import Builtin, Callee, CmathFunc, KernelInfo, MathFunc, NumpyFunc
from ._tuples import tuple_item
from ._typing import Typer
from ._views import ViewsLowering

__all__ = ["ArrayRef", "ExprLowerer", "Local"]


@dataclass(frozen=True)
class ArrayRef:
    """Where an array's elements live: data pointer, element type, extents and strides (i64 values).

    ``strides`` are in elements, one per dimension (negative and zero allowed); ``None`` means C-contiguous,
    addressed in Horner form as before views existed, which is what LLVM vectorises best. Views
    (:mod:`autotune.lang._views`) and arrays passed with any strides have explicit strides.
    """

    ptr: Any
    dtype: ScalarType
    shape: tuple[Val, ...]
    strides: tuple[Val, ...] | None = None


@dataclass(frozen=True)
class Local:
    """A local variable's stack slot and type (``fixed``: declared by an annotation, never widened)."""

    slot: Any
    ty: Ty
    fixed: bool = False


class ExprLowerer(ViewsLowering):
    """Lowers expressions; the statement lowerer extends it with statements and the function frame."""

    def __init__(self, info: KernelInfo, typer: Typer, em: Emitter) -> None:
        self.info = info
        self.typer = typer
        self.em = em
        self.locals: dict[str, Local] = {}
        self.arrays: dict[str, ArrayRef] = {}
        self.array_slots: dict[str, Callable[[], ArrayRef]] = {}  # local arrays, loaded where used
        self.tuple_args: dict[str, list[Val]] = {}  # the items of tuple parameters
        self.bounds: dict[str, int] = {}  # lower bounds of loop variables inside their loop

    def error(self, node: ast.AST, message: str) -> KernelSyntaxError:
        return self.info.error(node, message)

    def bug(self, node: ast.AST, message: str) -> KernelSyntaxError:
        """A rule the typed pass (``_typed``) enforces, met here anyway: a compiler bug, still positioned."""
        return self.info.error(node, f"internal compiler error, please report it: {message}")

    def call_function(self, node: ast.Call, callee: Callee) -> list[Val]:
        """The values a call to a function of the language returns (the statement lowerer inlines it)."""
        raise self.error(node, f"'{callee.label}' cannot be called here")

    def type_of(self, node: ast.expr) -> Ty:
        return self.typer.type_of(node)

    # ---- entry point -----------------------------------------------------------------------------
    def expr(self, node: ast.expr) -> Val:
        """Emit ``node``; the value's type is the one the typer gives."""
        const = self.typer.const_of(node)
        if const is not None:
            return self.em.const(const_type(const), const)
        if isinstance(node, ast.Constant):
            if isinstance(node.value, complex):
                return Val(complex_const(node.value), COMPLEX)
            raise self.error(node, f"integer constant {node.value!r} does not fit in 64 bits")
        if isinstance(node, ast.Name):
            return self._name(node)
        if isinstance(node, ast.Attribute) and node.attr in ("real", "imag"):
            return self._part(node)
        if isinstance(node, ast.BinOp):
            return self._binop(node)
        if isinstance(node, ast.UnaryOp):
            return self._unary(node)
        if isinstance(node, ast.Compare):
            return self._compare(node)
        if isinstance(node, ast.BoolOp):
            return self._boolop(node)
        if isinstance(node, ast.IfExp):
            return self._ifexp(node)
        if isinstance(node, ast.Subscript):
            return self._subscript(node)
        if isinstance(node, ast.Call):
            return self._call(node)
        if isinstance(node, ast.Attribute) and node.attr == "size":
            return self._size(node)
        raise self.error(node, f"'{ast.unparse(node)}' cannot be used as a value")

    # ---- names and arrays ----------------------------------------------------------------------
    def _name(self, node: ast.Name) -> Val:
        local = self.locals.get(node.id)
        if local is None:
            self.type_of(node)  # raises the precise error
            raise self.error(node, f"name '{node.id}' cannot be used as a value")
        value = self.em.builder.load(local.slot, typ=reg_type(local.ty), name=node.id)
        return Val(value, local.ty, lo=self.bounds.get(node.id) if local.ty.kind == "int" else None)

    def array_ref(self, node: ast.expr) -> ArrayRef:
        if isinstance(node, ast.Name) and node.id in self.array_slots:
            return self.array_slots[node.id]()
        ref = self.arrays.get(node.id) if isinstance(node, ast.Name) else None
        if ref is None:
            ref = self.view_ref(node)
        if ref is None:
            raise self.error(node, "only arrays can be indexed")
        return ref

    def element_ptr(self, node: ast.Subscript) -> tuple[Any, ScalarType]:
        """Address of ``a[i, j, ...]``: C order, negative indexes wrap like Python, no bounds check."""
        self.type_of(node)  # checks the index count and index types
        ref = self.array_ref(node.value)
        indexes = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        bld = self.em.builder
        offset: Any = ir.Constant(I64, 0)
        if ref.strides is not None:
            wrapped = [
                self._wrap_index(self.em.convert(self.expr(i), INT), ref.shape[k]) for k, i in enumerate(indexes)
            ]
            offset = self.strided_offset(ref, wrapped)
        for k, index in enumerate(indexes if ref.strides is None else ()):
            value = self._wrap_index(self.em.convert(self.expr(index), INT), ref.shape[k])
            offset = (
                value if k == 0 else bld.add(bld.mul(offset, ref.shape[k].value, flags=["nsw"]), value, flags=["nsw"])
            )
        ptr = bld.gep(ref.ptr, [offset], inbounds=True, source_etype=ref.dtype.ir_type)
        return ptr, ref.dtype

    def _wrap_index(self, index: Val, extent: Val) -> Any:
        bld = self.em.builder
        if isinstance(index.const, int) and index.const < 0:
            if isinstance(extent.const, int):
                return ir.Constant(I64, extent.const + index.const)
            return bld.add(extent.value, index.value)
        if index.lo is not None and index.lo >= 0:
            return index.value
        negative = bld.icmp_signed("<", index.value, ir.Constant(I64, 0))
        return bld.select(negative, bld.add(index.value, extent.value), index.value)

    def load_element(self, ptr: Any, dtype: ScalarType) -> Val:
        value = self.em.builder.load(ptr, typ=dtype.ir_type)
        if dtype.kind == "bool":
            value = self.em.builder.icmp_unsigned("!=", value, ir.Constant(value.type, 0))
        return Val(value, Ty(dtype))

    def store_element(self, ptr: Any, dtype: ScalarType, value: Val) -> None:
        converted = self.em.convert(value, Ty(dtype)).value
        if dtype.kind == "bool":
            converted = self.em.builder.zext(converted, dtype.ir_type)
        self.em.builder.store(converted, ptr)

    def _subscript(self, node: ast.Subscript) -> Val:
        base = node.value
        item = tuple_item(node, self.typer.params)
        if item is not None:
            return self.tuple_args[item[0].name][item[1]]
        if isinstance(base, ast.Attribute) and base.attr == "shape":
            return self.shape(base.value, node.slice)
        callee = self.typer.callee(base.func) if isinstance(base, ast.Call) else None
        if isinstance(callee, Callee) and isinstance(base, ast.Call):  # f(x)[k]: one value of a tuple result
            self.type_of(node)  # checks the constant index
            k = self.typer.const_of(node.slice)
            return self.call_function(base, callee)[int(k or 0)]
        ptr, dtype = self.element_ptr(node)
        return self.load_element(ptr, dtype)

    def shape(self, array: ast.expr, index: ast.expr | None) -> Val:
        ref = self.array_ref(array)
        k = 0 if index is None else self.typer.const_of(index)
        if not isinstance(k, int) or isinstance(k, bool):
            raise self.error(index or array, "x.shape[k] needs a constant integer k")
        ndim = len(ref.shape)
        if not -ndim <= k < ndim:
            raise self.error(
                index or array, f"'{ast.unparse(array)}' has {ndim} dimension(s); shape index {k} is out of range"
            )
        extent = ref.shape[k]
        return Val(extent.value, INT, lo=0, const=extent.const)

    def _size(self, node: ast.Attribute) -> Val:
        """``a.size``: the product of the extents (``a.ndim`` is a constant, folded by the typer)."""
        self.type_of(node)
        ref = self.array_ref(node.value)
        if all(isinstance(e.const, int) for e in ref.shape):
            size = 1
            for extent in ref.shape:
                size *= int(extent.const or 0)
            return self.em.const(INT, size)
        value: Any = ir.Constant(I64, 1)
        for extent in ref.shape:
            value = self.em.builder.mul(value, extent.value, flags=["nuw", "nsw"])
        return Val(value, INT, lo=0)

    # ---- operators -----------------------------------------------------------------------------
    def binop(self, op: ast.operator, left: Val, right: Val, right_node: ast.expr, node: ast.AST) -> Val:
        try:
            operand, result = binop_types(op, left.ty, right.ty, self.typer.const_of(right_node))
        except TypingProblem as exc:
            raise self.error(node, str(exc)) from None
        for side in (left, right):
            problem = literal_problem(side.const if side.ty.weak else None, operand)
            if problem is not None:
                raise self.error(node, problem)
        return self.em.binop(op, left, right, operand, result)

    def _binop(self, node: ast.BinOp) -> Val:
        self.type_of(node)
        left = self.expr(node.left)
        right = self.expr(node.right)
        return self.binop(node.op, left, right, node.right, node)

    def _unary(self, node: ast.UnaryOp) -> Val:
        result = self.type_of(node)
        value = self.expr(node.operand)
        if isinstance(node.op, ast.Not):
            return Val(self.em.builder.not_(self.em.truthy(value)), BOOL)
        value = self.em.convert(value, result)
        if isinstance(node.op, ast.UAdd):
            return value
        if isinstance(node.op, ast.USub):
            return self.em.negate(value)
        return Val(self.em.builder.not_(value.value), result)  # ~x == -x - 1

    def _compare(self, node: ast.Compare) -> Val:
        self.type_of(node)
        em, bld = self.em, self.em.builder
        left = self.expr(node.left)
        pairs = list(zip(node.ops, node.comparators, strict=True))
        merge = em.block("cmp.end") if len(pairs) > 1 else None
        incoming: list[tuple[Any, Any]] = []
        for k, (op, comparator) in enumerate(pairs):
            right = self.expr(comparator)
            common = compare_type(left.ty, right.ty)
            known = literal_comparison(op, left, right, common)
            if known is not None:
                result = ir.Constant(ir.IntType(1), int(known))
            else:
                result = em.compare(op, em.convert(left, common), em.convert(right, common))
            if merge is None:
                return Val(result, BOOL)
            incoming.append((result if k == len(pairs) - 1 else ir.Constant(result.type, 0), bld.block))
            if k == len(pairs) - 1:
                bld.branch(merge)
            else:
                next_block = em.block("cmp.next")
                bld.cbranch(result, next_block, merge)
                em.position(next_block)
            left = right
        return self._phi(merge, BOOL, incoming)

    def _phi(self, merge: Any, ty: Ty, incoming: list[tuple[Any, Any]]) -> Val:
        self.em.position(merge)
        phi = self.em.builder.phi(reg_type(ty))
        for value, block in incoming:
            phi.add_incoming(value, block)
        return Val(phi, ty)

    def _boolop(self, node: ast.BoolOp) -> Val:
        result = self.type_of(node)
        em, bld = self.em, self.em.builder
        merge = em.block("boolop.end")
        incoming: list[tuple[Any, Any]] = []
        for k, operand in enumerate(node.values):
            value = self.expr(operand)
            converted = em.convert(value, result).value
            if k == len(node.values) - 1:
                incoming.append((converted, bld.block))
                bld.branch(merge)
                break
            truth = em.truthy(value)
            incoming.append((converted, bld.block))
            next_block = em.block("boolop.next")
            if isinstance(node.op, ast.And):
                bld.cbranch(truth, next_block, merge)
            else:
                bld.cbranch(truth, merge, next_block)
            em.position(next_block)
        return self._phi(merge, result, incoming)

    def _ifexp(self, node: ast.IfExp) -> Val:
        result = self.type_of(node)
        em, bld = self.em, self.em.builder
        test = self.typer.const_of(node.test)
        if test is not None:
            return em.convert(self.expr(node.body if test else node.orelse), result)
        truth = em.truthy(self.expr(node.test))
        then_block, else_block, merge = em.block("ifexp.then"), em.block("ifexp.else"), em.block("ifexp.end")
        bld.cbranch(truth, then_block, else_block)
        incoming: list[tuple[Any, Any]] = []
        for block, branch in ((then_block, node.body), (else_block, node.orelse)):
            em.position(block)
            incoming.append((em.convert(self.expr(branch), result).value, bld.block))
            bld.branch(merge)
        return self._phi(merge, result, incoming)

    # ---- calls ---------------------------------------------------------------------------------
    def _part(self, node: ast.Attribute) -> Val:
        """``z.real``/``z.imag``; of a real number its value and a zero of its type."""
        result = self.type_of(node)
        value = self.expr(node.value)
        if value.ty.kind == "complex":
            real, imag = complex_parts(self.em, value.value)
            return Val(real if node.attr == "real" else imag, result)
        value = self.em.convert(value, result)
        return value if node.attr == "real" else self.em.const(result, 0)

    def _complex_call(self, node: ast.Call, callee: object, result: Ty) -> Val | None:
        """``z.conjugate()``, ``complex(a, b)``, ``abs(z)``, ``cmath.*`` and ``np.*`` of a complex (None: not one)."""
        em = self.em
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "conjugate" and callee is None:
            value = em.convert(self.expr(func.value), result)
            if result.kind != "complex":
                return value
            real, imag = complex_parts(em, value.value)
            return Val(make_complex(em, real, em.builder.fneg(imag, flags=em.flags)), result)
        if isinstance(callee, CmathFunc):
            args = [self.expr(a) for a in node.args]
            arg, _ = cmath_types(callee.name, [a.ty for a in args])
            value = cmath_call(em, callee.name, [em.convert(a, arg).value for a in args])
            return Val(value, result)
        if isinstance(callee, Builtin) and callee.name == "complex":
            parts = [em.convert(self.expr(a), FLOAT).value for a in node.args]
            return Val(make_complex(em, parts[0], parts[1] if len(parts) > 1 else em.const(FLOAT, 0.0).value), result)
        if not isinstance(callee, Builtin | NumpyFunc) or callee.name in ("len", "bool", *NUMPY_CASTS):
            return None  # casts and truth convert like any value
        if not any(self.type_of(a).kind == "complex" for a in node.args):
            return None
        name = callee.name
        arg = em.convert(self.expr(node.args[0]), Ty(c128)).value
        if name in ("abs", "absolute"):
            return Val(complex_abs(em, arg), result)
        return Val(cmath_call(em, name, [arg]), result)

    def _call(self, node: ast.Call) -> Val:
        result = self.type_of(node)
        func = node.func
        callee = self.typer.callee(func)
        if isinstance(callee, Callee):
            return self.call_function(node, callee)[0]
        handled = self._complex_call(node, callee, result)
        if handled is not None:
            return handled
        if isinstance(callee, NumpyFunc):
            return self._numpy(callee.name, [self.expr(a) for a in node.args], result)
        if isinstance(callee, Builtin):
            if callee.name == "len":
                return self.shape(node.args[0], None)
            args = [self.expr(a) for a in node.args]
            if callee.name in ("min", "max"):
                return self._minmax(callee.name, args, result)
            if callee.name == "abs":
                return self._abs(self.em.convert(args[0], result))
            return self.em.convert(args[0], result)
        if isinstance(callee, MathFunc):
            name = callee.name
        else:
            raise self.error(node, f"call to unsupported function '{ast.unparse(func)}'")
        args = [self.expr(a) for a in node.args]
        arg, res = math_types(name, [a.ty for a in args])
        return self.em.math(name, args, arg, res)

    def _numpy(self, name: str, args: list[Val], result: Ty) -> Val:
        """``np.<name>(*args)`` on scalars, as numpy computes it for the types :func:`numpy_types` picks."""
        em, bld = self.em, self.em.builder
        arg, _ = numpy_types(name, [a.ty for a in args])
        if name in NUMPY_CASTS:
            return em.convert(args[0], result)
        xs = [em.convert(a, arg) for a in args]
        spec = NUMPY_FUNCS[name]
        if arg.kind == "int":
            if spec.rule == "round":
                return xs[0]
            if name == "power":
                if isinstance(xs[1].const, int) and xs[1].const < 0:
                    em.fail(Status.NEGATIVE_POWER)  # numpy: integers to negative integer powers are not allowed
                    return em.const(result, 0)
                return em.binop(ast.Pow(), xs[0], xs[1], arg, result)
            if name == "fmod":  # C remainder; numpy gives 0 for a zero divisor (and INT_MIN % -1)
                x, y = xs[0].value, xs[1].value
                zero, one = ir.Constant(x.type, 0), ir.Constant(x.type, 1)
                if arg.scalar.unsigned:
                    nonzero = bld.icmp_unsigned("!=", y, zero)
                    return Val(bld.select(nonzero, bld.urem(x, bld.select(nonzero, y, one)), zero), result)
                trivial = bld.or_(bld.icmp_signed("==", y, zero), bld.icmp_signed("==", y, ir.Constant(x.type, -1)))
                return Val(bld.select(trivial, zero, bld.srem(x, bld.select(trivial, one, y))), result)
        if name in ("abs", "absolute"):
            return self._abs(xs[0])
        if name in ("minimum", "maximum"):
            return self._np_minmax(name, xs[0], xs[1], result)
        if name == "sign":
            return self._sign(xs[0])
        if spec.math is None:  # table invariant: every other entry computes through a math function
            raise NotImplementedError(name)
        return em.math(spec.math, xs, arg, result)

    def _np_minmax(self, name: str, x: Val, y: Val, result: Ty) -> Val:
        """``np.minimum``/``np.maximum``: a NaN in either argument gives NaN (unlike ``min``/``max``)."""
        em, bld = self.em, self.em.builder
        op: ast.cmpop = ast.Lt() if name == "minimum" else ast.Gt()
        chosen = bld.select(em.compare(op, x, y), x.value, y.value)
        if result.kind == "float":
            chosen = bld.select(bld.fcmp_unordered("uno", x.value, x.value), x.value, chosen)
        return Val(chosen, result)

    def _sign(self, x: Val) -> Val:
        """``np.sign``: -1, 0 or 1 in the argument's type; NaN for NaN; ``sign(-0.0)`` is ``0.0``."""
        bld, typ = self.em.builder, x.value.type
        if x.ty.kind == "int" and x.ty.scalar.unsigned:
            return Val(bld.zext(bld.icmp_unsigned("!=", x.value, ir.Constant(typ, 0)), typ), x.ty)
        if x.ty.kind == "int":
            positive = bld.zext(bld.icmp_signed(">", x.value, ir.Constant(typ, 0)), typ)
            negative = bld.zext(bld.icmp_signed("<", x.value, ir.Constant(typ, 0)), typ)
            return Val(bld.sub(positive, negative), x.ty)
        value = bld.select(bld.fcmp_ordered("<", x.value, ir.Constant(typ, 0.0)), ir.Constant(typ, -1.0), x.value)
        value = bld.select(bld.fcmp_ordered(">", x.value, ir.Constant(typ, 0.0)), ir.Constant(typ, 1.0), value)
        value = bld.select(bld.fcmp_ordered("==", x.value, ir.Constant(typ, 0.0)), ir.Constant(typ, 0.0), value)
        return Val(value, x.ty)

    def _minmax(self, name: str, args: list[Val], result: Ty) -> Val:
        """Python's ``min``/``max``: the first of equal values wins, ``min(nan, 1)`` is nan (select form)."""
        em = self.em
        values = [em.convert(a, result) for a in args]
        best = values[0]
        op: ast.cmpop = ast.Lt() if name == "min" else ast.Gt()
        for value in values[1:]:
            chosen = em.builder.select(em.compare(op, value, best), value.value, best.value)
            lows = [v.lo for v in (value, best)]
            if name == "min":
                lo = min(lows) if None not in lows else None  # type: ignore[type-var]
            else:
                lo = max((x for x in lows if x is not None), default=None)
            best = Val(chosen, result, lo=lo)
        return best

    def _abs(self, value: Val) -> Val:
        if value.ty.kind == "int" and value.ty.scalar.unsigned:
            return value
        if value.ty.kind == "float":
            return Val(self.em.intrinsic("llvm.fabs", [value.value]), value.ty)
        bld = self.em.builder
        negative = bld.icmp_signed("<", value.value, ir.Constant(value.value.type, 0))
        return Val(bld.select(negative, self.em.negate(value).value, value.value), value.ty, lo=0)


def literal_comparison(op: ast.cmpop, left: Val, right: Val, common: Ty) -> bool | None:
    """The constant outcome of comparing a strong integer with a Python int literal outside its range
    (numpy 2 compares those exactly: ``np.uint8(5) == -1`` is False); None when the code must compare."""
    if common.weak or common.kind != "int":
        return None
    for literal, flip in ((right, False), (left, True)):
        value = literal.const
        if not literal.ty.weak or not isinstance(value, int) or isinstance(value, bool):
            continue
        if common.scalar.min <= value <= common.scalar.max:
            return None
        above = value > common.scalar.max  # the literal is above (or below) every value of the other side
        symbol = type(op)
        if flip:
            symbol = {ast.Lt: ast.Gt, ast.Gt: ast.Lt, ast.LtE: ast.GtE, ast.GtE: ast.LtE}.get(symbol, symbol)
        if symbol in (ast.Eq, ast.NotEq):
            return symbol is ast.NotEq
        return (symbol in (ast.Lt, ast.LtE)) == above
    return None
