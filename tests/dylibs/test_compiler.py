from __future__ import annotations

import pytest

from dylibs import CompileError, CompileOptions, OptionsError, compile_ir, emit_assembly, optimize_ir

LOOP_IR = """
define double @sum(ptr %a, i64 %n) {
entry:
  br label %loop
loop:
  %i = phi i64 [0, %entry], [%i1, %loop]
  %s = phi double [0.0, %entry], [%s1, %loop]
  %p = getelementptr double, ptr %a, i64 %i
  %v = load double, ptr %p
  %s1 = fadd fast double %s, %v
  %i1 = add i64 %i, 1
  %c = icmp slt i64 %i1, %n
  br i1 %c, label %loop, label %exit
exit:
  ret double %s1
}
"""


def test_compile_is_pure() -> None:
    assert compile_ir(LOOP_IR) == compile_ir(LOOP_IR)
    assert compile_ir(LOOP_IR)[:4] == b"\x7fELF"


def test_options_change_code_and_are_validated() -> None:
    assert compile_ir(LOOP_IR, CompileOptions(opt=0)) != compile_ir(LOOP_IR, CompileOptions(opt=3))
    for bad in ({"opt": 4}, {"opt": "3"}, {"loop_vectorize": 1}):
        with pytest.raises(OptionsError):
            CompileOptions(**bad)  # type: ignore[arg-type]


def test_inspection_text() -> None:
    optimized = optimize_ir(LOOP_IR)
    assert "target triple" in optimized and "<" in optimized  # vectorised: vector types appear
    assert "ret" in emit_assembly(LOOP_IR)
    with pytest.raises(CompileError):
        optimize_ir("nonsense")


EXP_LOOP = """
declare double @llvm.exp.f64(double)
define void @f(ptr %x, ptr %y, i64 %n) {
entry:
  %none = icmp sle i64 %n, 0
  br i1 %none, label %exit, label %loop
loop:
  %i = phi i64 [0, %entry], [%i1, %loop]
  %p = getelementptr double, ptr %x, i64 %i
  %v = load double, ptr %p
  %e = call double @llvm.exp.f64(double %v)
  %q = getelementptr double, ptr %y, i64 %i
  store double %e, ptr %q
  %i1 = add i64 %i, 1
  %c = icmp slt i64 %i1, %n
  br i1 %c, label %loop, label %exit, !llvm.loop !0
exit:
  ret void
}
!0 = distinct !{!0, !1, !2}
!1 = !{!"llvm.loop.vectorize.enable", i1 true}
!2 = !{!"llvm.loop.vectorize.width", i32 4}
"""


def test_veclib_routes_vector_math_to_libmvec_and_stays_correct() -> None:
    import ctypes

    import numpy as np

    from dylibs import Session, SymbolMap
    from dylibs.veclib import libmvec_symbols

    if "_ZGVdN4v_exp" not in libmvec_symbols():
        pytest.skip("this C library has no libmvec")
    assert "_ZGVdN4v_exp" in optimize_ir(EXP_LOOP, CompileOptions(veclib=True))
    assert "_ZGVdN4v_exp" not in optimize_ir(EXP_LOOP, CompileOptions(veclib=False))
    with Session(cache=None) as session:
        unit = session.load(EXP_LOOP, exports=["f"], symbols=SymbolMap.libm(), options=CompileOptions(veclib=True))
        fn = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64)(unit.address("f"))
        x = np.linspace(-20.0, 20.0, 1001)
        y = np.zeros_like(x)
        fn(x.ctypes.data, y.ctypes.data, len(x))
    np.testing.assert_allclose(y, np.exp(x), rtol=1e-14)
