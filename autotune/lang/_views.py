"""Lowering of array views: rows, columns and slices of arrays (``A[i]``, ``A[:, j]``, ``a[lo:hi:step]``).

A view is an :class:`~autotune.lang._expr.ArrayRef` like any array: a data pointer, extents and strides in
elements (``strides=None`` means C-contiguous, addressed exactly as a contiguous parameter is, so loops over
it vectorise as before). No element is copied. Slicing follows numpy (which follows Python's
``slice.indices``): bounds wrap once when negative and are then clamped to the extent, a negative step walks
backwards from the end, and a step of 0 is a ValueError at the call (``Status.SLICE_STEP_ZERO``). An
integer item wraps like an index and drops its dimension. Stores through a view write the viewed array.

A view local (:mod:`autotune.lang._view_types`) is a set of stack slots: pointer, extents and, unless every
view assigned to it is C-contiguous, strides; SROA turns them into SSA values.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from llvmlite import ir

from ..abi import Status
from ..errors import KernelSyntaxError
from ..types import ScalarType
from ._emit import I64, PTR, Emitter, Val
from ._lattice import INT
from ._model import ViewLocal
from ._typing import Typer
from ._view_types import contiguous_pattern, is_view, subscript_items

if TYPE_CHECKING:
    from ._expr import ArrayRef

__all__ = ["ViewsLowering"]


@dataclass(frozen=True)
class _Slots:
    """A view local's stack slots (``strides`` is None when it only ever holds C-contiguous views)."""

    dtype: ScalarType
    ptr: Any
    shape: tuple[Any, ...]
    strides: tuple[Any, ...] | None


