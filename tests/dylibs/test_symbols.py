from __future__ import annotations

import numpy as np
import pytest

from dylibs import LIBM_NAMES, HostGlobal, LinkError, SymbolMap


def test_libm_allow_list_holds_math_and_memory_functions() -> None:
    libm = SymbolMap.libm()
    for name in ("sin", "expm1", "log1pf", "pow", "memset", "memcpy"):
        assert name in libm and libm[name] > 0
    assert "system" not in libm and "system" not in LIBM_NAMES


def test_rebinding_a_name_is_refused() -> None:
    symbols = SymbolMap({"a": 16})
    symbols.add("a", 16)
    with pytest.raises(LinkError):
        symbols.add("a", 32)
    with pytest.raises(LinkError):
        symbols.add("b", 0)
    with pytest.raises(LinkError):
        symbols.add("", 8)


def test_host_global_is_aligned_and_writable() -> None:
    table = HostGlobal("table", np.float32, (3, 5), 1.5)
    assert table.address % 64 == 0
    assert table.array.shape == (3, 5) and table.array.dtype == np.float32
    assert float(table.array.sum()) == 22.5
    table.array[1, 2] = 7
    assert table.array.ctypes.data == table.address


@pytest.mark.parametrize("args", [("bad name", "f8"), ("x", object), ("x", "f8", (-1,)), ("", "i4")])
def test_host_global_rejects_bad_arguments(args: tuple[object, ...]) -> None:
    with pytest.raises(LinkError):
        HostGlobal(*args)  # type: ignore[arg-type]
