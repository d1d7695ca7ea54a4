"""prange loops against the Python function under parallel 1, 2 and 4; the refused bodies; threads and fork.

Under parallel k >= 2 the body runs on k chunks through the native thread pool (:mod:`autotune.pool`):
integer results must be exact, float reductions close (they are reordered like fast-math).
"""

from __future__ import annotations

import math
import os
import threading
import time

import numpy as np
import pytest

import autotune
from autotune import Const, KernelSyntaxError, f32, f64, i32, i64, prange
from autotune.lang import Knobs, lower, parse_kernel, rebuild_function, uses_prange
from autotune.pool import parallel_values
from tests.lang.runner import compare, compiled

PARALLEL = [1, 2, 4]
SIZES = [0, 1, 3, 7, 1001]
TABLE = np.arange(5.0) * 0.5


def p_map_sum(a: f64[:], out: f64[:]) -> f64:
    s = 0.0
    for i in prange(len(a)):
        t = math.sin(a[i]) + TABLE[i % 5]
        out[i] = t * 2.0
        s += t
    return s


def p_int_sum(a: i64[:], base: i64) -> i64:
    s = base
    for i in prange(a.shape[0]):
        s += a[i] * a[i]
        s -= 1
    return s


def p_int_product(a: i64[:]) -> i64:
    s = 1
    for i in prange(len(a)):
        if a[i] % 3 == 0:
            continue
        s *= a[i] % 3
    return s


def p_float_product(a: f64[:]) -> f64:
    s = 1.0
    for i in prange(len(a)):
        s *= 1.0 + a[i] * 1e-3
    return s


def p_minmax(a: i64[:], x: f64[:]) -> f64:
    lo = 1 << 40
    hi = -(1 << 40)
    small = 1e300
    for i in prange(len(a)):
        lo = min(lo, a[i])
        hi = max(a[i] * 2, hi)
        small = min(small, x[i] - 0.5)
    return float(lo) + float(hi) * 1000.0 + small


def p_range_forms(a: i64[:], out: i64[:], lo: i64, hi: i64) -> i64:
    count = 0
    for i in prange(lo, hi):
        out[i] = a[i] + 1
        count += 1
    for j in prange(lo, hi, 3):
        out[j] = out[j] * 10
        count += 100
    return count


def p_nested(m: f64[:, :], rows: f64[:]) -> f64:
    total = 0.0
    for r in prange(m.shape[0]):
        acc = 0.0
        for c in range(m.shape[1]):
            acc += m[r, c]
        rows[r] = acc
        total += acc
    for k in range(2):  # a prange inside an ordinary loop is parallel; inside a prange, serial
        for r in prange(m.shape[0]):
            for c in prange(m.shape[1]):
                m[r, c] = m[r, c] + k
    return total


def p_by_step(a: i64[:], STEP: Const = 2) -> i64:
    s = 0
    for i in prange(0, len(a), STEP):
        s += a[i]
    return s


def p_divide(a: i64[:], at: i64) -> None:
    for i in prange(len(a)):
        a[i] = 100 // (i - at)


def p_types(a: f32[:], out: f32[:], flag: bool, k: i32) -> i32:
    scale = k * 2
    count: i32 = 0
    for i in prange(len(a)):
        j = 0
        while j < 2:
            j += 1
        if flag and a[i] > 0.5:
            out[i] = a[i] * scale + j
            count += 1
    return count


def p_extreme(lo: i64, hi: i64) -> i64:
    count = 0
    low = hi
    for i in prange(lo, hi):
        count += 1
        low = min(low, i)
    for i in prange(lo, hi, 2):  # the same loop variable again: each loop assigns it first
        count += 10 + 0 * i
    if count == 0:
        return -1
    return count * 1000 + (low - lo)


def p_module(a: f64[:]) -> None:
    for i in autotune.prange(len(a)):
        a[i] = a[i] * 2.0


def p_none(a: f64[:]) -> None:
    for i in range(len(a)):
        a[i] = 0.0


def _floats(n: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).random(n)


def _ints(n: int, seed: int = 2) -> np.ndarray:
    return np.random.default_rng(seed).integers(-1000, 1000, n)


