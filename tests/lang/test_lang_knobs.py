"""Knobs reach LLVM: loop metadata on innermost loops, fast-math flags, the vector-width attribute.

Also the IR contract the loader relies on: it verifies, has no triple, data layout or absolute address,
and imports host arrays as opaque external globals.
"""

from __future__ import annotations

import re

import llvmlite.binding as llvm
import pytest

from autotune.lang import BUILTIN_KNOBS, Knobs, lower, parse_kernel
from autotune.lang._knobs import FASTMATH_FLAGS
from autotune.types import f64, i64
from dylibs import CompileOptions, optimize_ir
from examples.kernels import SUITE

KNOB_SETS = [
    Knobs(),
    Knobs(vectorize=1, unroll=1),
    Knobs(vectorize=8, interleave=2, unroll=4),
    Knobs(vectorize=16, interleave=4, unroll=8, fastmath=True, prefer_vector_width=512),
]
INNERMOST_LOOPS = {"dot": 1, "saxpy": 1, "stencil5": 1, "matmul": 2, "softmax": 3, "histogram": 1}


def lowered(name: str, knobs: Knobs) -> str:
    entry = SUITE[name]
    return lower(parse_kernel(entry.kernel), entry.consts, knobs).ir


def test_builtin_knob_names() -> None:
    assert (
        frozenset({"unroll", "vectorize", "interleave", "fastmath", "opt", "prefer_vector_width", "veclib", "parallel"})
        == BUILTIN_KNOBS
    )


@pytest.mark.parametrize("name", sorted(SUITE))
@pytest.mark.parametrize("knobs", KNOB_SETS, ids=repr)
def test_ir_contract(name: str, knobs: Knobs) -> None:
    ir = lowered(name, knobs)
    module = llvm.parse_assembly(ir)
    module.verify()
    assert "target triple" not in ir and "datalayout" not in ir
    assert "dso_local" not in ir and "inttoptr" not in ir
    assert re.search(r'define i32 @"kernel"\(.*\) .*nounwind', ir)
    for fn in module.functions:
        if fn.name != "kernel":
            assert fn.is_declaration, f"helper {fn.name} must be internal or a declaration"
    assert ir.count("!llvm.loop !") == INNERMOST_LOOPS[name]
    assert ir.count('!"llvm.loop.mustprogress"') == 1  # one uniqued property node


def test_host_globals_are_opaque_externals() -> None:
    ir = lowered("histogram", Knobs())
    assert '@"g.HIST" = external global i8' in ir
    assert 'getelementptr inbounds i64, ptr @"g.HIST"' in ir


def loop_ids(ir: str) -> list[str]:
    return re.findall(r"^!\d+ = distinct !\{.*\}$", ir, flags=re.M)


@pytest.mark.parametrize(
    ("knobs", "present", "absent"),
    [
        (Knobs(), ["llvm.loop.mustprogress"], ["vectorize", "unroll", "interleave"]),
        (Knobs(vectorize=1), ['!"llvm.loop.vectorize.enable", i1 0'], ["vectorize.width"]),
        (Knobs(vectorize=8), ['!"llvm.loop.vectorize.enable", i1 1', '!"llvm.loop.vectorize.width", i32 8'], []),
        (Knobs(interleave=4), ['!"llvm.loop.interleave.count", i32 4'], ["vectorize"]),
        (Knobs(unroll=1), ['!"llvm.loop.unroll.disable"'], ["unroll.count"]),
        (Knobs(unroll=4), ['!"llvm.loop.unroll.count", i32 4'], ["unroll.disable"]),
    ],
)
def test_loop_metadata(knobs: Knobs, present: list[str], absent: list[str]) -> None:
    ir = lowered("dot", knobs)
    (loop_id,) = loop_ids(ir)
    number = loop_id.split(" ", 1)[0]
    assert loop_id.startswith(f"{number} = distinct !{{{number}, ")  # self-referential
    for text in present:
        assert text in ir
    for text in absent:
        assert text not in ir


def test_fastmath_flags() -> None:
    plain = lowered("softmax", Knobs())
    fast = lowered("softmax", Knobs(fastmath=True))
    assert not re.search(r"\bf(add|mul|sub|div) (reassoc|nsz|arcp|contract|afn|fast)", plain)
    flagged = re.findall(r"\b(?:fadd|fmul|fsub|fdiv|call) ((?:[a-z]+ )+)(?:double|float)", fast)
    assert flagged
    for flags in flagged:
        assert set(flags.split()) == set(FASTMATH_FLAGS), flags
    assert "nnan" not in fast and "ninf" not in fast


def test_prefer_vector_width_attribute() -> None:
    assert '"prefer-vector-width"' not in lowered("saxpy", Knobs())
    assert '"prefer-vector-width"="256"' in lowered("saxpy", Knobs(prefer_vector_width=256))


def optimized(name: str, knobs: Knobs) -> str:
    return optimize_ir(lowered(name, knobs), CompileOptions(opt=3))


def test_forced_vector_width_vectorizes_a_strict_reduction() -> None:
    assert "<8 x double>" in optimized("dot", Knobs(vectorize=8))
    assert "<4 x double>" in optimized("dot", Knobs(vectorize=4))
    assert "x double>" not in optimized("dot", Knobs(vectorize=1))
    assert "x double>" not in optimized("dot", Knobs())  # strict FP: LLVM alone may not reorder the sum


def test_scalar_and_unroll_knobs_shape_the_loop() -> None:
    def fmuls(knobs: Knobs) -> int:
        return len(re.findall(r"= fmul double", optimized("saxpy", knobs)))

    assert fmuls(Knobs(vectorize=1, unroll=1, interleave=1)) == 1
    assert fmuls(Knobs(vectorize=1, unroll=4, interleave=1)) >= 4


WRAP_CHECK = re.compile(r"icmp slt i64 %\S+, 0$", flags=re.M)  # the 'index < 0' of negative-index wrap-around


def runtime_index(a: f64[:], k: i64) -> f64:
    return a[k] + a[k + 1]


def test_loop_indexes_skip_wraparound_and_vectorize() -> None:
    """Indexes from loop variables with a non-negative start need no wrap-around select (which would
    stop the vectorizer); runtime indexes of unknown sign do."""
    for name in ("dot", "saxpy", "stencil5", "matmul", "softmax"):
        assert not WRAP_CHECK.search(lowered(name, Knobs())), name
    assert len(WRAP_CHECK.findall(lower(parse_kernel(runtime_index), {}, Knobs()).ir)) == 2
    for name in ("stencil5", "matmul"):
        assert "<8 x double>" in optimized(name, Knobs(vectorize=8))
