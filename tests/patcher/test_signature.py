from __future__ import annotations

import pytest

from patcher import Signature, SignatureError


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("double(double*, double*, int64_t)", "double(void*, void*, int64_t)"),
        ("void(void)", "void()"),
        ("int(const float * x, unsigned long n)", "int32_t(void*, uint64_t)"),
        ("bool(uint8_t, int16_t)", "bool(uint8_t, int16_t)"),
        ("float ( float )", "float(float)"),
    ],
)
def test_parse(text: str, canonical: str) -> None:
    assert str(Signature.parse(text)) == canonical


@pytest.mark.parametrize(
    "text", ["", "double", "double(struct s)", "double(void, int)", "double(int,)", "x(int)", "int(int(*)(int))"]
)
def test_rejects(text: str) -> None:
    with pytest.raises(SignatureError):
        Signature.parse(text)
