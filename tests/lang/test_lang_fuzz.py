"""Differential fuzz: random kernels (``tests/lang/_kernel_gen.py``) compiled under several knob settings
must agree with the same function run by CPython on numpy inputs.

Results and arrays are compared exactly for integers and closely for floats (NaN equals NaN); exceptions
by type and message. Examples that reach a documented divergence (``autotune/lang/__init__.py``) are
discarded, never compared: a Python int leaving 64 bits (kernels wrap), float division by zero and math
domain or range errors (kernels follow IEEE), ``int()`` of NaN or infinity (kernels saturate), a numpy
integer divided by zero (numpy gives 0 and warns, kernels raise), and ``zip(strict=True)`` over unequal
lengths (kernels raise before the loop). To see ints leave 64 bits, the Python reference runs the same
source with every computed value passed through a check (an ``ast`` rewrite that changes no value).

Float tolerance: ``1e-9 * (|expected| + scale)``, where ``scale`` is the largest finite float the Python
run computed. Library functions (numpy's own ``exp``, Python's ``hypot``) may differ from the kernel's
libm in the last bit, and forced vectorization may reorder a reduction; cancellation can make such a
difference large next to the result, never next to the operands.

CI runs a fixed, derandomized set of examples without a database (it never flakes on a new example) in
about a minute. The soak run explores new examples::

    pytest --soak tests/lang/test_lang_fuzz.py --fuzz-examples 20000

(``--fuzz-examples`` defaults to the ``AUTOTUNE_FUZZ_EXAMPLES`` environment variable, else 3000.)
"""

from __future__ import annotations

import ast
import copy
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, assume, event, given, note, settings

from autotune.lang import Knobs, LoweredKernel, lower, parse_kernel_source
from autotune.types import f64, i64
from tests.lang._kernel_gen import MESSAGE_PREFIX, Case, GeneratedKernel, cases
from tests.lang.runner import run_lowered

#: Knob settings every kernel runs under (fastmath is left out: it may reassociate any float expression).
KNOB_SETTINGS = (
    Knobs(),
    Knobs(vectorize=1, unroll=1),
    Knobs(vectorize=4),
    Knobs(unroll=2),
    Knobs(vectorize=4, interleave=2, unroll=2),
)
CI_EXAMPLES = 400
RTOL = 1e-9
_INT64 = 2**63
_HEALTH = [HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large]
_PHASES = (Phase.explicit, Phase.generate, Phase.shrink)  # no "explain": it reruns every step under coverage
CI_SETTINGS = settings(
    max_examples=CI_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=_PHASES,
    suppress_health_check=_HEALTH,
)
NAMESPACE: dict[str, Any] = {"np": np, "math": math, "f64": f64, "i64": i64}

#: Python's own errors the kernel raises too (with Python's message), by (type, message).
BUILTIN_ERRORS = {
    (ZeroDivisionError, "integer division or modulo by zero"),
    (ZeroDivisionError, "integer modulo by zero"),
    (ValueError, "range() arg 3 must not be zero"),
}
USER_ERRORS = (ValueError, IndexError, ZeroDivisionError, ArithmeticError, OverflowError, RuntimeError, AssertionError)


class LeavesInt64(Exception):
    """A Python int left the i64 range: kernels wrap there by design, so the example is discarded."""


class _Discard(Exception):
    """The Python run reached a documented divergence."""


# ---- the Python reference -------------------------------------------------------------------------
class _Checked(ast.NodeTransformer):
    """Passes every computed value through ``_ck(...)``; ``t op= e`` on a name becomes ``t = _ck(t op e)``.

    Values are unchanged (augmented assignment to a name of a scalar means the same as the expanded form).
    """

    @staticmethod
    def _wrap(node: ast.expr) -> ast.expr:
        return ast.Call(ast.Name("_ck", ast.Load()), [node], [])

    def visit_BinOp(self, node: ast.BinOp) -> ast.expr:
        self.generic_visit(node)
        return self._wrap(node)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.expr:
        self.generic_visit(node)
        return self._wrap(node)

    def visit_Call(self, node: ast.Call) -> ast.expr:
        self.generic_visit(node)
        return self._wrap(node)

    def visit_Subscript(self, node: ast.Subscript) -> ast.expr:
        self.generic_visit(node)
        return self._wrap(node) if isinstance(node.ctx, ast.Load) else node

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.stmt:
        self.generic_visit(node)
        if not isinstance(node.target, ast.Name):
            return node  # an array element: numpy's int64 wraps like the kernel
        value = ast.BinOp(ast.Name(node.target.id, ast.Load()), node.op, node.value)
        return ast.Assign([ast.Name(node.target.id, ast.Store())], self._wrap(value))