@pytest.mark.parametrize("parallel", PARALLEL)
def test_against_python(parallel: int) -> None:
    knobs = Knobs(parallel=parallel)
    for n in SIZES:
        compare(p_map_sum, compiled(p_map_sum, knobs=knobs), (_floats(n), np.zeros(n)), rtol=1e-12)
        compare(p_int_sum, compiled(p_int_sum, knobs=knobs), (_ints(n), 7))
        compare(p_int_product, compiled(p_int_product, knobs=knobs), (_ints(min(n, 60)),))
        compare(p_float_product, compiled(p_float_product, knobs=knobs), (_floats(n),), rtol=1e-12)
        compare(p_minmax, compiled(p_minmax, knobs=knobs), (_ints(n), _floats(n)))
        compare(p_by_step, compiled(p_by_step, knobs=knobs), (_ints(n), 2))
        compare(p_module, compiled(p_module, knobs=knobs), (_floats(n),))
        x = _floats(n).astype(np.float32)
        compare(p_types, compiled(p_types, knobs=knobs), (x, np.zeros(n, np.float32), True, np.int32(3)), rtol=1e-6)
        compare(p_range_forms, compiled(p_range_forms, knobs=knobs), (_ints(n), np.zeros(n, np.int64), 1, n - 1))
        compare(p_nested, compiled(p_nested, knobs=knobs), (_floats(n * 3).reshape(n, 3), np.zeros(n)), rtol=1e-12)
        compare(p_divide, compiled(p_divide, knobs=knobs), (_ints(n), -1))
    compare(p_divide, compiled(p_divide, knobs=knobs), (_ints(10), 6))  # ZeroDivisionError from a chunk
    top, bottom = 2**63 - 1, -(2**63)
    extreme = compiled(p_extreme, knobs=knobs)
    compare(p_extreme, extreme, (top - 7, top), (bottom, bottom + 5), (top, bottom), (5, 5), (-3, 4))


def test_parallel_variant_calls_the_pool() -> None:
    info = parse_kernel(p_map_sum)
    assert uses_prange(info) and not uses_prange(parse_kernel(p_none))
    assert "autotune.pool.run" not in lower(info, {}, Knobs(parallel=1)).ir
    ir = lower(info, {}, Knobs(parallel=2)).ir
    assert '"autotune.pool.run"' in ir and "kernel.prange0.task" in ir


def test_rebuilt_python_function_runs() -> None:
    """The tuning worker checks against the function rebuilt from the parsed tree: prange is range there."""
    for func in (p_map_sum, p_module):
        rebuilt = rebuild_function(parse_kernel(func))
        a, b = _floats(11), _floats(11)
        compare(func, rebuilt, (a, np.zeros(11)) if func is p_map_sum else (b,))


def test_default_space_gets_the_parallel_knob() -> None:
    kernel = autotune.tunable(p_map_sum)
    assert kernel.space.values("parallel") == tuple(parallel_values())
    assert kernel.space.default["parallel"] == 1
    assert "parallel" not in autotune.tunable(p_none).space.names
    assert autotune.tunable(parallel=[2])(p_int_sum).space.values("parallel") == (2,)
    values = parallel_values()
    assert values[0] == 1 and values == sorted(set(values)) and values[-1] <= 64


