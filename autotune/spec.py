"""``KernelSpec``: everything the tuning worker needs to tune one (kernel, key), and nothing it must import.

The worker process never imports the user's modules, so a kernel travels as data: the parsed kernel (its
tree and the values its free names resolved to, host arrays replaced by snapshots of their contents) for
the kernel language, or only its ABI for the expert route, whose IR generator is user code that stays in
the host (the worker asks the host for each variant's IR). The spec pickles in a few kilobytes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from dylibs import default_cache_dir

from .abi import BUILTIN_TABLE
from .arguments import Arguments
from .config import Config
from .lang import GlobalRef, KernelInfo, Knobs, LoweredKernel, ParamSpec, kernel_statuses, lower, map_host_arrays
from .schedule import Schedule
from .space import Space, Value
from .types import Result
from .variant import Variants

if TYPE_CHECKING:
    from .kernel import Binding, Kernel

__all__ = ["KernelFacts", "KernelSpec", "kernel_spec"]

#: ``ir_for(params) -> IR text``: how the worker gets an expert-route variant's IR (a round trip to the host).
IRSource = Callable[[Mapping[str, Value]], str]


@dataclass(frozen=True)
class KernelFacts:
    """The :class:`autotune.source.KernelSource` facts of a kernel, as plain picklable data."""

    name: str
    source: str
    params: tuple[ParamSpec, ...]
    ret: Result | None
    globals: tuple[GlobalRef, ...]
    const_defaults: Mapping[str, Value]


@dataclass(frozen=True)
class KernelSpec:
    """One search's kernel: study, facts, space, the live parameters when it was sent, configuration."""

    kernel: str
    key: str
    study: str
    facts: KernelFacts
    info: KernelInfo | None  # the parsed kernel (kernel language); None for the expert route
    space: Space
    signature: str
    live: dict[str, Value]
    config: Config
    #: the host's cache directory when the spec was made (studies, records and objects live there)
    cache_dir: str
    #: the kernel's loop-nest schedule knobs (``schedule=True``), applied before lowering
    schedule: Schedule | None = None

    @property
    def label(self) -> str:
        """How logs name this search: ``kernel[key]``."""
        return f"{self.kernel}[{self.key}]"

    def arguments(self) -> Arguments:
        statuses = kernel_statuses(self.info) if self.info is not None else BUILTIN_TABLE
        return Arguments(self.facts.name, self.facts.params, self.facts.ret, self.signature, statuses)

    def variants(self, ir_for: IRSource) -> Variants:
        """Variants built in the worker: lowered here, or with IR from ``ir_for`` for the expert route."""
        info = self.info
        facts = self.facts
        if info is not None and self.schedule is not None:
            lowered = self.schedule.lowerer(info)
        elif info is not None:

            def lowered(knobs: Knobs, consts: Mapping[str, Value], params: Mapping[str, Value]) -> LoweredKernel:
                return lower(info, consts, knobs)

        else:

            def lowered(knobs: Knobs, consts: Mapping[str, Value], params: Mapping[str, Value]) -> LoweredKernel:
                return LoweredKernel(ir_for(params), "kernel", self.signature, facts.params, facts.ret, ())

        return Variants(facts, self.space, lowered)


def _snapshot(obj: Any) -> np.ndarray[Any, Any]:
    return np.array(obj.array if hasattr(obj, "array") else obj, copy=True)


def kernel_spec(kernel: Kernel, binding: Binding, study: str, config: Config) -> KernelSpec:
    """The spec of ``binding``'s search (host side: copies host globals, reads nothing from storage)."""
    snapshots = {ref.ir_name: _snapshot(ref.obj) for ref in kernel.info.globals}
    refs = tuple(GlobalRef(name, array) for name, array in snapshots.items())
    info = kernel.info if isinstance(kernel.info, KernelInfo) else None
    if info is not None:
        info = map_host_arrays(info, lambda r: dataclasses.replace(r, obj=snapshots[r.ir_name]))
        info = dataclasses.replace(info, globals=refs)
    facts = KernelFacts(
        kernel.info.name,
        kernel.info.source,
        kernel.info.params,
        kernel.info.ret,
        refs,
        dict(kernel.info.const_defaults),
    )
    return KernelSpec(
        kernel.name,
        repr(binding.key),
        study,
        facts,
        info,
        kernel.space,
        kernel.signature,
        dict(binding.live),
        config,
        str(default_cache_dir()),
        kernel.schedule,
    )
