"""``autotune.abi`` is the one source of the calling convention and the status codes."""

from __future__ import annotations

import ast
import ctypes
import re
from pathlib import Path

import pytest

from autotune import abi, entry
from autotune.arguments import Arguments
from autotune.lang import Knobs, ParamSpec, lower, parse_kernel_source
from autotune.types import boolean, c128, f32, f64, i16, i32, i64, u8, u64
from patcher import Signature

ROOT = Path(abi.__file__).parent


def test_every_builtin_status_maps_to_one_exception_and_message() -> None:
    for status in abi.Status:
        if status is abi.Status.OK:
            assert status.exception is None
            continue
        error = abi.BUILTIN_TABLE.error(status)
        assert type(error) is status.exception and str(error) == status.message
        assert status < abi.FIRST_RAISE
        assert entry.STATUS_ERRORS[int(status)] == (status.exception, status.message)
    assert set(entry.STATUS_ERRORS) == {int(s) for s in abi.Status if s is not abi.Status.OK}
    unknown = abi.BUILTIN_TABLE.error(999)
    assert type(unknown) is RuntimeError and "999" in str(unknown)


def test_every_status_the_language_emits_is_in_the_enum() -> None:
    """The lowering names its statuses only through ``Status`` (no literal codes), and each one maps."""
    emitted: set[str] = set()
    for name in ("_emit.py", "_lower.py", "_expr.py"):
        text = (ROOT / "lang" / name).read_text()
        emitted |= set(re.findall(r"Status\.([A-Z_]+)", text))
        tree = ast.parse(text)
        for node in ast.walk(tree):  # em.check(cond, <literal int>) / em.fail(<literal int>) would bypass it
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                if node.func.attr in ("check", "fail", "status_block"):
                    assert not any(isinstance(a, ast.Constant) and isinstance(a.value, int) for a in node.args)
    assert emitted
    for name in emitted:
        status = abi.Status[name]
        assert status is abi.Status.OK or status.exception in abi.KERNEL_EXCEPTIONS


def test_kernel_raise_codes_index_the_table() -> None:
    source = """
def k(x: i64) -> i64:
    if x == 1:
        raise ValueError("one")
    if x == 2:
        raise ValueError("one")
    assert x != 3, "three"
    if x == 4:
        raise RuntimeError
    return x
"""
    lowered = lower(parse_kernel_source(source, namespace={"i64": i64}), {}, Knobs())
    table = lowered.statuses
    assert table.raises == (
        abi.Raise(ValueError, "one"),
        abi.Raise(AssertionError, "three"),
        abi.Raise(RuntimeError, None),
    )
    for code, (exc, message) in enumerate([(ValueError, "one"), (AssertionError, "three"), (RuntimeError, "")]):
        error = table.error(abi.FIRST_RAISE + code)
        assert type(error) is exc and str(error) == message
        assert f"ret i32 {abi.FIRST_RAISE + code}" in lowered.ir
    assert set(abi.RAISABLE.values()) <= set(abi.KERNEL_EXCEPTIONS)


SIGNATURES = [
    ([ParamSpec("x", "array", f64, 1, ("n",), True), ParamSpec("n", "scalar", i64, 0, (), False)], f64),
    ([ParamSpec("a", "array", f32, 2, (None, None), False), ParamSpec("k", "const", None, 0, (), False)], None),
    ([ParamSpec("flag", "scalar", boolean, 0, (), False), ParamSpec("m", "scalar", i32, 0, (), False)], boolean),
    ([], i32),
    ([ParamSpec("u", "scalar", u8, 0, (), False), ParamSpec("v", "array", u64, 1, (None,), True)], i16),
    ([ParamSpec("z", "scalar", c128, 0, (), False), ParamSpec("w", "array", c128, 1, (None,), False)], c128),
]


@pytest.mark.parametrize(("params", "ret"), SIGNATURES)
def test_c_llvm_and_ctypes_forms_agree(params: list[ParamSpec], ret: object) -> None:
    assert ret is None or isinstance(ret, type(f64))
    c = abi.c_signature(params, ret)  # type: ignore[arg-type]
    llvm = abi.llvm_arg_types(params, ret)  # type: ignore[arg-type]
    parsed = Signature.parse(c)
    assert parsed.ret.c == "int32_t" and parsed.ret.ir == "i32"
    assert [a.ir for a in parsed.args] == llvm
    assert abi.llvm_signature(params, ret) == f"i32 ({', '.join(llvm)})"  # type: ignore[arg-type]
    prototype = abi.ctypes_prototype(params, ret)  # type: ignore[arg-type]
    assert prototype._restype_ is ctypes.c_int32
    assert list(prototype._argtypes_) == [a.ctype for a in parsed.args]
    scalars = sum(2 if p.dtype == c128 else 1 for p in params if p.kind == "scalar")  # c128: (real, imag)
    native = sum(1 + p.ndim for p in params if p.kind == "array") + scalars + (ret is not None)
    assert len(llvm) == native


def test_new_types_in_the_three_spellings() -> None:
    params = [ParamSpec("z", "scalar", c128, 0, (), False), ParamSpec("u", "scalar", u8, 0, (), False)]
    assert abi.c_signature(params, c128) == "int32_t(double, double, uint8_t, double*)"
    assert [a.name for a in abi.native_args(params, c128)] == ["z", "z.imag", "u", "result"]
    assert ctypes.sizeof(abi.ctypes_of(c128)) == 16 and abi.ctypes_of(u64) is ctypes.c_uint64


def test_lowering_and_the_slow_path_use_the_same_abi() -> None:
    source = """
def k(x: f64["n"], y: f32[:, :], s: boolean, BLOCK: Const = 2) -> i32:
    return 1
"""
    from autotune.types import Const

    info = parse_kernel_source(
        source, namespace={"f64": f64, "f32": f32, "boolean": boolean, "i32": i32, "Const": Const}
    )
    lowered = lower(info, {}, Knobs())
    assert (
        lowered.c_signature
        == abi.c_signature(info.params, info.ret)
        == "int32_t(double*, int64_t, float*, int64_t, int64_t, uint8_t, int32_t*)"
    )
    header = next(line for line in lowered.ir.splitlines() if line.startswith("define"))
    args = re.search(r"@\"?kernel\"?\((.*)\)", header)
    assert args is not None
    types = [a.strip().split(" ")[0] for a in args.group(1).split(",")]
    assert types == abi.llvm_arg_types(info.params, info.ret)
    arguments = Arguments("k", info.params, info.ret, lowered.c_signature, lowered.statuses)
    assert list(arguments.prototype._argtypes_) == list(abi.ctypes_prototype(info.params, info.ret)._argtypes_)
