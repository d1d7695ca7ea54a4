"""``KernelSource``: what a :class:`Kernel` is built from, for either route.

The common route parses an annotated Python function in the kernel language (``autotune.lang``). The expert
route takes a function that returns LLVM IR for given parameters, plus an annotated Python *reference*
that supplies the parameter types and the semantics every variant is validated against.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from .errors import KernelSyntaxError, KernelTypeError
from .lang import GlobalRef, Knobs, LoweredKernel, ParamSpec, lower, parse_kernel
from .space import Value
from .types import ArrayType, ConstType, ScalarType

__all__ = ["IRSource", "KernelSource", "Lowerer", "ir_source", "python_source"]

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
    def ret(self) -> ScalarType | None: ...
    @property
    def globals(self) -> tuple[GlobalRef, ...]: ...
    @property
    def const_defaults(self) -> Mapping[str, Value]: ...


def python_source(func: Callable[..., Any]) -> tuple[KernelSource, Lowerer]:
    """Parse ``func`` in the kernel language (KernelSyntaxError now, not at the first call)."""
    info = parse_kernel(func)
    return info, lambda knobs, consts, params: lower(info, consts, knobs)


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
