"""Kernels calling functions of the language: undecorated helpers and tunable kernels, compiled into the
caller (its knobs apply), checked against the undecorated Python functions."""

from __future__ import annotations

import importlib
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from llvmlite import binding as llvm

import autotune
from autotune import Const, KernelSyntaxError, f32, f64, i64
from autotune.lang import Knobs, compiled_source, kernel_statuses, lower, parse_kernel, rebuild_function
from dylibs import CompileOptions, optimize_ir
from tests.lang import calls_helpers
from tests.lang.runner import check, compiled

HERE = Path(__file__).name


# ---- helpers (undecorated functions of the language) ------------------------------------------------------
def sq(x):  # type: ignore[no-untyped-def]
    return x * x


def hypot2(x: f64, y: f64) -> f64:
    return math.sqrt(sq(x) + sq(y))


def clamp(x: f64, lo: f64 = 0.0, hi: f64 = 1.0) -> f64:  # type: ignore[assignment]
    return min(max(x, lo), hi)


def dist(a: f64["n"], b: f64["n"]) -> f64:
    s = 0.0
    for i in range(a.shape[0]):
        s += sq(a[i] - b[i])
    return math.sqrt(s)


def minmax(a: f64[:]) -> tuple[f64, f64]:
    lo = a[0]
    hi = a[0]
    for i in range(len(a)):
        lo = min(lo, a[i])
        hi = max(hi, a[i])
    return lo, hi


def divmod_(a: i64, b: i64):  # type: ignore[no-untyped-def]
    return a // b, a % b


def level3(x: f64) -> f64:
    return hypot2(x, 1.0) * 2.0


def scale_into(x: f64[:], out: f64[:], c: f64) -> None:
    for i in range(len(x)):
        out[i] = x[i] * c


def checked(x: f64) -> f64:
    if x < 0.0:
        raise ValueError("negative input")
    assert x < 100.0, "too large"
    return math.sqrt(x)


def first_positive(a: f64[:]) -> i64:
    for i in range(len(a)):
        if a[i] > 0.0:
            return i
    return -1


# ---- kernels -------------------------------------------------------------------------------------------
def k_scalar(x: f64, y: f64) -> f64:
    return hypot2(x, y) + sq(3) + sq(x) + clamp(x) + clamp(y, hi=5.0)


def k_arrays(a: f64[:], b: f64[:]) -> f64:
    return dist(a, b)


def k_tuple(a: f64[:], n: i64, d: i64) -> f64:
    lo, hi = minmax(a)
    q, r = divmod_(n, d)
    return hi - lo + minmax(a)[0] * 2.0 + q * 10 + r


def k_tuple_local(a: f64[:], n: i64) -> f64:
    t = minmax(a)
    s = t[1] - t[0]
    if n > 2:
        t = minmax(a)
    qr = divmod_(n, 3)
    return s + t[-1] + qr[0] * 100 + qr[1]


def k_module_attribute(a: f64[:]) -> f64:
    lo, hi = calls_helpers.pair(a[0])
    return calls_helpers.norm(a) * hi - lo


def k_module_unknown(a: f64[:]) -> f64:
    return calls_helpers.missing(a[0])


def k_nested(x: f64) -> f64:
    return level3(x) + level3(-x)


def k_loop(x: f64[:], out: f64[:]) -> None:
    for i in range(len(x)):
        out[i] = sq(x[i]) + 1.0


def k_writes(x: f64[:], out: f64[:]) -> f64:
    scale_into(x, out, 3.0)
    return out[0]


def k_raises(x: f64) -> f64:
    assert x != 7.0, "seven"
    return checked(x) + checked(x + 1.0)


def k_early_return(a: f64[:]) -> i64:
    total = 0
    for _ in range(2):
        total += first_positive(a)
    return total


def test_scalar_helpers_match_python() -> None:
    check(k_scalar, (3.0, 4.0), (-1.5, 0.25), (0.5, 9.0))


def test_array_helpers_match_python() -> None:
    rng = np.random.default_rng(1)
    check(k_arrays, (rng.random(17), rng.random(17)), (np.zeros(0), np.zeros(0)), rtol=1e-12)


def test_tuple_results() -> None:
    a = np.array([3.0, -1.0, 8.0, 2.5])
    check(k_tuple, (a, 17, 5), (a, -17, 5), (a, 17, 0))  # 17 // 0: ZeroDivisionError from the helper


def test_tuple_locals_indexed_with_constants() -> None:
    a = np.array([3.0, -1.0, 8.0, 2.5])
    check(k_tuple_local, (a, 17), (a, -4), (a, 1))


