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
