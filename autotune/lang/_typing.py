"""Typing of kernel expressions and locals: the :class:`Typer` (one expression's static type, by the rules
of :mod:`._lattice`, with constants folded by :mod:`._fold`), the fixed point that types every local as the
join of the values assigned to it (``s = 0`` then ``s += x[i]`` makes ``s`` a float everywhere), and the
per-call-site signatures of called functions.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..errors import KernelSyntaxError
from ..types import ScalarType, f64
from ._builtins import MATH_CONSTS, NUMPY_CASTS, NUMPY_CONSTS, NUMPY_FUNCS
from ._complex import CMATH_CONSTS
from ._fold import const_scalar, fold, wrap_int
from ._lattice import (
    BOOL,
    COMPLEX,
    FLOAT,
    INT,
    Ty,
    TypingProblem,
    arith,
    binop_types,
    cmath_types,
    compare_type,
    const_type,
    literal_problem,
    math_types,
    numpy_types,
    promote,
)
from ._model import (
    ArrayInfo,
    Builtin,
    Callee,
    CmathFunc,
    CmathModule,
    ConstValue,
    HostArray,
    HostConst,
    KernelInfo,
    MathFunc,
    MathModule,
    NumpyFunc,
    NumpyModule,
    ParamSpec,
    Resolved,
)
from ._tuples import tuple_item
from ._view_types import array_info, is_view, view_type_problem

__all__ = [
    "Signature",
    "Typer",
    "called_from",
    "infer_locals",
    "specialise",
]


class _Unknown(Exception):
    """A local's type is not known yet (during the fixed point)."""


