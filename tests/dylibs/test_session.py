from __future__ import annotations

import ctypes

import pytest

from dylibs import CompileError, CompileOptions, HostGlobal, LinkError, Session, SymbolMap, UnitStateError
from dylibs.compiler import compile_ir

from .conftest import ADD_IR, I64_I64

COUNTER_IR = """
@counter = external global i64
define i64 @bump(i64 %x) {
  %v = load i64, ptr @counter
  %n = add i64 %v, %x
  store i64 %n, ptr @counter
  ret i64 %n
}
"""


def test_load_and_call(session: Session) -> None:
    unit = session.load(ADD_IR.format(k=7), exports=["add"])
    assert I64_I64(unit.address("add"))(35) == 42


def test_host_global_is_shared_by_units(session: Session) -> None:
    counter = HostGlobal("counter", "i8", (), 10)
    symbols = SymbolMap().add_global(counter)
    first = session.load(COUNTER_IR, exports=["bump"], symbols=symbols)
    second = session.load(COUNTER_IR, exports=["bump"], symbols=symbols)
    I64_I64(first.address("bump"))(5)
    I64_I64(second.address("bump"))(1)
    assert counter.array[()] == 16
    counter.array[()] = 100  # Python writes are seen by native code
    assert I64_I64(second.address("bump"))(1) == 101


def test_libm_calls_resolve_through_the_allow_list(session: Session) -> None:
    ir = """
declare double @tanh(double)
declare double @llvm.sin.f64(double)
define double @f(double %x) {
  %s = call double @llvm.sin.f64(double %x)
  %t = call double @tanh(double %s)
  ret double %t
}
"""
    unit = session.load(ir, exports=["f"], symbols=SymbolMap.libm())
    f = ctypes.CFUNCTYPE(ctypes.c_double, ctypes.c_double)(unit.address("f"))
    import math

    assert f(0.5) == pytest.approx(math.tanh(math.sin(0.5)), rel=1e-15)
    with pytest.raises(LinkError) as info:
        session.load(ir, exports=["f"])  # neither is in an empty map
    assert info.value.symbols == ("sin", "tanh")  # llvm.sin lowers to a libm call too


def test_unmapped_system_fails_to_link_naming_it(session: Session) -> None:
    ir = "declare i32 @system(ptr)\ndefine i32 @evil(ptr %c) {\n %r = call i32 @system(ptr %c)\n ret i32 %r\n}\n"
    with pytest.raises(LinkError, match="system") as info:
        session.load(ir, exports=["evil"], symbols=SymbolMap.libm())
    assert info.value.symbols == ("system",)


def test_missing_export_and_bad_ir_are_typed_errors(session: Session) -> None:
    with pytest.raises(LinkError, match="nope"):
        session.load(ADD_IR.format(k=1), exports=["nope"])
    with pytest.raises(CompileError) as info:
        session.load("define i64 @f( {", exports=["f"])
    assert "error" in info.value.llvm_message
    with pytest.raises(CompileError):
        session.load("define i64 @f() {\n ret i32 0\n}\n", exports=["f"])
    with pytest.raises(CompileError):
        session.load(123, exports=["f"])  # type: ignore[arg-type]
    with pytest.raises(LinkError):
        session.load(b"not an object", exports=["f"])
    assert session.stats().live_units == 0


def test_object_bytes_load(session: Session) -> None:
    code = compile_ir(ADD_IR.format(k=3), CompileOptions(opt=2))
    assert code[:4] == b"\x7fELF"
    assert I64_I64(session.load(code, exports=["add"]).address("add"))(1) == 4


def test_retire_is_idempotent_and_refused_while_held(session: Session) -> None:
    unit = session.load(ADD_IR.format(k=1), exports=["add"])
    unit.hold()
    with pytest.raises(UnitStateError, match="published"):
        unit.retire()
    unit.release()
    unit.retire()
    unit.retire()
    assert unit.retired
    with pytest.raises(UnitStateError):
        unit.address("add")
    with pytest.raises(UnitStateError):
        unit.hold()


def test_generations_seal_close_and_migrate() -> None:
    with Session(cache=None, units_per_generation=4) as session:
        sealed: list[int] = []
        session.add_seal_listener(lambda: sealed.append(1))
        keeper = session.load(ADD_IR.format(k=9), exports=["add"])
        for k in range(10):
            session.load(ADD_IR.format(k=k), exports=["add"]).retire()
        stats = session.stats()
        assert len(sealed) == 2
        assert stats.closed_generations == 1  # generation 1 is sealed and empty; 0 is pinned by keeper
        assert session.stale_units() == [keeper]
        moved = session.migrate(keeper)
        assert I64_I64(moved.address("add"))(1) == 10
        keeper.retire()
        assert session.stale_units() == []
        assert session.stats().closed_generations == 2
        assert session.stats().generations == 1
        assert session.stats().migrated_units == 1


def test_unit_symbols_are_invisible_to_dlsym(session: Session) -> None:
    libc = ctypes.CDLL(None)
    names = [f"atunit_probe_{i}" for i in range(50)]
    for name in names:
        session.load(f"define i32 @{name}() {{\n ret i32 1\n}}\n", exports=[name])
    dlsym = libc.dlsym
    dlsym.restype = ctypes.c_void_p
    dlsym.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    rtld_default = ctypes.c_void_p(0)
    for name in names:
        assert dlsym(rtld_default, name.encode()) is None
        assert not hasattr(libc, name)


def test_closed_session_refuses_loads() -> None:
    session = Session(cache=None)
    session.close()
    session.close()
    with pytest.raises(Exception, match="closed"):
        session.load(ADD_IR.format(k=1), exports=["add"])
