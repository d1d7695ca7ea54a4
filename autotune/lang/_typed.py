"""The typed form of one variant: every expression's type, and every type error, before any code is emitted.

``type_kernel`` runs between parsing (which knows the source) and lowering (which knows LLVM): with the
variant's constants bound, it settles the locals' types (``infer_locals``), types every expression of the
body once (the :class:`Typer` keeps what it found) and checks every statement's rules: an annotated
local assigned a wider value, a return of the wrong kind, a ``for`` over something other than
``range(...)`` or with float bounds, an augmented assignment whose operator does not apply, an end the
kernel can reach without returning. So a type error surfaces here, with its line, whatever the knobs,
and lowering only reads the types and emits.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ConfigError, KernelSyntaxError
from ..types import ArrayType, ScalarType, TupleType
from ._arrays import Creation, creation_of
from ._fold import wrap_int
from ._lattice import Ty, TypingProblem, binop_types
from ._model import Callee, ConstValue, KernelInfo
from ._parallel import is_parallel_loop
from ._typing import Typer, bind_arguments, called_from, infer_locals
from ._validate import raise_of

__all__ = ["KIND_ORDER", "TypedKernel", "check_consts", "type_kernel"]

#: How far a value converts implicitly: bool -> int -> float (an annotated local never narrows).
KIND_ORDER = {"bool": 0, "int": 1, "float": 2, "complex": 3}


@dataclass(frozen=True, eq=False)
class TypedKernel:
    """One variant's typed form: the kernel, its constants, its locals' types, and the typer holding the
    type of every expression of the body (what lowering reads)."""

    info: KernelInfo
    consts: Mapping[str, ConstValue]
    locals: Mapping[str, Ty]
    typer: Typer


def type_kernel(info: KernelInfo, consts: Mapping[str, ConstValue]) -> TypedKernel:
    """Bind ``consts``, infer the locals and type the whole body; :class:`KernelSyntaxError` for the first
    type error (in source order), :class:`ConfigError` for missing, unknown or ill-typed constants."""
    values = check_consts(info, consts)
    local_types = infer_locals(info, values)
    typer = Typer(info, values, local_types)
    checker = _Checker(info, typer)
    checker.block(info.tree.body)
    checker.views_in(info.tree)
    checker.callees(info, typer)
    if info.ret is not None and _falls_through(info.tree.body, typer):
        last = info.tree.body[-1]
        raise info.error(last, f"the kernel can reach its end without returning a {info.ret!r}")
    return TypedKernel(info, values, local_types, typer)


def check_consts(info: KernelInfo, consts: Mapping[str, ConstValue]) -> dict[str, ConstValue]:
    """Every ``Const`` parameter's value (given, else its default), as a Python int, float or bool."""
    names = [p.name for p in info.params if p.kind == "const"]
    unknown = sorted(set(consts) - set(names))
    if unknown:
        raise ConfigError(f"{info.name}: unknown constant(s) {unknown}; its Const parameters are {names}")
    values: dict[str, ConstValue] = {}
    for name in names:
        if name in consts:
            value: Any = consts[name]
        elif name in info.const_defaults:
            value = info.const_defaults[name]
        else:
            raise ConfigError(f"{info.name}: no value for Const parameter '{name}'")
        if isinstance(value, np.generic):
            value = value.item()
        if not isinstance(value, bool | int | float):
            raise ConfigError(f"{info.name}: Const '{name}' must be an int, float or bool, got {value!r}")
        if isinstance(value, int) and not isinstance(value, bool) and wrap_int(value) != value:
            raise ConfigError(f"{info.name}: Const '{name}' = {value} does not fit in 64 bits")
        values[name] = value
    return values


