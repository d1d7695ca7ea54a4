"""Anything outside the language is a KernelSyntaxError at parse time, at the right file position.

Each bad kernel marks the offending line with ``# ERR``; the test finds that line in this file.
"""

from __future__ import annotations

import inspect
import math
import pickle
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from autotune.errors import ConfigError, KernelSyntaxError, KernelTypeError
from autotune.lang import Knobs, lower, parse_kernel, parse_kernel_source
from autotune.lang._typed import type_kernel
from autotune.types import Const, f32, f64, i64

UNKNOWN_THING = object()
READ_ONLY = np.arange(4.0)
READ_ONLY.flags.writeable = False


class Helper:  # a callable object: not a function of the kernel language
    def __call__(self, x: float) -> float:
        return x


helper = Helper()


def k_with(a: f64[:]) -> None:
    with open("x"):  # ERR
        pass


def k_try(a: f64[:]) -> None:
    try:  # ERR
        a[0] = 1.0
    except Exception:
        pass


def k_lambda(a: f64[:]) -> None:
    f = lambda x: x  # ERR  # noqa: E731
    a[0] = f(1.0)


def k_listcomp(a: f64[:]) -> None:
    b = [x for x in range(3)]  # ERR
    a[0] = b[0]


def k_call_unknown(a: f64[:]) -> None:
    a[0] = helper(1.0)  # ERR


def k_attribute(a: f64[:]) -> None:
    a[0] = a.itemsize  # ERR


def k_string(a: f64[:]) -> None:
    s = "text"  # ERR
    a[0] = len(s)


def k_tuple(a: f64[:]) -> None:
    x, y = 1.0, 2.0, 3.0  # ERR
    a[0] = x + y


def k_kwargs(a: f64[:]) -> None:
    a[0] = max(1.0, 2.0, key=abs)  # ERR


def k_starargs(a: f64[:]) -> None:
    a[0] = max(*a)  # ERR


def k_global(a: f64[:]) -> None:
    global READ_ONLY  # ERR
    a[0] = 1.0


def k_nonlocal_def(a: f64[:]) -> None:
    def inner() -> None:  # ERR
        pass

    a[0] = 1.0


def k_slice(a: f64[:]) -> None:
    a[0] = a[1:3]  # ERR


def t_partial_index(a: f64[:, :]) -> None:
    a[0] = 1.0  # ERR


def k_for_list(a: f64[:]) -> None:
    for x in [1.0, 2.0]:  # ERR
        a[0] = x


def k_for_else(a: f64[:]) -> None:
    for i in range(3):
        a[i] = 1.0
    else:
        a[0] = 2.0  # ERR


def k_assert(a: f64[:]) -> None:
    assert a[0] > 0, a[0]  # ERR


def k_unknown_name(a: f64[:]) -> None:
    a[0] = undefined_name  # ERR


def k_bad_global(a: f64[:]) -> None:
    a[0] = UNKNOWN_THING  # ERR


def k_math_unknown(a: f64[:]) -> None:
    a[0] = math.gamma(1.0)  # ERR


def k_in(a: f64[:]) -> None:
    if 1 in (1, 2):  # ERR
        a[0] = 1.0


def k_walrus(a: f64[:]) -> None:
    if (n := len(a)) > 2:  # ERR
        a[0] = n


def k_array_value(a: f64[:], b: f64[:]) -> None:
    c = a * 2.0  # ERR
    c[0] = b[0]


def k_assign_param_array(a: f64[:]) -> None:
    a = 1.0  # ERR  # noqa: F841


def k_read_only_store(a: f64[:]) -> None:  # ERR
    READ_ONLY[0] = a[0]


def k_matmul_op(a: f64[:]) -> None:
    a[0] = a @ a  # ERR


def k_return_unannotated(a: f64[:]):  # type: ignore[no-untyped-def]
    return a[0]  # ERR


def k_return_from_none(a: f64[:]) -> None:
    return a[0]  # ERR


def k_bare_return(a: f64[:]) -> f64:
    return  # ERR


