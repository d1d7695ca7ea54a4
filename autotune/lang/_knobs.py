"""Built-in knobs and what each means to LLVM.

The knobs map to things LLVM already understands, so a variant is just different metadata and flags on
the same IR: loop metadata on innermost loops (vectorize width, interleave count, unroll count), fast-math
flags on float instructions, and the ``prefer-vector-width`` function attribute.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ConfigError

__all__ = ["BUILTIN_KNOBS", "FASTMATH_FLAGS", "Knobs", "loop_properties"]

#: Knob names the tuner treats as built in; ``opt`` (the pipeline level) is applied by the compiler,
#: not by the IR, so it is not a field of :class:`Knobs`.
BUILTIN_KNOBS: frozenset[str] = frozenset(
    {"unroll", "vectorize", "interleave", "fastmath", "opt", "prefer_vector_width", "veclib", "parallel"}
)

#: Fast-math flags of ``fastmath=True``. Not ``nnan``/``ninf``: ``math.isnan``/``isinf`` must keep working.
FASTMATH_FLAGS: tuple[str, ...] = ("reassoc", "nsz", "arcp", "contract", "afn")

LoopProperty = tuple[str, int | bool | None]


@dataclass(frozen=True)
class Knobs:
    """Code-generation knobs of one variant (0 or ``False`` leaves the decision to LLVM).

    - ``unroll``: 1 disables unrolling, k > 1 asks for unroll count k.
    - ``vectorize``: 1 forbids vectorization (scalar loop), k > 1 forces vector width k (a power of two).
    - ``interleave``: k >= 1 sets the interleave count.
    - ``fastmath``: float operations get ``reassoc nsz arcp contract afn``.
    - ``prefer_vector_width``: bits for the ``"prefer-vector-width"`` function attribute.
    - ``parallel``: 0 or 1 runs ``prange`` loops serially (as ``range``), k >= 2 on k threads.
    """

    unroll: int = 0
    vectorize: int = 0
    interleave: int = 0
    fastmath: bool = False
    prefer_vector_width: int = 0
    parallel: int = 0

    def __post_init__(self) -> None:
        for name in ("unroll", "vectorize", "interleave", "prefer_vector_width", "parallel"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ConfigError(f"knob {name!r} must be an int >= 0, got {value!r}")
        if not isinstance(self.fastmath, bool):
            raise ConfigError(f"knob 'fastmath' must be a bool, got {self.fastmath!r}")
        if self.vectorize > 1 and self.vectorize & (self.vectorize - 1):
            raise ConfigError(f"knob 'vectorize' must be 0, 1 or a power of two, got {self.vectorize}")
        pvw = self.prefer_vector_width
        if pvw and (pvw < 64 or pvw & (pvw - 1)):
            raise ConfigError(f"knob 'prefer_vector_width' must be 0 or a power of two >= 64, got {pvw}")


def loop_properties(knobs: Knobs, *, finite: bool) -> list[LoopProperty]:
    """The ``!llvm.loop`` properties of an innermost loop, in a fixed order (IR text is deterministic).

    ``finite`` loops (``for ... in range``) also get ``llvm.loop.mustprogress``. The vectorize width is
    useless without ``llvm.loop.vectorize.enable``, so a width always comes with it.
    """
    props: list[LoopProperty] = []
    if finite:
        props.append(("llvm.loop.mustprogress", None))
    if knobs.vectorize == 1:
        props.append(("llvm.loop.vectorize.enable", False))
    elif knobs.vectorize > 1:
        props.append(("llvm.loop.vectorize.enable", True))
        props.append(("llvm.loop.vectorize.width", knobs.vectorize))
    if knobs.interleave >= 1:
        props.append(("llvm.loop.interleave.count", knobs.interleave))
    if knobs.unroll == 1:
        props.append(("llvm.loop.unroll.disable", None))
    elif knobs.unroll > 1:
        props.append(("llvm.loop.unroll.count", knobs.unroll))
    return props
