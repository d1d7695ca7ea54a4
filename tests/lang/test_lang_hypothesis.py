"""Random arithmetic kernels: the compiled result equals the Python result.

Integers are compared exactly (floor division and modulo with negative operands included); examples
whose Python evaluation leaves 64 bits anywhere are discarded, since the compiled code wraps there by
design. Floats are compared closely; examples where Python raises (division by zero, overflow, math
domain errors) are discarded, since the compiled code follows IEEE there by design.
"""

from __future__ import annotations

import math
import types
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from autotune.lang import Knobs, lower, parse_kernel_source
from autotune.types import f64, i64
from tests.lang.runner import run_lowered

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_LIMIT = 2**63


class CheckedInt(int):
    """An int whose arithmetic raises OverflowError when a result leaves the i64 range."""


def _check(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        if not -_LIMIT <= value < _LIMIT:
            raise OverflowError(value)
        return CheckedInt(value)
    return value


def _method(name: str) -> Callable[..., Any]:
    base = getattr(int, name)

    def method(self: int, *args: Any) -> Any:
        result = base(self, *args)
        return result if result is NotImplemented else _check(result)

    return method


for _name in (
    "__add__ __radd__ __sub__ __rsub__ __mul__ __rmul__ __floordiv__ __rfloordiv__ __mod__ __rmod__ "
    "__pow__ __rpow__ __neg__ __pos__ __abs__ __invert__ __and__ __rand__ __or__ __ror__ __xor__ __rxor__"
).split():
    setattr(CheckedInt, _name, _method(_name))


def _binary(children: st.SearchStrategy[str], ops: list[str]) -> st.SearchStrategy[str]:
    return st.tuples(children, st.sampled_from(ops), children).map(lambda t: f"({t[0]} {t[1]} {t[2]})")


def _int_extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        _binary(children, ["+", "-", "*", "//", "%", "&", "|", "^"]),
        st.tuples(children, st.integers(0, 3)).map(lambda t: f"({t[0]} ** {t[1]})"),
        st.tuples(st.sampled_from(["-", "+", "~"]), children).map(lambda t: f"({t[0]}{t[1]})"),
        st.tuples(st.sampled_from(["min", "max"]), children, children).map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),
        children.map(lambda c: f"abs({c})"),
        st.tuples(children, st.sampled_from(["<", "<=", "==", "!=", ">", ">="]), children, children, children).map(
            lambda t: f"({t[3]} if {t[0]} {t[1]} {t[2]} else {t[4]})"
        ),
        st.tuples(children, children, children).map(lambda t: f"({t[0]} if {t[1]} < {t[2]} < {t[0]} else {t[2]})"),
        st.tuples(children, st.sampled_from(["and", "or"]), children).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
    )


INT_LEAVES = st.one_of(st.sampled_from(["x", "y", "z"]), st.integers(-20, 20).map(lambda c: f"({c})"))
INT_EXPRS = st.recursive(INT_LEAVES, _int_extend, max_leaves=8)
INT_VALUES = st.one_of(st.integers(-50, 50), st.integers(-(2**40), 2**40), st.sampled_from([0, 1, -1]))

FLOAT_CONSTS = ["0.5", "1.5", "2.0", "(-3.25)", "0.1", "1e-3", "3", "(-2)"]


def _float_extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        _binary(children, ["+", "-", "*", "/", "//", "%"]),
        st.tuples(children, st.sampled_from(["2", "3", "2.0", "(-1)"])).map(lambda t: f"({t[0]} ** {t[1]})"),
        children.map(lambda c: f"(abs({c}) ** 0.5)"),  # a negative base would make Python go complex
        st.tuples(
            st.sampled_from(["math.sqrt", "math.exp", "math.log", "math.sin", "math.cos", "math.tanh", "math.fabs"]),
            children,
        ).map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(st.sampled_from(["math.floor", "math.ceil", "int", "float", "abs", "-"]), children).map(
            lambda t: f"{t[0]}({t[1]})"
        ),
        st.tuples(st.sampled_from(["min", "max"]), children, children).map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),
        st.tuples(children, st.sampled_from(["<", "<=", "==", "!=", ">", ">="]), children, children, children).map(
            lambda t: f"({t[3]} if {t[0]} {t[1]} {t[2]} else {t[4]})"
        ),
    )


FLOAT_LEAVES = st.one_of(st.sampled_from(["u", "v", "x", "y"]), st.sampled_from(FLOAT_CONSTS))
FLOAT_EXPRS = st.recursive(FLOAT_LEAVES, _float_extend, max_leaves=7)
FLOAT_VALUES = st.one_of(
    st.floats(-100, 100, allow_nan=False), st.sampled_from([0.0, -0.0, 1.0, -1.0, 0.5, 2.5, -7.0, 1e-8])
)