class _Checker:
    """Types every expression and checks every statement's type rules, in source order."""

    def __init__(self, info: KernelInfo, typer: Typer, checked: set[int] | None = None) -> None:
        self.info = info
        self.typer = typer
        self.checked = checked if checked is not None else set()  # ids of callee signatures already checked

    def callees(self, info: KernelInfo, typer: Typer) -> None:
        """The body of every function the kernel calls, once per argument types (each call site's
        specialisation), checked like the kernel's own, so inlining them raises no type error either."""
        for node in ast.walk(info.tree):
            if not (isinstance(node, ast.Call) and isinstance(typer.callee(node.func), Callee)):
                continue
            signature = typer.call_signature(node)
            if id(signature) in self.checked:
                continue
            self.checked.add(id(signature))
            callee = typer.callee(node.func)
            assert isinstance(callee, Callee)
            inner = _Checker(callee.info, signature.typer, self.checked)
            try:
                self.arguments(node, callee)
                inner.block(callee.info.tree.body)
                inner.views_in(callee.info.tree)
            except KernelSyntaxError as exc:
                raise called_from(exc, callee, info, node) from None
            inner.callees(callee.info, signature.typer)

    def block(self, body: Sequence[ast.stmt]) -> None:
        for stmt in body:
            self.stmt(stmt)

    def stmt(self, node: ast.stmt) -> None:
        typer = self.typer
        if self.call(node):
            return
        if isinstance(node, ast.Assign):
            creation = creation_of(node.value, lambda name, _: self.info.names.get(name), self.info.error)
            if creation is not None:
                self.creation(creation)
                return
            if typer.array(node.value) is not None:  # name = <view>: its bounds and step are typed there
                self.view(node.value)
                return
            value = typer.type_of(node.value)
            for target in node.targets:
                self.target(target, value, node)
        elif isinstance(node, ast.AnnAssign):
            if node.value is not None:
                self.target(node.target, typer.type_of(node.value), node)
        elif isinstance(node, ast.AugAssign):
            current, value = typer.type_of(node.target), typer.type_of(node.value)
            try:
                result = binop_types(node.op, current, value, typer.const_of(node.value))[1]
            except TypingProblem as exc:
                raise self.info.error(node, str(exc)) from None
            self.target(node.target, result, node)
        elif isinstance(node, ast.Expr):
            if not (isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):
                typer.type_of(node.value)
        elif isinstance(node, ast.If | ast.While):
            typer.type_of(node.test)
            self.block(node.body)
            self.block(node.orelse)
        elif isinstance(node, ast.For):
            self.for_(node)
        elif isinstance(node, ast.Return):
            self.return_(node)
        elif isinstance(node, ast.Raise | ast.Assert):
            found = raise_of(node)
            if isinstance(found, str):
                raise self.info.error(node, found)
            if isinstance(node, ast.Assert):
                typer.type_of(node.test)

    def call(self, node: ast.stmt) -> bool:
        """``f(...)`` alone or ``a, b = f(...)``, ``f`` a function of the language: its results by target."""
        value = node.value if isinstance(node, ast.Assign | ast.Expr) else None
        if not isinstance(value, ast.Call) or not isinstance(self.typer.callee(value.func), Callee):
            return False
        if isinstance(node, ast.Expr):
            self.typer.call_results(value)
            return True
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Tuple | ast.List):
            results = self.typer.call_results(value)
            for target, result in zip(node.targets[0].elts, results, strict=True):  # the checker matched counts
                self.target(target, result, node)
            return True
        return False

    def creation(self, creation: Creation) -> None:
        """``b = np.<creator>(...)``: integer extents (the rest was checked when the kernel was parsed)."""
        shape = creation.shape
        if shape is not None and not (isinstance(shape, ast.Attribute) and shape.attr == "shape"):
            for item in shape.elts if isinstance(shape, ast.Tuple) else [shape]:
                kind = self.typer.type_of(item)
                if kind.kind != "int":
                    raise self.info.error(item, f"array dimensions must be integers, got {kind}")
        if creation.fill is not None:
            self.typer.type_of(creation.fill)

    def arguments(self, node: ast.Call, callee: Callee) -> None:
        """Each argument against the callee's parameter: arrays of its dtype and rank, scalars that convert
        to an annotated parameter without narrowing (never a float to an int)."""
        try:
            bound = bind_arguments(node, callee)
        except TypingProblem as exc:
            raise self.info.error(node, str(exc)) from None
        for param, arg in bound:
            if param.kind == "array":
                found = self.typer.array(arg)
                if found is None:
                    raise self.info.error(arg, f"parameter '{param.name}' of '{callee.label}' takes an array")
                if found != (param.dtype, param.ndim):
                    raise self.info.error(
                        arg,
                        f"parameter '{param.name}' of '{callee.label}' is a {param.ndim}-D {param.dtype!r} array, "
                        f"got a {found[1]}-D {found[0]!r} one",
                    )
                continue
            value = self.typer.type_of(arg)
            if param.dtype is not None and KIND_ORDER[value.kind] > KIND_ORDER[param.dtype.kind]:
                want = Ty(param.dtype)
                raise self.info.error(
                    arg, f"cannot pass a {value} value to parameter '{param.name}: {want}' of '{callee.label}'"
                )

    def views_in(self, tree: ast.AST) -> None:
        """The integer parts of every view expression, wherever it is used (an argument, ``len``, ``A[1][j]``)."""
        for node in ast.walk(tree):
            if isinstance(node, ast.Subscript) and self.typer.array(node) is not None:
                self.view(node)

    def view(self, node: ast.expr) -> None:
        """The integer parts of a view expression (indexes, slice bounds and steps), through views of views."""
        while isinstance(node, ast.Subscript):
            items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            for item in items:
                parts = [item.lower, item.upper, item.step] if isinstance(item, ast.Slice) else [item]
                for part in parts:
                    if part is not None and self.typer.type_of(part).kind not in ("int", "bool"):
                        raise self.info.error(part, f"array indexes must be integers, got {self.typer.type_of(part)}")
            node = node.value

    def target(self, target: ast.expr, value: Ty, node: ast.AST) -> None:
        if isinstance(target, ast.Subscript):
            element = self.typer.type_of(target)  # also checks the index count and index types
            if value.kind == "complex" and element.kind != "complex":
                raise self.info.error(
                    node,
                    f"cannot store a complex value in a {element} array (numpy raises TypeError): take .real or abs()",
                )
            return
        if not isinstance(target, ast.Name):
            raise self.info.error(target, "unsupported assignment target")
        declared = self.info.local_annotations.get(target.id)
        if declared is not None and KIND_ORDER[value.kind] > KIND_ORDER[declared.kind]:
            raise self.info.error(node, f"cannot assign a {value} value to '{target.id}', declared {Ty(declared)}")

    def for_(self, node: ast.For) -> None:
        if not isinstance(node.target, ast.Name) or not isinstance(node.iter, ast.Call):
            raise self.info.error(node, "for loops must iterate over range(...)")
        parallel = is_parallel_loop(node, self.info)
        for arg in node.iter.args:
            if self.typer.type_of(arg).kind == "float":
                what = "prange" if parallel else "range"
                raise self.info.error(arg, f"{what}() arguments must be integers, got {self.typer.type_of(arg)}")
        if parallel:
            self.parallel_body(node)
        if parallel and len(node.iter.args) == 3:
            step = self.typer.const_of(node.iter.args[2])
            if not isinstance(step, int) or step <= 0:
                raise self.info.error(
                    node.iter, "prange() needs a constant positive step (write range(...) for other steps)"
                )
        self.block(node.body)
        self.block(node.orelse)

    def parallel_body(self, node: ast.For) -> None:
        """A prange body runs in an outlined function that receives the arrays it uses as they are when the
        loop starts: it may index created arrays and views, not assign a new array or view to a name."""
        for found in ast.walk(ast.Module(body=node.body, type_ignores=[])):
            if not (isinstance(found, ast.Name) and isinstance(found.ctx, ast.Store)):
                continue
            if found.id in self.info.local_arrays or found.id in self.info.views:
                what = "an array created in the kernel" if found.id in self.info.local_arrays else "an array view"
                raise self.info.error(
                    found,
                    f"'{found.id}' is {what}; a prange body cannot assign one: create it before the loop and "
                    "index it inside (a[i, j], or row = a[i] before the loop), or use range(...)",
                )

    def return_(self, node: ast.Return) -> None:
        ret, value = self.info.ret, node.value
        if value is None:
            return
        if ret is None:  # a called function's result, inferred or a tuple: its values are typed all the same
            for item in value.elts if isinstance(value, ast.Tuple) else [value]:
                self.typer.type_of(item)
            return
        if isinstance(ret, ArrayType):
            if not isinstance(value, ast.Name) or value.id not in self.info.local_arrays:
                raise self.info.error(value, "a kernel returns an array it created (b = np.empty(n); ...; return b)")
            return
        if isinstance(ret, TupleType):
            if not isinstance(value, ast.Tuple) or len(value.elts) != len(ret.items):
                raise self.info.error(value, f"the kernel returns {ret!r}: return a tuple of {len(ret.items)} values")
            for item, dtype in zip(value.elts, ret.items, strict=True):
                self._returned(self.typer.type_of(item), dtype, node, f"where the kernel declares {dtype!r}")
            return
        self._returned(self.typer.type_of(value), ret, node, f"from a kernel declared to return {ret!r}")

    def _returned(self, value: Ty, ret: ScalarType, node: ast.AST, where: str) -> None:
        if value.kind != ret.kind and (ret.kind == "bool" or KIND_ORDER[value.kind] > KIND_ORDER[ret.kind]):
            raise self.info.error(node, f"returns a {value} value {where}")


def _falls_through(body: Sequence[ast.stmt], typer: Typer) -> bool:
    """Whether control can run off the end of ``body`` (as the lowering's blocks do: ``if`` tests are not
    folded, ``while <true constant>`` only ends through a ``break``, a ``for`` may run zero times)."""
    return all(_continues(stmt, typer) for stmt in body)


def _continues(stmt: ast.stmt, typer: Typer) -> bool:
    if isinstance(stmt, ast.Return | ast.Raise | ast.Break | ast.Continue):
        return False
    if isinstance(stmt, ast.If):
        return _falls_through(stmt.body, typer) or _falls_through(stmt.orelse, typer)
    if isinstance(stmt, ast.While) and typer.const_of(stmt.test):
        return _breaks(stmt.body)
    return True


def _breaks(body: Sequence[ast.stmt]) -> bool:
    """Whether a ``break`` of this loop (not of a loop nested in it) occurs in ``body``."""
    for stmt in body:
        if isinstance(stmt, ast.Break):
            return True
        if isinstance(stmt, ast.If) and (_breaks(stmt.body) or _breaks(stmt.orelse)):
            return True
    return False