class Typer:
    """Types expressions of one kernel given its constants and the types of its locals.

    With ``strict=False`` (inside the fixed point) an unknown local raises an internal exception instead
    of a KernelSyntaxError.
    """

    def __init__(
        self,
        info: KernelInfo,
        consts: Mapping[str, ConstValue],
        local_types: Mapping[str, Ty],
        *,
        strict: bool = True,
    ) -> None:
        self.info = info
        self.consts = consts
        self.locals = local_types
        self.strict = strict
        self.params = {p.name: p for p in info.params}
        self.seen: dict[ast.expr, Ty] = {}  # what the typed pass found, for lowering to read

    # ---- names ---------------------------------------------------------------------------------
    def resolved(self, name: str) -> Resolved | None:
        """What a free name refers to (``None`` for locals and parameters)."""
        if name in self.params or name in self.locals or name in self.info.locals:
            return None
        return self.info.names.get(name)

    def array(self, node: ast.expr) -> tuple[ScalarType, int] | None:
        """(element type, ndim) if ``node`` is an array parameter, a host array or a view (``_views``)."""
        if isinstance(node, ast.Subscript):
            view = array_info(node, self.array_info)
            return (view.dtype, view.ndim) if view is not None else None
        if not isinstance(node, ast.Name):
            return None
        local = self.info.views.get(node.id) or self.info.local_arrays.get(node.id)
        if local is not None:
            return local.dtype, local.ndim
        param = self.params.get(node.id)
        if param is not None:
            return (param.dtype, param.ndim) if param.kind == "array" and param.dtype else None
        host = self.resolved(node.id)
        return (host.dtype, len(host.shape)) if isinstance(host, HostArray) else None

    def array_info(self, name: str) -> ArrayInfo | None:
        """The array (or view local) ``name`` as an :class:`ArrayInfo` (its roots: the name itself)."""
        found = self.array(ast.Name(name, ast.Load()))
        return ArrayInfo(found[0], found[1], frozenset((name,))) if found is not None else None

    def callee(self, func: ast.expr) -> Resolved | None:
        """What a call's function names: a builtin, ``math.f``/``f``, ``np.f``/``f``; ``None`` otherwise."""
        if isinstance(func, ast.Name):
            return self.resolved(func.id)
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            module = self.resolved(func.value.id)
            dotted = self.info.names.get(f"{func.value.id}.{func.attr}") if module is None else None
            if isinstance(dotted, Callee):  # helpers.dist(...): a function of an imported module
                return dotted
            if isinstance(module, MathModule):
                return MathFunc(func.attr)
            if isinstance(module, NumpyModule):
                return NumpyFunc(func.attr)
            if isinstance(module, CmathModule):
                return CmathFunc(func.attr)
        return None

    # ---- constants -----------------------------------------------------------------------------
    def const_of(self, node: ast.expr) -> ConstValue | None:
        """The compile-time value of ``node`` if it is a constant expression (folded like the code would)."""
        if isinstance(node, ast.Constant) and isinstance(node.value, bool | int | float):
            return const_scalar(node.value)
        if isinstance(node, ast.Name):
            param = self.params.get(node.id)
            if param is not None:
                return self.consts.get(node.id) if param.kind == "const" else None
            host = self.resolved(node.id)
            return host.value if isinstance(host, HostConst) else None
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            module = self.resolved(node.value.id)
            if isinstance(module, MathModule):
                return MATH_CONSTS.get(node.attr)
            if isinstance(module, NumpyModule):
                return NUMPY_CONSTS.get(node.attr)
            if isinstance(module, CmathModule):
                return CMATH_CONSTS.get(node.attr)
            array = self.array(node.value)
            return array[1] if array is not None and node.attr == "ndim" else None
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            value = self.const_of(node.operand)
            if value is None or isinstance(value, bool):
                return None
            if isinstance(node.op, ast.UAdd):
                return value
            return wrap_int(-value) if isinstance(value, int) else -value
        if isinstance(node, ast.BinOp):
            return fold(node.op, self.const_of(node.left), self.const_of(node.right))
        return None

    # ---- expressions ---------------------------------------------------------------------------
    def error(self, node: ast.AST, message: str) -> KernelSyntaxError:
        return self.info.error(node, message)

    def type_of(self, node: ast.expr) -> Ty:
        """The static type of ``node``; KernelSyntaxError if no type rule applies."""
        known = self.seen.get(node)
        if known is not None:
            return known
        try:
            found = self._type(node)
        except TypingProblem as exc:
            raise self.error(node, str(exc)) from None
        if self.strict:
            self.seen[node] = found
        return found

    def _type(self, node: ast.expr) -> Ty:
        const = self.const_of(node)
        if const is not None:
            return const_type(const)
        if isinstance(node, ast.Constant):
            if isinstance(node.value, complex):
                return COMPLEX
            raise TypingProblem(f"integer constant {node.value!r} does not fit in 64 bits")
        if isinstance(node, ast.Name):
            return self._name(node)
        if isinstance(node, ast.Attribute) and node.attr in ("real", "imag"):
            t = arith(self.type_of(node.value))
            return Ty(f64, weak=t.weak) if t.kind == "complex" else t  # x.real of a real number is x
        if isinstance(node, ast.BinOp):
            left, right = self.type_of(node.left), self.type_of(node.right)
            operand, result = binop_types(node.op, left, right, self.const_of(node.right))
            for side in (node.left, node.right):
                problem = literal_problem(self.const_of(side), operand)
                if problem is not None:
                    raise self.error(side, problem)
            return result
        if isinstance(node, ast.UnaryOp):
            operand = self.type_of(node.operand)
            if isinstance(node.op, ast.Not):
                return BOOL
            if isinstance(node.op, ast.Invert) and operand.kind in ("float", "complex"):
                raise TypingProblem(f"bad operand type for unary ~: {operand}")
            return arith(operand)
        if isinstance(node, ast.Compare):
            for op, lhs, rhs in zip(node.ops, [node.left, *node.comparators], node.comparators, strict=False):
                common = compare_type(self.type_of(lhs), self.type_of(rhs))
                if common.kind == "complex" and not isinstance(op, ast.Eq | ast.NotEq):
                    raise TypingProblem("complex numbers are not ordered: compare abs(z), z.real or z.imag")
            return BOOL
        if isinstance(node, ast.BoolOp):
            return self._join([self.type_of(v) for v in node.values])
        if isinstance(node, ast.IfExp):
            self.type_of(node.test)
            return promote(self.type_of(node.body), self.type_of(node.orelse))
        if isinstance(node, ast.Subscript):
            return self._subscript(node)
        if isinstance(node, ast.Call):
            return self._call(node)
        if isinstance(node, ast.Attribute) and node.attr == "size" and self.array(node.value) is not None:
            return INT
        raise TypingProblem(f"cannot type '{ast.unparse(node)}'")

    def _join(self, types: Sequence[Ty]) -> Ty:
        result = types[0]
        for t in types[1:]:
            result = promote(result, t)
        return result

    def _name(self, node: ast.Name) -> Ty:
        found = self.locals.get(node.id)
        if found is not None:
            return found
        if node.id in self.info.locals or node.id in self.params:
            if not self.strict:
                raise _Unknown(node.id)
            raise TypingProblem(f"local variable '{node.id}' is never assigned a value of a known type")
        raise TypingProblem(f"name '{node.id}' cannot be used as a value here")

    def _subscript(self, node: ast.Subscript) -> Ty:
        base = node.value
        item = tuple_item(node, self.params)
        if item is not None:
            return Ty(item[0].items[item[1]])
        if isinstance(base, ast.Attribute) and base.attr == "shape":
            return self._extent(base.value, node.slice)
        if isinstance(base, ast.Call) and isinstance(self.callee(base.func), Callee):
            results = self.call_results(base)
            k = self.const_of(node.slice)
            if not isinstance(k, int) or isinstance(k, bool) or not -len(results) <= k < len(results):
                last = len(results) - 1
                raise TypingProblem(f"a call returning {len(results)} values is indexed with a constant 0..{last}")
            return results[k]
        array = self.array(base)
        if array is None:
            raise TypingProblem("only arrays can be indexed")
        dtype, ndim = array
        indexes = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        if len(indexes) <= ndim and is_view(node, ndim):
            raise TypingProblem(view_type_problem(node))
        if len(indexes) != ndim:
            raise TypingProblem(
                f"'{ast.unparse(base)}' has {ndim} dimension(s) but is indexed with {len(indexes)} "
                "(only single elements can be accessed)"
            )
        for index in indexes:
            t = self.type_of(index)
            if t.kind != "int":
                raise TypingProblem(f"array indexes must be integers, got {t}")
        return Ty(dtype)

    def _extent(self, array: ast.expr, index: ast.expr) -> Ty:
        """``a.shape[k]``: ``k`` must be a constant within ``a``'s dimensions."""
        found = self.array(array)
        if found is None:
            raise TypingProblem("only arrays have a shape")
        k, ndim = self.const_of(index), found[1]
        if not isinstance(k, int) or isinstance(k, bool):
            raise TypingProblem("x.shape[k] needs a constant integer k")
        if not -ndim <= k < ndim:
            raise TypingProblem(f"'{ast.unparse(array)}' has {ndim} dimension(s); shape index {k} is out of range")
        return INT

    def _call(self, node: ast.Call) -> Ty:
        func = node.func
        callee = self.callee(func)
        if (
            isinstance(func, ast.Attribute)
            and func.attr == "conjugate"
            and not node.args
            and self.callee(func) is None
            and self.array(func.value) is None
        ):
            return arith(self.type_of(func.value))  # x.conjugate() of a real number is x
        if isinstance(callee, CmathFunc):
            return cmath_types(callee.name, [self.type_of(a) for a in node.args])[1]
        if isinstance(callee, Builtin):
            if callee.name == "len":
                return INT
            args = [self.type_of(a) for a in node.args]
            if callee.name == "complex":
                if any(t.kind == "complex" for t in args):
                    raise TypingProblem("complex(a, b) takes real numbers in kernels (a + b * 1j for complex ones)")
                return COMPLEX
            if any(t.kind == "complex" for t in args) and callee.name != "bool":
                if callee.name == "abs":
                    return Ty(f64, weak=args[0].weak)
                raise TypingProblem(
                    f"{callee.name}() of a complex raises TypeError in Python: use abs(z), z.real or z.imag"
                )
            if callee.name == "abs":
                return arith(args[0])
            if callee.name in ("min", "max"):
                return self._join(args)
            return {"float": FLOAT, "int": INT, "bool": BOOL}[callee.name]
        if isinstance(callee, MathFunc):
            return math_types(callee.name, [self.type_of(a) for a in node.args])[1]
        if isinstance(callee, NumpyFunc) and (callee.name in NUMPY_FUNCS or callee.name in NUMPY_CASTS):
            args = [self.type_of(a) for a in node.args]
            cast = NUMPY_CASTS.get(callee.name)
            problem = literal_problem(self.const_of(node.args[0]), Ty(cast)) if cast is not None else None
            if problem is not None:
                raise self.error(node.args[0], problem)
            return numpy_types(callee.name, args)[1]
        if isinstance(callee, Callee):
            if callee.arity is not None:
                label = callee.label
                if callee.arity == 0:
                    raise TypingProblem(f"'{label}' returns no value")
                raise TypingProblem(
                    f"'{label}' returns {callee.arity} values: unpack them (a, b = {label}(...)) or index one "
                    f"({label}(...)[0])"
                )
            return self.call_results(node)[0]
        raise TypingProblem(f"call to unsupported function '{ast.unparse(func)}'")

    def call_signature(self, node: ast.Call) -> Signature:
        """The specialisation of the function ``node`` calls for its arguments' types."""
        callee = self.callee(node.func)
        if not isinstance(callee, Callee):
            raise TypingProblem(f"'{ast.unparse(node.func)}' is not a function of the kernel language")
        args: list[Ty | None] = []
        for param, arg in bind_arguments(node, callee):
            args.append(self.type_of(arg) if param.kind == "scalar" else None)
        try:
            return specialise(callee, tuple(args))
        except KernelSyntaxError as exc:
            raise called_from(exc, callee, self.info, node) from None

    def call_results(self, node: ast.Call) -> tuple[Ty, ...]:
        """The types of the values a call to a function of the language returns."""
        return self.call_signature(node).results


