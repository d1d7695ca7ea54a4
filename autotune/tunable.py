"""``@tunable``: turn an annotated numeric Python function into a :class:`Kernel`."""

from __future__ import annotations

import inspect
import sys
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
    text: str,
    /,
    *,
    namespace: Mapping[str, Any] | None = None,
    key: Callable[..., Hashable] | None = None,
    space: Space | Mapping[str, Sequence[Value]] | None = None,
    default: Mapping[str, Value] | None = None,
    name: str | None = None,
    schedule: bool = False,
    noalias: bool = False,
    **knobs: Sequence[Value],
) -> Kernel: ...


@overload
def tunable(
    *,
    source: str,
    namespace: Mapping[str, Any] | None = None,
    key: Callable[..., Hashable] | None = None,
    space: Space | Mapping[str, Sequence[Value]] | None = None,
    default: Mapping[str, Value] | None = None,
    name: str | None = None,
    schedule: bool = False,
    noalias: bool = False,
    **knobs: Sequence[Value],
) -> Kernel: ...


@overload
def tunable(
    *,
    key: Callable[..., Hashable] | None = None,
    space: Space | Mapping[str, Sequence[Value]] | None = None,
    default: Mapping[str, Value] | None = None,
    name: str | None = None,
    schedule: bool = False,
    noalias: bool = False,
    **knobs: Sequence[Value],
) -> Callable[[Callable[..., Any]], Kernel]: ...


def tunable(
    func: Callable[..., Any] | str | None = None,
    /,
    *,
    source: Any = None,  # str (Any: the overloads' **knobs could pass a list here)
    namespace: Any = None,  # Mapping[str, Any]
    key: Callable[..., Hashable] | None = None,
    space: Space | Mapping[str, Sequence[Value]] | None = None,
    default: Mapping[str, Value] | None = None,
    name: str | None = None,
    schedule: bool = False,
    noalias: bool = False,
    **knobs: Sequence[Value],
) -> Kernel | Callable[[Callable[..., Any]], Kernel]:
    """Mark a kernel as tunable over the given knobs.

    ``unroll``, ``vectorize``, ``interleave``, ``fastmath``, ``opt``, ``prefer_vector_width`` and ``parallel`` are
    built in (a kernel with ``prange`` loops gets ``parallel`` by default: see :func:`autotune.pool.parallel_values`);
    any other keyword is a user constant the kernel declares as an ``autotune.Const`` parameter. The first
    value of each list (or ``default=``) is the default variant. ``key=`` works like Triton's: a function of
    the call's arguments whose value (a size bucket, say) selects the slot and the tuning study.

    ``schedule=True`` adds loop-nest schedule knobs for each nest of ``range`` loops (loop order, tile sizes,
    unroll-and-jam, hoisted loads; see :mod:`autotune.schedule`), each offered only where a dependence test
    proves it legal; give a knob's list yourself to narrow it (``tile0_k=[0, 64]``), and see the result
    with ``kernel.inspect_schedule(**params)``. ``noalias=True`` declares that the kernel's array arguments
    never share memory (like C's ``restrict``), which most reorderings need; passing overlapping arrays to
    such a kernel then gives undefined results.

    >>> import autotune
    >>> from autotune import f64, i64
    >>> @autotune.tunable(vectorize=[0, 4, 8], unroll=[0, 2])
    ... def dot(a: f64["n"], b: f64["n"], n: i64) -> f64:
    ...     s = 0.0
    ...     for i in range(n):
    ...         s += a[i] * b[i]
    ...     return s

    **Calling other functions.** A kernel may call an undecorated function written in the kernel language
    or another tunable kernel; the callee is compiled into the caller (the caller's knobs apply to it, a
    called kernel's constants take their defaults). A called kernel contributes its Python function as it
    was when the caller was decorated, not its live tuned variant; changing a callee's source changes the
    caller's fingerprint, so its stored bests and cached objects are not reused.

    **Source text.** A kernel defined in the interactive interpreter, a ``python -c`` command or an
    ``exec``'d string has no source autotune can read, so pass the kernel's text instead of decorating:
    ``source=`` (or the text as the positional argument) returns the :class:`Kernel` directly::

        dot = autotune.tunable(source='''
        def dot(a: f64["n"], b: f64["n"]) -> f64:
            s = 0.0
            for i in range(a.shape[0]):
                s += a[i] * b[i]
            return s
        ''', vectorize=[0, 4, 8])

    The text holds one ``def`` (decorators are ignored) and optionally imports. Its free names resolve to
    the annotation names ``autotune`` exports (``f64``, ``i64``, ``Const``, ...), ``autotune``, ``math``,
    ``np``/``numpy``, then the caller's globals (constants and arrays defined at the prompt), then
    ``namespace=``, which wins. ``kernel.py_func`` is the function the text defines; errors point at lines
    of the text (``<kernel source dot>:4:8: ...``); the kernel is named after the caller's module and the
    function (``__main__.dot``), so a restarted session passing the same text adopts the stored best.
    """
    if space is not None and (knobs or default):
        raise SpaceError("pass either space= or knob lists (and default=), not both")
    if isinstance(func, str):
        if source is not None:
            raise SpaceError("pass the kernel's source text once: positionally or as source=, not both")
        source, func = func, None
    if source is not None or namespace is not None:
        if func is not None or source is None:
            raise SpaceError("namespace= goes with a kernel given as source text (source=...)")
        from .source import text_function

        scope = sys._getframe(1).f_globals  # the caller's names, as a decorated function would see them
        function = text_function(source, scope, namespace)
        return _make(function, space, knobs, default, key, name, schedule, noalias)

    def wrap(function: Callable[..., Any]) -> Kernel:
        if not callable(function):
            raise SpaceError(f"@tunable decorates a function, got {function!r}")
        return _make(function, space, knobs, default, key, name, schedule, noalias)

    return wrap(func) if func is not None else wrap


def _make(
    function: Callable[..., Any],
    space: Space | Mapping[str, Sequence[Value]] | None,
    knobs: Mapping[str, Sequence[Value]],
    default: Mapping[str, Value] | None,
    key: Callable[..., Hashable] | None,
    name: str | None,
    schedule: bool,
    noalias: bool,
) -> Kernel:
    if not isinstance(schedule, bool) or not isinstance(noalias, bool):
        raise SpaceError(f"schedule= and noalias= are True or False, got {schedule!r} and {noalias!r}")
    chosen = _space(space, knobs, default)
    kernel = Kernel(function, chosen, key=key, name=name, schedule=schedule, noalias=noalias)
    attach(kernel)
    return kernel


def _space(
    space: Space | Mapping[str, Sequence[Value]] | None,
    knobs: Mapping[str, Sequence[Value]],
    default: Mapping[str, Value] | None,
) -> Space:
    """The kernel's space: ``space=`` (a Space or a dict of knob lists, as optuna and Triton users write
    it), else the knob lists given as keywords."""
    if space is None:
        return Space(knobs, default=default)
    if isinstance(space, Space):
        return space
    if isinstance(space, Mapping):
        return Space(space)
    raise SpaceError(f"space= is an autotune.Space or a dict of knob lists, got {type(space).__name__}")


def tunable_ir(
    *,
    reference: Callable[..., Any],
    writes: Sequence[str] | None = None,
    key: Callable[..., Hashable] | None = None,
    space: Space | Mapping[str, Sequence[Value]] | None = None,
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
        chosen = _space(space, knobs, default)
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