class ViewsLowering:
    """The lowering of views, mixed into :class:`~autotune.lang._expr.ExprLowerer`."""

    if TYPE_CHECKING:
        em: Emitter
        typer: Typer

        def expr(self, node: ast.expr) -> Val: ...
        def array_ref(self, node: ast.expr) -> ArrayRef: ...
        def error(self, node: ast.AST, message: str) -> KernelSyntaxError: ...
        def _wrap_index(self, index: Val, extent: Val) -> Any: ...

    view_slots: dict[str, _Slots]

    def declare_views(self, views: Mapping[str, ViewLocal], contiguous: set[str]) -> None:
        """Stack slots for every view local (an unassigned view is empty: null pointer, zero extents)."""
        self.view_slots = {}
        em = self.em
        for name, local in views.items():

            def slot(typ: Any, label: str) -> Any:
                made = em.alloca(typ, label)
                with em.builder.goto_block(em.entry):
                    em.builder.store(ir.Constant(typ, None), made)
                return made

            shape = tuple(slot(I64, f"{name}.shape{k}") for k in range(local.ndim))
            strides = None if name in contiguous else tuple(slot(I64, f"{name}.stride{k}") for k in range(local.ndim))
            self.view_slots[name] = _Slots(local.dtype, slot(PTR, f"{name}.data"), shape, strides)

    def view_ref(self, node: ast.expr) -> ArrayRef | None:
        """The ArrayRef of a view local or a view expression (``None`` if ``node`` is neither)."""
        from ._expr import ArrayRef

        bld = self.em.builder
        if isinstance(node, ast.Name):
            slots = getattr(self, "view_slots", {}).get(node.id)
            if slots is None:
                return None
            ptr = bld.load(slots.ptr, typ=PTR)
            shape = tuple(Val(bld.load(s, typ=I64), INT, lo=0) for s in slots.shape)
            strides = None if slots.strides is None else tuple(Val(bld.load(s, typ=I64), INT) for s in slots.strides)
            return ArrayRef(ptr, slots.dtype, shape, strides)
        if isinstance(node, ast.Subscript):
            base = self.array_ref(node.value)
            items = subscript_items(node)
            if not is_view(node, len(base.shape)) or len(items) > len(base.shape):
                return None
            return self._slice(base, items)
        return None

    def assign_view(self, name: str, node: ast.expr) -> None:
        """``name = <view>``: store the view's pointer, extents and strides into the local's slots."""
        ref = self.array_ref(node)
        slots = self.view_slots[name]
        if slots.strides is None and ref.strides is not None:  # contiguous_locals and _slice disagree
            raise self.error(node, f"internal: a strided view assigned to '{name}', a contiguous view local")
        bld = self.em.builder
        bld.store(ref.ptr, slots.ptr)
        for extent, slot in zip(ref.shape, slots.shape, strict=True):
            bld.store(extent.value, slot)
        if slots.strides is not None:
            for stride, slot in zip(self._strides(ref), slots.strides, strict=True):
                bld.store(stride.value, slot)

    def strided_offset(self, ref: ArrayRef, indexes: Sequence[Any]) -> Any:
        """The element offset of wrapped ``indexes`` in an array with explicit strides: sum of index * stride."""
        bld = self.em.builder
        offset: Any = None
        for value, stride in zip(indexes, self._strides(ref), strict=True):
            term = value if stride.const == 1 else bld.mul(value, stride.value, flags=["nsw"])
            offset = term if offset is None else bld.add(offset, term, flags=["nsw"])
        return offset if offset is not None else ir.Constant(I64, 0)

    # ---- helpers -------------------------------------------------------------------------------
    def _strides(self, ref: ArrayRef) -> tuple[Val, ...]:
        """Explicit strides of ``ref`` (for a C-contiguous one, products of the later extents)."""
        if ref.strides is not None:
            return ref.strides
        bld = self.em.builder
        out = [Val(ir.Constant(I64, 1), INT, lo=1, const=1)]
        for extent in reversed(ref.shape[1:]):
            prev = out[-1]
            value = extent.value if prev.const == 1 else bld.mul(prev.value, extent.value, flags=["nsw"])
            out.append(Val(value, INT, lo=0))
        return tuple(reversed(out))

    def _slice(self, base: ArrayRef, items: list[ast.expr]) -> ArrayRef:
        from ._expr import ArrayRef

        bld = self.em.builder
        strides = self._strides(base)
        offset: Any = ir.Constant(I64, 0)
        shape: list[Val] = []
        new_strides: list[Val] = []
        padded: list[ast.expr] = [*items, *(ast.Slice() for _ in range(len(base.shape) - len(items)))]
        for k, item in enumerate(padded):
            extent, stride = base.shape[k], strides[k]
            if isinstance(item, ast.Slice):
                start, length, step = self._bounds(item, extent)
                shape.append(Val(length, INT, lo=0))
                if isinstance(step, int):
                    scaled = stride if step == 1 else Val(bld.mul(stride.value, ir.Constant(I64, step)), INT)
                else:
                    scaled = Val(bld.mul(stride.value, step), INT)
                new_strides.append(scaled)
            else:
                start = self._wrap_index(self._int(item), extent)
            term = start if stride.const == 1 else bld.mul(start, stride.value)
            offset = bld.add(offset, term)
        # a view's start may lie one past the end (an empty slice), so no 'inbounds' promise here
        ptr = bld.gep(base.ptr, [offset], source_etype=base.dtype.ir_type)
        contiguous = base.strides is None and contiguous_pattern(items, len(base.shape))
        return ArrayRef(ptr, base.dtype, tuple(shape), None if contiguous else tuple(new_strides))

    def _int(self, node: ast.expr) -> Val:
        t = self.typer.type_of(node)
        if t.kind == "float":
            raise self.error(node, f"slice indices and array indexes must be integers, got {t}")
        return self.em.convert(self.expr(node), INT)

    def _bounds(self, item: ast.Slice, extent: Val) -> tuple[Any, Any, int | Any]:
        """(start, length, step) of ``item`` over ``extent``, as ``slice.indices`` gives them; the step is
        an int when it is a compile-time constant."""
        em, bld = self.em, self.em.builder
        zero, one, n = ir.Constant(I64, 0), ir.Constant(I64, 1), extent.value
        step_const: int | None = 1
        step: Any = one
        if item.step is not None:
            value = self._int(item.step)
            step_const = value.const if isinstance(value.const, int) else None
            step = value.value
        if step_const == 0:
            em.fail(Status.SLICE_STEP_ZERO)
            return zero, zero, 1
        lo = None if item.lower is None else self._int(item.lower).value
        hi = None if item.upper is None else self._int(item.upper).value

        def clamp(x: Any, low: Any, high: Any) -> Any:  # x < 0: x + n, then into [low, high]
            wrapped = bld.select(bld.icmp_signed("<", x, zero), bld.add(x, n), x)
            wrapped = bld.select(bld.icmp_signed("<", wrapped, low), low, wrapped)
            return bld.select(bld.icmp_signed(">", wrapped, high), high, wrapped)

        def up() -> tuple[Any, Any]:
            start = zero if lo is None else clamp(lo, zero, n)
            stop = n if hi is None else clamp(hi, zero, n)
            span = bld.sub(stop, start)
            if step_const != 1:
                span = bld.add(bld.udiv(bld.sub(span, one), step), one)
            return start, bld.select(bld.icmp_signed("<", start, stop), span, zero)

        def down() -> tuple[Any, Any]:
            last, before = bld.sub(n, one), ir.Constant(I64, -1)
            start = last if lo is None else clamp(lo, before, last)
            stop = before if hi is None else clamp(hi, before, last)
            span = bld.add(bld.udiv(bld.sub(bld.sub(start, stop), one), bld.sub(zero, step)), one)
            return start, bld.select(bld.icmp_signed(">", start, stop), span, zero)

        if step_const is not None:
            start, length = up() if step_const > 0 else down()
            return start, length, step_const
        em.check(bld.icmp_signed("==", step, zero), Status.SLICE_STEP_ZERO)
        positive = bld.icmp_signed(">", step, zero)
        (s_up, l_up), (s_down, l_down) = up(), down()
        return bld.select(positive, s_up, s_down), bld.select(positive, l_up, l_down), step