def test_kernel_calls_from_four_threads() -> None:
    kernel = autotune.tunable(parallel=[2])(p_map_sum)
    a = _floats(200_003)
    want = p_map_sum(a, np.zeros(a.size))
    errors: list[str] = []

    def call() -> None:
        for _ in range(30):
            out = np.zeros(a.size)
            got = kernel(a, out)
            if not math.isclose(got, want, rel_tol=1e-12) or not np.allclose(
                out, 2 * (np.sin(a) + TABLE[np.arange(a.size) % 5])
            ):
                errors.append(f"{got} != {want}")

    threads = [threading.Thread(target=call) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_forked_child_starts_its_own_pool() -> None:
    func = compiled(p_int_sum, knobs=Knobs(parallel=2))
    a = _ints(100_001)
    want = p_int_sum(a, 3)
    assert func(a, 3) == want  # the parent's pool has its worker now
    pid = os.fork()
    if pid == 0:  # the child: no worker threads survived the fork
        code = 0 if all(func(a, 3) == want for _ in range(20)) else 1
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    assert func(a, 3) == want  # the parent's pool still works


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_fork_while_a_thread_runs_in_the_pool() -> None:
    """The child inherits an owned pool (and maybe a locked mutex) whose threads are gone: it takes it over."""
    func = compiled(p_map_sum, knobs=Knobs(parallel=2))
    a = _floats(400_000)
    want = p_map_sum(a, np.zeros(a.size))
    stop = threading.Event()

    def busy() -> None:
        while not stop.is_set():
            func(a, np.zeros(a.size))

    thread = threading.Thread(target=busy)
    thread.start()
    try:
        time.sleep(0.05)
        pid = os.fork()
        if pid == 0:
            ok = all(math.isclose(func(a, np.zeros(a.size)), want, rel_tol=1e-12) for _ in range(5))
            os._exit(0 if ok else 1)
        deadline = time.monotonic() + 120
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done or time.monotonic() > deadline:
                break
            time.sleep(0.01)
        if not done:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        assert done and os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, "the child hung or failed"
    finally:
        stop.set()
        thread.join()


# ---- refused bodies ------------------------------------------------------------------------------
def r_break(a: f64[:]) -> None:
    for i in prange(len(a)):
        if a[i] < 0.0:
            break  # ERR
        a[i] = 1.0


def r_return(a: f64[:]) -> f64:
    for i in prange(len(a)):
        if a[i] < 0.0:
            return a[i]  # ERR
    return 0.0


def r_raise(a: f64[:]) -> None:
    for i in prange(len(a)):
        if a[i] < 0.0:
            raise ValueError("negative")  # ERR


def r_assert(a: f64[:]) -> None:
    for i in prange(len(a)):
        assert a[i] >= 0.0  # ERR


def r_carried(a: f64[:]) -> None:
    last = 0.0
    for i in prange(len(a)):
        a[i] = last  # ERR
        last = a[i] + 1.0


def r_private_after(a: f64[:]) -> f64:
    t = 0.0
    for i in prange(len(a)):
        t = a[i] * 2.0  # ERR
        a[i] = t
    return t


def r_index_after(a: f64[:]) -> i64:
    for i in prange(len(a)):  # ERR
        a[i] = 0.0
    return i


def r_mixed_reduction(a: f64[:]) -> f64:
    s = 0.0
    for i in prange(len(a)):
        s += a[i]  # ERR
        s *= 2.0
    return s


def r_negative_step(a: f64[:]) -> None:
    for i in prange(len(a), 0, -1):  # ERR
        a[i] = 0.0


def r_value(a: f64[:]) -> None:
    r = prange(3)  # ERR
    a[0] = r


def _err_line(func: object) -> int:
    import inspect

    lines, start = inspect.getsourcelines(func)  # type: ignore[arg-type]
    return start + next(k for k, line in enumerate(lines) if "# ERR" in line)


@pytest.mark.parametrize(
    ("func", "words"),
    [
        (r_break, "'break' cannot leave a prange loop"),
        (r_return, "'return' cannot leave a prange loop"),
        (r_raise, "'raise' is not supported in a prange body"),
        (r_assert, "'assert' is not supported in a prange body"),
        (r_carried, "'last' is read in the prange body before it is assigned"),
        (r_private_after, "'t' is assigned in the prange body and read after the loop"),
        (r_index_after, "'i' is assigned in the prange body and read after the loop"),
        (r_mixed_reduction, "'s' is read in the prange body before it is assigned"),
        (r_negative_step, "constant positive step"),
        (r_value, "prange() can only be the iterable of a for loop"),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_refused(func: object, words: str) -> None:
    with pytest.raises(KernelSyntaxError) as info:
        parse_kernel(func)  # type: ignore[arg-type]
    assert words in info.value.message
    assert info.value.lineno == _err_line(func)


def r_runtime_step(a: i64[:], step: i64) -> i64:
    s = 0
    for i in prange(0, len(a), step):
        s += a[i]
    return s


def test_step_must_be_constant_in_every_variant() -> None:
    """A type error of the kernel, not of one knob value: the serial variants refuse it too."""
    info = parse_kernel(r_runtime_step)
    for parallel in (1, 2):
        with pytest.raises(KernelSyntaxError, match="constant positive step"):
            lower(info, {}, Knobs(parallel=parallel))
