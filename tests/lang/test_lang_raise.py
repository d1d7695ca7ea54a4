"""``raise`` and ``assert`` in kernels: the matching Python exception, with its message, at the call."""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import autotune
from autotune import Const, KernelSyntaxError, abi, f64, i64
from autotune.lang import Knobs, lower, parse_kernel, rebuild_function


def first_negative(x: f64["n"], out: f64["n"]) -> None:
    for i in range(len(x)):
        if x[i] < 0.0:
            raise ValueError("negative input")
        out[i] = x[i] * 2.0


def checked_sum(x: f64["n"], limit: f64) -> f64:
    s = 0.0
    i = 0
    while i < len(x):
        assert x[i] <= limit, "element above the limit"
        s += x[i]
        i += 1
    assert s >= 0.0
    return s


def pick(code: i64) -> i64:
    if code == 1:
        raise ValueError("value")
    elif code == 2:
        raise IndexError("index")
    elif code == 3:
        raise ZeroDivisionError("zero")
    elif code == 4:
        raise ArithmeticError
    elif code == 5:
        raise OverflowError()
    elif code == 6:
        raise RuntimeError("runtime 'quoted' \\ and \"double\" ü")
    elif code == 7:
        raise AssertionError("assertion")
    elif code == 8:
        assert code < 0
    elif code == 9:
        return code // (code - 9)  # the built-in ZeroDivisionError status
    return code


EXPECTED: dict[int, tuple[type[Exception], str]] = {
    1: (ValueError, "value"),
    2: (IndexError, "index"),
    3: (ZeroDivisionError, "zero"),
    4: (ArithmeticError, ""),
    5: (OverflowError, ""),
    6: (RuntimeError, "runtime 'quoted' \\ and \"double\" ü"),
    7: (AssertionError, "assertion"),
    8: (AssertionError, ""),
    9: (ZeroDivisionError, "integer division or modulo by zero"),
}


def outcome(call: Callable[[], Any]) -> tuple[type[BaseException] | None, str]:
    try:
        call()
    except Exception as exc:  # the test compares the exception itself
        return type(exc), str(exc)
    return None, ""


@pytest.mark.parametrize("code", sorted(EXPECTED))
def test_each_exception_type_and_message_through_both_paths(code: int) -> None:
    kernel = autotune.tunable(pick)
    assert kernel(0) == 0 and kernel(10) == 10
    reference = EXPECTED[code]
    assert outcome(lambda: pick(code))[0] is reference[0]  # (pytest rewrites this file's bare asserts' text)
    assert outcome(lambda: kernel(code)) == reference  # the native entry (positional call)
    assert outcome(lambda: kernel(code=code)) == reference  # keywords: the checked slow path
    assert kernel(10) == 10  # still callable after a raise


def test_fast_path_is_the_one_raising() -> None:
    kernel = autotune.tunable(pick)
    kernel(0)
    assert type(kernel) is not autotune.Kernel  # the native entry now handles positional calls
    with pytest.raises(IndexError, match=r"^index$"):
        kernel(2)


def test_raise_in_a_loop_stops_there_like_python() -> None:
    kernel = autotune.tunable(first_negative)
    x = np.array([1.0, 2.0, -1.0, 4.0])
    out = np.zeros(4)
    with pytest.raises(ValueError, match=r"^negative input$"):
        kernel(x, out)
    np.testing.assert_array_equal(out, [2.0, 4.0, 0.0, 0.0])  # written before the raise, as in Python
    out[:] = 0.0
    with pytest.raises(ValueError, match=r"^negative input$"):
        kernel(x=x, out=out)
    np.testing.assert_array_equal(out, [2.0, 4.0, 0.0, 0.0])
    kernel(np.abs(x), out)
    np.testing.assert_array_equal(out, [2.0, 4.0, 2.0, 8.0])


def test_assert_with_and_without_message() -> None:
    kernel = autotune.tunable(checked_sum)
    assert kernel(np.ones(5), 2.0) == 5.0
    with pytest.raises(AssertionError, match=r"^element above the limit$"):
        kernel(np.array([1.0, 3.0]), 2.0)
    with pytest.raises(AssertionError) as bare:
        kernel(np.array([-1.0, -3.0]), 2.0)
    assert str(bare.value) == ""
    with pytest.raises(AssertionError, match="above the limit"):
        kernel(x=np.array([1.0, 3.0]), limit=2.0)


def keyed_kernel(x: f64["n"]) -> f64:
    if len(x) > 4:
        raise ValueError("too long")
    return x[0]


def test_keyed_kernel_raises_through_each_keys_entry() -> None:
    kernel = autotune.tunable(key=lambda x: len(x))(keyed_kernel)
    for n in (1, 2, 3):
        assert kernel(np.full(n, 7.0)) == 7.0
        assert kernel(np.full(n, 7.0)) == 7.0
    for _ in range(2):
        with pytest.raises(ValueError, match=r"^too long$"):
            kernel(np.ones(8))


def test_native_callers_map_the_status_through_the_kernel() -> None:
    kernel = autotune.tunable(pick)
    function = abi.ctypes_prototype(kernel.params, kernel.ret)(kernel.address())
    result = ctypes.c_int64()
    assert function(10, ctypes.addressof(result)) == 0 and result.value == 10
    for code, (exc, message) in EXPECTED.items():
        status = function(code, ctypes.addressof(result))
        assert status != 0
        error = kernel.statuses.error(status)
        assert type(error) is exc and str(error) == message
    assert function(9, ctypes.addressof(result)) == abi.Status.ZERO_DIVISION
    assert function(1, ctypes.addressof(result)) >= abi.FIRST_RAISE


