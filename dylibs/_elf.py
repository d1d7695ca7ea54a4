"""Read the symbol table of an ELF64 relocatable object.

LLJIT's default link order lets every unit see the whole process (``system`` resolves even without
``add_current_process``), so isolation is enforced here instead: before linking, the loader lists what the
object imports and refuses anything its ``SymbolMap`` does not name. Layout per the System V gABI,
"Object Files" chapter (https://refspecs.linuxfoundation.org/elf/gabi4+/ch4.symtab.html).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from .errors import LinkError

__all__ = ["ObjectSymbols", "read_symbols"]

_SHT_SYMTAB = 2
_STB_GLOBAL, _STB_WEAK = 1, 2
_SHN_UNDEF = 0
# Names the JIT linker itself provides to position-independent code.
_LINKER_PROVIDED = frozenset({"_GLOBAL_OFFSET_TABLE_"})


@dataclass(frozen=True)
class ObjectSymbols:
    """Global names an object defines and the ones it needs from outside."""

    defined: frozenset[str]
    undefined: frozenset[str]


def read_symbols(data: bytes) -> ObjectSymbols:
    """Parse ``data`` as an ELF64 little-endian object; raise :class:`LinkError` if it is not one."""
    try:
        return _read(memoryview(data))
    except (struct.error, IndexError, ValueError, UnicodeDecodeError) as exc:
        raise LinkError(f"object code is not a readable ELF64 object ({exc})") from None


def _read(view: memoryview) -> ObjectSymbols:
    if bytes(view[:4]) != b"\x7fELF" or view[4] != 2 or view[5] != 1:
        raise ValueError("not an ELF64 little-endian file")
    (shoff,) = struct.unpack_from("<Q", view, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", view, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", view, shoff + i * shentsize) for i in range(shnum)]
    defined: set[str] = set()
    undefined: set[str] = set()
    for _name, kind, _flags, _addr, offset, size, link, _info, _align, entsize in sections:
        if kind != _SHT_SYMTAB:
            continue
        str_offset, str_size = sections[link][4], sections[link][5]
        strings = bytes(view[str_offset : str_offset + str_size])
        for pos in range(offset + entsize, offset + size, entsize):  # entry 0 is the null symbol
            st_name, st_info, _other, st_shndx = struct.unpack_from("<IBBH", view, pos)
            if st_info >> 4 not in (_STB_GLOBAL, _STB_WEAK) or st_name == 0:
                continue
            end = strings.index(b"\0", st_name)
            name = strings[st_name:end].decode("utf-8")
            (undefined if st_shndx == _SHN_UNDEF else defined).add(name)
    return ObjectSymbols(frozenset(defined), frozenset(undefined - _LINKER_PROVIDED))
