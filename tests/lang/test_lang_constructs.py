"""Every construct of the language, compiled and compared with the same function run as plain Python."""

from __future__ import annotations

import math

import numpy as np
import pytest

from autotune.types import Const, boolean, f32, f64, i32, i64
from tests.lang.runner import check

RNG = np.random.default_rng(1234)
INTS = [-7, -3, -1, 0, 1, 2, 5, 13]
FLOATS = [-7.5, -2.0, -0.0, 0.0, 0.3, 2.0, 7.25]


def vec(n: int = 11) -> np.ndarray:
    return RNG.uniform(-3, 3, n)


# ---- arrays: shape, len, loads, stores, negative indexes ------------------------------------------
def sum3d(a: f64[:, :, :]) -> f64:
    s = 0.0
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            for k in range(a.shape[-1]):
                s += a[i, j, k] * (i + 2 * j + 3 * k)
    return s


def transpose(a: f64[:, :], out: f64[:, :]) -> None:
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            out[j, i] = a[i, j]


def negative_indexes(a: f64[:], b: f64[:, :], k: i64) -> f64:
    a[-1] = a[0] + a[-2]
    b[-1, -2] = 7.0
    return a[k] + b[k, -1] + a[-len(a)]


def test_arrays() -> None:
    check(sum3d, (RNG.uniform(size=(3, 4, 5)),), (np.zeros((1, 1, 1)),), (np.zeros((0, 2, 2)),))
    check(transpose, (RNG.uniform(size=(3, 5)), np.zeros((5, 3))))
    check(negative_indexes, *[(vec(), RNG.uniform(size=(11, 4)), k) for k in (-11, -3, -1, 0, 2, 10)])


# ---- assignment and augmented assignment ----------------------------------------------------------
def augmented(a: f64[:], n: i64[:], x: f64, k: i64) -> f64:
    s = x
    s += 1.5
    s -= a[0]
    s *= 2.0
    s /= 3.0
    t = k
    t += 3
    t -= 1
    t *= 7
    t //= 2
    t %= 11
    t **= 2
    a[1] += x
    a[2] -= x
    a[3] *= x
    a[4] /= 4.0
    a[5] //= 0.5 + x * x
    a[6] %= 1.25
    a[7] **= 2
    n[0] += k
    n[1] //= 3
    n[2] %= -4
    n[k % 3] += 100
    u = v = t + 1
    return s + t + u + v


def test_assignments() -> None:
    check(augmented, *[(vec(), np.arange(-5, 5, dtype=np.int64), x, k) for x in (0.5, -1.25) for k in (0, 4, -3)])


# ---- loops ----------------------------------------------------------------------------------------
def ranges(n: i64, start: i64, step: i64) -> i64:
    total = 0
    for i in range(n):
        total += i
    for i in range(start, n):
        total += 3 * i
    for i in range(start, n, step):
        total = total * 3 % 1000003 + i
    for i in range(n, start, -2):
        total -= i
    for i in range(10, -10, -3):
        total += i * i
    return total * 1000 + i


def while_loops(n: i64) -> i64:
    count = 0
    k = n
    while k > 1:
        k = k // 2 if k % 2 == 0 else 3 * k + 1
        count += 1
    while True:
        count += 100
        if count > 1000:
            break
    return count


def break_continue(a: f64[:], limit: f64) -> f64:
    s = 0.0
    for i in range(len(a)):
        if a[i] < 0.0:
            continue
        if s > limit:
            break
        j = 0
        while j < 5:
            j += 1
            if j == 3:
                continue
            if a[i] > 2.5:
                break
            s += a[i] * j
    return s


def nested_return(a: i64[:, :], target: i64) -> i64:
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            if a[i, j] == target:
                return i * 100 + j
    return -1


def test_loops() -> None:
    check(ranges, *[(n, s, st) for n in (-3, 0, 7, 20) for s in (-5, 0, 3) for st in (1, 3, -2, 7)])
    check(ranges, (5, 0, 0))  # range step 0: ValueError
    check(while_loops, *[(n,) for n in (1, 2, 7, 27, 97)])
    check(break_continue, *[(vec(30), limit) for limit in (0.0, 3.0, 50.0)])
    grid = RNG.integers(0, 20, (6, 7))
    check(nested_return, *[(grid, t) for t in (0, 5, 19, 25)])


def loop_var_after(n: i64) -> i64:
    i = -42
    for i in range(n):  # noqa: B007 (the loop variable after the loop is what is tested)
        pass
    return i


def test_loop_variable_after_loop_keeps_python_value() -> None:
    check(loop_var_after, (0,), (1,), (10,))


