"""Expert-route kernels whose variants misbehave on purpose: the tuning worker must contain each fault.

``MODE`` 0 is a correct saxpy (the default); every other mode is a candidate that a tuner may meet in the
wild: 1 stores through a null pointer (SIGSEGV), 2 raises SIGABRT through a raw ``kill`` system call (what
``abort()`` does), 3 never returns, 4 is right but 500x slower, 5 is IR that does not compile, 6 calls
``system``, which no variant may link.
"""

from __future__ import annotations

import autotune
from autotune import f64

_SAXPY = """
  %empty = icmp sle i64 %count, 0
  br i1 %empty, label %tail, label %loop
loop:
  %i = phi i64 [0, %entry], [%i1, %next]
  %px = getelementptr inbounds double, ptr %x, i64 %i
  %py = getelementptr inbounds double, ptr %y, i64 %i
  %vx = load double, ptr %px, align 8
  %vy = load double, ptr %py, align 8
  %p = fmul double %a, %vx
  %s = fadd double %vy, %p
  store double %s, ptr %py, align 8
  br label %slow
slow:
  %k = phi i64 [0, %loop], [%k1, %slow]
  %k1 = add i64 %k, 1
  %spin = load volatile i64, ptr %counter, align 8
  %more = icmp slt i64 %k1, {spins}
  br i1 %more, label %slow, label %next
next:
  %i1 = add nuw nsw i64 %i, 1
  %c = icmp slt i64 %i1, %count
  br i1 %c, label %loop, label %tail
tail:
{tail}  ret i32 0
"""


def spinning_saxpy(spins: int, *, head: str = "", count: str | None = None, tail: str = "", declare: str = "") -> str:
    """IR of ``y[:count] += a * x[:count]`` spinning ``spins`` times per element: ``head`` runs first,
    ``count`` defines ``%count`` (default: ``%n``), ``tail`` runs after the loop (these modules' faults)."""
    return (
        declare
        + "define i32 @kernel(double %a, ptr %x, i64 %n, ptr %y, i64 %m) {\nentry:\n"
        + "  %counter = alloca i64, align 8\n  store i64 0, ptr %counter, align 8\n"
        + head
        + (count or "  %count = add i64 %n, 0\n")
        + _SAXPY.format(spins=spins, tail=tail)
        + "}\n"
    )


_FAULTS = {
    1: "  store volatile double 1.0, ptr null, align 8\n",
    2: (
        '  %pid = call i64 asm sideeffect "syscall", "={rax},{rax},~{rcx},~{r11},~{memory}"(i64 39)\n'
        '  %r = call i64 asm sideeffect "syscall", "={rax},{rax},{rdi},{rsi},~{rcx},~{r11},~{memory}"'
        "(i64 62, i64 %pid, i64 6)\n"
    ),
    6: "  %ignored = call i32 @system(ptr null)\n",
}


def saxpy_reference(a: f64, x: f64["n"], y: f64["n"]) -> None:
    y += a * x


def faulty_ir(MODE: int) -> str:
    if MODE == 5:
        return "define i32 @kernel(double %a, ptr %x {"
    declare = "declare i32 @system(ptr)\n" if MODE == 6 else ""
    return spinning_saxpy({3: 2**62, 4: 500}.get(MODE, 1), head=_FAULTS.get(MODE, ""), declare=declare)


faulty = autotune.tunable_ir(reference=saxpy_reference, writes=["y"], MODE=[0, 1, 2, 3, 4, 5, 6])(faulty_ir)
