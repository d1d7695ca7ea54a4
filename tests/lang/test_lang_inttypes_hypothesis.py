"""Random integer expressions over two operands of random narrow or unsigned types: the compiled kernel
gives numpy's type (from the typer) and numpy's value (exact, wrapping included)."""

from __future__ import annotations

import ast
import math
import warnings
from typing import Any

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from autotune.errors import KernelSyntaxError
from autotune.lang import Knobs, lower, parse_kernel_source
from autotune.lang._lattice import Ty, promote
from autotune.lang._typing import Typer, infer_locals
from autotune.types import SCALAR_TYPES, ScalarType, i8, i16, i32, i64, u8, u16, u32, u64
from tests.lang.runner import run_lowered

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
INTS = (i8, i16, i32, i64, u8, u16, u32, u64)
NAMESPACE: dict[str, Any] = {t.name: t for t in SCALAR_TYPES} | {"np": np, "math": math}


def _extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    binary = st.tuples(children, st.sampled_from(["+", "-", "*", "&", "|", "^"]), children)
    division = st.tuples(children, st.sampled_from(["//", "%"]), children)  # divisor made odd: never zero
    shift = st.tuples(children, st.sampled_from(["<<", ">>"]), st.integers(0, 7))
    return st.one_of(
        binary.map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        division.map(lambda t: f"({t[0]} {t[1]} ({t[2]} | 1))"),
        shift.map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        children.map(lambda c: f"(-{c})"),
        children.map(lambda c: f"abs({c})"),
    )


LEAVES = st.one_of(st.sampled_from(["a", "b"]), st.integers(0, 100).map(str))
EXPRS = st.recursive(LEAVES, _extend, max_leaves=6)
TYPES = st.tuples(st.sampled_from(INTS), st.sampled_from(INTS)).filter(
    lambda p: promote(Ty(p[0]), Ty(p[1])).kind == "int"
)


def _value(t: ScalarType) -> st.SearchStrategy[int]:
    return st.one_of(st.integers(t.min, t.max), st.sampled_from([t.min, t.max, 0, 1]))


@st.composite
def _case(draw: st.DrawFn) -> tuple[str, ScalarType, ScalarType, int, int]:
    s, t = draw(TYPES)
    return draw(EXPRS), s, t, draw(_value(s)), draw(_value(t))


@SETTINGS
@given(case=_case())
def test_random_integer_expressions_match_numpy(case: tuple[str, ScalarType, ScalarType, int, int]) -> None:
    expr, s, t, a, b = case
    head = f"def k(a: {s.name}, b: {t.name}) -> i64:\n    return {expr}\n"
    namespace = dict(NAMESPACE)
    exec(head, namespace)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            want = namespace["k"](s.dtype.type(a), t.dtype.type(b))
        except OverflowError:  # a Python int out of the range of the type it meets
            try:
                lower(parse_kernel_source(head, namespace=NAMESPACE), {}, Knobs())
            except KernelSyntaxError as exc:  # a literal (or folded constant): refused when compiling
                assert "out of bounds" in str(exc)
                return
            assume(False)  # a computed Python int (abs(100 + 28)) wraps in kernels: documented
    info = parse_kernel_source(head, namespace=NAMESPACE)
    typed = Typer(info, {}, infer_locals(info, {})).type_of(ast.parse(expr, mode="eval").body)
    source = head.replace("-> i64", f"-> {'i64' if typed.weak else typed.scalar.name}")
    lowered = lower(parse_kernel_source(source, namespace=NAMESPACE), {}, Knobs())
    got = run_lowered(lowered, a, b, opt=2)
    if not typed.weak:  # two Python ints give Python's own int (numpy: an int64)
        assert np.dtype(type(want)) == typed.scalar.dtype, f"{expr} with a: {s}, b: {t}"
    assert int(want) == got, f"{expr} with a: {s} = {a}, b: {t} = {b}"