def k_missing_annotation(a) -> None:  # ERR  # type: ignore[no-untyped-def]
    pass


def k_varargs(*a: f64) -> None:  # ERR
    pass


def k_default(a: f64 = 1.0) -> None:  # ERR
    pass


def k_shape_value(a: f64[:]) -> None:
    n = a.shape  # ERR
    a[0] = n[0]


def k_range_value(a: f64[:]) -> None:
    r = range(3)  # ERR
    a[0] = r


SYNTAX_CASES: list[tuple[Callable[..., Any], str]] = [
    (k_with, "'with' statements are not supported in kernels"),
    (k_try, "'try' statements"),
    (k_lambda, "lambda"),
    (k_listcomp, "list comprehensions"),
    (k_call_unknown, "unsupported function 'helper'"),
    (k_attribute, "'.itemsize'"),
    (k_string, "strings"),
    (k_tuple, "tuple"),
    (k_kwargs, "keyword arguments"),
    (k_starargs, "starred"),
    (k_global, "'global' statements"),
    (k_nonlocal_def, "nested function"),
    (k_slice, "an array view can only be assigned to a name"),
    (t_partial_index, "an array view"),
    (k_for_list, "for loops iterate over range"),
    (k_for_else, "'else' clauses on loops"),
    (k_assert, "the message of an 'assert' must be a string literal"),
    (k_unknown_name, "'undefined_name' is not defined"),
    (k_bad_global, "object, which kernels cannot use"),
    (k_math_unknown, "math.gamma"),
    (k_in, "'in' comparisons"),
    (k_walrus, "':='"),
    (k_array_value, "cannot be used as a value"),
    (k_assign_param_array, "cannot assign to array parameter"),
    (k_read_only_store, "read-only"),
    (k_matmul_op, "'@'"),
    (k_return_unannotated, "annotate the return type"),
    (k_return_from_none, "'-> None' returns a value"),
    (k_bare_return, "bare 'return'"),
    (k_missing_annotation, "needs a type annotation"),
    (k_varargs, "*args"),
    (k_default, "only Const parameters may have defaults"),
    (k_shape_value, "x.shape must be indexed"),
    (k_range_value, "range() can only be the iterable of a for loop"),
]


def marked_line(func: Callable[..., Any]) -> int:
    lines, start = inspect.getsourcelines(func)
    for offset, line in enumerate(lines):
        if "# ERR" in line:
            return start + offset
    raise LookupError(func.__name__)


@pytest.mark.parametrize(("func", "words"), SYNTAX_CASES, ids=[f.__name__ for f, _ in SYNTAX_CASES])
def test_unsupported_syntax_is_reported_at_its_line(func: Callable[..., Any], words: str) -> None:
    with pytest.raises(KernelSyntaxError) as info:
        parse_kernel(func)
    err = info.value
    assert err.filename == __file__
    assert err.lineno == marked_line(func), str(err)
    assert words in err.message, str(err)
    assert str(err).startswith(f"{__file__}:{err.lineno}:{err.col}: ")


def test_column_is_the_file_column() -> None:
    with pytest.raises(KernelSyntaxError) as info:
        parse_kernel(k_with)
    assert info.value.col == 4  # the 'with' is indented by 4 in this file
    assert str(info.value).endswith(":4: 'with' statements are not supported in kernels")


def test_nested_kernel_columns_include_indentation() -> None:
    def inner(a: f64[:]) -> None:
        with open("x"):
            pass

    with pytest.raises(KernelSyntaxError) as info:
        parse_kernel(inner)
    assert info.value.col == 8
    assert info.value.lineno == inspect.getsourcelines(inner)[1] + 1


# ---- type errors: found by the typed pass, before any code is emitted, with their line -------------
def t_float_index(a: f64[:], x: f64) -> None:
    a[x] = 1.0  # ERR


def t_float_range(a: f64[:], x: f64) -> None:
    for i in range(x):  # ERR
        a[i] = 1.0


def t_float_bitand(a: f64[:], x: f64) -> None:
    a[0] = x & 1  # ERR


