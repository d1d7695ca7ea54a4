"""One place that initialises llvmlite and describes the host target.

Everything that depends on the host (triple, CPU name, feature string, data layout) is read once here so
the object cache key and the compiler agree on it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cache
from typing import Any

import llvmlite
import llvmlite.binding as llvm

__all__ = ["HostTarget", "host_target", "target_machine"]

_lock = threading.Lock()
_machines: dict[tuple[int, str], Any] = {}


@dataclass(frozen=True)
class HostTarget:
    """What code is compiled for: the machine this process runs on."""

    triple: str
    cpu: str
    features: str
    data_layout: str
    llvmlite_version: str


@cache
def host_target() -> HostTarget:
    """Initialise LLVM's native target once and describe the host."""
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    llvm.initialize_native_asmparser()
    triple = llvm.get_process_triple()
    cpu = llvm.get_host_cpu_name()
    features = llvm.get_host_cpu_features().flatten()
    machine = _create(3, triple, cpu, features)
    return HostTarget(triple, cpu, features, str(machine.target_data), llvmlite.__version__)


def _create(opt: int, triple: str, cpu: str, features: str) -> Any:
    # Small PIC code model: external globals go through the GOT and calls through PLT stubs, which the
    # JIT linker builds, so host memory and libm may lie anywhere in the address space.
    target = llvm.Target.from_triple(triple)
    return target.create_target_machine(cpu=cpu, features=features, opt=opt, reloc="pic", codemodel="small", jit=False)


def target_machine(opt: int) -> Any:
    """A host target machine at codegen level ``opt`` (cached: creating one costs about a millisecond)."""
    host = host_target()
    key = (opt, host.features)
    with _lock:
        machine = _machines.get(key)
        if machine is None:
            machine = _create(opt, host.triple, host.cpu, host.features)
            _machines[key] = machine
        return machine
