"""``parse_kernel``: from a Python function to a validated :class:`KernelInfo`.

Runs once, when the decorator runs: reads the source, checks the whole body against the subset, resolves
annotations and free names. Everything that can be rejected without knowing a variant's constants is
rejected here, with the file position of the offending construct.
"""

from __future__ import annotations

import ast
import builtins
import dataclasses
import inspect
import sys
import textwrap
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import KernelSyntaxError, KernelTypeError
from ..types import ArrayType, ConstType, Result, ScalarType, TupleType, boolean, c128, f64, i64
from ._arrays import local_array_specs
from ._callee import merge_globals, parsing, resolve_callee
from ._iteration import rewrite_iteration
from ._model import (
    ArrayInfo,
    Builtin,
    Callee,
    CallError,
    ConstValue,
    GlobalRef,
    HostArray,
    KernelInfo,
    LocalArray,
    ParamSpec,
    Resolved,
    ViewLocal,
)
from ._names import MISSING, lookup, resolve_value
from ._prange import check_pranges, prange
from ._tuple_locals import rewrite_tuple_locals
from ._tuples import rewrite_tuple_params, tuple_items_of
from ._unpack import rewrite_unpacking
from ._validate import Checker, assigned_names
from ._view_types import ArrayLookup, array_info, find_views

__all__ = ["parse_kernel", "parse_kernel_source"]

_PY_SCALARS: dict[Any, ScalarType] = {float: f64, int: i64, bool: boolean, complex: c128}


def parse_kernel(func: Callable[..., Any]) -> KernelInfo:
    """Parse and validate the kernel ``func`` (a plain annotated ``def``; decorators are ignored).

    Raises :class:`KernelSyntaxError` (file, line, column, what) for anything outside the language and
    :class:`KernelTypeError` if ``func`` is not a Python function.
    """
    if not inspect.isfunction(func):
        raise KernelTypeError(None, f"kernels must be Python functions, got {type(func).__name__}")
    with parsing(func, func.__name__):
        return _function_parser(func, helper=False).info()


def _parse_callee(func: Callable[..., Any], label: str) -> Callee:
    """Parse an undecorated function a kernel calls (see ``_callee``)."""
    return _function_parser(func, helper=True).callee(label)


def _function_parser(func: Callable[..., Any], *, helper: bool) -> _Parser:
    code = func.__code__
    filename = inspect.getsourcefile(func) or code.co_filename
    try:
        lines, firstlineno = inspect.getsourcelines(func)
    except (OSError, TypeError) as exc:
        raise KernelSyntaxError(filename, code.co_firstlineno, 0, _no_source(func, exc, helper=helper)) from None
    closure: dict[str, Any] = {}
    for name, cell in zip(code.co_freevars, func.__closure__ or (), strict=False):
        try:
            closure[name] = cell.cell_contents
        except ValueError:  # an empty cell: the name is not bound yet
            continue
    return _parser("".join(lines), filename, firstlineno, closure, func.__globals__, helper=helper)


def _no_source(func: Callable[..., Any], exc: Exception, *, helper: bool = False) -> str:
    """Why ``func``'s source cannot be read (named from where it was compiled) and what to do instead."""
    where = func.__code__.co_filename
    if where == "<stdin>":
        why = "it was defined in the interactive interpreter (<stdin>), which keeps no source text"
    elif where == "<string>" and func.__module__ == "__main__" and sys.argv[:1] == ["-c"]:
        why = "it was defined in a 'python -c' command, which keeps no source text"
    elif where.startswith("<") and where.endswith(">"):
        why = f"it was compiled from a string ({where}, e.g. by exec()), which keeps no source text"
    else:
        why = f"{exc}"
    name = func.__name__
    if helper:
        return (
            f"the source of function '{name}', which a kernel calls, is not available: {why}. A kernel compiles "
            "the functions it calls from their source: define it in a module file and import it"
        )
    return (
        f"the source of kernel '{name}' is not available: {why}. Put the kernel in a module file and import "
        f"it, or pass its source text instead of the function: "
        f"{name} = autotune.tunable(source='''def {name}(a: f64['n']) -> f64: ...''', vectorize=[0, 4])"
    )


