"""``Arguments``: the full argument check and the slow call path of a kernel.

The native entry handles the common case without Python; everything it is unsure about comes here. This
module decides what is acceptable (numpy scalars for scalars, array subclasses, equal-but-not-identical
dtypes), raises :class:`KernelTypeError` naming the argument for everything else, and performs the call
through ctypes with the GIL released. The calling convention and the meaning of a nonzero status are
:mod:`autotune.abi`'s.
"""

from __future__ import annotations

import ctypes
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .abi import BUILTIN_TABLE, StatusTable, ctypes_of, ctypes_prototype
from .errors import KernelTypeError
from .lang import ParamSpec
from .types import ScalarType

__all__ = ["Arguments"]


def _dtype_of(param: ParamSpec) -> ScalarType:
    if param.dtype is None:
        raise KernelTypeError(param.name, "parameter has no element type")
    return param.dtype


class Arguments:
    """Checks calls against the kernel's parameters and converts them to native arguments.

    ``signature`` is the kernel's C declaration (:func:`autotune.abi.c_signature` of the parameters);
    ``statuses`` maps the nonzero statuses it returns to exceptions (its own raises included).
    """

    def __init__(
        self,
        name: str,
        params: Sequence[ParamSpec],
        ret: ScalarType | None,
        signature: str,
        statuses: StatusTable = BUILTIN_TABLE,
    ) -> None:
        self.name = name
        self.params = tuple(p for p in params if p.kind != "const")
        self.ret = ret
        self.signature = signature
        self.statuses = statuses
        self.prototype = ctypes_prototype(self.params, ret)

    def bind(self, args: Sequence[Any], kwargs: Mapping[str, Any]) -> list[Any]:
        """Match positional and keyword arguments to parameters; returns the values in order."""
        names = [p.name for p in self.params]
        if len(args) > len(names):
            raise KernelTypeError(None, f"{self.name}() takes {len(names)} arguments, got {len(args)}")
        values: dict[str, Any] = dict(zip(names, args, strict=False))
        for key, value in kwargs.items():
            if key not in names:
                raise KernelTypeError(key, f"{self.name}() has no parameter {key!r}")
            if key in values:
                raise KernelTypeError(key, f"{self.name}() got multiple values for {key!r}")
            values[key] = value
        missing = [n for n in names if n not in values]
        if missing:
            raise KernelTypeError(missing[0], f"{self.name}() is missing argument {missing[0]!r}")
        return [values[n] for n in names]

    def check(self, values: Sequence[Any]) -> list[Any]:
        """Validate bound values and return them converted (arrays stay arrays, scalars become Python)."""
        out: list[Any] = []
        extents: dict[str, tuple[str, int]] = {}
        for param, value in zip(self.params, values, strict=True):
            if param.kind == "array":
                array = self._array(param, value)
                for dim, (name, extent) in enumerate(zip(param.dims, array.shape, strict=True)):
                    if name is None:
                        continue
                    first = extents.setdefault(name, (param.name, extent))
                    if first[1] != extent:
                        raise KernelTypeError(
                            param.name,
                            f"dimension {dim} is {extent} but '{name}' is {first[1]} (from argument {first[0]!r})",
                        )
                out.append(array)
            else:
                out.append(self._scalar(param, value))
        return out

    def native(self, checked: Sequence[Any]) -> list[Any]:
        """Flatten checked values into the native argument list (data pointers and extents)."""
        flat: list[Any] = []
        for param, value in zip(self.params, checked, strict=True):
            if param.kind == "array":
                flat.append(value.ctypes.data)
                flat.extend(int(n) for n in value.shape)
            elif isinstance(value, complex):  # two doubles (autotune.abi)
                flat += [value.real, value.imag]
            else:
                flat.append(value)
        return flat

    def call(self, address: int, checked: Sequence[Any]) -> Any:
        """Call the function at ``address`` (ctypes releases the GIL) and box its result or raise."""
        out = ctypes_of(self.ret)() if self.ret is not None else None
        flat = self.native(checked)
        if out is not None:
            flat.append(ctypes.addressof(out))
        status = self.prototype(address)(*flat)
        if status:
            raise self.statuses.error(status)
        if out is None or self.ret is None:
            return None
        if self.ret.kind == "bool":
            return bool(out.value)
        if self.ret.kind == "complex":
            return complex(out[0], out[1])
        return out.value

    def _array(self, param: ParamSpec, value: Any) -> np.ndarray[Any, Any]:
        if not isinstance(value, np.ndarray):
            raise KernelTypeError(
                param.name, f"expected a numpy array {param.dtype}{list(param.dims)}, got {type(value).__name__}"
            )
        dtype = _dtype_of(param)
        if value.dtype != dtype.dtype or not value.dtype.isnative:
            raise KernelTypeError(param.name, f"expected dtype {dtype.dtype}, got {value.dtype}")
        if value.ndim != param.ndim:
            raise KernelTypeError(param.name, f"expected {param.ndim} dimension(s), got {value.ndim}")
        if not value.flags.c_contiguous:
            raise KernelTypeError(param.name, "array is not C-contiguous (pass np.ascontiguousarray(x))")
        if not value.flags.aligned:
            raise KernelTypeError(param.name, "array is not aligned")
        if param.written and not value.flags.writeable:
            raise KernelTypeError(param.name, "the kernel writes this array but it is read-only")
        return value

    def _scalar(self, param: ParamSpec, value: Any) -> Any:
        dtype = _dtype_of(param)
        if dtype.kind == "bool":
            if isinstance(value, bool | np.bool_):
                return int(bool(value))
            raise KernelTypeError(param.name, f"expected bool, got {type(value).__name__}")
        if dtype.kind == "int":
            if isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_):
                if not dtype.min <= int(value) <= dtype.max:
                    raise KernelTypeError(param.name, f"{value} does not fit in {dtype.name}")
                return int(value)
            raise KernelTypeError(param.name, f"expected an int for {dtype.name}, got {type(value).__name__}")
        if dtype.kind == "complex":
            if isinstance(value, int | float | complex | np.number) and not isinstance(value, bool | np.bool_):
                return complex(value)
            raise KernelTypeError(param.name, f"expected a complex for {dtype.name}, got {type(value).__name__}")
        if isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool | np.bool_):
            try:
                return float(value)
            except OverflowError:
                raise KernelTypeError(param.name, f"{value} does not fit in {dtype.name}") from None
        raise KernelTypeError(param.name, f"expected a float for {dtype.name}, got {type(value).__name__}")