def infer_locals(
    info: KernelInfo, consts: Mapping[str, ConstValue], seed: Mapping[str, Ty] | None = None
) -> dict[str, Ty]:
    """The type of every local (and scalar parameter), as the join of the values assigned to it
    (``seed``: types of unannotated parameters, for a called function)."""
    types: dict[str, Ty] = dict(seed or {})
    fixed: set[str] = set()
    for param in info.params:
        if param.kind == "scalar" and param.dtype is not None:
            types[param.name] = Ty(param.dtype)
    for name, scalar in info.local_annotations.items():
        types[name] = Ty(scalar)
        fixed.add(name)
    for _ in range(64):
        walker = _Inference(info, consts, types, fixed)
        walker.block(info.tree.body)
        if not walker.changed:
            return types
    raise info.error(None, "the types of the kernel's locals do not settle")  # unreachable: finite lattice


class _Inference:
    """One pass of the local-type fixed point: joins every assignment's type into ``types``."""

    def __init__(
        self, info: KernelInfo, consts: Mapping[str, ConstValue], types: dict[str, Ty], fixed: set[str]
    ) -> None:
        self.typer = Typer(info, consts, types, strict=False)
        self.types = types
        self.fixed = fixed
        self.changed = False

    def try_type(self, node: ast.expr) -> Ty | None:
        try:
            return self.typer.type_of(node)
        except (KernelSyntaxError, _Unknown):
            return None

    def try_results(self, node: ast.expr) -> tuple[Ty, ...] | None:
        try:
            return self.typer.call_results(node) if isinstance(node, ast.Call) else None
        except (KernelSyntaxError, TypingProblem, _Unknown):
            return None

    def join(self, name: str, t: Ty | None) -> None:
        if t is None or name in self.fixed:
            return
        current = self.types.get(name)
        new = t if current is None else promote(current, t)
        if new != current:
            self.types[name] = new
            self.changed = True

    def block(self, body: Sequence[ast.stmt]) -> None:
        for stmt in body:
            if isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Tuple | ast.List):
                results = self.try_results(stmt.value)
                for target, result in zip(stmt.targets[0].elts, results or (), strict=False):
                    if isinstance(target, ast.Name):
                        self.join(target.id, result)
            elif isinstance(stmt, ast.Assign):
                t = self.try_type(stmt.value)
                for target in stmt.targets:
                    if isinstance(target, ast.Name):
                        self.join(target.id, t)
            elif isinstance(stmt, ast.AugAssign) and isinstance(stmt.target, ast.Name):
                current, value = self.try_type(stmt.target), self.try_type(stmt.value)
                if current is not None and value is not None:
                    try:
                        exponent = self.typer.const_of(stmt.value)
                        self.join(stmt.target.id, binop_types(stmt.op, current, value, exponent)[1])
                    except TypingProblem:
                        pass
            elif isinstance(stmt, ast.For):
                if isinstance(stmt.target, ast.Name):
                    self.join(stmt.target.id, INT)
                self.block(stmt.body)
            elif isinstance(stmt, ast.While | ast.If):
                self.block(stmt.body)
                self.block(stmt.orelse)


