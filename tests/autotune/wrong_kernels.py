"""Expert-route kernels whose fast variants are wrong in ways one captured call does not show.

``saxpy(a, x, y)`` does ``y += a * x``. ``MODE`` 0 is right and slow (it spins per element); every other
mode is fast and wrong: 1 forgets the remainder of a 4-wide loop (right at n=4096, wrong at n=4099),
2 writes 8 bytes past ``y``, 3 writes 72 bytes past ``y``, 4 zeroes ``x[0]`` (an input, not an output),
5 stops after 4096 elements (right on every call of up to 4096 elements, wrong on longer ones).
"""

from __future__ import annotations

import autotune
from autotune import f64

from .fault_kernels import saxpy_reference, spinning_saxpy

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


def wrong_ir(MODE: int) -> str:
    return spinning_saxpy(60 if MODE == 0 else 1, count=_COUNT.get(MODE), tail=_TAIL.get(MODE, ""))


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
