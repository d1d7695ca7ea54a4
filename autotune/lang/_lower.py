"""``lower``: one variant of a parsed kernel as LLVM IR text, plus its native ABI.

ABI of the generated function (what the dispatcher calls; :mod:`autotune.abi` owns it)::

    define i32 @kernel(<args>) nounwind

Arguments follow the Python parameters, ``Const`` ones omitted: a scalar is one argument of its C type
(a boolean is an ``i8`` 0/1), an array is its data pointer followed by one ``i64`` extent per dimension
(and, in the strided form, one ``i64`` stride in elements per dimension).
A kernel that returns a value takes one more pointer, where the result is stored (an array it created or
a tuple: 8-byte result slots, see :mod:`autotune.abi`). The ``i32`` result is
a status: 0 ok, a built-in :class:`autotune.abi.Status` (division by zero, ``range`` step 0, negative
shift count, negative runtime exponent of an int power), or from ``autotune.abi.FIRST_RAISE`` on an entry
of the kernel's own table (its ``raise`` and ``assert`` statements, numbered from the source alone, so
every variant returns the same codes); on a nonzero status nothing more is executed. Asserts are always
checked (``python -O`` does not remove them).

Loops keep i64 induction variables and a precomputed trip count so LLVM's loop vectorizer accepts them;
knob metadata goes on innermost loops only. The IR has no triple, data layout or absolute address: host
arrays are ``external global`` symbols bound at link time, so the text is a pure function of (source,
constants, knobs) and can be cached.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from typing import Any

from llvmlite import ir

from ..abi import Status, StatusTable, c_signature, kernel_function_type
from ..types import ArrayType, ScalarType, TupleType
from ._arrays import LocalArrays, creation_of
from ._callee import calls_loop, kernel_statuses
from ._complex import make_complex
from ._emit import I8, I64, PTR, Emitter, Val, module_text, reg_type
from ._expr import ArrayRef, ExprLowerer, Local
from ._inline import Exit, inline_call
from ._knobs import Knobs, loop_properties
from ._lattice import INT, Ty, binop_types, promote
from ._model import Callee, ConstValue, HostArray, KernelInfo, LoweredKernel
from ._parallel import is_parallel_loop, lower_parallel, uses_prange
from ._typed import TypedKernel, type_kernel
from ._typing import Typer
from ._validate import raise_of
from ._view_types import contiguous_locals

__all__ = ["emit", "lower"]

_SYMBOL = "kernel"
_KIND_ORDER = {"bool": 0, "int": 1, "float": 2, "complex": 3}


def lower(info: KernelInfo, consts: Mapping[str, ConstValue], knobs: Knobs, *, strided: bool = False) -> LoweredKernel:
    """Type-check and emit one variant of ``info`` with these constants and knobs.

    ``strided``: the strided form (:func:`autotune.abi.native_args`), whose arrays may have any strides (one
    ``i64`` stride in elements per dimension follows each array's extents); otherwise arrays are C-contiguous.

    Deterministic: the same source, constants and knobs give byte-identical IR in any process. Raises
    :class:`KernelSyntaxError` for type errors (with their line) and :class:`ConfigError` for missing,
    unknown or ill-typed constants.
    """
    return emit(type_kernel(info, consts), knobs, strided=strided)


def emit(typed: TypedKernel, knobs: Knobs, *, strided: bool = False) -> LoweredKernel:
    """Emit the variant ``typed`` with ``knobs`` (type errors were all raised by ``type_kernel``)."""
    info, typer, types = typed.info, typed.typer, typed.locals
    module = ir.Module(name=info.name)
    fn = ir.Function(module, kernel_function_type(info.params, info.ret, strided=strided), name=_SYMBOL)
    statuses = kernel_statuses(info)  # the kernel's raises, then those of the functions it calls
    _Lowering(info, typer, types, module, fn, knobs, statuses, strided).run()
    return LoweredKernel(
        ir=module_text(module),
        symbol=_SYMBOL,
        c_signature=c_signature(info.params, info.ret, strided=strided),
        params=info.params,
        ret=info.ret,
        globals=info.globals,
        statuses=statuses,
    )


class _Loop:
    """Targets of ``continue`` (the latch) and ``break`` (the exit) of the innermost enclosing loop."""

    def __init__(self, latch: Any, exit_block: Any) -> None:
        self.latch = latch
        self.exit = exit_block


class _Lowering(ExprLowerer):
    """Emits the function: the frame (arguments, locals, host arrays), then the statements."""

    def __init__(
        self,
        info: KernelInfo,
        typer: Typer,
        types: Mapping[str, Ty],
        module: Any,
        fn: Any,
        knobs: Knobs,
        statuses: StatusTable,
        strided: bool = False,
        em: Emitter | None = None,
    ) -> None:
        super().__init__(info, typer, em or Emitter(module, fn, fastmath=knobs.fastmath))
        self.strided = strided
        self.statuses = statuses
        self.module = module
        self.fn = fn
        self.knobs = knobs
        self.types = types
        self.loops: list[_Loop] = []
        self.result_ptr: Any = None
        self.in_parallel = False  # lowering an outlined prange body: nested pranges run serially
        self.local_arrays: LocalArrays | None = None
        self.exit: Exit | None = None  # set in the body of an inlined call: where its returns go

    # ---- frame ---------------------------------------------------------------------------------
    def run(self) -> None:
        em, fn = self.em, self.fn
        fn.attributes.add("nounwind")
        if self.knobs.prefer_vector_width:
            Emitter.string_attributes(fn)
            fn.attributes.add(f'"prefer-vector-width"="{self.knobs.prefer_vector_width}"')
        args = iter(fn.args)
        for param in self.info.params:
            if param.kind == "scalar" and param.dtype is not None:
                arg = next(args)
                arg.name = param.name
                value = Val(arg, Ty(param.dtype))
                if param.dtype.kind == "complex":  # two doubles (autotune.abi)
                    imag = next(args)
                    imag.name = f"{param.name}.imag"
                    value = Val(make_complex(em, arg, imag), value.ty)
                if param.dtype.kind == "bool":
                    value = Val(em.builder.icmp_unsigned("!=", arg, ir.Constant(I8, 0)), value.ty)
                self._declare_local(param.name)
                self.assign_local(param.name, value, self.info.tree)
            elif param.kind == "array" and param.dtype is not None:
                ptr = next(args)
                ptr.name = param.name
                if self.info.noalias:
                    ptr.attributes.add("noalias")
                if not (self.knobs.parallel >= 2 and uses_prange(self.info)):  # a prange passes it to the pool
                    ptr.attributes.add("captures(none)")
                extents = []
                for k in range(param.ndim):
                    extent = next(args)
                    extent.name = f"{param.name}.shape{k}"
                    extents.append(Val(extent, INT, lo=0))
                strides = None
                if self.strided:
                    strides = tuple(self._stride_arg(next(args), param.name, k) for k in range(param.ndim))
                self.arrays[param.name] = ArrayRef(ptr, param.dtype, tuple(extents), strides)
            elif param.kind == "tuple":
                items = []
                for k, dtype in enumerate(param.items):
                    arg = next(args)
                    arg.name = f"{param.name}.{k}"
                    item = Val(arg, Ty(dtype))
                    if dtype.kind == "bool":
                        item = Val(em.builder.icmp_unsigned("!=", arg, ir.Constant(I8, 0)), item.ty)
                    items.append(item)
                self.tuple_args[param.name] = items
        if self.info.ret is not None:
            self.result_ptr = next(args)
            self.result_ptr.name = "result"
            self.result_ptr.attributes.add("captures(none)")
        for name, resolved in self.info.names.items():
            if isinstance(resolved, HostArray):
                self.arrays[name] = self._host_array(resolved)
        for name in self.types:
            if name not in self.locals:
                self._declare_local(name)
        if self.info.local_arrays:
            self.local_arrays = LocalArrays(self, self.info.local_arrays, self.info.tree.body)
            em.on_exit = self.local_arrays.free_all
        lookup = self.typer.array_info
        self.declare_views(self.info.views, contiguous_locals(self.info.views, lookup, lambda n: not self.strided))
        body = em.block("body")
        em.position(body)
        self.block(self.info.tree.body)
        em.position(em.entry)
        em.builder.branch(body)
        self._finish()

    @staticmethod
    def _stride_arg(arg: Any, name: str, k: int) -> Val:
        arg.name = f"{name}.stride{k}"
        return Val(arg, INT)

    def _host_array(self, host: HostArray) -> ArrayRef:
        gv = ir.GlobalVariable(self.module, I8, name=host.ir_name)
        gv.linkage = "external"
        gv.type = PTR  # an opaque address: elements are reached with typed GEPs
        shape = tuple(Val(ir.Constant(I64, n), INT, lo=0, const=n) for n in host.shape)
        return ArrayRef(gv, host.dtype, shape)

    def _declare_local(self, name: str) -> None:
        ty = self.types[name]
        slot = self.em.alloca(reg_type(ty), name)
        with self.em.builder.goto_block(self.em.entry):
            self.em.builder.store(self.em.const(ty, 0).value, slot)
        self.locals[name] = Local(slot, ty, fixed=name in self.info.local_annotations)

    def call_function(self, node: ast.Call, callee: Callee) -> list[Val]:
        """Inline a call to a function of the language (see ``_inline``); the values it returns."""

        def make(info: KernelInfo, typer: Typer, types: Mapping[str, Ty]) -> _Lowering:
            return _Lowering(info, typer, types, self.module, self.fn, self.knobs, self.statuses, self.strided, self.em)

        return inline_call(self, node, callee, make)

    def _finish(self) -> None:
        """Terminate every block: reachable open ends return (or are errors), the rest are unreachable."""
        reachable: set[int] = set()
        stack = [self.em.entry]
        while stack:
            block = stack.pop()
            if id(block) in reachable:
                continue
            reachable.add(id(block))
            if block.is_terminated:
                stack.extend(op for op in block.terminator.operands if isinstance(op, ir.Block))
        for block in self.fn.blocks:
            if block.is_terminated:
                continue
            builder = ir.IRBuilder(block)
            if id(block) not in reachable:
                builder.unreachable()
            elif self.info.ret is not None:
                last = self.info.tree.body[-1]
                raise self.bug(last, f"the kernel can reach its end without returning a {self.info.ret!r}")
            else:
                self.em.ret(builder, 0)

    # ---- statements ----------------------------------------------------------------------------
    def block(self, body: list[ast.stmt]) -> None:
        for stmt in body:
            if self.em.terminated:
                return  # the rest is dead code (after return/break/continue), never executed
            self.stmt(stmt)

    def stmt(self, node: ast.stmt) -> None:
        if self._call_statement(node):
            return
        if isinstance(node, ast.Assign) and self.local_arrays is not None:
            creation = creation_of(node.value, lambda name, _: self.info.names.get(name), self.error)
            if creation is not None and isinstance(node.targets[0], ast.Name):
                self.local_arrays.create(node.targets[0].id, creation)
                return
        if isinstance(node, ast.Assign) and self.typer.array(node.value) is not None:
            for target in node.targets:  # the checker allows only names here
                self.assign_view(target.id if isinstance(target, ast.Name) else "", node.value)
        elif isinstance(node, ast.Assign):
            value = self.expr(node.value)
            for target in node.targets:
                self.assign(target, value, node)
        elif isinstance(node, ast.AnnAssign):
            if node.value is not None:
                self.assign(node.target, self.expr(node.value), node)
        elif isinstance(node, ast.AugAssign):
            self.augassign(node)
        elif isinstance(node, ast.Expr):
            if not (isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):
                self.expr(node.value)
        elif isinstance(node, ast.If):
            self.if_(node)
        elif isinstance(node, ast.While):
            self.while_(node)
        elif isinstance(node, ast.For):
            self.for_(node)
        elif isinstance(node, ast.Break):
            self.em.builder.branch(self.loops[-1].exit)
        elif isinstance(node, ast.Continue):
            self.em.builder.branch(self.loops[-1].latch)
        elif isinstance(node, ast.Return):
            self.return_(node)
        elif isinstance(node, ast.Raise):
            self.em.builder.branch(self.em.status_block(self._status_of(node)))
        elif isinstance(node, ast.Assert):
            holds = self.em.truthy(self.expr(node.test))
            self.em.check(self.em.builder.not_(holds), self._status_of(node))
        elif not isinstance(node, ast.Pass):
            raise self.bug(node, f"'{type(node).__name__}' statements are not supported in kernels")

    def _status_of(self, node: ast.Raise | ast.Assert) -> int:
        found = raise_of(node)
        if isinstance(found, str):  # the checker rejected these when the kernel was parsed
            raise self.bug(node, found)
        return self.statuses.code(found)

    def assign(self, target: ast.expr, value: Val, node: ast.AST) -> None:
        if isinstance(target, ast.Name):
            self.assign_local(target.id, value, node)
        elif isinstance(target, ast.Subscript):
            ptr, dtype = self.element_ptr(target)
            self._check_store(dtype, value, node)
            self.store_element(ptr, dtype, value)
        else:
            raise self.bug(target, "unsupported assignment target")

    def _check_store(self, dtype: ScalarType, value: Val, node: ast.AST) -> None:
        if value.ty.kind == "complex" and dtype.kind != "complex":
            raise self.bug(
                node,
                f"cannot store a complex value in a {dtype.name} array (numpy raises TypeError): take .real or abs()",
            )

    def assign_local(self, name: str, value: Val, node: ast.AST) -> None:
        local = self.locals[name]
        if local.fixed and _KIND_ORDER[value.ty.kind] > _KIND_ORDER[local.ty.kind]:
            raise self.bug(node, f"cannot assign a {value.ty} value to '{name}', declared {local.ty}")
        if not local.fixed and promote(local.ty, value.ty) != local.ty:  # inference makes this impossible
            raise self.bug(node, f"'{name}' is {local.ty} but is assigned a {value.ty}")
        self.em.builder.store(self.em.convert(value, local.ty).value, local.slot)

    def augassign(self, node: ast.AugAssign) -> None:
        target = node.target
        if isinstance(target, ast.Name):
            current = self.expr(target)
            result = self.binop(node.op, current, self.expr(node.value), node.value, node)
            self.assign_local(target.id, result, node)
            return
        if not isinstance(target, ast.Subscript):
            raise self.bug(target, "unsupported assignment target")
        ptr, dtype = self.element_ptr(target)
        current = self.load_element(ptr, dtype)
        value = self.expr(node.value)
        binop_types(node.op, current.ty, value.ty)  # type errors before any code
        result = self.binop(node.op, current, value, node.value, node)
        self._check_store(dtype, result, node)
        self.store_element(ptr, dtype, result)

    def _call_statement(self, node: ast.stmt) -> bool:
        """``f(...)`` alone or ``a, b = f(...)`` with ``f`` a function of the language: inlined here."""
        value = node.value if isinstance(node, ast.Assign | ast.Expr) else None
        callee = self.typer.callee(value.func) if isinstance(value, ast.Call) else None
        if not (isinstance(callee, Callee) and isinstance(value, ast.Call)):
            return False
        if isinstance(node, ast.Expr):
            self.call_function(value, callee)
            return True
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Tuple | ast.List):
            results = self.call_function(value, callee)
            for target, result in zip(node.targets[0].elts, results, strict=True):  # the checker matched counts
                self.assign(target, result, node)
            return True
        return False

    def return_(self, node: ast.Return) -> None:
        if self.exit is not None:
            self.exit.return_(self, node)
            return
        ret = self.info.ret
        if isinstance(ret, ArrayType | TupleType) and node.value is not None:
            self._return_slots(node.value, ret)
            self.em.ret(self.em.builder, 0)
            return
        if node.value is not None and isinstance(ret, ScalarType):
            value = self.expr(node.value)
            if value.ty.kind != ret.kind and (ret.kind == "bool" or _KIND_ORDER[value.ty.kind] > _KIND_ORDER[ret.kind]):
                raise self.bug(node, f"returns a {value.ty} value from a kernel declared to return {ret!r}")
            stored = self.em.convert(value, Ty(ret)).value
            if ret.kind == "bool":
                stored = self.em.builder.zext(stored, I8)
            self.em.builder.store(stored, self.result_ptr)
        self.em.ret(self.em.builder, 0)

    def _return_slots(self, value: ast.expr, ret: ArrayType | TupleType) -> None:
        """Store an array result (data pointer, extents; the caller owns the buffer from now on) or a tuple
        result (one 8-byte slot per item) into the result slots (:mod:`autotune.abi`)."""
        bld = self.em.builder

        def slot(k: int) -> Any:
            return bld.gep(self.result_ptr, [ir.Constant(I64, k)], inbounds=True, source_etype=I64)

        if isinstance(ret, ArrayType):
            if not isinstance(value, ast.Name) or self.local_arrays is None or value.id not in self.info.local_arrays:
                raise self.bug(value, "a kernel returns an array it created (b = np.empty(n); ...; return b)")
            data, extents = self.local_arrays.take(value.id)
            bld.store(data, slot(0))
            for k, extent in enumerate(extents):
                bld.store(extent, slot(k + 1))
            return
        if not isinstance(value, ast.Tuple) or len(value.elts) != len(ret.items):
            raise self.bug(value, f"the kernel returns {ret!r}: return a tuple of {len(ret.items)} values")
        for k, (item, dtype) in enumerate(zip(value.elts, ret.items, strict=True)):
            self.store_element(slot(k), dtype, self._result_value(item, dtype, value))

    def _result_value(self, item: ast.expr, ret: ScalarType, node: ast.AST) -> Val:
        value = self.expr(item)
        if value.ty.kind != ret.kind and (ret.kind == "bool" or _KIND_ORDER[value.ty.kind] > _KIND_ORDER[ret.kind]):
            raise self.bug(node, f"returns a {value.ty} value where the kernel declares {ret!r}")
        return value

    def if_(self, node: ast.If) -> None:
        em = self.em
        truth = em.truthy(self.expr(node.test))
        then_block, merge = em.block("if.then"), em.block("if.end")
        else_block = em.block("if.else") if node.orelse else merge
        em.builder.cbranch(truth, then_block, else_block)
        for block, body in ((then_block, node.body), (else_block, node.orelse)):
            if not body:
                continue
            em.position(block)
            self.block(body)
            if not em.terminated:
                em.builder.branch(merge)
        em.position(merge)

    def while_(self, node: ast.While) -> None:
        em = self.em
        head, body, latch, done = (em.block(f"while.{n}") for n in ("cond", "body", "latch", "end"))
        em.builder.branch(head)
        em.position(head)
        test = self.typer.const_of(node.test)
        if test is not None and test:
            em.builder.branch(body)
        else:
            em.builder.cbranch(em.truthy(self.expr(node.test)), body, done)
        self._loop_body(node, body, latch, done, {})
        em.position(latch)
        self._backedge(node, head, finite=False)
        em.position(done)

    def for_(self, node: ast.For) -> None:
        em, bld = self.em, self.em.builder
        if not isinstance(node.target, ast.Name) or not isinstance(node.iter, ast.Call):
            raise self.bug(node, "for loops must iterate over range(...)")
        if self.knobs.parallel >= 2 and not self.in_parallel and is_parallel_loop(node, self.info):
            lower_parallel(self, node, self._outlined)
            return
        start, stop, step = self.range_bounds(node.iter)
        if step.const == 0:
            em.fail(Status.RANGE_STEP_ZERO)
            return
        count = self._trip_count(start, stop, step)
        counter = em.alloca(I64, "range.k")
        bld.store(ir.Constant(I64, 0), counter)
        head, body, latch, done = (em.block(f"for.{n}") for n in ("cond", "body", "latch", "end"))
        bld.branch(head)
        em.position(head)
        k = bld.load(counter, typ=I64)
        bld.cbranch(bld.icmp_unsigned("<", k, count), body, done)
        em.position(body)
        # start + k*step always fits (it lies in [start, stop)), but k*step alone may not (range(-2**63, 1,
        # 2**62)), so only a unit step, with no product, may promise LLVM no signed wrap.
        if step.const == 1:
            index = Val(bld.add(start.value, k, flags=["nsw"]), INT)
        else:
            index = Val(bld.add(start.value, bld.mul(k, step.value)), INT)
        self.assign_local(node.target.id, index, node.target)
        bounds: dict[str, int] = {}
        if not _assigns(node.body, node.target.id):
            lo = _loop_var_bound(start, stop, step)
            if lo is not None:
                bounds[node.target.id] = lo
        self._loop_body(node, body, latch, done, bounds)
        em.position(latch)
        bld.store(bld.add(bld.load(counter, typ=I64), ir.Constant(I64, 1), flags=["nuw"]), counter)
        self._backedge(node, head, finite=True)
        em.position(done)

    def _outlined(self, fn: Any) -> _Lowering:
        """A lowering that emits a prange body into ``fn`` (see :mod:`autotune.lang._parallel`)."""
        body = _Lowering(self.info, self.typer, self.types, self.module, fn, self.knobs, self.statuses, self.strided)
        body.in_parallel = True
        return body

    def range_bounds(self, call: ast.Call) -> tuple[Val, Val, Val]:
        """``start, stop, step`` of ``range(...)`` or ``prange(...)`` as i64 values, in Python's order."""
        args = []
        for arg in call.args:
            value = self.expr(arg)
            if value.ty.kind == "float":
                raise self.bug(arg, f"range() arguments must be integers, got {value.ty}")
            args.append(self.em.convert(value, INT))
        zero, one = self.em.const(INT, 0), self.em.const(INT, 1)
        if len(args) == 1:
            return zero, args[0], one
        return args[0], args[1], args[2] if len(args) == 3 else one

    def _trip_count(self, start: Val, stop: Val, step: Val) -> Any:
        """Iterations of ``range(start, stop, step)`` as an unsigned i64 (exact for any i64 bounds)."""
        em, bld = self.em, self.em.builder
        zero = ir.Constant(I64, 0)

        def count(lo: Any, hi: Any, stride: Any, stride_const: int | None) -> Any:
            span = bld.sub(hi, lo)  # exact as unsigned when lo < hi, up to 2**64 - 1
            if stride_const != 1:  # ceil(span / stride) as (span - 1) / stride + 1: span + stride - 1 may wrap
                one = ir.Constant(I64, 1)
                span = bld.add(bld.udiv(bld.sub(span, one), stride), one)
            return bld.select(bld.icmp_signed("<", lo, hi), span, zero)

        if isinstance(step.const, int):
            if step.const > 0:
                return count(start.value, stop.value, step.value, step.const)
            return count(stop.value, start.value, ir.Constant(I64, -step.const), -step.const)
        em.check(bld.icmp_signed("==", step.value, zero), Status.RANGE_STEP_ZERO)
        up = count(start.value, stop.value, step.value, None)
        down = count(stop.value, start.value, bld.sub(zero, step.value), None)
        return bld.select(bld.icmp_signed(">", step.value, zero), up, down)

    def _loop_body(self, node: ast.For | ast.While, body: Any, latch: Any, done: Any, bounds: dict[str, int]) -> None:
        saved = dict(self.bounds)
        self.bounds.update(bounds)
        self.loops.append(_Loop(latch, done))
        self.em.position(body)
        self.block(node.body)
        if not self.em.terminated:
            self.em.builder.branch(latch)
        self.loops.pop()
        self.bounds = saved

    def _backedge(self, node: ast.For | ast.While, head: Any, *, finite: bool) -> None:
        branch = self.em.builder.branch(head)
        innermost = not any(isinstance(n, ast.For | ast.While) for s in node.body for n in ast.walk(s))
        innermost = innermost and not calls_loop(node.body, self.info)
        if innermost:
            props = loop_properties(self.knobs, finite=finite)
            if props:
                branch.set_metadata("llvm.loop", self.em.loop_id(props))


def _assigns(body: list[ast.stmt], name: str) -> bool:
    return any(
        isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Store) for s in body for n in ast.walk(s)
    )


def _loop_var_bound(start: Val, stop: Val, step: Val) -> int | None:
    """A lower bound of the loop variable inside the loop, when the step's sign is known."""
    if not isinstance(step.const, int):
        return None
    if step.const > 0:
        return start.lo
    return stop.lo + 1 if stop.lo is not None else None
