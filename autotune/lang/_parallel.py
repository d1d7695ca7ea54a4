"""Lowering a ``prange`` loop whose variant runs it on k >= 2 threads (the ``parallel`` knob).

The body is outlined into its own function and run through the process's thread pool
(:mod:`autotune.pool`, imported as the external symbol ``autotune.pool.run``)::

    i32  kernel.prangeN(ptr ctx, i64 lo, i64 hi, ptr partial)   the iterations [lo, hi) of the trip count
    void kernel.prangeN.task(ptr ctx, i64 chunk)                 chunk c of k: its range, its partial slot

``ctx`` is a struct on the kernel's stack: the trip count, the partials' address, the loop's start, the
values of the locals the body reads (it cannot change them: see :mod:`autotune.lang._prange`) and the data
pointer and extents of the array parameters it uses (module arrays are globals, reached directly). The
partials are ``[k x {i32 status, reductions...}]``, also on the kernel's stack; chunk c covers iterations
``[c*q + min(c, r), ...)`` with ``q, r = divmod(count, k)``. After the pool returns, the kernel returns
the first nonzero status in chunk order (the status of the lowest failing iteration's chunk, as close as
threads allow to Python's first failing iteration), then folds each reduction's partials into the local
in chunk order: the same result for a given k on any thread schedule, even when the pool is busy and
the caller runs every chunk itself. Sums and products start a chunk at 0 or 1, ``min``/``max`` at the
value before the loop (both are idempotent, so every chunk may start there). Fewer iterations than
chunks run every chunk on the calling thread (threads would only cost their wake-up).
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from llvmlite import ir

from ..abi import POOL_RUN
from ._emit import I32, I64, PTR, Val, reg_type
from ._expr import ArrayRef
from ._lattice import INT
from ._model import Builtin, KernelInfo
from ._prange import LoopPlan, is_prange_call, plan_of

if TYPE_CHECKING:
    from ._lower import _Lowering

__all__ = ["is_parallel_loop", "lower_parallel", "uses_prange"]

_VOID = ir.VoidType()


def _builtin_of(info: KernelInfo) -> Callable[[ast.expr, str], bool]:
    shadowed = {p.name for p in info.params} | set(info.locals)

    def is_builtin(func: ast.expr, name: str) -> bool:
        return isinstance(func, ast.Name) and func.id not in shadowed and info.names.get(func.id) == Builtin(name)

    return is_builtin


def is_parallel_loop(node: ast.For, info: KernelInfo) -> bool:
    """Whether ``node`` iterates over ``prange(...)``."""
    return is_prange_call(node.iter, _builtin_of(info))


def uses_prange(info: KernelInfo) -> bool:
    """Whether the kernel has a ``prange`` loop (and so a ``parallel`` knob)."""
    return any(isinstance(n, ast.For) and is_parallel_loop(n, info) for n in ast.walk(info.tree))


def lower_parallel(outer: _Lowering, node: ast.For, outline: Callable[[Any], _Lowering]) -> None:
    """Emit ``node`` (a prange loop) as a call of the pool with ``outer.knobs.parallel`` chunks.

    ``outline(fn)`` gives a statement lowering that emits into function ``fn`` of the same module."""
    em, bld, info = outer.em, outer.em.builder, outer.info
    if not isinstance(node.iter, ast.Call) or not isinstance(node.target, ast.Name):
        raise outer.error(node, "for loops must iterate over range(...)")
    plan = plan_of(node, _builtin_of(info))
    start, stop, step = outer.range_bounds(node.iter)
    if not isinstance(step.const, int) or step.const <= 0:  # the typed pass refuses these first
        raise outer.bug(node.iter, "prange() needs a constant positive step (write range(...) for other steps)")
    count = outer._trip_count(start, stop, step)
    chunks = outer.knobs.parallel
    names = {n.id for s in node.body for n in ast.walk(s) if isinstance(n, ast.Name)}
    shared = sorted(n for n in names if n in outer.locals and n not in plan.private and n not in plan.reductions)
    arrays = _arrays_read(outer, names)
    reductions = sorted(plan.reductions)
    fields: list[Any] = [I64, PTR, I64]
    fields += [reg_type(outer.locals[n].ty) for n in (*shared, *reductions)]
    for ref in arrays.values():  # data pointer, extents, and the strides of a view or strided argument
        fields += [PTR] + [I64] * (len(ref.shape) + len(ref.strides or ()))
    ctx_ty = ir.LiteralStructType(fields)
    partial_ty = ir.LiteralStructType([I32] + [reg_type(outer.locals[n].ty) for n in reductions])
    partials = em.alloca(ir.ArrayType(partial_ty, chunks), "prange.partials")
    ctx = em.alloca(ctx_ty, "prange.ctx")
    values: list[Any] = [count, partials, start.value]
    values += [bld.load(outer.locals[n].slot, typ=reg_type(outer.locals[n].ty)) for n in (*shared, *reductions)]
    for ref in arrays.values():
        values += [ref.ptr, *(extent.value for extent in ref.shape), *(s.value for s in ref.strides or ())]
    for k, value in enumerate(values):
        bld.store(value, _field(bld, ctx, ctx_ty, k))

    number = sum(1 for f in outer.module.functions if f.name.startswith("kernel.prange") and f.name.endswith(".task"))
    body = ir.Function(outer.module, ir.FunctionType(I32, [PTR, I64, I64, PTR]), name=f"kernel.prange{number}")
    _Body(outer, outline(body), node, plan, ctx_ty, partial_ty, shared, arrays, reductions, start, stop, step).emit()
    task = _task(outer.module, body, chunks, ctx_ty, partial_ty)

    run = em.declare(POOL_RUN, _VOID, [PTR, PTR, I64, I64])
    threads = bld.select(
        bld.icmp_unsigned(">=", count, ir.Constant(I64, chunks)), ir.Constant(I64, chunks), ir.Constant(I64, 1)
    )
    bld.call(run, [task, ctx, ir.Constant(I64, chunks), threads])
    for c in range(chunks):
        status = bld.load(_slot(bld, partials, partial_ty, chunks, c, 0), typ=I32)
        failed, ok = em.block("prange.failed"), em.block("prange.ok")
        bld.cbranch(bld.icmp_unsigned("!=", status, ir.Constant(I32, 0)), failed, ok)
        em.position(failed)
        bld.ret(status)
        em.position(ok)
    for j, name in enumerate(reductions, 1):
        local, op = outer.locals[name], plan.reductions[name]
        parts = [
            Val(bld.load(_slot(bld, partials, partial_ty, chunks, c, j), typ=reg_type(local.ty)), local.ty)
            for c in range(chunks)
        ]
        if op in ("min", "max"):
            acc = parts[0]
            for part in parts[1:]:
                acc = outer._minmax(op, [acc, part], local.ty)
        else:
            acc = Val(bld.load(local.slot, typ=reg_type(local.ty)), local.ty)
            combine = ast.Add() if op == "+" else ast.Mult()
            for part in parts:
                acc = em.binop(combine, acc, part, local.ty, local.ty)
        outer.assign_local(name, acc, node)


class _Body:
    """Emits the outlined body: its frame from ``ctx``, the loop over ``[lo, hi)``, the partials."""

    def __init__(
        self,
        outer: _Lowering,
        inner: _Lowering,
        node: ast.For,
        plan: LoopPlan,
        ctx_ty: Any,
        partial_ty: Any,
        shared: list[str],
        arrays: dict[str, ArrayRef],
        reductions: list[str],
        start: Val,
        stop: Val,
        step: Val,
    ) -> None:
        self.outer, self.inner, self.node, self.plan = outer, inner, node, plan
        self.ctx_ty, self.partial_ty = ctx_ty, partial_ty
        self.shared, self.arrays, self.reductions = shared, arrays, reductions
        self.start, self.stop, self.step = start, stop, step

    def emit(self) -> None:
        from ._lower import _assigns, _loop_var_bound  # the statement lowering owns these loop facts

        outer, inner, node = self.outer, self.inner, self.node
        em, bld, fn = inner.em, inner.em.builder, inner.em.fn
        fn.linkage = "internal"
        fn.attributes.add("nounwind")
        if outer.knobs.prefer_vector_width:
            em.string_attributes(fn)
            fn.attributes.add(f'"prefer-vector-width"="{outer.knobs.prefer_vector_width}"')
        ctx, lo, hi, partial = fn.args
        ctx.name, lo.name, hi.name, partial.name = "ctx", "lo", "hi", "partial"
        for name in outer.types:
            inner._declare_local(name)
        first = em.block("body")
        em.position(first)
        k = 2
        start = Val(bld.load(_field(bld, ctx, self.ctx_ty, k), typ=I64), INT, lo=self.start.lo)
        for name in (*self.shared, *self.reductions):
            k += 1
            local = inner.locals[name]
            value = bld.load(_field(bld, ctx, self.ctx_ty, k), typ=reg_type(local.ty))
            op = self.plan.reductions.get(name)
            if op == "+" or op == "*":
                value = em.const(local.ty, 0 if op == "+" else 1).value
            bld.store(value, local.slot)
        for name, ref in self.arrays.items():
            k += 1
            ptr = bld.load(_field(bld, ctx, self.ctx_ty, k), typ=PTR)
            extents, strides = [], []
            for _ in ref.shape:
                k += 1
                extents.append(Val(bld.load(_field(bld, ctx, self.ctx_ty, k), typ=I64), INT, lo=0))
            for _ in ref.strides or ():
                k += 1
                strides.append(Val(bld.load(_field(bld, ctx, self.ctx_ty, k), typ=I64), INT))
            inner.arrays[name] = ArrayRef(ptr, ref.dtype, tuple(extents), tuple(strides) if ref.strides else None)
        for name, ref in outer.arrays.items():
            if isinstance(ref.ptr, ir.GlobalVariable):
                inner.arrays[name] = ref
        inner.bounds.update({n: outer.bounds[n] for n in self.shared if n in outer.bounds})  # unchanged inside

        counter = em.alloca(I64, "prange.k")
        bld.store(lo, counter)
        head, loop, latch, done = (em.block(f"prange.{n}") for n in ("cond", "body", "latch", "end"))
        bld.branch(head)
        em.position(head)
        index_k = bld.load(counter, typ=I64)
        bld.cbranch(bld.icmp_unsigned("<", index_k, hi), loop, done)
        em.position(loop)
        if self.step.const == 1:
            index = Val(bld.add(start.value, index_k, flags=["nsw"]), INT)
        else:
            index = Val(bld.add(start.value, bld.mul(index_k, ir.Constant(I64, self.step.const))), INT)
        if not isinstance(node.target, ast.Name):
            raise outer.error(node.target, "for-loop targets must be a single name")
        inner.assign_local(node.target.id, index, node.target)
        bounds: dict[str, int] = {}
        if not _assigns(node.body, node.target.id):
            bound = _loop_var_bound(self.start, self.stop, self.step)
            if bound is not None:
                bounds[node.target.id] = bound
        inner._loop_body(node, loop, latch, done, bounds)
        em.position(latch)
        bld.store(bld.add(bld.load(counter, typ=I64), ir.Constant(I64, 1), flags=["nuw"]), counter)
        inner._backedge(node, head, finite=True)
        em.position(done)
        for j, name in enumerate(self.reductions, 1):
            local = inner.locals[name]
            slot = bld.gep(
                partial, [ir.Constant(I32, 0), ir.Constant(I32, j)], inbounds=True, source_etype=self.partial_ty
            )
            bld.store(bld.load(local.slot, typ=reg_type(local.ty)), slot)
        bld.ret(ir.Constant(I32, 0))
        em.position(em.entry)
        bld.branch(first)
        inner._finish()


def _arrays_read(outer: _Lowering, names: set[str]) -> dict[str, ArrayRef]:
    """The arrays a prange body uses, as they are when the loop starts: parameters (module arrays are
    globals, reached directly), arrays the kernel created and view locals (their current buffers and
    strides; the body may not reassign them, which the typed pass checks)."""
    found: dict[str, ArrayRef] = {}
    for name in sorted(names):
        if name in outer.array_slots:
            found[name] = outer.array_slots[name]()
        elif name in outer.info.views:
            view = outer.view_ref(ast.Name(name, ast.Load()))
            if view is not None:
                found[name] = view
        elif name in outer.arrays and not isinstance(outer.arrays[name].ptr, ir.GlobalVariable):
            found[name] = outer.arrays[name]
    return found


def _task(module: Any, body: Any, chunks: int, ctx_ty: Any, partial_ty: Any) -> Any:
    """``void task(ptr ctx, i64 chunk)``: chunk ``c``'s iterations, its status stored in its partial slot."""
    fn = ir.Function(module, ir.FunctionType(_VOID, [PTR, I64]), name=f"{body.name}.task")
    fn.linkage = "internal"
    fn.attributes.add("nounwind")
    ctx, chunk = fn.args
    bld = ir.IRBuilder(fn.append_basic_block("entry"))
    count = bld.load(_field(bld, ctx, ctx_ty, 0), typ=I64)
    partials = bld.load(_field(bld, ctx, ctx_ty, 1), typ=PTR)
    k = ir.Constant(I64, chunks)
    q, r = bld.udiv(count, k), bld.urem(count, k)
    early = bld.icmp_unsigned("<", chunk, r)
    lo = bld.add(bld.mul(chunk, q), bld.select(early, chunk, r))
    hi = bld.add(bld.add(lo, q), bld.zext(early, I64))
    slot = bld.gep(partials, [ir.Constant(I64, 0), chunk], inbounds=True, source_etype=ir.ArrayType(partial_ty, chunks))
    status = bld.call(body, [ctx, lo, hi, slot])
    bld.store(status, bld.gep(slot, [ir.Constant(I32, 0), ir.Constant(I32, 0)], inbounds=True, source_etype=partial_ty))
    bld.ret_void()
    fn.type = PTR  # passed as a value: print as an opaque pointer (llvmlite prints a typed one)
    return fn


def _field(bld: Any, ctx: Any, ctx_ty: Any, k: int) -> Any:
    return bld.gep(ctx, [ir.Constant(I32, 0), ir.Constant(I32, k)], inbounds=True, source_etype=ctx_ty)


def _slot(bld: Any, partials: Any, partial_ty: Any, chunks: int, c: int, field: int) -> Any:
    return bld.gep(
        partials,
        [ir.Constant(I64, 0), ir.Constant(I64, c), ir.Constant(I32, field)],
        inbounds=True,
        source_etype=ir.ArrayType(partial_ty, chunks),
    )
