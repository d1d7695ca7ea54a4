"""Test-only runner: compile a LoweredKernel with dylibs, call it through ctypes, compare with Python.

Arguments are given in Python parameter order (``Const`` ones included and skipped, so the same tuple
calls the plain Python function). Statuses become the Python exceptions they stand for.
"""

from __future__ import annotations

import atexit
import copy
import ctypes
import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from autotune.abi import POOL_RUN, ctypes_of, native_args
from autotune.globals import Global
from autotune.lang import Knobs, LoweredKernel, lower, parse_kernel
from autotune.pool import run_address
from autotune.types import ScalarType
from dylibs import CompileOptions, Session, SymbolMap, Unit

__all__ = ["KernelStatusError", "check", "compile_lowered", "compiled", "outcome", "run_lowered", "same"]

_session: Session | None = None
_units: dict[tuple[Any, ...], tuple[Unit, Callable[..., int]]] = {}


class KernelStatusError(Exception):
    """An unknown nonzero status (kept for importers: unknown statuses now raise RuntimeError)."""


def _get_session() -> Session:
    global _session
    if _session is None:
        _session = Session(cache=None, units_per_generation=1000)
        atexit.register(_session.close)
    return _session


def _ctype(scalar: ScalarType) -> Any:
    return ctypes_of(scalar)


def _c_types(lowered: LoweredKernel) -> tuple[str, ...]:
    """The C types of the scalars and result: i8 and u8 kernels can have the same IR but not the same ctypes."""
    scalars = [p.dtype.c_name for p in lowered.params if p.kind == "scalar" and p.dtype is not None]
    return (*scalars, lowered.ret.c_name if lowered.ret is not None else "void")


def compile_lowered(lowered: LoweredKernel, opt: int = 3, veclib: bool = False) -> Callable[..., int]:
    """The native function of ``lowered`` as a ctypes callable (units are cached per IR text)."""
    bindings = tuple((g.ir_name, g.address) for g in lowered.globals)
    key = (lowered.ir, opt, veclib, bindings, _c_types(lowered))
    cached = _units.get(key)
    if cached is not None:
        return cached[1]
    symbols = SymbolMap.libm()
    if POOL_RUN in lowered.ir:  # a parallel prange calls the process's thread pool
        symbols.add(POOL_RUN, run_address())
    for name, address in bindings:
        symbols.add(name, address)
    unit = _get_session().load(
        lowered.ir, exports=[lowered.symbol], symbols=symbols, options=CompileOptions(opt=opt, veclib=veclib)
    )
    argtypes = [ctypes.c_void_p if a.pointer else _ctype(a.dtype) for a in native_args(lowered.params, lowered.ret)]
    func = ctypes.CFUNCTYPE(ctypes.c_int32, *argtypes)(unit.address(lowered.symbol))
    _units[key] = (unit, func)
    return func


def run_lowered(lowered: LoweredKernel, *args: Any, opt: int = 3, veclib: bool = False) -> Any:
    """Call the compiled kernel with Python-order ``args``; return its result (``None`` if it has none)."""
    func = compile_lowered(lowered, opt, veclib)
    if len(args) != len(lowered.params):
        raise TypeError(f"expected {len(lowered.params)} arguments, got {len(args)}")
    native: list[Any] = []
    keep: list[Any] = []
    for p, arg in zip(lowered.params, args, strict=True):
        if p.kind == "const":
            continue
        if p.kind == "scalar" and p.dtype is not None and p.dtype.kind == "complex":
            native += [ctypes.c_double(complex(arg).real), ctypes.c_double(complex(arg).imag)]
            continue
        if p.kind == "scalar" and p.dtype is not None:
            native.append(_ctype(p.dtype)(arg))
            continue
        array = arg.array if isinstance(arg, Global) else arg
        if not isinstance(array, np.ndarray) or p.dtype is None:
            raise TypeError(f"argument {p.name!r} must be a numpy array")
        if array.dtype != p.dtype.dtype or array.ndim != p.ndim or not array.flags.c_contiguous:
            raise TypeError(f"argument {p.name!r}: need a C-contiguous {p.ndim}-d {p.dtype.dtype} array")
        keep.append(array)
        native.append(ctypes.c_void_p(array.ctypes.data))
        native.extend(int(n) for n in array.shape)
    result: Any = None
    if lowered.ret is not None:
        result = _ctype(lowered.ret)()
        native.append(ctypes.addressof(result))
    status = func(*native)
    if status:
        raise lowered.statuses.error(status)  # autotune.abi: built-in statuses and the kernel's own raises
    if result is None:
        return None
    if lowered.ret is not None and lowered.ret.kind == "complex":
        return complex(result[0], result[1])
    value = result.value
    return bool(value) if lowered.ret is not None and lowered.ret.kind == "bool" else value