def test_functions_of_an_imported_module() -> None:
    check(k_module_attribute, (np.array([3.0, 4.0]),))
    rebuilt = rebuild_function(parse_kernel(k_module_attribute))
    assert rebuilt(np.array([1.0, 2.0])) == k_module_attribute(np.array([1.0, 2.0]))
    with pytest.raises(KernelSyntaxError, match="module 'calls_helpers' has no attribute 'missing'"):
        parse_kernel(k_module_unknown)


def test_nested_three_deep() -> None:
    check(k_nested, (0.5,), (-3.0,), (1e300,))


def test_helpers_writing_arrays_mark_the_caller_argument_written() -> None:
    info = parse_kernel(k_writes)
    written = {p.name: p.written for p in info.params}
    assert written == {"x": False, "out": True}
    check(k_writes, (np.arange(5.0), np.zeros(5)))


def test_return_inside_a_loop_of_a_helper() -> None:
    check(k_early_return, (np.array([-1.0, -2.0, 3.0]),), (np.array([-1.0]),), (np.array([5.0]),))


def test_helper_raises_propagate_with_their_message() -> None:
    run = compiled(k_raises)
    assert run(4.0) == pytest.approx(k_raises(4.0))
    for bad, exc, message in [
        (-5.0, ValueError, "negative input"),
        (99.5, AssertionError, "too large"),
        (7.0, AssertionError, "seven"),
    ]:
        with pytest.raises(exc, match=message):
            k_raises(bad)
        with pytest.raises(exc, match=message):
            run(bad)
    table = kernel_statuses(parse_kernel(k_raises))
    assert [(r.exception, r.message) for r in table.raises] == [
        (AssertionError, "seven"),
        (ValueError, "negative input"),
        (AssertionError, "too large"),
    ]


def test_rebuilt_reference_calls_rebuilt_helpers() -> None:
    function = rebuild_function(parse_kernel(k_tuple))
    a = np.array([1.0, 4.0])
    assert function(a, 9, 4) == k_tuple(a, 9, 4)


def _optimized(func: object, knobs: Knobs) -> str:
    return optimize_ir(lower(parse_kernel(func), {}, knobs).ir, CompileOptions(opt=3))  # type: ignore[arg-type]


def test_caller_vectorize_knob_vectorises_a_loop_calling_a_helper() -> None:
    assert "<8 x double>" in _optimized(k_loop, Knobs(vectorize=8))
    assert "<4 x double>" in _optimized(k_loop, Knobs(vectorize=4))
    rng = np.random.default_rng(2)
    check(k_loop, (rng.random(37), np.zeros(37)))
    ir = lower(parse_kernel(k_arrays), {}, Knobs(vectorize=4, fastmath=True)).ir
    assert "llvm.loop.vectorize.width" in ir  # the helper's loop gets the caller's knobs
    assert "fmul fast" in ir or "fmul reassoc" in ir or "fmul nnan" in ir
    module = llvm.parse_assembly(ir)
    module.verify()
    assert [f.name for f in module.functions if not f.is_declaration] == ["kernel"]


def loopy(x: f64[:]) -> f64:
    s = 0.0
    for i in range(len(x)):
        s += x[i]
    return s


def k_outer(x: f64[:], n: i64) -> f64:
    t = 0.0
    for _ in range(n):
        t += loopy(x)
    return t


def test_loop_around_a_call_with_a_loop_is_not_innermost() -> None:
    ir = lower(parse_kernel(k_outer), {}, Knobs(vectorize=4)).ir
    assert ir.count("llvm.loop.vectorize.width") == 1
    check(k_outer, (np.arange(6.0), 3))


# ---- tunable kernels calling tunable kernels --------------------------------------------------------------
def test_tunable_kernel_calls_tunable_kernel() -> None:
    @autotune.tunable(vectorize=[0, 4])
    def norm2(a: f64[:], scale: Const = 2) -> f64:
        s = 0.0
        for i in range(len(a)):
            s += a[i] * a[i]
        return s * scale

    @autotune.tunable(unroll=[0, 2], scale=[5, 7])
    def both(a: f64[:], b: f64[:], scale: Const) -> f64:
        return norm2(a) + norm2(b) * scale

    a, b = np.arange(4.0), np.ones(3)
    assert both(a, b) == pytest.approx(both.py_func(a, b, 5)) == pytest.approx(28.0 + 6.0 * 5)
    assert norm2(a) == pytest.approx(28.0)


def test_called_kernel_without_const_default_is_refused() -> None:
    @autotune.tunable(tile=[2, 4])
    def tiled(a: f64[:], tile: Const) -> f64:
        return a[0] * tile

    def caller(a: f64[:]) -> f64:
        return tiled(a)

    with pytest.raises(KernelSyntaxError, match=r"Const parameter\(s\) \['tile'\] without a default") as err:
        parse_kernel(caller)
    assert err.value.filename.endswith(HERE)


# ---- refused calls -------------------------------------------------------------------------------------------
def rec(x: f64) -> f64:
    if x <= 0.0:
        return 0.0
    return rec(x - 1.0) + 1.0


