"""C declarations such as ``"double(double*, double*, int64_t)"``, parsed into LLVM and ctypes types."""

from __future__ import annotations

import ctypes
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from .errors import SignatureError

__all__ = ["CType", "Signature"]


@dataclass(frozen=True)
class CType:
    """One C scalar type: its canonical C name, LLVM IR type, ctypes type and ABI extension attribute."""

    c: str
    ir: str
    ctype: Any
    ext: str = ""  # "signext"/"zeroext" for integers narrower than 32 bits (System V x86-64 ABI)


def _int(bits: int, signed: bool) -> CType:
    c = f"{'' if signed else 'u'}int{bits}_t"
    ext = "" if bits >= 32 else ("signext" if signed else "zeroext")
    return CType(c, f"i{bits}", getattr(ctypes, f"c_{'' if signed else 'u'}int{bits}"), ext)


_POINTER = CType("void*", "ptr", ctypes.c_void_p)
_VOID = CType("void", "void", None)
_SCALARS: dict[str, CType] = {
    "void": _VOID,
    "double": CType("double", "double", ctypes.c_double),
    "float": CType("float", "float", ctypes.c_float),
    "bool": CType("bool", "i8", ctypes.c_bool, "zeroext"),
    "_Bool": CType("bool", "i8", ctypes.c_bool, "zeroext"),
    **{f"int{b}_t": _int(b, True) for b in (8, 16, 32, 64)},
    **{f"uint{b}_t": _int(b, False) for b in (8, 16, 32, 64)},
    "char": _int(8, True),
    "signed char": _int(8, True),
    "unsigned char": _int(8, False),
    "short": _int(16, True),
    "unsigned short": _int(16, False),
    "int": _int(32, True),
    "unsigned": _int(32, False),
    "unsigned int": _int(32, False),
    "long": _int(64, True),
    "unsigned long": _int(64, False),
    "long long": _int(64, True),
    "unsigned long long": _int(64, False),
    "size_t": _int(64, False),
    "ssize_t": _int(64, True),
    "ptrdiff_t": _int(64, True),
    "intptr_t": _int(64, True),
    "uintptr_t": _int(64, False),
}
_DECL = re.compile(r"^\s*(?P<ret>[A-Za-z_][\w\s\*]*?)\s*\((?P<args>[^()]*)\)\s*$")


def _parse_type(text: str, whole: str, *, allow_name: bool) -> CType:
    stars = text.count("*")
    words = text.replace("*", " * ").split()
    words = [w for w in words if w not in ("const", "volatile", "restrict", "*")]
    if allow_name and len(words) > 1 and " ".join(words) not in _SCALARS and " ".join(words[:-1]) in _SCALARS:
        words = words[:-1]  # a parameter name, as in "double* x"
    base = _SCALARS.get(" ".join(words))
    if base is None:
        raise SignatureError(whole, f"unsupported type {text.strip()!r}")
    if stars:
        return _POINTER
    return base


@dataclass(frozen=True)
class Signature:
    """A function type: return type and parameter types (pointers are opaque ``ptr``)."""

    ret: CType
    args: tuple[CType, ...]

    @staticmethod
    @cache
    def parse(text: str) -> Signature:
        """Parse a C declaration without a function name, e.g. ``"int32_t(double*, int64_t)"``."""
        if not isinstance(text, str):
            raise SignatureError(repr(text), "a signature is a str such as 'double(double*, int64_t)'")
        match = _DECL.match(text)
        if match is None:
            raise SignatureError(text, "expected 'RET(ARG, ...)'")
        ret = _parse_type(match["ret"], text, allow_name=False)
        raw = [a.strip() for a in match["args"].split(",")] if match["args"].strip() else []
        if raw == ["void"]:
            raw = []
        if any(not a for a in raw):
            raise SignatureError(text, "empty parameter")
        args = tuple(_parse_type(a, text, allow_name=True) for a in raw)
        if any(a.ir == "void" for a in args):
            raise SignatureError(text, "'void' is not a parameter type")
        return Signature(ret, args)

    def __str__(self) -> str:
        return f"{self.ret.c}({', '.join(a.c for a in self.args)})"

    def ctypes_prototype(self) -> Any:
        """A ctypes CFUNCTYPE for calling a function of this type (it releases the GIL while calling)."""
        return ctypes.CFUNCTYPE(self.ret.ctype, *(a.ctype for a in self.args))