def with_const(x: f64["n"], BLOCK: Const = 4) -> f64:
    if BLOCK > 2:
        raise ValueError("big block")
    s = 0.0
    for i in range(len(x)):
        assert x[i] >= 0.0, "negative"
        s += x[i]
    if s > 1e300:
        raise OverflowError("sum overflows")
    return s


def test_every_variant_has_the_same_status_table() -> None:
    info = parse_kernel(with_const)
    variants = [
        lower(info, {"BLOCK": block}, Knobs(vectorize=vectorize, unroll=unroll, fastmath=fastmath))
        for block in (1, 4)
        for vectorize in (0, 4)
        for unroll in (0, 2)
        for fastmath in (False, True)
    ]
    tables = {v.statuses for v in variants}
    assert len(tables) == 1
    (table,) = tables
    assert [(r.exception, r.message) for r in table.raises] == [
        (ValueError, "big block"),
        (AssertionError, "negative"),
        (OverflowError, "sum overflows"),
    ]
    assert f"ret i32 {abi.FIRST_RAISE + 1}" in variants[0].ir  # BLOCK=1: the assert, at the same code
    assert f"ret i32 {abi.FIRST_RAISE}" in variants[-1].ir  # BLOCK=4 raises the first entry


def test_the_rebuilt_reference_raises_the_same() -> None:
    rebuilt = rebuild_function(parse_kernel(pick))
    for code, expected in EXPECTED.items():
        assert outcome(lambda code=code: rebuilt(code)) == expected
    checked = rebuild_function(parse_kernel(checked_sum))
    assert outcome(lambda: checked(np.array([3.0]), 2.0)) == (AssertionError, "element above the limit")


def guarded_sqrt(x: f64["n"], out: f64["n"]) -> None:
    for i in range(len(x)):
        assert x[i] >= 0.0, "negative input"
        if x[i] > 1e300:
            raise OverflowError("input too large")
        out[i] = x[i] ** 0.5


def test_tuning_a_kernel_that_raises_on_other_inputs() -> None:
    """The captured call does not raise; derived inputs (cut extents, cancelling values) may: the reference
    raising drops that input, and the search runs its trials."""
    kernel = autotune.tunable(vectorize=[0, 4], unroll=[0, 2])(guarded_sqrt)
    x, out = np.linspace(0.0, 4.0, 64), np.zeros(64)
    kernel(x, out)
    np.testing.assert_allclose(out, np.sqrt(x))
    best = kernel.tune(n_trials=2, progress=False)
    assert set(best) >= {"vectorize", "unroll"}
    (status,) = [s for s in autotune.tuner.status() if s.kernel == kernel.name]
    assert not status.reason.startswith("error") and status.trials >= 1, status
    with pytest.raises(AssertionError, match=r"^negative input$"):
        kernel(-x - 1.0, out)
    kernel(x, out)
    np.testing.assert_allclose(out, np.sqrt(x))


# ---- rejected forms --------------------------------------------------------------------------------
def r_variable_message(x: f64) -> f64:
    message = 1.0
    raise ValueError(message)


def r_fstring(x: f64) -> f64:
    raise ValueError(f"bad {x}")


def r_unsupported_class(x: f64) -> f64:
    raise KeyError("k")


def r_bare(x: f64) -> f64:
    raise


def r_from(x: f64) -> f64:
    raise ValueError("a") from None


def r_two_args(x: f64) -> f64:
    raise ValueError("a", "b")


def r_keyword(x: f64) -> f64:
    raise ValueError(msg="a")


def r_assert_variable(x: f64) -> f64:
    assert x > 0, x
    return x


def r_param_named(ValueError: f64) -> f64:
    raise ValueError


def r_attribute(x: f64) -> f64:
    raise np.linalg.LinAlgError("a")


REJECTED: list[tuple[Callable[..., Any], str]] = [
    (r_variable_message, "must be a string literal"),
    (r_fstring, "must be a string literal"),
    (r_unsupported_class, "cannot raise 'KeyError'"),
    (r_bare, "bare 'raise'"),
    (r_from, "'raise ... from ...'"),
    (r_two_args, "at most one argument"),
    (r_keyword, "at most one argument"),
    (r_assert_variable, "the message of an 'assert' must be a string literal"),
    (r_param_named, "a parameter or local"),
    (r_attribute, "cannot raise 'np.linalg.LinAlgError'"),
]


@pytest.mark.parametrize(("func", "words"), REJECTED, ids=[f.__name__ for f, _ in REJECTED])
def test_unsupported_raise_forms_are_rejected_at_decoration(func: Callable[..., Any], words: str) -> None:
    with pytest.raises(KernelSyntaxError) as info:
        autotune.tunable(func)
    assert words in info.value.message, info.value.message
    if "assert" not in words and "parameter" not in words:
        assert "ValueError" in info.value.message and "AssertionError" in info.value.message  # names the set


def test_modulo_by_zero_has_pythons_own_message() -> None:
    """Found by the differential fuzz: ``x % 0`` said what ``x // 0`` says."""
    kernel = autotune.tunable(source="def k(x: i64, y: i64, u: u8) -> i64:\n    return x % y + u % u\n")
    for args in ((5, 0, 1), (5, 1, 0)):
        with pytest.raises(ZeroDivisionError, match=r"^integer modulo by zero$"):
            kernel(*args)
    division = autotune.tunable(source="def k(x: i64, y: i64) -> i64:\n    return x // y\n")
    with pytest.raises(ZeroDivisionError, match=r"^integer division or modulo by zero$"):
        division(5, 0)