def compiled(
    func: Callable[..., Any], consts: Mapping[str, Any] | None = None, knobs: Knobs | None = None, opt: int = 3
) -> Callable[..., Any]:
    """Parse, lower and compile ``func``; return a Python callable with the same parameters."""
    lowered = lower(parse_kernel(func), consts or {}, knobs or Knobs())
    compile_lowered(lowered, opt)

    def call(*args: Any) -> Any:
        return run_lowered(lowered, *args, opt=opt)

    call.lowered = lowered  # type: ignore[attr-defined]
    return call


# ---- comparing with the Python reference ----------------------------------------------------------
def outcome(func: Callable[..., Any], args: tuple[Any, ...]) -> tuple[str, Any, tuple[Any, ...]]:
    """("ok", result, args after the call) or ("raise", exception type, args)."""
    args = copy.deepcopy(args)
    try:
        with np.errstate(all="ignore"):
            return "ok", func(*args), args
    except (ZeroDivisionError, ValueError, IndexError) as exc:
        return "raise", type(exc), args


def same(expected: Any, got: Any, rtol: float) -> bool:
    """Equal for ints and bools, close for floats (NaN equals NaN), elementwise for arrays."""
    if isinstance(expected, np.ndarray):
        if expected.dtype.kind in "fc":
            return bool(np.allclose(got, expected, rtol=rtol, atol=0, equal_nan=True))
        return bool(np.array_equal(got, expected))
    if isinstance(expected, bool | np.bool_):
        return bool(got) == bool(expected) and isinstance(got, bool)
    if isinstance(expected, complex | np.complexfloating):
        return same(expected.real, complex(got).real, rtol) and same(expected.imag, complex(got).imag, rtol)
    if isinstance(expected, float | np.floating):
        if math.isnan(expected):
            return math.isnan(got)
        return math.isclose(got, expected, rel_tol=rtol, abs_tol=0) or got == expected
    return bool(got == expected)


def check(
    func: Callable[..., Any],
    *argsets: tuple[Any, ...],
    consts: Mapping[str, Any] | None = None,
    knobs: Knobs | None = None,
    rtol: float = 1e-13,
) -> None:
    """Run ``func`` compiled and as Python on each argument tuple; results and arrays must agree."""
    compare(func, compiled(func, consts, knobs), *argsets, rtol=rtol)


def compare(
    python: Callable[..., Any],
    native: Callable[..., Any],
    *argsets: tuple[Any, ...],
    rtol: float = 1e-13,
    zero_signs: bool = False,
) -> None:
    """``python`` and ``native`` give the same result, array outputs and exceptions on each argument tuple
    (with ``zero_signs``, array outputs must also agree on the sign of every zero)."""
    for args in argsets:
        label = f"{python.__name__}{args}"
        want = outcome(python, args)
        got = outcome(native, args)
        assert want[0] == got[0], f"{label}: python {want[:2]} != compiled {got[:2]}"
        if want[0] == "raise":
            assert want[1] is got[1], f"{label}: python raised {want[1]}, compiled {got[1]}"
            continue
        assert same(want[1], got[1], rtol), f"{label}: python {want[1]!r} != compiled {got[1]!r}"
        for k, (a, b) in enumerate(zip(want[2], got[2], strict=True)):
            if isinstance(a, np.ndarray):
                assert same(a, b, rtol), f"{label}: array argument {k} differs:\n{a}\n{b}"
                if zero_signs:
                    signs = np.signbit(a) == np.signbit(b)
                    assert bool(np.all(signs | np.isnan(a))), f"{label}: signs of zeros differ in argument {k}"
