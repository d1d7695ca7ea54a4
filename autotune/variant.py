"""``Variants``: from a parameter set to IR, object code and a linked unit.

A parameter set names built-in knobs (loop metadata, fast-math, pipeline level, preferred vector width) and
user constants. Splitting it, lowering the kernel and linking the result with the kernel's host globals
happens here, so the kernel, the tuner and the inspection helpers all build variants the same way.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from dylibs import CompileOptions, Session, SymbolMap, Unit, emit_assembly, optimize_ir

from .abi import POOL_RUN
from .lang import Knobs, LoweredKernel
from .pool import run_address
from .source import KernelSource, Lowerer
from .space import Space, Value

__all__ = ["Variants"]

_KNOB_FIELDS = ("unroll", "vectorize", "interleave", "fastmath", "prefer_vector_width", "parallel")
_LOWERED_CACHE = 256


class Variants:
    """Builds variants of one kernel over its :class:`Space` (thread-safe; lowering is memoised)."""

    def __init__(self, info: KernelSource, space: Space, lowerer: Lowerer) -> None:
        self.info = info
        self.space = space
        self._lowerer = lowerer
        self._lock = threading.Lock()
        self._lowered: OrderedDict[str, LoweredKernel] = OrderedDict()

    def split(self, params: Mapping[str, Any]) -> tuple[Knobs, dict[str, Value], CompileOptions]:
        """Knobs for the IR, constants for ``Const`` parameters, options for the pipeline."""
        full = self.space.validate(params)
        knobs = Knobs(**{k: full[k] for k in _KNOB_FIELDS if k in full})  # type: ignore[arg-type]
        options = CompileOptions(opt=int(full.get("opt", 3)), veclib=bool(full.get("veclib", False)))
        consts: dict[str, Value] = dict(self.info.const_defaults)
        consts.update({k: full[k] for k in self.space.user_constants()})
        return knobs, consts, options

    def lower(self, params: Mapping[str, Any]) -> LoweredKernel:
        """The variant's IR and ABI (memoised by canonical parameters)."""
        full = self.space.validate(params)
        key = Space.key(full)
        with self._lock:
            hit = self._lowered.get(key)
            if hit is not None:
                self._lowered.move_to_end(key)
                return hit
        knobs, consts, _ = self.split(full)
        lowered = self._lowerer(knobs, consts, full)
        with self._lock:
            self._lowered[key] = lowered
            while len(self._lowered) > _LOWERED_CACHE:
                self._lowered.popitem(last=False)
        return lowered

    def symbols(self, overrides: Mapping[str, int] | None = None) -> SymbolMap:
        """libm plus the kernel's host globals (``overrides`` rebinds some, e.g. to scratch copies)."""
        symbols = SymbolMap.libm()
        if "parallel" in self.space.names:  # prange loops call the process's thread pool
            symbols.add(POOL_RUN, run_address())
        for ref in self.info.globals:
            symbols.add(ref.ir_name, (overrides or {}).get(ref.ir_name, ref.address))
        return symbols

    def build(
        self,
        session: Session,
        params: Mapping[str, Any],
        *,
        overrides: Mapping[str, int] | None = None,
        compiler: Callable[[str, CompileOptions], bytes] | None = None,
    ) -> Unit:
        """Compile (or take from the object cache) and link one variant; the caller owns the unit.

        ``overrides`` rebinds host globals (the tuner's scratch copies); ``compiler`` replaces the in-process
        compile on a cache miss (the tuner's worker process).
        """
        lowered = self.lower(params)
        _, _, options = self.split(params)
        symbols = self.symbols(overrides)
        return session.load(lowered.ir, exports=[lowered.symbol], symbols=symbols, options=options, compiler=compiler)

    def link(self, session: Session, object_code: bytes) -> Unit:
        """Link object code built elsewhere (the tuning worker) to the real host globals: no compile here."""
        return session.load(object_code, exports=["kernel"], symbols=self.symbols())

    def optimized_ir(self, params: Mapping[str, Any]) -> str:
        """The variant's IR after the optimisation pipeline."""
        _, _, options = self.split(params)
        return optimize_ir(self.lower(params).ir, options)

    def assembly(self, params: Mapping[str, Any]) -> str:
        """The variant's host assembly."""
        _, _, options = self.split(params)
        return emit_assembly(self.lower(params).ir, options)