# ---- if / elif / else, conditional expressions, boolean operators ---------------------------------
def branches(x: i64, y: f64) -> f64:
    if x < 0:
        r = -1.0
    elif x == 0:
        r = 0.5
    elif 0 < x <= 3 and y > 0.0:
        r = y
    else:
        r = y * 2.0 if x % 2 == 0 else -y
    return r + (1.0 if not x else 2.0)


def short_circuit(a: i64, b: i64) -> i64:
    ok = b != 0 and a // b > 1
    other = b == 0 or a % b == 1
    value = (a // b) if b != 0 else -99
    mixed = a and b
    either = a or 3
    return int(ok) * 1000 + int(other) * 100 + value + mixed * 7 + either


def chained(a: i64, b: i64, c: i64) -> boolean:
    return a < b <= c != a


def float_compare(x: f64, y: f64) -> i64:
    return (x < y) + 2 * (x <= y) + 4 * (x == y) + 8 * (x != y) + 16 * (x > y) + 32 * (x >= y)


def test_conditionals() -> None:
    check(branches, *[(x, y) for x in (-2, 0, 1, 3, 4, 7) for y in (-1.5, 2.0)])
    check(short_circuit, *[(a, b) for a in (-7, 0, 9) for b in (-2, 0, 4)])
    check(chained, *[(a, b, c) for a in (0, 1, 2) for b in (0, 1, 2) for c in (0, 1, 2)])
    nan = float("nan")
    check(float_compare, *[(x, y) for x in (1.0, 2.0, nan) for y in (1.0, nan, -0.0)])


# ---- arithmetic -----------------------------------------------------------------------------------
def int_ops(a: i64, b: i64) -> i64:
    return (a + b) * 1000003 + (a - b) * 1009 + a * b * 31 + (-a) + (+b) + ~a


def int_div(a: i64, b: i64) -> i64:
    return (a // b) * 1000 + (a % b)


def true_div(a: i64, b: i64) -> f64:
    return a / b


def float_ops(x: f64, y: f64) -> f64:
    return (x + y) * 3.0 - (x - y) / 7.0 + x * y - (-x) + (+y)


def float_floordiv(x: f64, y: f64) -> f64:
    return x // y


def float_mod(x: f64, y: f64) -> f64:
    return x % y


def powers(a: i64, x: f64) -> f64:
    return a**3 + a**0 + x**2 + x**0.5 + 2**-2 + a**-1 + 2.0**a


def int_pow_runtime(a: i64, b: i64) -> i64:
    return a**b


def bit_ops(a: i64, b: i64) -> i64:
    return (a & b) * 10000 + (a | b) * 100 + (a ^ b) + (a << 3) + (a >> 2) + (b >> 70)


def test_integer_arithmetic() -> None:
    pairs = [(a, b) for a in INTS for b in INTS]
    check(int_ops, *pairs)
    check(int_div, *pairs)  # includes zero divisors: ZeroDivisionError both ways
    check(true_div, *[(a, b) for a, b in pairs if b != 0])
    check(int_pow_runtime, *[(a, b) for a in (-3, 0, 2, 7) for b in (0, 1, 5, 13)])
    check(bit_ops, *pairs)


def test_float_arithmetic() -> None:
    pairs = [(x, y) for x in FLOATS for y in FLOATS]
    check(float_ops, *pairs)
    nonzero = [(x, y) for x, y in pairs if y != 0.0]
    check(float_floordiv, *nonzero, (1e300, 1e-300), (-5.0, math.inf))
    check(float_mod, *nonzero, (-5.0, math.inf), (5.0, -math.inf))
    check(powers, *[(a, x) for a in (1, 2, -3) for x in (0.25, 2.0, 9.0)])


def test_wraparound_at_64_bits() -> None:
    """Documented divergence: integer overflow wraps (Python ints are unbounded)."""
    from tests.lang.runner import compiled

    mul = compiled(int_ops)
    big = 2**62
    expected = ((big + 3) * 1000003 + (big - 3) * 1009 + big * 3 * 31 + (-big) + 3 + ~big) % 2**64
    assert mul(big, 3) % 2**64 == expected
    assert compiled(floordiv_only)(-(2**63), -1) == -(2**63)  # INT_MIN // -1 wraps, never traps
    assert compiled(int_div)(-(2**63), -1) == 0  # (INT_MIN // -1) * 1000 + INT_MIN % -1, wrapped
    assert compiled(int_pow_runtime)(3, 100) % 2**64 == pow(3, 100, 2**64)
    assert compiled(shift_out)(5) == 0  # 5 << 64 wraps to 0


def floordiv_only(a: i64, b: i64) -> i64:
    return a // b


def shift_out(a: i64) -> i64:
    return a << 64


def test_documented_divergences() -> None:
    """Float division by zero follows IEEE; a runtime negative int exponent is status 3 (ValueError)."""
    from tests.lang.runner import compiled

    assert compiled(float_floordiv)(1.0, 0.0) != compiled(float_floordiv)(1.0, 0.0)  # nan
    assert compiled(true_div)(1, 0) == math.inf
    with pytest.raises(ValueError):
        compiled(int_pow_runtime)(2, -1)


# ---- builtins -------------------------------------------------------------------------------------
def builtins_int(a: i64, b: i64, c: i64) -> i64:
    return min(a, b) * 1000 + max(a, b, c) * 100 + abs(a - c) + min(c, b, a, 0) + abs(True)


def builtins_float(x: f64, y: f64, k: i64) -> f64:
    return min(x, y) + max(x, k, 0.5) + abs(x) + float(k) + int(x) + int(-2.75) + bool(x) + bool(k)


def conversions(x: f64) -> i64:
    return int(x) * 10 + int(True) + int(3)  # noqa: UP018, RUF046 (int() of an int is tested)


def test_builtins() -> None:
    check(builtins_int, *[(a, b, c) for a in (-4, 0, 6) for b in (-1, 2) for c in (-9, 3)])
    check(builtins_float, *[(x, y, k) for x in (-2.5, 0.0, 3.75) for y in (-1.0, 4.0) for k in (-2, 0, 3)])
    check(conversions, *[(x,) for x in (-7.9, -0.5, 0.0, 0.99, 12.5, 1e15)])


def minmax_nan(x: f64, y: f64) -> f64:
    return min(x, y) * 10.0 + max(x, y)


def test_min_max_follow_python_with_nan() -> None:
    nan = float("nan")
    check(minmax_nan, (nan, 1.0), (1.0, nan), (-0.0, 0.0), (0.0, -0.0))


# ---- math -----------------------------------------------------------------------------------------
def math_unary(x: f64) -> f64:
    return (
        math.sqrt(x)
        + math.exp(x)
        + math.log(x)
        + math.log1p(x)
        + math.expm1(x)
        + math.sin(x)
        + math.cos(x)
        + math.tan(x)
        + math.tanh(x)
        + math.fabs(-x)
        + math.erf(x)
        + math.log2(x)
        + math.log10(x)
        + math.exp2(x)
        + math.atan(x)
        + math.sinh(x)
        + math.cosh(x)
        + math.erfc(x)
    )


def math_binary(x: f64, y: f64) -> f64:
    return math.pow(x, y) + math.copysign(x, y) + math.atan2(y, x) + math.hypot(x, y) + math.fmod(x, y)


def math_int_results(x: f64) -> i64:
    return math.floor(x) * 10000 + math.ceil(x) * 100 + math.trunc(x) + math.floor(7)


def math_predicates(x: f64) -> i64:
    return math.isnan(x) + 2 * math.isinf(x) + 4 * math.isfinite(x) + 8 * math.isnan(3)


def math_consts(x: f64) -> f64:
    return math.pi * x + math.e - math.tau + (x if x < math.inf else -1.0)


def test_math() -> None:
    check(math_unary, *[(x,) for x in (0.1, 0.5, 1.0, 2.5)], rtol=1e-12)
    check(math_binary, *[(x, y) for x in (0.5, 2.0, 3.5) for y in (-1.5, 0.75, 2.0)], rtol=1e-12)
    check(math_int_results, *[(x,) for x in (-2.5, -2.0, -0.1, 0.0, 0.5, 3.0, 7.9)])
    check(math_predicates, *[(x,) for x in (0.0, -1.0, math.inf, -math.inf, math.nan)])
    check(math_consts, (1.5,), (math.inf,))


def f32_math(x: f32[:], out: f32[:]) -> None:
    for i in range(len(x)):
        out[i] = math.sqrt(x[i]) * 0.5 + math.exp(x[i] * 0.1)


def test_math_on_f32_stays_f32() -> None:
    x = RNG.uniform(0, 4, 33).astype(np.float32)
    check(f32_math, (x, np.zeros(33, np.float32)), rtol=1e-6)


# ---- types: promotion, scalars, booleans, i32 -----------------------------------------------------
def weak_scalars(x: f32[:], out: f32[:], k: i32[:], kout: i32[:]) -> None:
    for i in range(len(x)):
        out[i] = x[i] * 0.1 + 3  # f32 * Python float stays f32 (numpy 2, NEP 50)
        kout[i] = k[i] * 3 + i  # i32 * Python int stays i32


def strong_mix(x: f32[:], y: f64[:], k: i32[:], out: f64[:]) -> None:
    for i in range(len(x)):
        out[i] = x[i] * y[i] + k[i] * x[i]  # f32*f64 -> f64, i32*f32 -> f64


def changing_local(n: i64) -> f64:
    s = 0
    for i in range(n):
        s = s + 0.5 * i  # int then float: the local is a float everywhere
    return s


def test_promotion_matches_numpy() -> None:
    x = RNG.uniform(-2, 2, 17).astype(np.float32)
    k = RNG.integers(-1000, 1000, 17).astype(np.int32)
    check(weak_scalars, (x, np.zeros(17, np.float32), k, np.zeros(17, np.int32)), rtol=0.0)
    check(strong_mix, (x, RNG.uniform(size=17), k, np.zeros(17)), rtol=0.0)
    check(changing_local, (0,), (5,))


def bool_kernel(flags: boolean[:], b: boolean, n: i32) -> boolean:
    count = 0
    for i in range(len(flags)):
        if flags[i] and b:
            count += 1
        flags[i] = not flags[i]
    return count > n


def i32_kernel(a: i32, b: i32) -> i32:
    return a * b + a // b


def annotated_local(x: f64[:]) -> f64:
    acc: f32 = 0.0
    for i in range(len(x)):
        acc += x[i]
    return acc


def test_scalar_types() -> None:
    flags = RNG.integers(0, 2, 9).astype(np.bool_)
    check(bool_kernel, *[(flags, b, n) for b in (True, False) for n in (0, 2, 9)])
    check(i32_kernel, (7, 3), (-7, 2), (1000, -7))
    values = RNG.uniform(size=10)
    expected = np.float32(0)
    for v in values:
        expected = np.float32(np.float64(expected) + v)  # f32 local, f64 arithmetic, rounded on store
    from tests.lang.runner import compiled

    assert compiled(annotated_local)(values) == float(expected)


# ---- constants, closures, host arrays and Globals -------------------------------------------------
SCALE = 3
OFFSET = 0.25
TABLE = np.arange(12, dtype=np.float64).reshape(3, 4)


def module_names(a: f64[:]) -> f64:
    s = 0.0
    for i in range(len(a)):
        a[i] = a[i] * SCALE + OFFSET + TABLE[i % 3, -1]
        s += a[i]
    TABLE[0, 0] += 1.0
    return s + TABLE.shape[1]


def with_const(a: f64[:], K: Const, STEP: Const) -> f64:
    s = 0.0
    for i in range(0, len(a), STEP):
        s += a[i] * K
    return s


def test_module_constants_host_arrays_and_consts() -> None:
    start = TABLE.copy()
    check(module_names, (vec(),))  # each run adds 1 to TABLE[0, 0]
    assert TABLE[0, 0] == start[0, 0] + 2  # once by Python, once by the compiled kernel
    check(with_const, (vec(20), 2.5, 3), consts={"K": 2.5, "STEP": 3})
    check(with_const, (vec(20), 4, 1), consts={"K": 4, "STEP": 1})


def test_closure_constants() -> None:
    factor = 1.5
    limit = 4

    def closure_kernel(a: f64[:]) -> f64:
        s = 0.0
        for i in range(min(limit, len(a))):
            s += a[i] * factor
        return s

    check(closure_kernel, (vec(),), (vec(2),))


def test_globals() -> None:
    from autotune.globals import Global
    from tests.lang.runner import compiled

    counter = Global(i64, value=5)
    grid = Global(f64, shape=(2, 3), value=1.0)

    def bump(n: i64) -> i64:
        for i in range(n):
            counter[()] += 1
            grid[i % 2, i % 3] += 0.5
        return counter[()]

    native = compiled(bump)
    assert native(10) == 15
    assert bump(10) == 25  # plain Python sees (and updates) the same memory
    assert native(1) == 26
    assert grid.array.sum() == 6 * 1.0 + 21 * 0.5
    assert int(counter.address) % 64 == 0


# ---- return forms, pass, expression statements, docstrings ----------------------------------------
def no_return(a: f64[:]) -> None:
    """A docstring is allowed."""
    for i in range(len(a)):
        if a[i] < 0.0:
            return
        a[i] = 1.0
        pass
    a[0] + 1.0


def test_returns() -> None:
    check(no_return, (np.array([1.0, 2.0, -1.0, 3.0]),), (np.array([1.0]),))


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64, np.int32, np.bool_])
def test_every_dtype_roundtrips(dtype: type) -> None:
    from autotune.lang import Knobs, lower, parse_kernel_source
    from autotune.types import scalar_type_of
    from tests.lang.runner import run_lowered

    source = (
        "def copy(a: T[:], out: T[:]) -> T:\n"
        "    for i in range(len(a)):\n"
        "        out[i] = a[i]\n"
        "    return a[len(a) - 1]\n"
    )
    info = parse_kernel_source(source, namespace={"T": scalar_type_of(dtype)})
    values = RNG.uniform(-50, 50, 9)
    a = (values > 0) if dtype is np.bool_ else values.astype(dtype)
    out = np.zeros_like(a)
    result = run_lowered(lower(info, {}, Knobs()), a, out)
    assert np.array_equal(out, a)
    assert result == a[-1]