class Reference:
    """The generated function as CPython runs it, with the largest float it computed (``scale``)."""

    def __init__(self, source: str) -> None:
        tree = ast.fix_missing_locations(_Checked().visit(ast.parse(source)))
        namespace = {**NAMESPACE, "_ck": self._check}
        exec(compile(tree, "<fuzz reference>", "exec"), namespace)
        self.func: Callable[..., Any] = namespace["k"]
        self.scale = 1.0

    def _check(self, value: Any) -> Any:
        if type(value) is int and not -_INT64 <= value < _INT64:
            raise LeavesInt64(value)
        if isinstance(value, float) and math.isfinite(value):
            self.scale = max(self.scale, abs(value))
        return value


# ---- outcomes -------------------------------------------------------------------------------------
@dataclass
class Outcome:
    """What a call did: returned ``value`` (arrays after the call in ``arrays``) or raised ``error``."""

    value: Any = None
    arrays: tuple[Any, ...] = ()
    error: tuple[type[BaseException], str] | None = None

    def __repr__(self) -> str:
        if self.error is not None:
            return f"raised {self.error[0].__name__}({self.error[1]!r})"
        return f"returned {self.value!r}, arrays {[a.tolist() for a in self.arrays]}"


def python_outcome(ref: Reference, kernel: GeneratedKernel, args: tuple[Any, ...]) -> Outcome:
    """The reference's outcome; :class:`_Discard` where it reaches a documented divergence."""
    args = copy.deepcopy(args)
    ref.scale = 1.0
    try:
        with np.errstate(divide="raise", over="ignore", invalid="ignore", under="ignore"):
            value = ref.func(*args)
    except Exception as exc:
        return Outcome(error=_python_error(exc, kernel), arrays=_arrays(args))
    if isinstance(value, complex):
        raise _Discard("complex result")
    return Outcome(value, _arrays(args))


def _python_error(exc: Exception, kernel: GeneratedKernel) -> tuple[type[BaseException], str]:
    """(type, message) of an error the kernel raises too; :class:`_Discard` for a documented divergence."""
    kind, message = type(exc), str(exc)
    if kind in USER_ERRORS and (message.startswith(MESSAGE_PREFIX) or message == ""):
        return kind, message  # the kernel's own raise or assert
    if (kind, message) in BUILTIN_ERRORS:
        if kind is ZeroDivisionError and kernel.widened:
            raise _Discard("w holds an int until widened: the kernel divides floats there")
        return kind, message
    if isinstance(exc, LeavesInt64 | OverflowError | FloatingPointError | ZeroDivisionError | ValueError):
        raise _Discard(f"{kind.__name__}: {message}")  # wrap, IEEE, saturation, numpy int division by zero
    raise AssertionError(f"the generated kernel is not valid Python: {kind.__name__}: {message}") from exc


