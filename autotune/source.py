"""``KernelSource``: what a :class:`Kernel` is built from, for either route.

The common route parses an annotated Python function in the kernel language (``autotune.lang``). The expert
route takes a function that returns LLVM IR for given parameters, plus an annotated Python *reference*
that supplies the parameter types and the semantics every variant is validated against.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import linecache
import math
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from .errors import KernelSyntaxError, KernelTypeError
from .globals import Global
from .lang import (
    GlobalRef,
    KernelInfo,
    Knobs,
    LoweredKernel,
    ParamSpec,
    lower,
    parse_kernel,
    parse_kernel_source,
    prange,
)
from .space import Value
from .types import SCALAR_TYPES, ArrayType, Const, ConstType, Result, ScalarType

__all__ = [
    "IRSource",
    "KernelSource",
    "Lowerer",
    "ir_source",
    "python_source",
    "strided_lowerer",
    "text_function",
]

#: ``lowerer(knobs, consts, params) -> LoweredKernel``: one variant's IR and ABI.
Lowerer = Callable[[Knobs, Mapping[str, Value], Mapping[str, Value]], LoweredKernel]


class KernelSource(Protocol):
    """The facts about a kernel that dispatch, tuning and storage need."""

    @property
    def name(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def params(self) -> tuple[ParamSpec, ...]: ...
    @property
    def ret(self) -> Result | None: ...
    @property
    def globals(self) -> tuple[GlobalRef, ...]: ...
    @property
    def const_defaults(self) -> Mapping[str, Value]: ...


def python_source(func: Callable[..., Any], *, noalias: bool = False) -> tuple[KernelInfo, Lowerer]:
    """Parse ``func`` in the kernel language (KernelSyntaxError now, not at the first call); ``noalias``:
    the kernel declares its array arguments distinct."""
    info = parse_kernel(func)
    if noalias:
        info = dataclasses.replace(info, noalias=True)
    return info, lambda knobs, consts, params: lower(info, consts, knobs)


def strided_lowerer(info: KernelSource) -> Lowerer | None:
    """The lowerer of the strided form (arrays of any strides) of a kernel-language kernel; ``None`` for
    the expert route, whose generator writes the contiguous ABI only."""
    if not isinstance(info, KernelInfo):
        return None
    return lambda knobs, consts, params: lower(info, consts, knobs, strided=True)


#: the file name errors in a kernel's source text point at before its name is known (``<kernel source>:3:8:``);
#: after, and in tracebacks, it is ``<kernel source NAME>``
TEXT_FILENAME = "<kernel source>"


def text_function(text: str, scope: Mapping[str, Any], namespace: Mapping[str, Any] | None) -> Callable[..., Any]:
    """The Python function a kernel given as source text defines (for ``autotune.tunable(source=...)``).

    ``text`` holds one ``def`` (decorators are ignored) and optionally imports before it. Free names resolve
    in: the names ``autotune`` exports for annotations (``f64``, ``i64``, ``Const``, ...), ``autotune``,
    ``math``, ``np``/``numpy``; then ``scope`` (the caller's globals); then ``namespace``, which wins. The
    function is compiled under a file name of its own whose lines are registered in :mod:`linecache`, so
    ``inspect`` (hence :func:`parse_kernel`) and tracebacks read the text, and error positions are lines of
    ``text``. Its ``__module__`` is the caller's module, so the kernel's name (``__main__.dot``) and its
    studies are the same in every process that passes the same text.
    """
    import autotune  # the package imports this module

    if not isinstance(text, str):
        raise KernelTypeError(None, f"source= takes the kernel's source text (a str), got {type(text).__name__}")
    text = textwrap.dedent(text)
    try:
        tree = ast.parse(text, filename=TEXT_FILENAME)
    except SyntaxError as exc:
        raise KernelSyntaxError(TEXT_FILENAME, exc.lineno or 1, max((exc.offset or 1) - 1, 0), exc.msg) from None
    defs = [s for s in tree.body if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef)]
    if not defs:
        raise KernelSyntaxError(
            TEXT_FILENAME,
            1,
            0,
            "the kernel source text must define the kernel with one 'def' (annotated parameters, as in a "
            "module: \"def dot(a: f64['n'], b: f64['n']) -> f64: ...\"); it is not a signature string",
        )
    if len(defs) > 1:
        listed = ", ".join(f"'{d.name}'" for d in defs)
        raise KernelSyntaxError(
            TEXT_FILENAME,
            defs[1].lineno,
            defs[1].col_offset,
            f"the kernel source text defines {len(defs)} "
            f"functions ({listed}); pass one kernel per text (define the functions it calls in a module, or "
            "pass them in namespace=)",
        )
    for statement in tree.body:
        if not isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.Import | ast.ImportFrom):
            raise KernelSyntaxError(
                TEXT_FILENAME,
                statement.lineno,
                statement.col_offset,
                "the kernel source text may hold imports "
                "and one 'def', nothing else (pass constants in the caller's globals or namespace=)",
            )
    base: dict[str, Any] = {
        "__name__": "__main__",
        "autotune": autotune,
        "math": math,
        "np": np,
        "numpy": np,
        "Const": Const,
        "Global": Global,
        "prange": prange,
        **{t.name: t for t in SCALAR_TYPES},
    }
    names = {**base, **scope, **(namespace or {})}
    imports: list[ast.stmt] = [s for s in tree.body if isinstance(s, ast.Import | ast.ImportFrom)]
    exec(compile(ast.Module(body=imports, type_ignores=[]), TEXT_FILENAME, "exec"), names)
    definition = defs[0]
    filename = f"<kernel source {definition.name}>"
    # every error of the language, at a line of the text, before the def runs (its annotations evaluate)
    parse_kernel_source(text, filename=filename, namespace=names)
    lines = text.splitlines(keepends=True)
    linecache.cache[filename] = (len(text), None, [ln if ln.endswith("\n") else ln + "\n" for ln in lines], filename)
    definition.decorator_list = []
    exec(compile(ast.Module(body=[definition], type_ignores=[]), filename, "exec"), names)
    function: Callable[..., Any] = names[definition.name]
    return function


@dataclass(frozen=True)
class IRSource:
    """An expert kernel: IR from ``generator(**params)``, types and semantics from ``reference``."""

    name: str
    source: str
    params: tuple[ParamSpec, ...]
    ret: ScalarType | None
    generator: Callable[..., str]
    globals: tuple[GlobalRef, ...] = ()
    const_defaults: Mapping[str, Value] = field(default_factory=dict)

    @property
    def c_signature(self) -> str:
        """``int32_t(...)`` in the kernel ABI: arrays as data pointer plus extents, a trailing result pointer."""
        parts: list[str] = []
        for p in self.params:
            if p.kind == "array" and p.dtype is not None:
                parts += [f"{p.dtype.c_name}*"] + ["int64_t"] * p.ndim
            elif p.kind == "scalar" and p.dtype is not None:
                parts.append(p.dtype.c_name)
        if self.ret is not None:
            parts.append(f"{self.ret.c_name}*")
        return f"int32_t({', '.join(parts)})"

    def lower(self, knobs: Knobs, consts: Mapping[str, Value], params: Mapping[str, Value]) -> LoweredKernel:
        """Call the generator with every parameter (built-in knobs and constants)."""
        ir = self.generator(**{**consts, **params})
        if not isinstance(ir, str):
            raise KernelTypeError(None, f"{self.name}: the IR generator must return str, got {type(ir).__name__}")
        return LoweredKernel(ir, "kernel", self.c_signature, self.params, self.ret, self.globals)


def ir_source(generator: Callable[..., str], reference: Callable[..., Any], writes: Sequence[str] | None) -> IRSource:
    """Read parameter types from ``reference``'s annotations; every array is written unless ``writes`` says."""
    filename = inspect.getsourcefile(reference) or "<reference>"
    line = reference.__code__.co_firstlineno
    hints = dict(reference.__annotations__)
    specs: list[ParamSpec] = []
    defaults: dict[str, Value] = {}
    for param in inspect.signature(reference).parameters.values():
        if param.kind not in (param.POSITIONAL_ONLY, param.POSITIONAL_OR_KEYWORD):
            raise KernelSyntaxError(
                filename, line, 0, f"{param.name}: *args, **kwargs and keyword-only are not supported"
            )
        kind = _evaluate(hints.get(param.name), reference, filename, line, param.name)
        if isinstance(kind, ArrayType):
            written = writes is None or param.name in writes
            specs.append(ParamSpec(param.name, "array", kind.dtype, kind.ndim, kind.dims, written))
        elif isinstance(kind, ScalarType):
            specs.append(ParamSpec(param.name, "scalar", kind, 0, (), False))
        elif isinstance(kind, ConstType):
            specs.append(ParamSpec(param.name, "const", None, 0, (), False))
            if param.default is not param.empty:
                defaults[param.name] = param.default
        else:
            raise KernelSyntaxError(filename, line, 0, f"parameter {param.name!r} needs a kernel type annotation")
    unknown = sorted(set(writes or ()) - {s.name for s in specs if s.kind == "array"})
    if unknown:
        raise KernelTypeError(unknown[0], f"writes= names {unknown[0]!r}, which is not an array parameter")
    ret_hint = hints.get("return")
    ret = None if ret_hint in (None, "None") else _evaluate(ret_hint, reference, filename, line, "return")
    if ret is not None and not isinstance(ret, ScalarType):
        raise KernelSyntaxError(filename, line, 0, "the return annotation must be a scalar type or None")
    try:
        text = inspect.getsource(generator) + inspect.getsource(reference)
    except OSError:
        text = f"{generator.__module__}.{generator.__qualname__}"
    name = getattr(generator, "__name__", "kernel")
    return IRSource(name, text, tuple(specs), ret, generator, (), defaults)


def _evaluate(hint: Any, func: Callable[..., Any], filename: str, line: int, what: str) -> Any:
    if not isinstance(hint, str):
        return hint
    try:
        return eval(hint, func.__globals__)  # annotations are expressions over the module's names
    except Exception as exc:
        raise KernelSyntaxError(filename, line, 0, f"cannot evaluate the annotation of {what}: {exc}") from None
