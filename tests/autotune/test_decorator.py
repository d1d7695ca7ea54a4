from __future__ import annotations

import pytest

import autotune
from autotune import Const, KernelSyntaxError, SpaceError, f64, i64


def test_unsupported_syntax_is_reported_at_decoration_with_its_line() -> None:
    with pytest.raises(KernelSyntaxError) as info:

        @autotune.tunable
        def bad(x: f64) -> f64:
            with open("f"):
                pass
            return x

    lines = open(__file__).read().splitlines()
    assert lines[info.value.lineno - 1].strip() == 'with open("f"):'
    assert info.value.filename == __file__


def test_unknown_knobs_and_missing_constants_are_space_errors() -> None:
    with pytest.raises(SpaceError, match="neither a built-in knob"):

        @autotune.tunable(tile=[1, 2])
        def f(x: f64) -> f64:
            return x

    with pytest.raises(SpaceError, match="needs values"):

        @autotune.tunable
        def g(x: f64, B: Const) -> f64:
            return x * B

    with pytest.raises(SpaceError, match="invalid value"):

        @autotune.tunable(vectorize=[3])
        def h(x: f64) -> f64:
            return x


def test_const_default_in_the_signature_is_enough() -> None:
    @autotune.tunable
    def scale(x: f64, B: Const = 3) -> f64:
        return x * B

    assert scale(2.0) == 6.0


def test_space_object_and_default() -> None:
    space = autotune.Space({"unroll": [1, 2, 4]}, default={"unroll": 4})

    @autotune.tunable(space=space)
    def ident(n: i64) -> i64:
        return n

    assert ident(5) == 5 and ident.live == {"unroll": 4}
    with pytest.raises(SpaceError):
        autotune.tunable(space=space, unroll=[1])