def parse_kernel_source(
    source: str,
    *,
    filename: str = "<kernel>",
    namespace: Mapping[str, Any] | None = None,
    firstlineno: int = 1,
) -> KernelInfo:
    """Parse a kernel from source text: the first ``def`` in ``source``, free names looked up in
    ``namespace`` (then builtins). For generated kernels and tests; ``parse_kernel`` is the usual route.
    """
    return _parser(source, filename, firstlineno, {}, dict(namespace or {})).info()


def _parser(
    source: str,
    filename: str,
    firstlineno: int,
    closure: Mapping[str, Any],
    module: Mapping[str, Any],
    *,
    helper: bool = False,
) -> _Parser:
    dedented = textwrap.dedent(source)
    indent = _indent(source) - _indent(dedented)
    try:
        tree = ast.parse(dedented, filename=filename)
    except SyntaxError as exc:
        line = (exc.lineno or 1) + firstlineno - 1
        raise KernelSyntaxError(filename, line, max((exc.offset or 1) - 1, 0), exc.msg) from None
    func = next((s for s in tree.body if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef)), None)
    if func is None:
        raise KernelSyntaxError(filename, firstlineno, indent, "kernels must be defined with 'def'")
    if isinstance(func, ast.AsyncFunctionDef):
        raise KernelSyntaxError(filename, func.lineno + firstlineno - 1, indent, "kernels cannot be 'async'")
    return _Parser(func, source, filename, firstlineno, indent, closure, module, helper=helper)


def _indent(text: str) -> int:
    for line in text.splitlines():
        if line.strip():
            return len(line) - len(line.lstrip())
    return 0


