"""dylibs: removable JIT units with explicit linking.

Each variant is linked as its own library in a *generation* (one llvmlite LLJIT). Units import only what
a :class:`SymbolMap` names, host-owned memory is shared through :class:`HostGlobal`, and compiled objects
are cached on disk. This package knows nothing of tuning or swapping.
"""

from __future__ import annotations

from .cache import CacheStats, ObjectCache, default_cache_dir
from .compiler import compile_ir, emit_assembly, optimize_ir
from .errors import CompileError, DylibError, LinkError, UnitStateError
from .framing import read_message, write_message
from .host_global import HostGlobal
from .options import CompileOptions, OptionsError
from .session import Session, SessionStats
from .symbols import LIBM_NAMES, SymbolMap
from .unit import Unit
from .workers import CompilerPool, abandon_process, end_process, start_process

__all__ = [
    "LIBM_NAMES",
    "CacheStats",
    "CompileError",
    "CompileOptions",
    "CompilerPool",
    "DylibError",
    "HostGlobal",
    "LinkError",
    "ObjectCache",
    "OptionsError",
    "Session",
    "SessionStats",
    "SymbolMap",
    "Unit",
    "UnitStateError",
    "abandon_process",
    "compile_ir",
    "default_cache_dir",
    "emit_assembly",
    "end_process",
    "optimize_ir",
    "read_message",
    "start_process",
    "write_message",
]
