"""Constant folding: a constant expression evaluated at compile time exactly as the generated code would
compute it (integers wrap at 64 bits; anything the code would raise for is left to the code)."""

from __future__ import annotations

import ast

from ._model import (
    ConstValue,
)

__all__ = ["const_scalar", "fold", "wrap_int"]


def wrap_int(value: int, bits: int = 64) -> int:
    """``value`` wrapped to a signed ``bits``-bit integer (how kernel integer arithmetic overflows)."""
    half = 1 << (bits - 1)
    return ((value + half) % (1 << bits)) - half


def const_scalar(value: bool | int | float) -> ConstValue | None:
    if isinstance(value, int) and not isinstance(value, bool) and wrap_int(value) != value:
        return None  # out of range: the lowering reports it
    return value


def fold(op: ast.operator, a: ConstValue | None, b: ConstValue | None) -> ConstValue | None:
    """Fold ``a <op> b`` exactly as the generated code would compute it (None: leave it to the code)."""
    if a is None or b is None or isinstance(a, bool) or isinstance(b, bool):
        return None
    if isinstance(a, int) and isinstance(b, int):
        if isinstance(op, ast.Add):
            return wrap_int(a + b)
        if isinstance(op, ast.Sub):
            return wrap_int(a - b)
        if isinstance(op, ast.Mult):
            return wrap_int(a * b)
        if isinstance(op, ast.FloorDiv) and b != 0:
            return wrap_int(a // b)
        if isinstance(op, ast.Mod) and b != 0:
            return wrap_int(a % b)
        if isinstance(op, ast.Pow) and b >= 0:
            return wrap_int(pow(a, b, 1 << 64))
        if isinstance(op, ast.BitAnd | ast.BitOr | ast.BitXor):  # exact: within 64 bits if the operands are
            return a & b if isinstance(op, ast.BitAnd) else a | b if isinstance(op, ast.BitOr) else a ^ b
        return None
    x, y = float(a), float(b)
    if isinstance(op, ast.Add):
        return x + y
    if isinstance(op, ast.Sub):
        return x - y
    if isinstance(op, ast.Mult):
        return x * y
    if isinstance(op, ast.Div) and y != 0.0:
        return x / y
    return None