def _arrays(args: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(a for a in args if isinstance(a, np.ndarray))


def native_outcome(lowered: LoweredKernel, args: tuple[Any, ...]) -> Outcome:
    args = copy.deepcopy(args)
    try:
        value = run_lowered(lowered, *args)
    except Exception as exc:  # a status raised as its exception: compared with Python's
        return Outcome(error=(type(exc), str(exc)), arrays=_arrays(args))
    return Outcome(value, _arrays(args))


def close(want: Any, got: Any, scale: float) -> bool:
    """Exact for ints and bools, within tolerance for floats (NaN equals NaN, infinities and signs of zero
    exact)."""
    if isinstance(want, float) and want == 0.0 and isinstance(got, float) and got == 0.0:
        return math.copysign(1.0, want) == math.copysign(1.0, got)
    if isinstance(want, float) or isinstance(got, float):
        want, got = float(want), float(got)
        if math.isnan(want) or math.isnan(got) or math.isinf(want) or math.isinf(got):
            return (math.isnan(want) and math.isnan(got)) or want == got
        return bool(abs(want - got) <= RTOL * (abs(want) + scale))
    return bool(int(want) == int(got))


def agree(want: Outcome, got: Outcome, kernel: GeneratedKernel, scale: float) -> str | None:
    """``None`` if the outcomes agree, else what differs."""
    if want.error is not None or got.error is not None:
        if want.error != got.error:
            return f"python {want!r}, compiled {got!r}"
    elif kernel.ret is not None and not close(want.value, got.value, scale):
        return f"result: python {want.value!r}, compiled {got.value!r}"
    for k, (a, b) in enumerate(zip(want.arrays, got.arrays, strict=True)):
        if a.dtype.kind == "i":
            same = bool(np.array_equal(a, b))
        else:
            same = all(close(x, y, scale) for x, y in zip(a.ravel().tolist(), b.ravel().tolist(), strict=True))
        if not same:
            return f"array {k}: python {a.tolist()}, compiled {b.tolist()}"
    return None


def _strict_zips_unequal(kernel: GeneratedKernel, args: tuple[Any, ...]) -> bool:
    named = dict(zip(kernel.params, args, strict=True))
    return any(len(named[x]) != len(named[y]) for x, y in kernel.strict_zips)


def check_case(case: Case) -> None:
    """Compile ``case.kernel`` under every knob setting; each agrees with Python on every argument tuple."""
    kernel = case.kernel
    ref = Reference(kernel.source)
    info = parse_kernel_source(kernel.source, filename="<fuzz>", namespace=NAMESPACE)
    compared = 0
    for args in case.argsets:
        if _strict_zips_unequal(kernel, args):
            continue  # documented: kernels raise before the loop, Python when the shortest runs out
        try:
            want = python_outcome(ref, kernel, args)
        except _Discard as why:
            note(f"discarded {args}: {why}")
            event(f"discarded: {str(why).split(':')[0]}")
            continue
        event("compared: " + ("ok" if want.error is None else want.error[0].__name__))
        compared += 1
        for knobs in KNOB_SETTINGS:
            got = native_outcome(lower(info, {}, knobs), args)
            problem = agree(want, got, kernel, ref.scale)
            assert problem is None, f"{knobs}: {problem}\n{kernel.source}args: {args}"
    assume(compared > 0)


@pytest.mark.timeout(900)  # a failure shrinks for up to five minutes before it is reported
@CI_SETTINGS
@given(case=cases())
def test_random_kernels_agree_with_python(case: Case) -> None:
    check_case(case)


def _soak_examples(config: pytest.Config) -> int:
    value = config.getoption("--fuzz-examples", default=None) or os.environ.get("AUTOTUNE_FUZZ_EXAMPLES") or 3000
    return int(value)


@pytest.mark.soak
@pytest.mark.timeout(0)
def test_soak_random_kernels_agree_with_python(request: pytest.FixtureRequest) -> None:
    """The same fuzz with fresh random examples, as many as ``--fuzz-examples`` asks."""
    examples = _soak_examples(request.config)
    soak = settings(max_examples=examples, deadline=None, database=None, phases=_PHASES, suppress_health_check=_HEALTH)
    soak(given(case=cases())(check_case))()


# ---- bugs the fuzz found, fixed: their regression tests ------------------------------------------
def _native(source: str) -> Callable[..., Any]:
    lowered = lower(parse_kernel_source(source, filename="<fuzz>", namespace=NAMESPACE), {}, Knobs())
    return lambda *args: run_lowered(lowered, *args)


def test_modulo_by_zero_has_pythons_message() -> None:
    source = "def k(x: i64, y: i64) -> i64:\n    return x % y\n"
    ref = Reference(source)
    with pytest.raises(ZeroDivisionError) as python:
        ref.func(5, 0)
    with pytest.raises(ZeroDivisionError) as native:
        _native(source)(5, 0)
    assert str(native.value) == str(python.value) == "integer modulo by zero"


def _outcomes(source: str, *args: Any) -> tuple[Outcome, Outcome]:
    """(Python's outcome, the compiled kernel's) on ``args``, under the default knobs."""
    kernel = GeneratedKernel(source, [], "int", widened=False, strict_zips=[])
    lowered = lower(parse_kernel_source(source, filename="<fuzz>", namespace=NAMESPACE), {}, Knobs())
    return python_outcome(Reference(source), kernel, args), native_outcome(lowered, args)


def test_enumerate_start_is_evaluated_once() -> None:
    source = (
        "def k(a: f64[:], n: i64) -> i64:\n"
        "    s = 0\n"
        "    for j, v in enumerate(a, n):\n"
        "        n -= 1\n"
        "        s = s * 10 + j\n"
        "    return s\n"
    )
    want, got = _outcomes(source, np.zeros(4), 3)
    assert want.value == 3456
    assert got.value == want.value  # the kernel gave 3333: it read n again at every iteration


def test_range_start_in_zip_is_evaluated_once() -> None:
    source = (
        "def k(a: f64[:], n: i64) -> i64:\n"
        "    s = 0\n"
        "    for v, r in zip(a, range(n, 100)):\n"
        "        n += 10\n"
        "        s = s * 100 + r\n"
        "    return s\n"
    )
    want, got = _outcomes(source, np.zeros(3), 3)
    assert want.value == 30405
    assert got.value == want.value  # the kernel gave 31425: it read n again at every iteration
