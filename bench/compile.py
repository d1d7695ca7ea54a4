"""Compile: a cold O3 compile vs loading the same variant from the object cache, ms per variant.

The cache-hit path is everything ``Session.load`` does for a known variant: hash the key, read and verify
the entry, read its symbol table, link it into the current generation. Target: under 0.5 ms.

Run: python -m bench.compile
"""

from __future__ import annotations

import statistics
import tempfile
import time

from dylibs import CompileOptions, ObjectCache, Session, compile_ir

from ._report import report

DOT = """
define double @dot(ptr %a, ptr %b, i64 %n) {{
entry:
  %empty = icmp sle i64 %n, 0
  br i1 %empty, label %exit, label %loop
loop:
  %i = phi i64 [0, %entry], [%i1, %loop]
  %s = phi double [0.0, %entry], [%s1, %loop]
  %pa = getelementptr inbounds double, ptr %a, i64 %i
  %pb = getelementptr inbounds double, ptr %b, i64 %i
  %va = load double, ptr %pa, align 8
  %vb = load double, ptr %pb, align 8
  %m = fmul double %va, %vb
  %s1 = fadd double %s, %m
  %i1 = add nuw nsw i64 %i, 1
  %more = icmp slt i64 %i1, %n
  br i1 %more, label %loop, label %exit, !llvm.loop !0
exit:
  %r = phi double [0.0, %entry], [%s1, %loop]
  ret double %r
}}
!0 = distinct !{{!0, !1, !2, !3}}
!1 = !{{!"llvm.loop.vectorize.enable", i1 true}}
!2 = !{{!"llvm.loop.vectorize.width", i32 {width}}}
!3 = !{{!"llvm.loop.interleave.count", i32 {interleave}}}
; variant {tag}
"""
N = 40


def _variants(tag: str) -> list[str]:
    return [DOT.format(width=2 ** (i % 4), interleave=1 + i % 3, tag=f"{tag}-{i}") for i in range(N)]


def main() -> None:
    options = CompileOptions(opt=3)
    cold_ir = _variants("cold")
    cold = []
    for ir in cold_ir:
        start = time.perf_counter()
        compile_ir(ir, options)
        cold.append(time.perf_counter() - start)
    with tempfile.TemporaryDirectory() as tmp:
        cache = ObjectCache(tmp)
        with Session(cache=cache) as session:
            warm_ir = _variants("warm")
            for ir in warm_ir:
                session.load(ir, exports=["dot"], options=options).retire()
            hit, link = [], []
            objects = [compile_ir(ir, options) for ir in warm_ir]
            for _ in range(5):
                for ir, code in zip(warm_ir, objects, strict=True):
                    start = time.perf_counter()
                    unit = session.load(ir, exports=["dot"], options=options)
                    hit.append(time.perf_counter() - start)
                    unit.retire()
                    start = time.perf_counter()
                    unit = session.load(code, exports=["dot"])
                    link.append(time.perf_counter() - start)
                    unit.retire()
            stats = cache.stats()
    c, h, k = (statistics.median(x) * 1e3 for x in (cold, hit, link))
    rows = [
        ["cold O3 compile (parse, optimise, emit)", c, 1.0],
        ["cache hit: Session.load of known IR", h, h / c],
        ["link only: Session.load of object bytes", k, k / c],
    ]
    report(
        "compile",
        ["path", "ms/variant (median)", "ratio to cold"],
        rows,
        {"variants": N, "cache_hits": stats.hits, "target": "cache hit < 0.5 ms", "met": h < 0.5},
    )


if __name__ == "__main__":
    main()
