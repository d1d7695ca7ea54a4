from __future__ import annotations

import numpy as np
import pytest

import autotune
from autotune import KernelSyntaxError, KernelTypeError, f64
from dylibs import CompileError

from . import ir_kernels as irk


def test_generated_ir_runs_and_is_checked_like_any_kernel() -> None:
    x, y = np.arange(100.0), np.ones(100)
    expected = y + 2.0 * x
    assert irk.saxpy_ir(2.0, x, y) is None
    np.testing.assert_array_equal(y, expected)
    assert irk.saxpy_ir.signature == "int32_t(double, double*, int64_t, double*, int64_t)"
    with pytest.raises(KernelTypeError) as info:
        irk.saxpy_ir(2.0, x, np.ones(99))
    assert info.value.argument == "y"
    frozen = np.ones(100)
    frozen.flags.writeable = False
    irk.saxpy_ir(1.0, frozen, y)  # x is not in writes=, so a read-only x is fine
    assert "<8 x double>" in irk.saxpy_ir.inspect_llvm(WIDTH=8)


def test_tuning_validates_generated_variants_against_the_reference() -> None:
    x, y = np.random.default_rng(3).random(4096), np.zeros(4096)
    irk.saxpy_ir(0.5, x, y)
    irk.saxpy_ir.tune(progress=False)
    trials = [e for e in irk.saxpy_ir.events.events() if e.kind in ("trial", "fail")]
    assert {e.params["WIDTH"] for e in trials if e.params} == {1, 4, 8}
    assert not [e for e in trials if e.kind == "fail"]


def test_bad_generators_and_references_are_typed_errors() -> None:
    broken = autotune.tunable_ir(reference=irk.saxpy_reference, WIDTH=[1])(irk.broken_ir)
    with pytest.raises(CompileError):
        broken(1.0, np.ones(3), np.ones(3))

    def untyped(a, x):  # type: ignore[no-untyped-def]
        return a

    with pytest.raises(KernelSyntaxError, match="annotation"):
        autotune.tunable_ir(reference=untyped)(irk.broken_ir)

    def ref(a: f64, x: f64[:]) -> None:
        pass

    with pytest.raises(KernelTypeError, match="writes"):
        autotune.tunable_ir(reference=ref, writes=["nope"])(irk.broken_ir)