def ping(x: f64) -> f64:
    return pong(x) if x > 0.0 else 0.0


def pong(x: f64) -> f64:
    return ping(x - 1.0)


def k_rec(x: f64) -> f64:
    return rec(x)


def k_mutual(x: f64) -> f64:
    return ping(x)


def test_recursion_is_refused_with_the_cycle() -> None:
    with pytest.raises(KernelSyntaxError, match="recursion is not supported in kernels: rec -> rec"):
        parse_kernel(k_rec)
    with pytest.raises(KernelSyntaxError, match="recursion is not supported in kernels: ping -> pong -> ping") as err:
        parse_kernel(k_mutual)
    assert err.value.filename.endswith(HERE)
    assert err.value.lineno == pong.__code__.co_firstlineno + 1


def bad_helper(x: f64) -> f64:
    with open("x"):
        return x


def k_bad_helper(x: f64) -> f64:
    return bad_helper(x)


def halve(n: i64) -> i64:
    return n << 1.5


def k_type_error_in_helper(n: i64) -> i64:
    return halve(n)


def test_type_errors_in_a_helper_name_the_call() -> None:
    with pytest.raises(KernelSyntaxError) as err:
        lower(parse_kernel(k_type_error_in_helper), {}, Knobs())
    assert err.value.lineno == halve.__code__.co_firstlineno + 1
    line = k_type_error_in_helper.__code__.co_firstlineno + 1
    assert err.value.message.endswith(f"(in 'halve', called at {__file__}:{line})")


def test_errors_inside_a_helper_point_at_the_helper() -> None:
    with pytest.raises(KernelSyntaxError, match="'with' statements are not supported") as err:
        parse_kernel(k_bad_helper)
    assert err.value.lineno == bad_helper.__code__.co_firstlineno + 1


class Box:
    def twice(self, x: float) -> float:
        return 2 * x


BOX = Box()
LAMBDA = lambda x: x  # noqa: E731
BOUND = BOX.twice


def k_lambda(x: f64) -> f64:
    return LAMBDA(x)


def k_method(x: f64) -> f64:
    return BOUND(x)


def k_class(x: f64) -> f64:
    return Box(x)


def k_print(x: f64) -> f64:
    print(x)
    return x


def k_array_as_scalar(a: f64[:]) -> f64:
    return sq(a)


def k_wrong_dtype(a: f32[:]) -> f64:
    return dist(a, a)


def k_float_to_int(x: f64) -> i64:
    return divmod_int(x)


def divmod_int(n: i64) -> i64:
    return n // 2


def k_too_many(x: f64) -> f64:
    return hypot2(x, x, x)


def k_missing(x: f64) -> f64:
    return hypot2(x)


def k_unknown_keyword(x: f64) -> f64:
    return clamp(x, top=2.0)


def k_void_as_value(x: f64[:], out: f64[:]) -> f64:
    return scale_into(x, out, 2.0)


def k_defined_later(x: f64) -> f64:
    return later_helper(x)  # type: ignore[name-defined]


def k_tuple_as_value(a: f64[:]) -> f64:
    return minmax(a)


def k_unpack_count(a: f64[:]) -> f64:
    lo, _mid, _hi = minmax(a)
    return lo


@pytest.mark.parametrize(
    ("kernel", "message"),
    [
        (k_lambda, "'LAMBDA' is a lambda, which kernels cannot call; define it with 'def'"),
        (k_method, "'BOUND' is a method, which kernels cannot call"),
        (k_class, "call to unsupported function 'Box'.*functions written in the kernel language"),
        (k_print, "call to unsupported function 'print'"),
        (k_array_as_scalar, "array 'a' cannot be used as a value"),
        (k_wrong_dtype, "parameter 'a' of 'dist' is a 1-D f64 array, got a 1-D f32 one"),
        (k_float_to_int, "cannot pass a f64 value to parameter 'n: i64' of 'divmod_int'"),
        (k_tuple_as_value, "'minmax' returns 2 values: unpack them"),
        (k_defined_later, "name 'later_helper' is not defined .a function a kernel calls must be defined before"),
        (k_too_many, r"hypot2\(\) takes 2 argument\(s\), got 3"),
        (k_missing, r"hypot2\(\) is missing argument\(s\) 'y'"),
        (k_unknown_keyword, r"clamp\(\) has no such parameter"),
        (k_void_as_value, "'scale_into' returns no value"),
        (k_unpack_count, "'minmax' returns 2 values, unpacked into 3 targets"),
    ],
)
def test_unsupported_calls_are_refused_with_positions(kernel: object, message: str) -> None:
    with pytest.raises(KernelSyntaxError, match=message) as err:
        lower(parse_kernel(kernel), {}, Knobs())  # type: ignore[arg-type]
    assert err.value.filename.endswith(HERE)
    code = kernel.__code__  # type: ignore[attr-defined]
    assert code.co_firstlineno < err.value.lineno <= code.co_firstlineno + 2


