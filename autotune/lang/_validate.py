"""The language subset, checked on the whole body when a kernel is decorated.

Anything outside the subset fails here, with the file, line and column of the construct and a message
naming it, long before a variant is compiled. Types are checked later, per variant, by the lowering.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable, Mapping

from ..abi import RAISABLE, Raise, StatusTable
from ..errors import KernelSyntaxError
from ..types import ArrayType, TupleType
from ._arrays import Creation, creation_of
from ._builtins import BUILTIN_ARITY, MATH_CONSTS, MATH_FUNCS, NUMPY_CONSTS, numpy_arity
from ._complex import CMATH_ARITY, CMATH_CONSTS
from ._model import (
    ArrayInfo,
    Builtin,
    Callee,
    CallError,
    CmathFunc,
    CmathModule,
    HostArray,
    LocalArray,
    MathFunc,
    MathModule,
    NumpyFunc,
    NumpyModule,
    Resolved,
)
from ._view_types import subscript_items, view_type_problem

__all__ = ["Checker", "assigned_names", "raise_of", "status_table"]

ErrorFn = Callable[[ast.AST, str], KernelSyntaxError]
ResolveFn = Callable[[str, ast.AST], Resolved]
ArrayOf = Callable[[ast.expr], ArrayInfo | None]

_STATEMENTS: dict[type[ast.AST], str] = {
    ast.With: "'with' statements",
    ast.AsyncWith: "'async with' statements",
    ast.Try: "'try' statements",
    ast.TryStar: "'try' statements",
    ast.Delete: "'del' statements",
    ast.Import: "'import' statements",
    ast.ImportFrom: "'import' statements",
    ast.Global: "'global' statements",
    ast.Nonlocal: "'nonlocal' statements",
    ast.FunctionDef: "nested function definitions",
    ast.AsyncFunctionDef: "nested function definitions",
    ast.ClassDef: "class definitions",
    ast.Match: "'match' statements",
    ast.AsyncFor: "'async for' loops",
}

_EXPRESSIONS: dict[type[ast.AST], str] = {
    ast.Lambda: "lambda expressions",
    ast.ListComp: "list comprehensions",
    ast.SetComp: "set comprehensions",
    ast.DictComp: "dict comprehensions",
    ast.GeneratorExp: "generator expressions",
    ast.List: "lists",
    ast.Tuple: "tuples as values",
    ast.Set: "sets",
    ast.Dict: "dicts",
    ast.JoinedStr: "f-strings",
    ast.FormattedValue: "f-strings",
    ast.Starred: "starred expressions",
    ast.NamedExpr: "assignment expressions (':=')",
    ast.Await: "'await' expressions",
    ast.Yield: "'yield' expressions",
    ast.YieldFrom: "'yield' expressions",
    ast.Slice: "slices",
}

_BINOPS = (
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.FloorDiv,
    ast.Mod,
    ast.Pow,
    ast.BitAnd,
    ast.BitOr,
    ast.BitXor,
    ast.LShift,
    ast.RShift,
)
_CMPOPS = (ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE)


def _unsupported(what: str) -> str:
    return f"{what} are not supported in kernels"


_RAISE_FORMS = (
    f"kernels raise only {', '.join(sorted(RAISABLE))}, as 'raise ValueError' or "
    "'raise ValueError(\"a string literal\")'"
)


def raise_of(node: ast.Raise | ast.Assert) -> Raise | str:
    """The exception and message a validated ``raise``/``assert`` stands for, or why it is not supported."""
    if isinstance(node, ast.Assert):
        if node.msg is None:
            return Raise(AssertionError, None)
        if isinstance(node.msg, ast.Constant) and isinstance(node.msg.value, str):
            return Raise(AssertionError, node.msg.value)
        return "the message of an 'assert' must be a string literal (f-strings and variables are not supported)"
    if node.exc is None:
        return "a bare 'raise' (re-raising) is not supported in kernels; " + _RAISE_FORMS
    if node.cause is not None:
        return "'raise ... from ...' is not supported in kernels; " + _RAISE_FORMS
    exc = node.exc
    call = exc if isinstance(exc, ast.Call) else None
    name = call.func if call is not None else exc
    if not isinstance(name, ast.Name) or name.id not in RAISABLE:
        return f"cannot raise {ast.unparse(name)!r}: " + _RAISE_FORMS
    if call is None:
        return Raise(RAISABLE[name.id], None)
    if call.keywords or len(call.args) > 1:
        return f"{name.id}(...) in a kernel takes at most one argument, a string literal; " + _RAISE_FORMS
    if not call.args:
        return Raise(RAISABLE[name.id], None)
    arg = call.args[0]
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return Raise(RAISABLE[name.id], arg.value)
    return f"the message of {name.id}(...) must be a string literal (not an f-string or a variable); " + _RAISE_FORMS


def status_table(tree: ast.FunctionDef) -> StatusTable:
    """The kernel's own status codes: its raises and asserts in source order (a function of the source
    alone, so every variant, whatever its constants and knobs, returns the same codes)."""
    nodes = [n for n in ast.walk(tree) if isinstance(n, ast.Raise | ast.Assert)]
    nodes.sort(key=lambda n: (n.lineno, n.col_offset))
    return StatusTable.of(r for r in map(raise_of, nodes) if isinstance(r, Raise))


def assigned_names(body: Iterable[ast.stmt]) -> list[str]:
    """Names the body binds (assignment targets and loop variables), in first-seen order."""
    names: dict[str, None] = {}
    for stmt in body:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.setdefault(node.id, None)
    return list(names)


class Checker:
    """Walks a kernel body, rejecting anything outside the subset.

    ``params`` maps parameter names to their kind (``scalar``, ``array``, ``const``); ``locals`` are the
    names the body assigns; ``resolve`` resolves any other name (and raises for unknown ones);
    ``array_of`` types array-valued expressions (arrays, view locals and views, see ``_view_types``). After
    :meth:`check`, ``written`` holds the arrays (parameters and host arrays) the body stores into, through
    views too.
    """

    def __init__(
        self,
        error: ErrorFn,
        params: Mapping[str, str],
        local_names: Iterable[str],
        resolve: ResolveFn,
        returns_value: bool | None,
        array_of: ArrayOf | None = None,
        *,
        result: object = None,
        local_arrays: Mapping[str, LocalArray] | None = None,
    ) -> None:
        self._error = error
        self._array_of: ArrayOf = array_of or (lambda node: None)
        self._result = result
        self._local_arrays = dict(local_arrays or {})
        self._stable: set[str] = set()  # created arrays whose views are safe (see _created_once)
        self._params = params
        self._locals = set(local_names)
        self._resolve = resolve
        self._returns_value = returns_value
        self._loop_depth = 0
        self.written: set[str] = set()
        #: the function returns a tuple (``return a, b``): a function a kernel calls
        self.tuple_returns = False

    # ---- names ---------------------------------------------------------------------------------
    def _lookup(self, name: str, node: ast.AST) -> str | Resolved:
        if name in self._params:
            return self._params[name]
        if name in self._locals:
            return "local"
        return self._resolve(name, node)

    def _is_array(self, node: ast.expr) -> bool:
        if isinstance(node, ast.Subscript):
            return self._subscript(node) > 0
        if not isinstance(node, ast.Name):
            return False
        kind = self._lookup(node.id, node)
        return kind == "array" or isinstance(kind, HostArray) or self._array_of(node) is not None

    def _is_module(self, node: ast.expr) -> bool:
        """``math``, ``np`` or ``cmath`` (whose attributes are functions and constants, not numbers)."""
        if not isinstance(node, ast.Name):
            return False
        return isinstance(self._lookup(node.id, node), MathModule | NumpyModule | CmathModule)

    # ---- statements ----------------------------------------------------------------------------
    def check(self, body: list[ast.stmt]) -> None:
        """Check a function body (a leading docstring is allowed)."""
        start = 1 if body and _is_docstring(body[0]) else 0
        self._stable = _created_once(body, self._local_arrays.keys())
        self._block(body[start:])

    def _block(self, body: list[ast.stmt]) -> None:
        for stmt in body:
            self._stmt(stmt)

    def _stmt(self, node: ast.stmt) -> None:
        if type(node) in _STATEMENTS:
            raise self._error(node, _unsupported(_STATEMENTS[type(node)]))
        if isinstance(node, ast.Assign) and (creation := creation_of(node.value, self._lookup, self._error)):
            self._creation(creation)
        elif isinstance(node, ast.Assign) and self._unpacks_call(node):
            for target in node.targets[0].elts:  # type: ignore[attr-defined]
                self._target(target)
            self._expr(node.value)
        elif isinstance(node, ast.Assign):
            viewed = self._array_of(node.value)
            if viewed is not None:  # name = <array or view>: the name holds a view
                created = sorted(viewed.roots & (self._local_arrays.keys() - self._stable))
                if created:
                    raise self._error(
                        node,
                        f"a view of '{created[0]}', an array the kernel creates more than once or inside a loop "
                        "or branch, would outlive its buffer: create it once, before the view, or index it",
                    )
                self._view_assign(node)
                return
            for target in node.targets:
                self._target(target)
            self._expr(node.value)
        elif isinstance(node, ast.AugAssign):
            self._binop(node.op, node)
            self._target(node.target)
            self._expr(node.value)
        elif isinstance(node, ast.AnnAssign):
            if not isinstance(node.target, ast.Name):
                raise self._error(node, "annotated assignments must target a plain local name")
            self._target(node.target)
            if node.value is not None:
                self._expr(node.value)
        elif isinstance(node, ast.For):
            self._for(node)
        elif isinstance(node, ast.While):
            if node.orelse:
                raise self._error(node.orelse[0], _unsupported("'else' clauses on loops"))
            self._expr(node.test)
            self._loop_body(node.body)
        elif isinstance(node, ast.If):
            self._expr(node.test)
            self._block(node.body)
            self._block(node.orelse)
        elif isinstance(node, ast.Break | ast.Continue):
            if self._loop_depth == 0:
                raise self._error(node, "'break'/'continue' outside a loop")
        elif isinstance(node, ast.Return):
            self._return(node)
        elif isinstance(node, ast.Raise | ast.Assert):
            self._raise(node)
        elif isinstance(node, ast.Expr):
            if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                raise self._error(node, _unsupported("strings"))
            self._expr(node.value)
        elif not isinstance(node, ast.Pass):
            raise self._error(node, _unsupported(f"'{type(node).__name__}' statements"))

    def _for(self, node: ast.For) -> None:
        if node.orelse:
            raise self._error(node.orelse[0], _unsupported("'else' clauses on loops"))
        if not isinstance(node.target, ast.Name):
            raise self._error(node.target, "for-loop targets must be a single name")
        self._target(node.target)
        call = node.iter
        if not (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Name)
            and self._lookup(call.func.id, call.func) in (Builtin("range"), Builtin("prange"))
        ):
            raise self._error(node.iter, "for loops must iterate over range(...) or prange(...)")
        self._call_args(call, call.func.id, *BUILTIN_ARITY["range"])
        self._loop_body(node.body)

    def _creation(self, creation: Creation) -> None:
        """``b = np.zeros(shape)`` and the other creators (the target was checked by ``local_array_specs``)."""
        if creation.like is not None and not self._is_array(creation.like):
            raise self._error(creation.like, f"np.{creation.creator}() takes an array")
        shape = creation.shape
        if isinstance(shape, ast.Attribute) and shape.attr == "shape" and self._is_array(shape.value):
            pass
        elif isinstance(shape, ast.Tuple):
            for item in shape.elts:
                self._expr(item)
        elif shape is not None:
            self._expr(shape)
        if creation.fill is not None:
            self._expr(creation.fill)

    def _loop_body(self, body: list[ast.stmt]) -> None:
        self._loop_depth += 1
        self._block(body)
        self._loop_depth -= 1

    def _return(self, node: ast.Return) -> None:
        if node.value is None:
            if self._returns_value:
                raise self._error(node, "a bare 'return' in a kernel that returns a value")
            return
        if self._returns_value is None:
            raise self._error(node, "kernels that return a value must annotate the return type (-> f64)")
        if not self._returns_value:
            raise self._error(node, "kernel annotated '-> None' returns a value")
        if isinstance(self._result, ArrayType):
            value = node.value
            if not (isinstance(value, ast.Name) and value.id in self._local_arrays):
                raise self._error(
                    value,
                    f"a kernel annotated '-> {self._result!r}' returns an array it created, by name "
                    "(b = np.empty_like(a); ...; return b); returning a parameter or an expression is not supported",
                )
            spec = self._local_arrays[value.id]
            if (spec.dtype, spec.ndim) != (self._result.dtype, self._result.ndim):
                dims = ", ".join(":" * spec.ndim)
                raise self._error(
                    value, f"'{value.id}' is {spec.dtype.name}[{dims}] but the kernel returns {self._result!r}"
                )
            return
        if isinstance(self._result, TupleType):
            if not isinstance(node.value, ast.Tuple) or len(node.value.elts) != len(self._result.items):
                raise self._error(
                    node.value, f"the kernel returns {self._result!r}: 'return' {len(self._result.items)} values"
                )
            for item in node.value.elts:
                self._expr(item)
            return
        if isinstance(node.value, ast.Tuple) and self.tuple_returns:
            for value in node.value.elts:
                self._expr(value)
            return
        self._expr(node.value)

    def _raise(self, node: ast.Raise | ast.Assert) -> None:
        found = raise_of(node)
        if isinstance(found, str):
            raise self._error(node, found)
        if isinstance(node, ast.Assert):
            self._expr(node.test)
            return
        exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
        if isinstance(exc, ast.Name) and (exc.id in self._params or exc.id in self._locals):
            raise self._error(exc, f"cannot raise '{exc.id}', a parameter or local of the kernel: " + _RAISE_FORMS)

    def _view_assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            if not isinstance(target, ast.Name):
                raise self._error(
                    target, "an array view can only be assigned to a name (row = A[i]); copy elements in a loop"
                )
            self._target(target)
        if isinstance(node.value, ast.Subscript):
            self._subscript(node.value)

    def _target(self, node: ast.expr) -> None:
        if isinstance(node, ast.Name):
            kind = self._params.get(node.id)
            if node.id in self._local_arrays:
                raise self._error(
                    node, f"local array '{node.id}' can only be assigned a new array (b = np.zeros(n) and the like)"
                )
            if kind == "array":
                raise self._error(node, f"cannot assign to array parameter '{node.id}'")
            if kind == "const":
                raise self._error(node, f"cannot assign to Const parameter '{node.id}'")
        elif isinstance(node, ast.Subscript):
            if self._subscript(node):
                raise self._error(
                    node,
                    f"cannot assign to '{ast.unparse(node)}', an array view (a row, column or slice): assign "
                    "its elements in a loop",
                )
            found = self._array_of(node.value)
            if found is not None:
                self.written |= found.roots
            elif isinstance(node.value, ast.Name):
                self.written.add(node.value.id)
        elif isinstance(node, ast.Tuple | ast.List):
            raise self._error(node, _unsupported("tuple assignments"))
        elif isinstance(node, ast.Attribute):
            raise self._error(node, _unsupported("assignments to attributes"))
        else:
            raise self._error(node, _unsupported(f"assignments to '{type(node).__name__}'"))

    # ---- expressions ---------------------------------------------------------------------------
    def _expr(self, node: ast.expr) -> None:
        if type(node) in _EXPRESSIONS:
            raise self._error(node, _unsupported(_EXPRESSIONS[type(node)]))
        if isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, str | bytes):
                raise self._error(node, _unsupported("strings"))
            if not isinstance(value, bool | int | float | complex):
                raise self._error(node, _unsupported(f"{type(value).__name__} constants"))
        elif isinstance(node, ast.Name):
            self._value_name(node)
        elif isinstance(node, ast.BinOp):
            self._binop(node.op, node)
            self._expr(node.left)
            self._expr(node.right)
        elif isinstance(node, ast.UnaryOp):
            self._expr(node.operand)
        elif isinstance(node, ast.BoolOp):
            for operand in node.values:
                self._expr(operand)
        elif isinstance(node, ast.Compare):
            for op in node.ops:
                if not isinstance(op, _CMPOPS):
                    what = {ast.In: "'in'", ast.NotIn: "'not in'", ast.Is: "'is'", ast.IsNot: "'is not'"}
                    raise self._error(node, _unsupported(f"{what.get(type(op), 'such')} comparisons"))
            self._expr(node.left)
            for comparator in node.comparators:
                self._expr(comparator)
        elif isinstance(node, ast.IfExp):
            self._expr(node.test)
            self._expr(node.body)
            self._expr(node.orelse)
        elif isinstance(node, ast.Call):
            self._call(node)
        elif isinstance(node, ast.Attribute):
            self._attribute(node)
        elif isinstance(node, ast.Subscript):
            if self._subscript(node):
                raise self._error(node, view_type_problem(node))
        else:
            raise self._error(node, _unsupported(f"'{type(node).__name__}' expressions"))

    def _binop(self, op: ast.operator, node: ast.AST) -> None:
        if isinstance(op, ast.MatMult):
            raise self._error(node, _unsupported("'@' (matrix multiplication) operators"))
        if not isinstance(op, _BINOPS):
            raise self._error(node, _unsupported(f"'{type(op).__name__}' operators"))

    def _value_name(self, node: ast.Name) -> None:
        kind = self._lookup(node.id, node)
        if kind == "array" or isinstance(kind, HostArray) or self._array_of(node) is not None:
            raise self._error(node, f"array '{node.id}' cannot be used as a value (index it, or use len()/.shape)")
        if isinstance(
            kind, MathModule | MathFunc | Builtin | NumpyModule | NumpyFunc | CmathModule | CmathFunc | Callee
        ):
            raise self._error(node, f"'{node.id}' can only be called, not used as a value")

    def _call(self, node: ast.Call) -> None:
        func = node.func
        callee = self._callee(node)
        if callee is not None:
            return self._callee_call(node, callee)
        if node.keywords:
            raise self._error(node, _unsupported("keyword arguments"))
        name: str | None = None
        if isinstance(func, ast.Name):
            try:
                kind = self._lookup(func.id, func)
            except KernelSyntaxError as exc:
                if "is not defined" in exc.message:  # names resolve when the kernel is decorated, not called
                    later = " (a function a kernel calls must be defined before the kernel is decorated)"
                    raise KernelSyntaxError(exc.filename, exc.lineno, exc.col, exc.message + later) from None
                if "refers to numpy's" in exc.message or isinstance(exc, CallError):
                    raise
                kind = "other"
            if isinstance(kind, Builtin):
                if kind.name in ("range", "prange"):
                    raise self._error(node, f"{kind.name}() can only be the iterable of a for loop")
                self._call_args(node, kind.name)
                if kind.name == "len" and not self._is_array(node.args[0]):
                    raise self._error(node.args[0], "len() takes an array")
                return
            if isinstance(kind, MathFunc):
                name = kind.name
            if isinstance(kind, NumpyFunc):
                return self._numpy_call(node, kind.name)
            if isinstance(kind, CmathFunc):
                return self._call_args(node, f"cmath.{kind.name}", CMATH_ARITY[kind.name], CMATH_ARITY[kind.name])
        elif (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and isinstance(self._lookup(func.value.id, func.value), CmathModule)
        ):
            if func.attr not in CMATH_ARITY:
                raise self._error(func, f"cmath.{func.attr} is not supported in kernels ({', '.join(CMATH_ARITY)})")
            return self._call_args(node, f"cmath.{func.attr}", CMATH_ARITY[func.attr], CMATH_ARITY[func.attr])
        elif isinstance(func, ast.Attribute) and func.attr == "conjugate" and not self._is_module(func.value):
            self._call_args(node, "conjugate", 0, 0)
            return self._expr(func.value)
        elif (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and isinstance(self._lookup(func.value.id, func.value), NumpyModule)
        ):
            return self._numpy_call(node, func.attr)
        elif (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and isinstance(self._lookup(func.value.id, func.value), MathModule)
        ):
            if func.attr not in MATH_FUNCS:
                raise self._error(func, f"math.{func.attr} is not supported in kernels")
            name = func.attr
        if name is None:
            raise self._error(
                node,
                f"call to unsupported function '{ast.unparse(func)}' (kernels call only math.*, np.*, "
                "min, max, abs, len, int, float, bool and functions written in the kernel language: undecorated "
                "helpers and tunable kernels)",
            )
        self._call_args(node, name, MATH_FUNCS[name].arity, MATH_FUNCS[name].arity)

    def _callee(self, node: ast.expr) -> Callee | None:
        """The function of the language ``node`` calls (``f(...)`` or ``module.f(...)``), if it is one."""
        if not isinstance(node, ast.Call):
            return None
        func = node.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            if func.value.id in self._params or func.value.id in self._locals:
                return None
            try:  # math.f, np.f and the like are not modules of functions of the language
                self._resolve(func.value.id, func.value)
                return None
            except KernelSyntaxError:
                name = f"{func.value.id}.{func.attr}"
        elif isinstance(func, ast.Name):
            name = func.id
        else:
            return None
        if name in self._params or name in self._locals:
            return None
        try:
            kind = self._resolve(name, func)
        except KernelSyntaxError as exc:
            if isinstance(exc, CallError):
                raise
            return None
        return kind if isinstance(kind, Callee) else None

    def _unpacks_call(self, node: ast.Assign) -> bool:
        """``a, b = f(...)`` with ``f`` a function of the language (arity checked here when it is known)."""
        if not (len(node.targets) == 1 and isinstance(node.targets[0], ast.Tuple | ast.List)):
            return False
        callee = self._callee(node.value)
        if callee is None:
            return False
        count = len(node.targets[0].elts)
        if callee.arity is None or callee.arity != count:
            found = "one value" if callee.arity is None else f"{callee.arity} values"
            raise self._error(node, f"'{callee.label}' returns {found}, unpacked into {count} targets")
        return True

    def _callee_call(self, node: ast.Call, callee: Callee) -> None:
        """A call to a function of the language: arguments bound to its parameters; arrays passed by name
        (and marked written here when the callee writes them)."""
        params = [p for p in callee.info.params if p.kind != "const"]
        by_name = {p.name: p for p in params}
        pairs = [*zip(params, node.args, strict=False), *((by_name.get(k.arg or ""), k.value) for k in node.keywords)]
        missing = [p.name for p in params[len(node.args) :] if p.name not in callee.info.const_defaults]
        missing = [m for m in missing if m not in {k.arg for k in node.keywords}]
        if missing:
            raise self._error(node, f"{callee.label}() is missing argument(s) {', '.join(map(repr, missing))}")
        if len(node.args) > len(params):
            raise self._error(node, f"{callee.label}() takes {len(params)} argument(s), got {len(node.args)}")
        for param, arg in pairs:
            if isinstance(arg, ast.Starred):
                raise self._error(arg, _unsupported("starred arguments (*args)"))
            if param is None:
                raise self._error(arg, f"{callee.label}() has no such parameter (Const parameters take their defaults)")
            if param.kind != "array":
                self._expr(arg)
                continue
            if not self._is_array(arg):
                raise self._error(arg, f"parameter '{param.name}' of '{callee.label}' takes an array: pass its name")
            if param.written:  # the helper stores into it: so into every array it may view
                viewed = self._array_of(arg)
                if viewed is not None:
                    self.written |= viewed.roots
                elif isinstance(arg, ast.Name):
                    self.written.add(arg.id)

    def _numpy_call(self, node: ast.Call, name: str) -> None:
        try:
            arity = numpy_arity(name)
        except ValueError as exc:
            raise self._error(node.func, str(exc)) from None
        self._call_args(node, f"np.{name}", arity, arity)

    def _call_args(self, node: ast.Call, name: str, low: int | None = None, high: int | None = None) -> None:
        if node.keywords:
            raise self._error(node, _unsupported("keyword arguments"))
        if low is None:
            low, high = BUILTIN_ARITY[name]
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise self._error(arg, _unsupported("starred arguments (*args)"))
        count = len(node.args)
        if count < low or (high is not None and count > high):
            expected = str(low) if low == high else f"{low} to {high}" if high is not None else f"at least {low}"
            raise self._error(node, f"{name}() takes {expected} arguments, got {count}")
        for arg in node.args:
            if name == "len" and isinstance(arg, ast.Name | ast.Subscript) and self._is_array(arg):
                continue
            self._expr(arg)

    def _attribute(self, node: ast.Attribute) -> None:
        if node.attr in ("size", "ndim", "shape") and isinstance(node.value, ast.Subscript):
            if self._is_array(node.value):
                if node.attr == "shape":
                    raise self._error(node, "x.shape must be indexed: x.shape[k]")
                return
        if node.attr in ("real", "imag") and not self._is_module(node.value):
            return self._expr(node.value)  # z.real, a[i].imag: the typer checks the value is a number
        if isinstance(node.value, ast.Name):
            kind = self._lookup(node.value.id, node.value)
            if isinstance(kind, MathModule):
                if node.attr in MATH_CONSTS:
                    return
                raise self._error(node, f"math.{node.attr} is not supported in kernels")
            if isinstance(kind, CmathModule):
                if node.attr in CMATH_CONSTS:
                    return
                raise self._error(node, f"cmath.{node.attr} is not supported in kernels")
            if isinstance(kind, NumpyModule):
                if node.attr in NUMPY_CONSTS:
                    return
                try:
                    numpy_arity(node.attr)
                except ValueError as exc:
                    raise self._error(node, str(exc)) from None
                raise self._error(node, f"np.{node.attr} can only be called, not used as a value")
            array = kind == "array" or isinstance(kind, HostArray) or self._array_of(node.value) is not None
            if node.attr in ("size", "ndim") and array:
                return
            if node.attr == "shape" and array:
                raise self._error(node, "x.shape must be indexed: x.shape[k]")
        only = "only x.shape[k], x.size, x.ndim, z.real, z.imag, math.*, cmath.* and np.*"
        raise self._error(node, f"attribute '.{node.attr}' is not supported in kernels ({only})")

    def _subscript(self, node: ast.Subscript) -> int:
        """Check ``node`` (an element, a view, or ``x.shape[k]``); the view's rank, 0 for one element."""
        base = node.value
        if isinstance(base, ast.Name) and base.id in self._params and self._params[base.id] == "tuple":
            return 0  # p[k] with a constant k: the only form left by the tuple rewrite
        if isinstance(base, ast.Attribute) and base.attr == "shape" and self._is_array(base.value):
            if isinstance(node.slice, ast.Tuple | ast.Slice) or not isinstance(node.ctx, ast.Load):
                raise self._error(node, "x.shape takes one constant index: x.shape[k]")
            self._expr(node.slice)
            return 0
        if isinstance(base, ast.Call) and self._callee(base) is not None:
            self._call(base)
            self._expr(node.slice)
            return 0
        if not self._is_array(base):
            if isinstance(base, ast.Call):
                self._call(base)  # an unsupported function (np.zeros(3)[0]) says so first
            raise self._error(base, "only arrays can be indexed (a[i], a[i, j], a[lo:hi:step], x.shape[k])")
        indexes = subscript_items(node)
        for index in indexes:
            if isinstance(index, ast.Slice):
                for part in (index.lower, index.upper, index.step):
                    if part is not None:
                        self._expr(part)
            else:
                self._expr(index)
        found = self._array_of(base)
        if found is None:
            return 0
        if len(indexes) > found.ndim:
            raise self._error(
                node, f"'{ast.unparse(base)}' has {found.ndim} dimension(s) but is indexed with {len(indexes)}"
            )
        return found.ndim - sum(not isinstance(i, ast.Slice) for i in indexes)


def _created_once(body: list[ast.stmt], names: Iterable[str]) -> set[str]:
    """Arrays the kernel creates by exactly one assignment, a statement of the function's own body (not in a
    loop or branch): their buffer lives until the kernel returns, so a view of them never dangles."""
    stable: set[str] = set()
    for name in names:
        stores = [
            n
            for s in body
            for n in ast.walk(s)
            if isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Store)
        ]
        top = (
            [s for s in body if isinstance(s, ast.Assign) and any(t is stores[0] for t in s.targets)] if stores else []
        )
        if len(stores) == 1 and top:
            stable.add(name)
    return stable


def _is_docstring(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)
