"""The typed pass: every type error before any code is emitted, and lowering that only reads types."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import pytest

import autotune
from autotune.errors import ConfigError, KernelSyntaxError
from autotune.lang import KernelInfo, Knobs, parse_kernel, parse_kernel_source
from autotune.lang._lattice import TypingProblem
from autotune.lang._lower import emit
from autotune.lang._typed import type_kernel
from autotune.lang._typing import Typer
from examples import kernels as ex
from tests.lang import test_lang_arrays as arrays
from tests.lang import test_lang_calls as calls
from tests.lang import test_lang_complex as complexes
from tests.lang import test_lang_constructs as constructs
from tests.lang import test_lang_iteration as iteration
from tests.lang import test_lang_numpy as numpy_names
from tests.lang import test_lang_prange as pranges
from tests.lang import test_lang_raise as raising
from tests.lang import test_lang_unpack as unpacking
from tests.lang import test_lang_views as views


def _every_kernel() -> list[Callable[..., Any]]:
    """The example kernels and every module-level kernel of the language tests that types cleanly."""
    found = [getattr(k, "py_func", k) for k in (ex.dot, ex.saxpy, ex.stencil5, ex.matmul, ex.softmax, ex.histogram)]
    for module in (constructs, numpy_names, raising, iteration, unpacking, arrays, pranges, calls, views, complexes):
        for value in vars(module).values():
            if inspect.isfunction(value) and value.__module__ == module.__name__ and value.__annotations__:
                try:
                    type_kernel(parse_kernel(value), _consts(parse_kernel(value)))
                except (KernelSyntaxError, ConfigError):
                    continue  # an error case of its module
                found.append(value)
    return found


def _consts(info: KernelInfo) -> dict[str, int]:
    return {p.name: 16 for p in info.params if p.kind == "const" and p.name not in info.const_defaults}


@pytest.mark.parametrize("func", _every_kernel(), ids=lambda f: f.__name__)
def test_lowering_reads_the_types_the_typed_pass_found_and_computes_none(
    func: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    info = parse_kernel(func)
    typed = type_kernel(info, _consts(info))

    def computing(self: Typer, node: Any) -> Any:
        raise TypingProblem(f"lowering computed the type of {node!r}")

    monkeypatch.setattr(Typer, "_type", computing)
    for knobs in (Knobs(), Knobs(vectorize=4, unroll=2, fastmath=True, parallel=2)):
        assert emit(typed, knobs).symbol == "kernel"


ENDINGS = {
    "while True: return": ("while True:\n        if x > 0.0:\n            return x\n        x += 1.0", True),
    "while FLAG (a true Const)": ("while FLAG:\n        return x", True),
    "if/else both return": ("if x > 0.0:\n        return x\n    else:\n        raise ValueError('neg')", True),
    "while True with break": ("while True:\n        break\n    x = 1.0", False),
    "if without else": ("if x > 0.0:\n        return x", False),
    "for loop that returns": ("for i in range(3):\n        return x", False),
    "while x (not constant)": ("while x > 0.0:\n        return x", False),
}


@pytest.mark.parametrize("name", ENDINGS)
def test_the_typed_pass_and_the_emitted_blocks_agree_on_falling_off_the_end(name: str) -> None:
    body, returns = ENDINGS[name]
    source = f"def k(x: f64, FLAG: Const = True) -> f64:\n    {body}\n"
    info = parse_kernel_source(source, namespace={"f64": autotune.f64, "Const": autotune.Const})
    if returns:
        emit(type_kernel(info, {}), Knobs())
    else:
        with pytest.raises(KernelSyntaxError, match="without returning"):
            type_kernel(info, {})
