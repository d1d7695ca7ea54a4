"""Every knob value on every suite kernel gives the numpy reference result.

One knob varies at a time (the others at their defaults), plus a few random full configurations.
Forced vectorization and fast-math may reorder float reductions, hence each entry's tolerance.
"""

from __future__ import annotations

import random
import zlib
from typing import Any

import numpy as np
import pytest

from autotune.lang import BUILTIN_KNOBS, Knobs, lower, parse_kernel
from examples.kernels import HIST, SUITE, SuiteEntry, arguments
from tests.lang.runner import run_lowered

SIZE = 37


def _variants() -> list[tuple[str, str, Any]]:
    cases = []
    for name, entry in SUITE.items():
        for knob, values in entry.space.items():
            cases.extend((name, knob, value) for value in values)
    return cases


def _fresh(inputs: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(np.copy(x) if isinstance(x, np.ndarray) else x for x in inputs)


def run_variant(entry: SuiteEntry, config: dict[str, Any], seed: int) -> None:
    knobs = Knobs(**{k: v for k, v in config.items() if k in BUILTIN_KNOBS and k not in ("opt", "veclib")})
    consts = {**entry.consts, **{k: v for k, v in config.items() if k not in BUILTIN_KNOBS}}
    lowered = lower(parse_kernel(entry.kernel), consts, knobs)
    inputs = entry.make_inputs(SIZE, np.random.default_rng(seed))
    expected = entry.reference(*_fresh(inputs))
    entry.setup()
    args = arguments(entry.kernel, inputs, consts)
    result = run_lowered(lowered, *args, opt=int(config.get("opt", 3)), veclib=bool(config.get("veclib", False)))
    actual = entry.output(inputs, result)
    np.testing.assert_allclose(actual, expected, rtol=entry.rtol, atol=entry.atol, err_msg=str(config))


@pytest.mark.parametrize(("name", "knob", "value"), _variants())
def test_each_knob_value_matches_reference(name: str, knob: str, value: Any) -> None:
    run_variant(SUITE[name], {knob: value}, seed=zlib.crc32(f"{name}/{knob}".encode()) % 1000)


@pytest.mark.parametrize("name", sorted(SUITE))
def test_random_configurations_match_reference(name: str) -> None:
    entry = SUITE[name]
    rng = random.Random(name)
    for trial in range(4):
        config = {knob: rng.choice(values) for knob, values in entry.space.items()}
        config["opt"] = rng.choice([1, 2, 3])
        run_variant(entry, config, seed=trial)


@pytest.mark.parametrize("name", sorted(SUITE))
def test_plain_python_kernel_matches_reference(name: str) -> None:
    """The undecorated kernel is the semantic reference: it must agree with numpy too."""
    entry = SUITE[name]
    inputs = entry.make_inputs(9, np.random.default_rng(5))
    expected = entry.reference(*_fresh(inputs))
    entry.setup()
    result = entry.kernel(*arguments(entry.kernel, inputs, entry.consts))
    np.testing.assert_allclose(entry.output(inputs, result), expected, rtol=entry.rtol, atol=entry.atol)


def test_suite_signatures() -> None:
    dot = parse_kernel(SUITE["dot"].kernel)
    assert [(p.name, p.kind, p.dims, p.written) for p in dot.params] == [
        ("a", "array", ("n",), False),
        ("b", "array", ("n",), False),
    ]
    matmul = lower(parse_kernel(SUITE["matmul"].kernel), {"BLOCK": 16}, Knobs())
    array2d = "double*, int64_t, int64_t"
    assert matmul.c_signature == f"int32_t({array2d}, {array2d}, {array2d})"
    assert [p.written for p in matmul.params] == [False, False, True, False]
    assert matmul.params[3].kind == "const" and matmul.ret is None
    hist = lower(parse_kernel(SUITE["histogram"].kernel), {}, Knobs())
    assert [g.ir_name for g in hist.globals] == ["g.HIST"]
    assert hist.globals[0].address == HIST.address and HIST.address % 64 == 0
    assert lower(parse_kernel(SUITE["dot"].kernel), {}, Knobs()).c_signature == (
        "int32_t(double*, int64_t, double*, int64_t, double*)"
    )
