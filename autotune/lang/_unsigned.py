"""Unsigned integer arithmetic (``u8``...``u64``): the operations whose IR differs from the signed ones.

Addition, subtraction, multiplication and the bitwise operators are the same instructions for both
(two's complement wraps alike, as numpy's do). Division and modulo are ``udiv``/``urem`` (floor and
truncation agree on non-negative values; a zero divisor is ``Status.ZERO_DIVISION``, ZeroDivisionError,
where numpy gives 0 with a warning: the same divergence as for signed ints), ``>>`` is a logical shift
(a count of the width or more gives 0, as numpy's ``npy_rshift``), and no exponent or shift count is
negative, so those checks vanish. Comparisons and conversions are in :meth:`Emitter.compare` and
:meth:`Emitter.convert` (``icmp u*``, ``zext``, ``uitofp``, ``fptoui.sat``).
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any

from llvmlite import ir

from ..abi import Status

if TYPE_CHECKING:
    from ._emit import Emitter, Val

__all__ = ["unsigned_divmod", "unsigned_shift"]


def unsigned_divmod(em: Emitter, op: ast.operator, a: Val, b: Val) -> Any:
    """``a // b`` or ``a % b`` of unsigned values; a zero divisor returns ZERO_DIVISION (MODULO_BY_ZERO for %)."""
    bld, zero = em.builder, ir.Constant(a.value.type, 0)
    division_by_zero = Status.MODULO_BY_ZERO if isinstance(op, ast.Mod) else Status.ZERO_DIVISION
    if b.const == 0:
        em.fail(division_by_zero)
        return zero
    if b.const is None:
        em.check(bld.icmp_unsigned("==", b.value, zero), division_by_zero)
    if isinstance(op, ast.FloorDiv):
        return bld.udiv(a.value, b.value)
    return bld.urem(a.value, b.value)


def unsigned_shift(em: Emitter, op: ast.operator, a: Val, b: Val) -> Any:
    """``a << b`` or ``a >> b`` of unsigned values: a count of the width or more gives 0."""
    bld, typ = em.builder, a.value.type
    zero = ir.Constant(typ, 0)
    if isinstance(b.const, int):
        if b.const >= typ.width:
            return zero
        count: Any = ir.Constant(typ, b.const)
        return bld.shl(a.value, count) if isinstance(op, ast.LShift) else bld.lshr(a.value, count)
    too_big = bld.icmp_unsigned(">=", b.value, ir.Constant(typ, typ.width))
    count = bld.select(too_big, zero, b.value)
    shifted = bld.shl(a.value, count) if isinstance(op, ast.LShift) else bld.lshr(a.value, count)
    return bld.select(too_big, zero, shifted)
