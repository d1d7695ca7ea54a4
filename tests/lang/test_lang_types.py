"""The type vocabulary and Global: reprs, hashing, dtype mapping, host memory."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from autotune.errors import KernelTypeError
from autotune.globals import Global
from autotune.types import (
    SCALAR_TYPES,
    ArrayType,
    Const,
    ConstType,
    boolean,
    f32,
    f64,
    i8,
    i32,
    i64,
    scalar_type_of,
    u8,
    u16,
    u64,
)


def test_scalar_types() -> None:
    assert [(t.name, t.c_name, t.llvm) for t in SCALAR_TYPES] == [
        ("f64", "double", "double"),
        ("f32", "float", "float"),
        ("i64", "int64_t", "i64"),
        ("i32", "int32_t", "i32"),
        ("boolean", "uint8_t", "i8"),
        ("i16", "int16_t", "i16"),
        ("i8", "int8_t", "i8"),
        ("u64", "uint64_t", "i64"),
        ("u32", "uint32_t", "i32"),
        ("u16", "uint16_t", "i16"),
        ("u8", "uint8_t", "i8"),
        ("c128", "double", "{double, double}"),
    ]
    dtypes = [np.float64, np.float32, np.int64, np.int32, np.bool_, np.int16, np.int8]
    assert [t.dtype for t in SCALAR_TYPES] == [*dtypes, np.uint64, np.uint32, np.uint16, np.uint8, np.complex128]
    assert [t.kind for t in SCALAR_TYPES] == ["float", "float", "int", "int", "bool", *["int"] * 6, "complex"]
    irs = ["double", "float", "i64", "i32", "i8", "i16", "i8", "i64", "i32", "i16", "i8", "{double, double}"]
    assert [str(t.ir_type) for t in SCALAR_TYPES] == irs
    assert [t.unsigned for t in SCALAR_TYPES] == [False] * 7 + [True] * 4 + [False]
    assert (u8.min, u8.max, i8.min, i8.max, u64.max, i64.min) == (0, 255, -128, 127, 2**64 - 1, -(2**63))
    assert repr(f64) == "f64" and repr(boolean) == "boolean"
    assert pickle.loads(pickle.dumps(f32)) == f32


def test_array_types() -> None:
    assert repr(f64[:]) == "f64[:]"
    assert repr(f64[:, :]) == "f64[:, :]"
    assert repr(i32[:, :, :]) == "i32[:, :, :]"
    assert repr(f64["n"]) == "f64['n']"
    assert repr(f32["n", :]) == "f32['n', :]"
    assert f64["n", "m"] == ArrayType(f64, 2, ("n", "m"))
    assert f64[:].dims == (None,) and f64[:].ndim == 1 and f64[:].dtype is f64
    assert len({f64[:], f64[:], f64["n"], f32[:], hash(i64)}) == 4
    assert f64[:] != f32[:]
    for bad in ((), (slice(1, 2),), ("not an identifier",), (3,), (slice(None),) * 4):
        with pytest.raises(KernelTypeError):
            f64[bad if bad else ()]


def test_const_marker() -> None:
    assert repr(Const) == "Const"
    assert ConstType() is Const
    assert pickle.loads(pickle.dumps(Const)) is Const


def test_scalar_type_of() -> None:
    assert scalar_type_of(np.float32) is f32
    assert scalar_type_of("int64") is i64
    assert scalar_type_of(np.uint16) is u16 and scalar_type_of("int8") is i8
    assert scalar_type_of(np.dtype(bool)) is boolean
    assert scalar_type_of(f64) is f64
    with pytest.raises(KernelTypeError, match="not supported"):
        scalar_type_of(np.float16)
    with pytest.raises(KernelTypeError):
        scalar_type_of(np.dtype(">f8"))


def test_global_memory() -> None:
    g = Global(i64, shape=(4, 3), value=7, name="test.grid")
    assert g.shape == (4, 3) and g.ndim == 2 and g.dtype is i64 and g.name == "test.grid"
    assert g.address % 64 == 0 and g.address == g.array.ctypes.data
    assert int(g.array.sum()) == 7 * 12
    g[1, 2] += 5
    assert g[1, 2] == 12 and len(g) == 4
    assert np.asarray(g).base is not None and np.asarray(g)[1, 2] == 12
    assert "test.grid" in repr(g)
    scalar = Global(np.float32, value=1.5)
    assert scalar.shape == () and scalar[()] == np.float32(1.5) and scalar.dtype is f32
    assert scalar.name.startswith("global.")
    assert scalar.host.address == scalar.address
    with pytest.raises(KernelTypeError):
        Global(np.float16)