class _Parser:
    """Builds one :class:`KernelInfo`; holds what the name resolution and error positions need."""

    def __init__(
        self,
        func: ast.FunctionDef,
        source: str,
        filename: str,
        firstlineno: int,
        indent: int,
        closure: Mapping[str, Any],
        module: Mapping[str, Any],
        *,
        helper: bool = False,
    ) -> None:
        self.helper = helper  # a called function: unannotated scalars, tuple or inferred results
        self.returns: tuple[ScalarType, ...] | None = None
        self.arity: int | None = None
        self.func = func
        self.source = source
        self.filename = filename
        self.firstlineno = firstlineno
        self.indent = indent
        self.closure = closure
        self.module = module
        self.names: dict[str, Resolved] = {}

    def error(self, node: ast.AST, message: str) -> KernelSyntaxError:
        line = getattr(node, "lineno", self.func.lineno) + self.firstlineno - 1
        return KernelSyntaxError(self.filename, line, getattr(node, "col_offset", 0) + self.indent, message)

    def evaluate(self, node: ast.expr, what: str) -> Any:
        """Evaluate an annotation or default expression as Python would, in the kernel's namespace."""
        scope = {**self.module, **self.closure}
        try:
            return eval(compile(ast.Expression(body=node), self.filename, "eval"), scope)
        except Exception as exc:
            raise self.error(node, f"cannot evaluate {what} {ast.unparse(node)!r}: {exc}") from None

    def resolve(self, name: str, node: ast.AST) -> Resolved:
        known = self.names.get(name)
        if known is None:
            value = lookup(name, self.closure, self.module)
            if "." in name:  # module.f: a function of an imported module
                base, attr = name.split(".", 1)
                module = lookup(base, self.closure, self.module)
                value = getattr(module, attr, MISSING) if inspect.ismodule(module) else MISSING
                if value is MISSING:
                    what = f"module '{base}' has no attribute '{attr}'" if inspect.ismodule(module) else ""
                    raise CallError.of(self.error(node, what or f"'{base}' is not a module"))
            try:
                known = resolve_value(name, value)
            except ValueError as exc:
                callee = resolve_callee(name, value, _parse_callee, lambda message: self.error(node, message))
                if callee is None:
                    raise self.error(node, str(exc)) from None
                known = callee
            self.names[name] = known
        return known

    def _is_builtin(self, name: str, builtin: str) -> bool:
        """Whether the free name ``name`` is Python's builtin ``builtin`` (not shadowed by a local)."""
        if name in assigned_names(self.func.body) or name in {a.arg for a in self.func.args.args}:
            return False
        if builtin == "prange" and self.names.get(name) == Builtin("prange"):  # also X.prange, renamed
            return True
        wanted = prange if builtin == "prange" else getattr(builtins, builtin)
        return lookup(name, self.closure, self.module) is wanted

    def _is_called(self, func: ast.expr, builtin: str) -> bool:
        """Whether a checked call's function ``func`` is the builtin ``builtin`` (or ``prange``)."""
        return isinstance(func, ast.Name) and func.id in self.names and self._is_builtin(func.id, builtin)

    def _prange_names(self) -> None:
        """``X.prange(...)`` as a loop's iterable, X the ``autotune`` module (any name), becomes ``prange(...)``."""
        for node in ast.walk(self.func):
            call = node.iter if isinstance(node, ast.For) else None
            if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)):
                continue
            owner = call.func.value
            if call.func.attr == "prange" and isinstance(owner, ast.Name):
                value = lookup(owner.id, self.closure, self.module)
                if isinstance(value, types.ModuleType) and getattr(value, "prange", None) is prange:
                    call.func = ast.copy_location(ast.Name("prange", ast.Load()), call.func)
                    self.names["prange"] = Builtin("prange")

    def _tuple_arity(self, call: ast.Call) -> int | None:
        """How many values the function ``call`` names returns, if it is a function of the language
        returning a tuple (an unresolvable name: ``None``, the checker reports it)."""
        name = call.func.id if isinstance(call.func, ast.Name) else None
        args = self.func.args
        if name is None or name in assigned_names(self.func.body) or name in {a.arg for a in args.args}:
            return None
        try:
            resolved = self.resolve(name, call.func)
        except KernelSyntaxError:
            return None
        return resolved.arity if isinstance(resolved, Callee) and resolved.arity else None

    def info(self) -> KernelInfo:
        func = self.func
        specs, defaults = self._params()
        ret, returns_value = self._return()
        ndims = {p.name: p.ndim for p in specs if p.kind == "array"}
        self._prange_names()
        tuples = {p.name: len(p.items) for p in specs if p.kind == "tuple"}
        func.body = rewrite_tuple_params(func.body, tuples, self.error)
        func.body = rewrite_iteration(func.body, self._is_builtin, self.error, ndims)
        func.body = rewrite_unpacking(func.body, ndims, self.error)
        rewrite_tuple_locals(func, self._tuple_arity)
        kinds = {p.name: p.kind for p in specs}
        arrays = local_array_specs(func.body, {p.name: p for p in specs}, self.resolve, self.evaluate, self.error)
        local_names = [n for n in assigned_names(func.body) if n not in kinds and n not in arrays]
        scalars = {p.name for p in specs if p.kind != "array"}
        views = find_views(
            func.body, self._array_named(specs, set(local_names), arrays), scalars, self.error, created=arrays
        )
        lookup = self._array_named(specs, set(local_names), arrays, views)
        checker = Checker(
            self.error,
            {**kinds, **dict.fromkeys(arrays, "array")},
            local_names,
            self.resolve,
            returns_value,
            lambda node: array_info(node, lookup),
            result=ret,
            local_arrays=arrays,
        )
        checker.tuple_returns = bool(self.arity)
        checker.check(func.body)
        check_pranges(func, self.error, self._is_called)
        params = tuple(dataclasses.replace(p, written=p.name in checker.written) for p in specs)
        for name in sorted(checker.written):
            host = self.names.get(name)
            if isinstance(host, HostArray) and not host.obj.__array__().flags.writeable:
                raise self.error(func, f"the kernel stores into module array '{name}', which is read-only")
        globals_ = tuple(GlobalRef(r.ir_name, r.obj) for r in self.names.values() if isinstance(r, HostArray))
        globals_ = merge_globals(globals_, self.names, lambda message: self.error(func, message))
        return KernelInfo(
            name=func.name,
            filename=self.filename,
            firstlineno=self.firstlineno,
            source=self.source,
            params=params,
            ret=ret,
            tree=func,
            line_offset=self.firstlineno - 1,
            col_offset=self.indent,
            names=dict(self.names),
            locals=tuple(local_names),
            local_annotations=self._local_annotations(set(kinds)),
            const_defaults=defaults,
            globals=globals_,
            local_arrays=arrays,
            views=views,
        )

    def _array_named(
        self,
        specs: list[ParamSpec],
        local_names: set[str],
        arrays: Mapping[str, LocalArray],
        views: Mapping[str, ViewLocal] | None = None,
    ) -> ArrayLookup:
        """What a name is as an array: a parameter, an array the kernel creates, a view local or a module
        array (None: not an array)."""
        params = {p.name: p for p in specs}

        def lookup(name: str) -> ArrayInfo | None:
            view = (views or {}).get(name)
            if view is not None:
                return ArrayInfo(view.dtype, view.ndim, view.roots)
            created = arrays.get(name)
            if created is not None:
                return ArrayInfo(created.dtype, created.ndim, frozenset((name,)))
            param = params.get(name)
            if param is not None:
                if param.kind != "array" or param.dtype is None:
                    return None
                return ArrayInfo(param.dtype, param.ndim, frozenset((name,)))
            if name in local_names:
                return None
            try:
                host = self.resolve(name, self.func)
            except KernelSyntaxError:
                return None  # an unknown name: the checker reports it where it is used
            return ArrayInfo(host.dtype, len(host.shape), frozenset((name,))) if isinstance(host, HostArray) else None

        return lookup

    def _params(self) -> tuple[list[ParamSpec], dict[str, ConstValue]]:
        args = self.func.args
        if args.vararg or args.kwarg:
            raise self.error(args.vararg or args.kwarg or self.func, "*args and **kwargs are not supported in kernels")
        if args.kwonlyargs:
            raise self.error(args.kwonlyargs[0], "keyword-only parameters are not supported in kernels")
        positional = [*args.posonlyargs, *args.args]
        first_default = len(positional) - len(args.defaults)
        specs: list[ParamSpec] = []
        defaults: dict[str, ConstValue] = {}
        for index, arg in enumerate(positional):
            if arg.annotation is None and self.helper:  # takes its argument's type at each call
                specs.append(ParamSpec(arg.arg, "scalar", None, 0, (), False))
            elif arg.annotation is None:
                raise self.error(arg, f"parameter '{arg.arg}' needs a type annotation (f64, f64[:], Const, ...)")
            elif isinstance(ann := self.evaluate(arg.annotation, "annotation"), ConstType):
                specs.append(ParamSpec(arg.arg, "const", None, 0, (), False))
            elif isinstance(ann, ArrayType):
                specs.append(ParamSpec(arg.arg, "array", ann.dtype, ann.ndim, ann.dims, False))
            elif (scalar := _scalar(ann)) is not None:
                specs.append(ParamSpec(arg.arg, "scalar", scalar, 0, (), False))
            elif (items := tuple_items_of(ann, _scalar)) is not None:
                if not items:
                    raise self.error(
                        arg.annotation,
                        f"parameter '{arg.arg}': a tuple of real scalar types (tuple[f64, i64]), not {ann!r}",
                    )
                specs.append(ParamSpec(arg.arg, "tuple", None, 0, (), False, items))
            else:
                raise self.error(arg.annotation, f"parameter '{arg.arg}': {ann!r} is not a kernel type")
            if index >= first_default:
                node = args.defaults[index - first_default]
                if specs[-1].kind != "const" and not (self.helper and specs[-1].kind == "scalar"):
                    raise self.error(node, f"only Const parameters may have defaults ('{arg.arg}' has one)")
                value = self.evaluate(node, "default")
                if not isinstance(value, bool | int | float):
                    raise self.error(node, f"the default of '{arg.arg}' must be an int, float or bool")
                defaults[arg.arg] = value
        return specs, defaults

    def _return(self) -> tuple[Result | None, bool | None]:
        found = self._helper_return() if self.helper else None
        if found is not None:
            return found
        node = self.func.returns
        if node is None:
            return None, None
        ann = self.evaluate(node, "return annotation")
        if ann is None:
            return None, False
        if isinstance(ann, ArrayType):
            return ann, True
        items = tuple_items_of(ann, _scalar)
        if items is not None:
            if not items:
                raise self.error(node, f"a kernel returns a tuple of real scalar types (tuple[f64, i64]), not {ann!r}")
            return TupleType(items), True
        scalar = _scalar(ann)
        if scalar is None:
            raise self.error(
                node, f"kernels return a scalar type, an array (f64[:]), tuple[f64, i64] or None, not {ann!r}"
            )
        return scalar, True

    def _helper_return(self) -> tuple[ScalarType | None, bool | None] | None:
        """A called function's results: ``-> tuple[f64, i64]``, or none declared (inferred from its returns);
        ``None`` for a scalar or ``None`` annotation (read as a kernel's)."""
        node = self.func.returns
        values = [n.value for n in ast.walk(self.func) if isinstance(n, ast.Return) and n.value is not None]
        if node is None:
            sizes = {len(v.elts) if isinstance(v, ast.Tuple) else None for v in values}
            if len(sizes) > 1:
                raise self.error(values[0], "a function returns a tuple in one 'return' and not in another")
            self.arity = sizes.pop() if sizes else 0
            return None, bool(values)
        ann = self.evaluate(node, "return annotation")
        if typing.get_origin(ann) is tuple:
            scalars = [_scalar(a) for a in typing.get_args(ann)]
            if not scalars or Ellipsis in typing.get_args(ann) or None in scalars:
                raise self.error(node, f"functions return scalars or a tuple of scalars (tuple[f64, i64]), not {ann!r}")
            self.returns = tuple(s for s in scalars if s is not None)
            self.arity = len(scalars)
            for value in values:
                if not (isinstance(value, ast.Tuple) and len(value.elts) == self.arity):
                    raise self.error(value, f"the function is annotated to return a tuple of {self.arity} values")
            return None, True
        return None

    def callee(self, label: str) -> Callee:
        """This function as a callee of a kernel."""
        info = self.info()
        if info.ret is not None and not isinstance(info.ret, ScalarType):
            raise self.error(
                self.func, f"functions a kernel calls return scalars or a tuple of scalars, not {info.ret!r}"
            )
        if self.returns is None and self.func.returns is not None:
            self.returns = () if info.ret is None else (info.ret,)
            self.arity = 0 if info.ret is None else None
        untyped = frozenset(p.name for p in info.params if p.kind == "scalar" and p.dtype is None)
        return Callee(label, info, untyped, self.returns, self.arity)

    def _local_annotations(self, params: set[str]) -> dict[str, ScalarType]:
        found: dict[str, ScalarType] = {}
        for node in ast.walk(self.func):
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                name = node.target.id
                if name in params:
                    raise self.error(node, f"parameter '{name}' cannot be re-annotated")
                scalar = _scalar(self.evaluate(node.annotation, "annotation"))
                if scalar is None:
                    raise self.error(node.annotation, f"local '{name}' must be annotated with a scalar type")
                if found.setdefault(name, scalar) != scalar:
                    raise self.error(node, f"local '{name}' is annotated with two different types")
        return found


def _scalar(annotation: Any) -> ScalarType | None:
    if isinstance(annotation, ScalarType):
        return annotation
    if isinstance(annotation, type):
        return _PY_SCALARS.get(annotation)
    return None
