"""Lowering a call to a function of the language: its body, inlined at the call site.

The callee's body is emitted into the caller's LLVM function with a scope of its own: its parameters are
fresh locals holding the converted argument values, its array parameters the caller's :class:`ArrayRef`
objects (passed as they are, never unpacked), its loops and ``break``/``continue`` its own. A ``return``
stores the values into result slots and branches to the block after the call. Statuses (a raise, an
assert, a division by zero) leave the whole kernel, so the call raises the callee's exception. The
callee is typed for the argument types of this call (:func:`autotune.lang._typing.specialise`), and
lowered with the caller's knobs and its own ``Const`` defaults.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from llvmlite import ir

from ..abi import StatusTable
from ..errors import KernelSyntaxError
from ._emit import Emitter, Val, reg_type
from ._expr import ArrayRef, Local
from ._lattice import INT, Ty, TypingProblem
from ._model import Callee, HostArray, KernelInfo
from ._typing import Typer, bind_arguments, called_from

__all__ = ["Exit", "Frame", "inline_call"]

_KIND_ORDER = {"bool": 0, "int": 1, "float": 2}


class Frame(Protocol):
    """What inlining needs of a statement lowerer (``_lower._Lowering``), the caller's and the callee's."""

    info: KernelInfo
    typer: Typer
    em: Emitter
    module: Any
    locals: dict[str, Local]
    arrays: dict[str, ArrayRef]
    statuses: StatusTable
    exit: Exit | None

    def expr(self, node: ast.expr) -> Val: ...
    def array_ref(self, node: ast.expr) -> ArrayRef: ...
    def block(self, body: list[ast.stmt]) -> None: ...
    def assign_local(self, name: str, value: Val, node: ast.AST) -> None: ...
    def error(self, node: ast.AST, message: str) -> Any: ...


#: ``make(info, typer, types) -> Frame``: a statement lowerer for the callee on the caller's emitter.
MakeFrame = Callable[[KernelInfo, Typer, Mapping[str, Ty]], Frame]


class Exit:
    """Where a ``return`` of an inlined body goes: its result slots and the block after the call."""

    def __init__(self, callee: Callee, slots: list[Any], results: tuple[Ty, ...], done: Any) -> None:
        self.callee = callee
        self.slots = slots
        self.results = results
        self.done = done

    def return_(self, frame: Frame, node: ast.Return) -> None:
        """Store the returned values and leave the inlined body."""
        em = frame.em
        if node.value is not None and self.results:
            values = node.value.elts if isinstance(node.value, ast.Tuple) else [node.value]
            computed = [frame.expr(v) for v in values]
            for value, node_, ty, slot in zip(computed, values, self.results, self.slots, strict=True):
                if value.ty.kind != ty.kind and (
                    ty.kind == "bool" or _KIND_ORDER[value.ty.kind] > _KIND_ORDER[ty.kind]
                ):
                    raise frame.error(node_, f"returns a {value.ty} value from '{self.callee.label}', declared {ty}")
                em.builder.store(em.convert(value, ty).value, slot)
        em.builder.branch(self.done)


def inline_call(caller: Frame, node: ast.Call, callee: Callee, make: MakeFrame) -> list[Val]:
    """Emit ``callee``'s body for this call; the values it returns (none for a function without)."""
    em = caller.em
    try:
        bound = bind_arguments(node, callee)
    except TypingProblem as exc:
        raise caller.error(node, str(exc)) from None
    arrays: dict[str, ArrayRef] = {}
    values: dict[str, Val] = {}
    for param, arg in bound:  # Python's order: every argument, left to right, before the body
        if param.kind == "array":
            try:  # a parameter, a module array, an array the kernel created, a view local or a view
                ref = caller.array_ref(arg)
            except KernelSyntaxError:
                raise caller.error(
                    arg, f"parameter '{param.name}' of '{callee.label}' takes an array: pass one (a, A[i], a[::2])"
                ) from None
            if ref.dtype != param.dtype or len(ref.shape) != param.ndim:
                raise caller.error(
                    arg,
                    f"parameter '{param.name}' of '{callee.label}' is a {param.ndim}-D {param.dtype!r} array, "
                    f"got a {len(ref.shape)}-D {ref.dtype!r} one",
                )
            arrays[param.name] = ref
            continue
        value = caller.expr(arg)
        if param.dtype is not None:
            want = Ty(param.dtype)
            if value.ty.kind != want.kind and _KIND_ORDER[value.ty.kind] > _KIND_ORDER[want.kind]:
                raise caller.error(
                    arg, f"cannot pass a {value.ty} value to parameter '{param.name}: {want}' of '{callee.label}'"
                )
            value = em.convert(value, want)
        values[param.name] = value
    signature = caller.typer.call_signature(node)
    info = callee.info
    frame = make(info, signature.typer, signature.types)
    for name, resolved in info.names.items():
        if isinstance(resolved, HostArray):
            frame.arrays[name] = _host_array(caller.module, resolved)
    frame.arrays.update(arrays)
    for name, ty in signature.types.items():  # fresh locals, zeroed at each call (a call in a loop too)
        slot = em.alloca(reg_type(ty), f"{info.name}.{name}")
        em.builder.store(em.const(ty, 0).value, slot)  # a zero of any kind, complex included
        frame.locals[name] = Local(slot, ty, fixed=name in info.local_annotations)
    for name, value in values.items():
        local = frame.locals[name]
        em.builder.store(em.convert(value, local.ty).value, local.slot)
    slots = [em.alloca(reg_type(t), f"{info.name}.result") for t in signature.results]
    done = em.block(f"{info.name}.end")
    frame.exit = Exit(callee, slots, signature.results, done)
    try:
        frame.block(info.tree.body)
    except KernelSyntaxError as exc:
        raise called_from(exc, callee, caller.info, node) from None
    if not em.terminated:
        if signature.results and _reachable(em):
            end = info.error(info.tree.body[-1], f"'{callee.label}' can reach its end without returning a value")
            raise called_from(end, callee, caller.info, node)
        if signature.results:
            em.builder.unreachable()
        else:
            em.builder.branch(done)
    em.position(done)
    return [Val(em.builder.load(slot, typ=reg_type(t)), t) for slot, t in zip(slots, signature.results, strict=True)]


def _reachable(em: Emitter) -> bool:
    """Whether the open block has a predecessor (the block after a ``while True`` without break has none)."""
    block = em.builder.block
    if block is em.entry:
        return True
    for other in em.fn.blocks:
        if other.is_terminated and any(op is block for op in other.terminator.operands):
            return True
    return False


def _host_array(module: Any, host: HostArray) -> ArrayRef:
    """The callee's host array, declared once per module (the caller may index the same one)."""
    gv = module.globals.get(host.ir_name)
    if gv is None:
        gv = ir.GlobalVariable(module, ir.IntType(8), name=host.ir_name)
        gv.linkage = "external"
        gv.type = ir.PointerType()
    shape = tuple(Val(ir.Constant(ir.IntType(64), n), INT, lo=0, const=n) for n in host.shape)
    return ArrayRef(gv, host.dtype, shape)
