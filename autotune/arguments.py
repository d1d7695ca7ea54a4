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
from .result import box_result, result_buffer
from .types import Result, ScalarType

__all__ = ["Arguments"]


def _dtype_of(param: ParamSpec) -> ScalarType:
    if param.dtype is None:
        raise KernelTypeError(param.name, "parameter has no element type")
    return param.dtype


class Arguments:
    """Checks calls against the kernel's parameters and converts them to native arguments.

    ``signature`` is the kernel's C declaration (:func:`autotune.abi.c_signature` of the parameters);
    ``statuses`` maps the nonzero statuses it returns to exceptions (its own raises included). With
    ``strided``, arrays of any strides are accepted (aligned, item-size multiples; a written array must not
    overlap itself) and are called through the strided form of the ABI; otherwise they must be C-contiguous.
    """

    def __init__(
        self,
        name: str,
        params: Sequence[ParamSpec],
        ret: Result | None,
        signature: str,
        statuses: StatusTable = BUILTIN_TABLE,
        *,
        strided: bool = False,
    ) -> None:
        self.name = name
        self.params = tuple(p for p in params if p.kind != "const")
        self.ret = ret
        self.signature = signature
        self.statuses = statuses
        self.strided = strided
        self.prototype = ctypes_prototype(self.params, ret)
        self.strided_prototype = ctypes_prototype(self.params, ret, strided=True) if strided else None

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
            elif param.kind == "tuple":
                out.append(self._tuple(param, value))
            else:
                out.append(self._scalar(param, value))
        return out

    def native(self, checked: Sequence[Any], *, strided: bool = False) -> list[Any]:
        """Flatten checked values into the native argument list (data pointers, extents and, for the strided
        form, strides in elements)."""
        flat: list[Any] = []
        for param, value in zip(self.params, checked, strict=True):
            if param.kind == "array":
                flat.append(value.ctypes.data)
                flat.extend(int(n) for n in value.shape)
                if strided:
                    flat.extend(int(s) // value.itemsize for s in value.strides)
            elif param.kind == "tuple":
                flat.extend(value)
            elif isinstance(value, complex):  # two doubles (autotune.abi)
                flat += [value.real, value.imag]
            else:
                flat.append(value)
        return flat

    def contiguous(self, checked: Sequence[Any]) -> bool:
        """Whether every array of a checked call is C-contiguous (else it needs the strided form)."""
        return all(v.flags.c_contiguous for p, v in zip(self.params, checked, strict=True) if p.kind == "array")

    def call(self, address: int, checked: Sequence[Any], *, strided: bool = False) -> Any:
        """Call the function at ``address`` (ctypes releases the GIL) and box its result or raise.
        ``strided``: ``address`` is the strided form (see :func:`autotune.abi.native_args`)."""
        ret = self.ret
        if ret is not None and not isinstance(ret, ScalarType):
            return self._call_slots(address, checked, ret, strided)
        out = ctypes_of(ret)() if ret is not None else None
        flat = self.native(checked, strided=strided)
        if out is not None:
            flat.append(ctypes.addressof(out))
        prototype = self.strided_prototype if strided and self.strided_prototype is not None else self.prototype
        status = prototype(address)(*flat)
        if status:
            raise self.statuses.error(status)
        if out is None or ret is None:
            return None
        if ret.kind == "bool":
            return bool(out.value)
        if ret.kind == "complex":
            return complex(out[0], out[1])
        return out.value

    def _call_slots(self, address: int, checked: Sequence[Any], ret: Result, strided: bool) -> Any:
        """A call returning an array or a tuple: the kernel fills result slots, boxed once (see :mod:`.result`)."""
        slots = result_buffer(ret)
        prototype = self.strided_prototype if strided and self.strided_prototype is not None else self.prototype
        status = prototype(address)(*self.native(checked, strided=strided), ctypes.addressof(slots))
        if status:
            raise self.statuses.error(status)
        return box_result(ret, ctypes.addressof(slots))

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
        if not value.flags.aligned:
            raise KernelTypeError(param.name, "array is not aligned")
        if not value.flags.c_contiguous:
            self._strides(param, value)
        if param.written and not value.flags.writeable:
            raise KernelTypeError(param.name, "the kernel writes this array but it is read-only")
        return value

    def _tuple(self, param: ParamSpec, value: Any) -> tuple[Any, ...]:
        """A tuple parameter: a tuple of exactly its items, each checked like a scalar parameter."""
        if not isinstance(value, tuple):
            raise KernelTypeError(param.name, f"expected a tuple of {len(param.items)}, got {type(value).__name__}")
        if len(value) != len(param.items):
            raise KernelTypeError(param.name, f"expected a tuple of {len(param.items)} items, got {len(value)}")
        return tuple(
            self._scalar(ParamSpec(f"{param.name}[{k}]", "scalar", t, 0, (), False), v)
            for k, (t, v) in enumerate(zip(param.items, value, strict=True))
        )

    def _strides(self, param: ParamSpec, value: np.ndarray[Any, Any]) -> None:
        """Refuse strides the strided form cannot take: any (kernel without one), not item-size multiples,
        or a written array whose elements overlap (a zero stride from np.broadcast_to, say)."""
        if not self.strided:
            raise KernelTypeError(param.name, "array is not C-contiguous (pass np.ascontiguousarray(x))")
        if value.size == 0:
            return
        dims = [(abs(s), n) for s, n in zip(value.strides, value.shape, strict=True) if n > 1]
        if any(s % value.itemsize for s, _ in dims):
            raise KernelTypeError(param.name, "array strides are not multiples of its item size (pass a copy)")
        if param.written:
            reach = 0
            for stride, extent in sorted(dims):
                if stride <= reach:
                    raise KernelTypeError(
                        param.name,
                        "the kernel writes this array but its elements overlap (a zero or overlapping stride, "
                        "as from np.broadcast_to); pass a copy",
                    )
                reach += stride * (extent - 1)

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