def _checked_int(value: Any) -> Any:
    return _check(int(value))


# The Python reference runs with int(), math.floor and math.ceil that also refuse to leave 64 bits
# (the kernel saturates there, by design); the kernel is parsed against the real ones.
_CHECKED_MATH = types.SimpleNamespace(**vars(math))
_CHECKED_MATH.floor = lambda v: _check(math.floor(v))
_CHECKED_MATH.ceil = lambda v: _check(math.ceil(v))


def _build(source: str) -> tuple[Callable[..., Any], Any]:
    namespace: dict[str, Any] = {"i64": i64, "f64": f64, "math": _CHECKED_MATH, "int": _checked_int}
    exec(compile(source, "<generated>", "exec"), namespace)
    info = parse_kernel_source(source, filename="<generated>", namespace={"i64": i64, "f64": f64, "math": math})
    return namespace["k"], lower(info, {}, Knobs())


def _python(func: Callable[..., Any], *args: Any) -> tuple[str, Any]:
    try:
        return "ok", func(*args)
    except ZeroDivisionError:
        return "raise", ZeroDivisionError
    except (OverflowError, ValueError):
        assume(False)
        raise AssertionError("unreachable") from None


def _native(lowered: Any, *args: Any) -> tuple[str, Any]:
    try:
        return "ok", run_lowered(lowered, *args, opt=2)
    except ZeroDivisionError:
        return "raise", ZeroDivisionError


@SETTINGS
@given(expr=INT_EXPRS, x=INT_VALUES, y=INT_VALUES, z=INT_VALUES)
def test_random_int_expressions(expr: str, x: int, y: int, z: int) -> None:
    func, lowered = _build(f"def k(x: i64, y: i64, z: i64) -> i64:\n    return {expr}\n")
    want = _python(func, CheckedInt(x), CheckedInt(y), CheckedInt(z))
    got = _native(lowered, x, y, z)
    assert got == want, f"{expr} at x={x} y={y} z={z}"


@SETTINGS
@given(expr=FLOAT_EXPRS, u=FLOAT_VALUES, v=FLOAT_VALUES, x=st.integers(-9, 9), y=st.integers(-9, 9))
def test_random_float_expressions(expr: str, u: float, v: float, x: int, y: int) -> None:
    func, lowered = _build(f"def k(u: f64, v: f64, x: i64, y: i64) -> f64:\n    return {expr}\n")
    want = _python(func, u, v, CheckedInt(x), CheckedInt(y))
    assume(want[0] == "ok")  # float division by zero: IEEE in kernels, by design
    expected = float(want[1])
    assume(math.isfinite(expected))
    status, got = _native(lowered, u, v, x, y)
    assert status == "ok"
    assert math.isclose(got, expected, rel_tol=1e-12, abs_tol=1e-300), f"{expr} at u={u} v={v} x={x} y={y}"


STATEMENTS = st.sampled_from(
    [
        "s += a[i] * {c}",
        "s = s - a[i] // ({c} or 1) if a[i] > s else s + {c}",
        "t = i % {c} if {c} != 0 else i\n        s += a[t % len(a)]",
        "if a[i] < {c}:\n            continue\n        s += a[i]",
        "if s > {c} * 10:\n            break\n        s += 1",
        "a[i] = a[i] * 2 - {c}",
        "a[-1 - i] += s % 7",
    ]
)


@SETTINGS
@given(
    body=st.lists(st.tuples(STATEMENTS, st.integers(-3, 5)), min_size=1, max_size=4),
    values=st.lists(st.integers(-20, 20), min_size=1, max_size=12),
    start=st.integers(-3, 3),
    step=st.sampled_from([1, 2, -1, 3]),
)
def test_random_loop_kernels(body: list[tuple[str, int]], values: list[int], start: int, step: int) -> None:
    """Loops with branches, break/continue, negative indexes and in-place updates on an int array."""
    import numpy as np

    lines = "\n".join("        " + stmt.format(c=c) for stmt, c in body)
    lo = max(0, start)
    source = (
        "def k(a: i64[:]) -> i64:\n"
        "    s = 0\n"
        f"    for i in range({lo if step > 0 else 'len(a) - 1'}, {'len(a)' if step > 0 else -1}, {step}):\n"
        f"{lines}\n"
        "    return s\n"
    )
    func, lowered = _build(source)
    a = np.array(values, dtype=np.int64)
    want_array, got_array = a.copy(), a.copy()
    with np.errstate(all="ignore"):
        want = _python(func, want_array)
    got = _native(lowered, got_array)
    if want[0] == "ok":
        assert got == ("ok", int(want[1])), source
        assert np.array_equal(want_array, got_array), source
    else:
        assert got[0] == "raise", source
