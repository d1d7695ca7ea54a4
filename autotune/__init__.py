"""autotune: a hot-patching runtime autotuner for numeric Python kernels.

Decorate an annotated numeric function with :func:`tunable`; call it like the Python function. It runs
compiled native code from the first call, while a background thread searches compiled variants and swaps
faster ones in without pausing callers.
"""

from __future__ import annotations

from importlib import metadata as _metadata

from . import tuner
from .config import Config, configure
from .errors import (
    AutotuneError,
    ConfigError,
    KernelSyntaxError,
    KernelTypeError,
    SpaceError,
    StorageError,
    TuningError,
    ValidationError,
)
from .globals import Global
from .hints import Array, Const, boolean, c128, f32, f64, i8, i16, i32, i64, u8, u16, u32, u64
from .kernel import Kernel
from .lang import prange
from .space import Space
from .tunable import tunable, tunable_ir

try:
    __version__: str = _metadata.version("hotpatch-autotune")
except _metadata.PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "Array",
    "AutotuneError",
    "Config",
    "ConfigError",
    "Const",
    "Global",
    "Kernel",
    "KernelSyntaxError",
    "KernelTypeError",
    "Space",
    "SpaceError",
    "StorageError",
    "TuningError",
    "ValidationError",
    "__version__",
    "boolean",
    "c128",
    "configure",
    "f32",
    "f64",
    "i8",
    "i16",
    "i32",
    "i64",
    "prange",
    "tunable",
    "tunable_ir",
    "tuner",
    "u8",
    "u16",
    "u32",
    "u64",
]
