from __future__ import annotations

import ctypes
from collections.abc import Iterator

import pytest

from dylibs import Session

ADD_IR = """
define i64 @add(i64 %x) {{
  %r = add i64 %x, {k}
  ret i64 %r
}}
"""

I64_I64 = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_int64)


@pytest.fixture
def session() -> Iterator[Session]:
    with Session(cache=None) as s:
        yield s
