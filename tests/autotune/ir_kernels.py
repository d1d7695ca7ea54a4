"""An expert-route kernel: IR generated per parameters, a numpy reference for types and semantics."""

from __future__ import annotations

import numpy as np

import autotune
from autotune import f64


def saxpy_reference(a: f64, x: f64["n"], y: f64["n"]) -> None:
    y += a * x  # any Python: the reference need not be in the kernel language


@autotune.tunable_ir(reference=saxpy_reference, writes=["y"], WIDTH=[1, 4, 8])
def saxpy_ir(WIDTH: int) -> str:
    return f"""
define i32 @kernel(double %a, ptr %x, i64 %n, ptr %y, i64 %m) {{
entry:
  %empty = icmp sle i64 %n, 0
  br i1 %empty, label %exit, label %loop
loop:
  %i = phi i64 [0, %entry], [%i1, %loop]
  %px = getelementptr inbounds double, ptr %x, i64 %i
  %py = getelementptr inbounds double, ptr %y, i64 %i
  %vx = load double, ptr %px, align 8
  %vy = load double, ptr %py, align 8
  %p = fmul double %a, %vx
  %s = fadd double %vy, %p
  store double %s, ptr %py, align 8
  %i1 = add nuw nsw i64 %i, 1
  %c = icmp slt i64 %i1, %n
  br i1 %c, label %loop, label %exit, !llvm.loop !0
exit:
  ret i32 0
}}
!0 = distinct !{{!0, !1, !2}}
!1 = !{{!"llvm.loop.vectorize.enable", i1 true}}
!2 = !{{!"llvm.loop.vectorize.width", i32 {WIDTH}}}
"""


def broken_ir(WIDTH: int) -> str:
    return "define i32 @kernel( {"


np_float = np.float64