# ---- calls to functions of the language ---------------------------------------------------------------
@dataclass(frozen=True)
class Signature:
    """A called function specialised for its arguments' types: its locals' types, its typer, its results."""

    types: Mapping[str, Ty]
    typer: Typer
    results: tuple[Ty, ...]


def bind_arguments(node: ast.Call, callee: Callee) -> list[tuple[ParamSpec, ast.expr]]:
    """The call's arguments matched to the callee's parameters (``Const`` ones take their defaults);
    ``TypingProblem`` for a count or keyword that does not match."""
    params = [p for p in callee.info.params if p.kind != "const"]
    label = callee.label
    if len(node.args) > len(params):
        raise TypingProblem(f"{label}() takes {len(params)} argument(s), got {len(node.args)}")
    bound: dict[str, ast.expr] = {p.name: a for p, a in zip(params, node.args, strict=False)}
    for keyword in node.keywords:
        if keyword.arg is None:
            raise TypingProblem("'**' arguments are not supported in kernels")
        if keyword.arg not in {p.name for p in params}:
            raise TypingProblem(f"{label}() has no parameter '{keyword.arg}' (Const parameters take their defaults)")
        if keyword.arg in bound:
            raise TypingProblem(f"{label}() got parameter '{keyword.arg}' twice")
        bound[keyword.arg] = keyword.value
    defaults: dict[str, ast.expr] = node.__dict__.setdefault("autotune_defaults", {})  # one node per call site
    for p in params:  # a called function's scalar parameters may have defaults
        if p.name not in bound and p.name in callee.info.const_defaults:
            if p.name not in defaults:
                defaults[p.name] = ast.copy_location(ast.Constant(callee.info.const_defaults[p.name]), node)
            bound[p.name] = defaults[p.name]
    missing = [p.name for p in params if p.name not in bound]
    if missing:
        raise TypingProblem(f"{label}() is missing argument(s) {', '.join(repr(m) for m in missing)}")
    return [(p, bound[p.name]) for p in params]


