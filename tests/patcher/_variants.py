"""IR for test variants: ``f(x) = x + k`` computed slowly enough that callers are often inside it."""

from __future__ import annotations

import ctypes

SLOW_ADD = """
define i64 @f(i64 %x) {{
entry:
  br label %loop
loop:
  %i = phi i64 [0, %entry], [%i1, %loop]
  %acc = phi i64 [%x, %entry], [%acc1, %loop]
  %acc1 = add i64 %acc, {k}
  call void asm sideeffect "", ""()
  %i1 = add i64 %i, 1
  %c = icmp slt i64 %i1, {n}
  br i1 %c, label %loop, label %done, !llvm.loop !0
done:
  %r = sub i64 %acc1, {kn}
  ret i64 %r
}}
!0 = distinct !{{!0, !1}}
!1 = !{{!"llvm.loop.unroll.disable"}}
"""

COUNT = """
@counter = external global i64
define i64 @f(i64 %x) {{
  %v = atomicrmw add ptr @counter, i64 1 seq_cst
  %r = add i64 %x, {k}
  ret i64 %r
}}
"""

#: ``f(x) = x`` after spinning while the host global ``gate`` is nonzero: holds a caller inside the unit.
GATE_SPIN = """
@gate = external global i64
define i64 @f(i64 %x) {
entry:
  br label %loop
loop:
  %g = load atomic i64, ptr @gate acquire, align 8
  %c = icmp ne i64 %g, 0
  br i1 %c, label %loop, label %done
done:
  ret i64 %x
}
"""

I64_I64 = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_int64)


def slow_add(k: int, n: int = 64) -> str:
    """A variant returning ``x + k`` after ``n`` dependent additions (n=2**18 keeps a caller inside for ~70 us)."""
    return SLOW_ADD.format(k=k, n=n, kn=(n - 1) * k)
