"""Random affine loop nests under random schedules from their own (legal) space, against Python.

The nests are what the dependence test has to get right: two or three loops, statements that read and
write two arrays at affine indexes (coefficients 0-2, offsets 0-2), some of them before the innermost
loop (an imperfect nest, which the schedules distribute where legal), with an order-sensitive update
(``X[..] = (3 * X[..] + Y[..] + 1) % 1000003`` on int64), so any reordering that breaks a dependence
changes the result. Whatever the kernel's space offers must give exactly Python's arrays.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import autotune
from tests.lang.runner import run_lowered

SIZE = 40  # every index stays below this: extents <= 6, coefficients <= 2, offsets <= 2, three loops
VARS = ("i", "j", "k")


@st.composite
def nests(draw: st.DrawFn) -> str:
    depth = draw(st.integers(2, 3))
    loops = VARS[:depth]

    def index(using: tuple[str, ...]) -> str:
        terms = [f"{c} * {v}" for v in using if (c := draw(st.integers(0, 2)))]
        return " + ".join([*terms, str(draw(st.integers(0, 2)))])

    def update(indent: str, using: tuple[str, ...]) -> str:
        target, other = draw(st.sampled_from([("X", "Y"), ("Y", "X"), ("X", "X")]))
        place = f"{target}[{index(using)}, {index(using)}]"
        return f"{indent}{place} = (3 * {place} + {other}[{index(using)}, {index(using)}] + 1) % 1000003"

    lines = [f"def nest(X: i64[:, :], Y: i64[:, :], {', '.join(f'n{v}: i64' for v in loops)}):"]
    for level, v in enumerate(loops):
        if level == depth - 1:  # statements before the innermost loop: an imperfect nest (distributed if legal)
            lines += [update("    " * (level + 1), loops[:level]) for _ in range(draw(st.integers(0, 2)))]
        start = draw(st.integers(0, 1))
        lines.append("    " * (level + 1) + f"for {v} in range({start}, n{v}):")
    lines += [update("    " * (depth + 1), loops) for _ in range(draw(st.integers(1, 3)))]
    return "\n".join(lines) + "\n"


@settings(max_examples=100, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(text=nests(), seed=st.integers(0, 2**16), extents=st.lists(st.integers(0, 6), min_size=3, max_size=3))
def test_random_affine_nests_under_their_own_schedules(text: str, seed: int, extents: list[int]) -> None:
    kernel = autotune.tunable(source=text, schedule=True, noalias=True)
    space = kernel.space
    rng = random.Random(seed)
    data = np.random.default_rng(seed)
    x0 = data.integers(0, 1000, (SIZE, SIZE))
    y0 = data.integers(0, 1000, (SIZE, SIZE))
    sizes = extents[: len([p for p in kernel.params if p.name.startswith("n")])]
    want_x, want_y = x0.copy(), y0.copy()
    kernel.py_func(want_x, want_y, *sizes)
    candidates: list[dict[str, Any]] = [
        {name: values[-1] for name in space.schedule_knobs() for values in [space.values(name)]}
    ]
    candidates += [{name: rng.choice(space.values(name)) for name in space.schedule_knobs()} for _ in range(3)]
    for params in candidates:
        got_x, got_y = x0.copy(), y0.copy()
        run_lowered(kernel.variants.lower(params), got_x, got_y, *sizes)
        assert np.array_equal(got_x, want_x) and np.array_equal(got_y, want_y), (text, params, sizes)