_signatures: dict[tuple[int, tuple[Ty | None, ...]], tuple[Callee, Signature]] = {}


def specialise(callee: Callee, args: tuple[Ty | None, ...]) -> Signature:
    """``callee`` typed for these argument types (``None`` for arrays): an unannotated parameter takes its
    argument's type, an annotated one its own; its ``Const`` parameters take their defaults."""
    key = (id(callee), args)
    hit = _signatures.get(key)
    if hit is not None and hit[0] is callee:
        return hit[1]
    info = callee.info
    params = [p for p in info.params if p.kind != "const"]
    seed = {p.name: t for p, t in zip(params, args, strict=True) if p.name in callee.untyped and t is not None}
    consts = dict(info.const_defaults)
    types = infer_locals(info, consts, seed)
    typer = Typer(info, consts, types)
    if callee.returns is not None:
        results = tuple(Ty(s) for s in callee.returns)
    else:
        results = _inferred_results(callee, typer)
    signature = Signature(types, typer, results)
    if len(_signatures) > 4096:
        _signatures.clear()
    _signatures[key] = (callee, signature)
    return signature


def _inferred_results(callee: Callee, typer: Typer) -> tuple[Ty, ...]:
    """The join of the types of every value returned (a function without a return annotation)."""
    joined: list[Ty] = []
    for node in ast.walk(callee.info.tree):
        if isinstance(node, ast.Return) and node.value is not None:
            values = node.value.elts if isinstance(node.value, ast.Tuple) else [node.value]
            types = [typer.type_of(v) for v in values]
            joined = types if not joined else [promote(a, b) for a, b in zip(joined, types, strict=True)]
    return tuple(joined)


def called_from(exc: KernelSyntaxError, callee: Callee, caller: KernelInfo, node: ast.AST) -> KernelSyntaxError:
    """``exc`` (raised in ``callee``'s body, where it points) naming the call it was compiled for."""
    where = caller.error(node, "")
    note = f" (in '{callee.label}', called at {where.filename}:{where.lineno})"
    if (exc.filename == where.filename and exc.lineno == where.lineno) or exc.message.endswith(note):
        return exc
    return type(exc)(exc.filename, exc.lineno, exc.col, exc.message + note)