def t_return_float_as_int(x: f64) -> i64:
    return x * 2.0  # ERR


def t_shape_runtime(a: f64[:], k: i64) -> None:
    a[0] = a.shape[k]  # ERR


def t_annotated_narrowing(x: f64) -> f64:
    y: i64 = 0
    y = x  # ERR
    return y


def t_falls_off_end(x: f64) -> f64:
    if x > 0.0:  # ERR
        return x


TYPE_CASES: list[tuple[Callable[..., Any], str]] = [
    (t_float_index, "indexes must be integers"),
    (t_float_range, "range() arguments must be integers"),
    (t_float_bitand, "unsupported operand types for &"),
    (t_return_float_as_int, "declared to return i64"),
    (t_shape_runtime, "constant integer"),
    (t_annotated_narrowing, "declared i64"),
    (t_falls_off_end, "without returning"),
]


@pytest.mark.parametrize(("func", "words"), TYPE_CASES, ids=[f.__name__ for f, _ in TYPE_CASES])
def test_type_errors_are_reported_by_the_typed_pass(func: Callable[..., Any], words: str) -> None:
    info = parse_kernel(func)
    for check in (lambda: type_kernel(info, {}), lambda: lower(info, {}, Knobs())):
        with pytest.raises(KernelSyntaxError) as caught:
            check()
        assert caught.value.lineno == marked_line(func), str(caught.value)
        assert words in caught.value.message, str(caught.value)


# ---- constants, knobs, API misuse ------------------------------------------------------------------
def with_block(a: f64[:], BLOCK: Const) -> None:
    for i in range(0, len(a), BLOCK):
        a[i] = 1.0


def test_const_errors() -> None:
    info = parse_kernel(with_block)
    assert info.params[1].kind == "const"
    with pytest.raises(ConfigError, match="no value for Const parameter 'BLOCK'"):
        lower(info, {}, Knobs())
    with pytest.raises(ConfigError, match="unknown constant"):
        lower(info, {"BLOCK": 4, "OTHER": 1}, Knobs())
    with pytest.raises(ConfigError, match="must be an int, float or bool"):
        lower(info, {"BLOCK": "4"}, Knobs())
    lower(info, {"BLOCK": np.int64(8)}, Knobs())


@pytest.mark.parametrize(
    "kwargs",
    [{"unroll": -1}, {"vectorize": 3}, {"interleave": 1.5}, {"fastmath": 1}, {"prefer_vector_width": 100}],
)
def test_bad_knobs(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        Knobs(**kwargs)


def test_not_a_function() -> None:
    with pytest.raises(KernelTypeError):
        parse_kernel(len)  # type: ignore[arg-type]
    with pytest.raises(KernelSyntaxError, match="defined with 'def'"):
        parse_kernel_source("x = 1\n")


def test_source_errors_are_kernel_syntax_errors() -> None:
    with pytest.raises(KernelSyntaxError) as info:
        parse_kernel_source("def k(a: f64[:]) -> None:\n    a[0] = = 1\n", namespace={"f64": f64}, filename="gen.py")
    assert info.value.filename == "gen.py" and info.value.lineno == 2


def test_bad_annotations() -> None:
    with pytest.raises(KernelSyntaxError, match="not a kernel type"):
        parse_kernel_source("def k(a: list) -> None:\n    pass\n")
    with pytest.raises(KernelTypeError):
        f32[:, :, :, :]
    with pytest.raises(KernelTypeError):
        f32[1]


def test_errors_pickle_with_their_fields() -> None:
    err = KernelSyntaxError("k.py", 3, 4, "'with' statements are not supported in kernels")
    back = pickle.loads(pickle.dumps(err))
    assert (back.filename, back.lineno, back.col, back.message) == ("k.py", 3, 4, err.message)
    assert str(back) == "k.py:3:4: 'with' statements are not supported in kernels"
    terr = pickle.loads(pickle.dumps(KernelTypeError("a", "expected f64[:]")))
    assert terr.argument == "a" and isinstance(terr, TypeError)
    assert isinstance(ConfigError("x"), ValueError)
