"""Expert-route kernels whose fast variants are wrong in ways one captured call does not show.

``saxpy(a, x, y)`` does ``y += a * x``. ``MODE`` 0 is right and slow (it spins per element); every other
mode is fast and wrong: 1 forgets the remainder of a 4-wide loop (right at n=4096, wrong at n=4099),
2 writes 8 bytes past ``y``, 3 writes 72 bytes past ``y``, 4 zeroes ``x[0]`` (an input, not an output),
5 stops after 4096 elements (right on every call of up to 4096 elements, wrong on longer ones).
"""

from __future__ import annotations

import autotune
from autotune import f64

_BODY = """
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

_COUNT = {
    1: "  %count = and i64 %n, -4\n",
    5: "  %lim = icmp slt i64 %n, 4096\n  %count = select i1 %lim, i64 %n, i64 4096\n",
}
_TAIL = {
    2: "  %past = getelementptr double, ptr %y, i64 %n\n  store volatile double 1.0, ptr %past, align 8\n",
    3: (
        "  %end = add i64 %n, 8\n  %far = getelementptr double, ptr %y, i64 %end\n"
        "  store volatile double 1.0, ptr %far, align 8\n"
    ),
    4: "  store volatile double 0.0, ptr %x, align 8\n",
}


def saxpy_reference(a: f64, x: f64["n"], y: f64["n"]) -> None:
    y += a * x


def wrong_ir(MODE: int) -> str:
    count = _COUNT.get(MODE, "  %count = add i64 %n, 0\n")
    body = _BODY.format(spins=60 if MODE == 0 else 1, tail=_TAIL.get(MODE, ""))
    return (
        "define i32 @kernel(double %a, ptr %x, i64 %n, ptr %y, i64 %m) {\nentry:\n"
        + "  %counter = alloca i64, align 8\n  store i64 0, ptr %counter, align 8\n"
        + count
        + body
        + "}\n"
    )


wrong = autotune.tunable_ir(reference=saxpy_reference, writes=["y"], MODE=[0, 1, 2, 3, 4])(wrong_ir)
short = autotune.tunable_ir(reference=saxpy_reference, writes=["y"], MODE=[0, 5], name="short_saxpy")(wrong_ir)


@autotune.tunable(fastmath=[False, True], vectorize=[1, 4], interleave=[1, 4])
def kahan(x: f64["n"]) -> float:
    s = 0.0
    c = 0.0
    for i in range(x.shape[0]):
        v = x[i] - c
        t = s + v
        c = (t - s) - v
        s = t
    return s
