"""The README's lists of what kernels may call are the code's tables, word for word (one owner: the code)."""

from __future__ import annotations

import re
from pathlib import Path

from autotune.lang._builtins import MATH_CONSTS, MATH_FUNCS, NUMPY_CASTS, NUMPY_CONSTS, NUMPY_FUNCS
from autotune.lang._complex import CMATH_ARITY, CMATH_CONSTS

README = (Path(__file__).parent.parent / "README.md").read_text()


def _listed(label: str) -> set[str]:
    """The words of the first backquoted group after ``label``, ``np.`` prefixes dropped."""
    group = re.search(r"`([^`]*)`", README[README.index(label) + len(label) :])
    assert group is not None
    return {word.removeprefix("np.") for word in group.group(1).split()}


def test_the_readme_lists_every_math_function_and_constant_and_nothing_else() -> None:
    assert _listed("): math functions") == set(MATH_FUNCS)
    assert _listed(", math constants") == set(MATH_CONSTS)


def test_the_readme_lists_every_numpy_ufunc_cast_and_constant_and_nothing_else() -> None:
    assert _listed("on scalars): numpy ufuncs") == set(NUMPY_FUNCS)
    assert _listed("numpy casts") == set(NUMPY_CASTS) - {"bool"}  # np.bool: numpy 2's alias of np.bool_
    assert _listed("numpy constants") == set(NUMPY_CONSTS)


def test_the_readme_lists_every_cmath_function_and_constant_and_nothing_else() -> None:
    assert _listed("cmath functions") == set(CMATH_ARITY)
    assert _listed("cmath constants") == set(CMATH_CONSTS)
