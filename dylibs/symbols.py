"""``SymbolMap``: the explicit list of outside names a unit may link to.

Units never see the whole process. A unit resolves only what its map names: host globals, the libm
allow-list and whatever the embedder adds. Anything else (``system``, say) is a :class:`LinkError`.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Iterable, Iterator, Mapping
from functools import cache

from .errors import LinkError
from .host_global import HostGlobal
from .veclib import libmvec_symbols

__all__ = ["LIBM_NAMES", "SymbolMap"]

_DOUBLE = (
    "sin cos tan asin acos atan atan2 sinh cosh tanh asinh acosh atanh exp exp2 exp10 expm1 log log2 "
    "log10 log1p pow sqrt cbrt hypot fmod remainder floor ceil trunc round rint nearbyint fabs copysign "
    "fmin fmax fma erf erfc tgamma lgamma ldexp frexp modf sincos"
).split()
#: libm functions LLVM may lower math intrinsics to (double and float forms), plus the C memory
#: functions it lowers ``llvm.memcpy``/``memset``/``memmove`` and loop idioms to, and the allocator of
#: arrays created inside kernels (``aligned_alloc``/``free``).
LIBM_NAMES: tuple[str, ...] = (
    *_DOUBLE,
    *(n + "f" for n in _DOUBLE),
    "memcpy",
    "memmove",
    "memset",
    "aligned_alloc",
    "free",
)


@cache
def _libm_addresses() -> Mapping[str, int]:
    try:  # glibc's soname first: find_library runs ldconfig in a subprocess (3-7 ms of every first call)
        libm = ctypes.CDLL("libm.so.6")
    except OSError:
        libm = ctypes.CDLL(ctypes.util.find_library("m"))
    libs = [libm, ctypes.CDLL(None)]
    found: dict[str, int] = {}
    for name in LIBM_NAMES:
        for lib in libs:
            try:
                address = ctypes.cast(getattr(lib, name), ctypes.c_void_p).value
            except AttributeError:
                continue
            if address:
                found[name] = address
                break
    return found


class SymbolMap:
    """Names a unit may import, with their addresses. Keeps the host globals it names alive."""

    def __init__(self, symbols: Mapping[str, int] | None = None) -> None:
        self._symbols: dict[str, int] = {}
        self._owned: dict[str, HostGlobal] = {}
        for name, address in (symbols or {}).items():
            self.add(name, address)

    @classmethod
    def libm(cls) -> SymbolMap:
        """A map holding the libm allow-list (those of its names this C library provides), plus the libmvec
        vector functions that :mod:`dylibs.veclib` may call."""
        return cls({**_libm_addresses(), **libmvec_symbols()})

    def add(self, name: str, address: int) -> SymbolMap:
        """Allow ``name``, bound to ``address``. Rebinding a name to another address is a LinkError."""
        if not isinstance(name, str) or not name:
            raise LinkError(f"symbol name must be a non-empty str, got {name!r}")
        if not isinstance(address, int) or isinstance(address, bool) or address <= 0:
            raise LinkError(f"symbol {name!r}: address must be a positive int, got {address!r}", (name,))
        known = self._symbols.get(name)
        if known is not None and known != address:
            raise LinkError(f"symbol {name!r} is already bound to another address", (name,))
        self._symbols[name] = address
        return self

    def add_global(self, host_global: HostGlobal) -> SymbolMap:
        """Bind ``host_global.name`` to its memory and keep it alive as long as this map."""
        self.add(host_global.name, host_global.address)
        self._owned[host_global.name] = host_global
        return self

    def update(self, other: SymbolMap) -> SymbolMap:
        """Add every binding of ``other`` (and keep its globals alive)."""
        for name, address in other.items():
            self.add(name, address)
        self._owned.update(other._owned)
        return self

    def copy(self) -> SymbolMap:
        """An independent map with the same bindings."""
        return SymbolMap().update(self)

    def subset(self, names: Iterable[str]) -> SymbolMap:
        """An independent map with only the bindings of ``names`` (each must be bound here), keeping the
        host globals among them alive."""
        part = SymbolMap()
        for name in names:
            part._symbols[name] = self._symbols[name]
            owned = self._owned.get(name)
            if owned is not None:
                part._owned[name] = owned
        return part

    def items(self) -> Iterator[tuple[str, int]]:
        """(name, address) pairs."""
        return iter(self._symbols.items())

    def __contains__(self, name: object) -> bool:
        return name in self._symbols

    def __len__(self) -> int:
        return len(self._symbols)

    def __getitem__(self, name: str) -> int:
        return self._symbols[name]

    def __repr__(self) -> str:
        return f"SymbolMap({len(self._symbols)} symbols)"