def test_numba_functions_are_refused_with_a_hint() -> None:
    numba = pytest.importorskip("numba")
    jitted = numba.njit(lambda x: x)

    def k(x: f64) -> f64:
        return jitted(x)

    with pytest.raises(KernelSyntaxError, match=r"numba-compiled function.*define it undecorated"):
        parse_kernel(k)


# ---- cache invalidation ---------------------------------------------------------------------------------
HELPER_V1 = "def bump(x: float) -> float:\n    return x + 1.0\n"
HELPER_V2 = "def bump(x: float) -> float:\n    return x + 2.0\n"
CALLER = (
    "import autotune\nfrom autotune import f64\nfrom calls_helper_mod import bump\n\n"
    "@autotune.tunable(vectorize=[0, 4])\ndef total(a: f64[:]) -> f64:\n    s = 0.0\n"
    "    for i in range(len(a)):\n        s += bump(a[i])\n    return s\n"
)


def _load(tmp_path: Path, helper: str) -> object:
    (tmp_path / "calls_helper_mod.py").write_text(helper)
    (tmp_path / "calls_caller_mod.py").write_text(CALLER)
    for name in ("calls_helper_mod", "calls_caller_mod"):
        sys.modules.pop(name, None)
    importlib.invalidate_caches()
    return importlib.import_module("calls_caller_mod").total


def test_callee_change_changes_the_fingerprint_and_the_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from autotune.storage import kernel_fingerprint

    monkeypatch.syspath_prepend(str(tmp_path))
    first = _load(tmp_path, HELPER_V1)
    a = np.arange(4.0)
    assert first(a) == 10.0  # type: ignore[operator]
    fingerprint, ir = kernel_fingerprint(first), first.variants.lower({}).ir  # type: ignore[arg-type, attr-defined]
    assert "bump" in compiled_source(first.info)  # type: ignore[attr-defined]
    second = _load(tmp_path, HELPER_V2)
    assert second(a) == 14.0  # type: ignore[operator]
    assert kernel_fingerprint(second) != fingerprint  # type: ignore[arg-type]
    assert second.variants.lower({}).ir != ir  # type: ignore[attr-defined]  # object cache keys on the IR
    same = _load(tmp_path, HELPER_V2)
    assert kernel_fingerprint(same) == kernel_fingerprint(second)  # type: ignore[arg-type]


def test_a_helper_without_source_says_so() -> None:
    scope: dict[str, object] = {"f64": f64}
    exec("def nosrc(x: f64) -> f64:\n    return x\n", scope)
    nosrc = scope["nosrc"]

    def caller(x: f64) -> f64:
        return nosrc(x)  # type: ignore[operator, no-any-return]

    with pytest.raises(
        KernelSyntaxError, match="the source of function 'nosrc', which a kernel calls, is not available"
    ):
        parse_kernel(caller)


def test_source_kernel_calls_a_helper_from_its_namespace() -> None:
    kernel = autotune.tunable(
        source="def scaled(a: f64[:]) -> f64:\n    return hypot2(a[0], a[1])\n", namespace={"hypot2": hypot2}
    )
    assert kernel(np.array([3.0, 4.0])) == 5.0


def scan(a: f64[:], stop: f64) -> f64:
    s = 0.0
    for i in range(len(a)):
        if a[i] < 0.0:
            continue
        if a[i] > stop:
            break
        s += a[i]
    return s


def k_scopes(a: f64[:]) -> f64:
    s = 0.0
    for i in range(3):
        if i == 1:
            continue
        s += scan(a, 2.5) * i
    i = 10
    return s + i


def test_callee_scopes_its_locals_and_loops() -> None:
    check(k_scopes, (np.array([1.0, -4.0, 2.0, 3.0, 0.5]),), (np.zeros(0),))


TABLE = np.arange(3.0)


def uses_table(i: i64) -> f64:
    return TABLE[i]


def test_two_module_arrays_of_one_name_are_refused() -> None:
    scope = {"f64": f64, "i64": i64, "uses_table": uses_table, "TABLE": np.ones(3)}
    with pytest.raises(KernelSyntaxError, match="two different module arrays named 'TABLE'"):
        autotune.lang.parse_kernel_source(
            "def k(i: i64) -> f64:\n    return uses_table(i) + TABLE[i]\n", namespace=scope
        )
    scope["TABLE"] = TABLE  # the same array: one global
    info = autotune.lang.parse_kernel_source(
        "def k(i: i64) -> f64:\n    return uses_table(i) + TABLE[i]\n", namespace=scope
    )
    assert [g.ir_name for g in info.globals] == ["g.TABLE"]
