"""``@tunable``: turn an annotated numeric Python function into a :class:`Kernel`."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, overload

from .errors import SpaceError
from .kernel import Kernel
from .space import Space, Value
from .tuner import attach

__all__ = ["tunable", "tunable_ir"]


@overload
def tunable(func: Callable[..., Any], /) -> Kernel: ...


@overload
def tunable(
    *,
    key: Callable[..., Hashable] | None = None,
    space: Space | None = None,
    default: Mapping[str, Value] | None = None,
    name: str | None = None,
    **knobs: Sequence[Value],
) -> Callable[[Callable[..., Any]], Kernel]: ...


def tunable(
    func: Callable[..., Any] | None = None,
    /,
    *,
    key: Callable[..., Hashable] | None = None,
    space: Space | None = None,
    default: Mapping[str, Value] | None = None,
    name: str | None = None,
    **knobs: Sequence[Value],
) -> Kernel | Callable[[Callable[..., Any]], Kernel]:
    """Mark a kernel as tunable over the given knobs.

    ``unroll``, ``vectorize``, ``interleave``, ``fastmath``, ``opt`` and ``prefer_vector_width`` are built in;
    any other keyword is a user constant the kernel declares as an ``autotune.Const`` parameter. The first
    value of each list (or ``default=``) is the default variant. ``key=`` works like Triton's: a function of
    the call's arguments whose value (a size bucket, say) selects the slot and the tuning study.

    >>> import autotune
    >>> from autotune import f64, i64
    >>> @autotune.tunable(vectorize=[0, 4, 8], unroll=[0, 2])
    ... def dot(a: f64["n"], b: f64["n"], n: i64) -> f64:
    ...     s = 0.0
    ...     for i in range(n):
    ...         s += a[i] * b[i]
    ...     return s
    """
    if space is not None and (knobs or default):
        raise SpaceError("pass either space= or knob lists (and default=), not both")

    def wrap(function: Callable[..., Any]) -> Kernel:
        if not callable(function):
            raise SpaceError(f"@tunable decorates a function, got {function!r}")
        chosen = space if space is not None else Space(knobs, default=default)
        kernel = Kernel(function, chosen, key=key, name=name)
        attach(kernel)
        return kernel

    return wrap(func) if func is not None else wrap


def tunable_ir(
    *,
    reference: Callable[..., Any],
    writes: Sequence[str] | None = None,
    key: Callable[..., Hashable] | None = None,
    space: Space | None = None,
    default: Mapping[str, Value] | None = None,
    name: str | None = None,
    **knobs: Sequence[Value],
) -> Callable[[Callable[..., str]], Kernel]:
    """The expert route: decorate a function that returns LLVM IR for given parameters.

    ``reference`` is an annotated Python function (any Python, not only the kernel language): its
    annotations give the native ABI and it is the semantics every variant is validated against. The
    generator is called with every knob and constant as keyword arguments and returns IR defining
    ``i32 @kernel(...)`` in the kernel ABI (see README). ``writes`` names the arrays the IR may write
    (default: all of them, so read-only arrays are refused).
    """
    if space is not None and (knobs or default):
        raise SpaceError("pass either space= or knob lists (and default=), not both")

    def wrap(generator: Callable[..., str]) -> Kernel:
        from .source import ir_source

        info = ir_source(generator, reference, writes)
        chosen = space if space is not None else Space(knobs, default=default)
        accepted = inspect.signature(generator).parameters
        if not any(p.kind is p.VAR_KEYWORD for p in accepted.values()):
            missing = [n for n in chosen.names if n not in accepted]
            if missing:
                raise SpaceError(f"the IR generator {generator.__name__} does not take knob(s) {', '.join(missing)}")
        kernel = Kernel(
            reference,
            chosen,
            key=key,
            name=name or f"{generator.__module__}.{generator.__qualname__}",
            source=(info, info.lower),
        )
        attach(kernel)
        return kernel

    return wrap
