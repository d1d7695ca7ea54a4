"""Validation inputs beyond the captured calls: other extents, and inputs that expose reordering.

A variant can be right on the one size it was tried on and wrong elsewhere (a vector loop that forgets its
remainder is right at n=4096 and wrong at n=4099), so every candidate also runs on inputs cut from a
captured call to other extents: the smallest non-empty size, sizes that are a multiple of no vector
width or unroll count (7, 131) and one less than the captured size. Arrays that share a named dimension
(``f64["n"]``) are cut together; an unnamed dimension is cut on its own. An integer argument equal to a
captured extent (the ``n`` of ``dot(a, b, n)``) is taken to be that extent and cut with it; any other
argument keeps its value. The contents are the captured data, so the inputs stay realistic. Such an input
may still be outside a kernel's contract (an index argument past the cut size): the search runs the
Python function on it first where it can, and drops inputs on which the reference fails.

Every variant also runs on copies whose float arrays mix magnitudes and hold pairs that cancel (``+B``
and ``-B`` with ``B`` 1e15 times the data's scale): reordering a sum over such data (fast-math's
reassociation, or a forced vector width on a reduction) changes its result far beyond any tolerance, so
such a variant passes only where reordering does not change the result, or where the tolerance is
configured to accept it. Pairs are placed in each array independently, so terms that are products of
two arrays (a dot product) do not cancel: what is caught is a reordered sum of one array's elements
(a plain or compensated sum), not every reordering.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .lang import ParamSpec

__all__ = ["Case", "cancelling", "other_extents"]

#: sizes tried besides the captured ones: the smallest non-empty, and two that no vector width divides
_SIZES = (1, 7, 131)


@dataclass(frozen=True)
class Case:
    """One validation input: what it is (for messages) and the argument values."""

    label: str
    values: list[Any]


def other_extents(params: Sequence[ParamSpec], values: Sequence[Any]) -> list[Case]:
    """Inputs cut from ``values`` to other extents (at most four; none when no array can shrink)."""
    native = [p for p in params if p.kind != "const"]
    extents: dict[str, int] = {}
    for param, value in zip(native, values, strict=True):
        if not isinstance(value, np.ndarray):
            continue
        for axis, size in enumerate(value.shape):
            group = _group(param, axis)
            if extents.setdefault(group, int(size)) != int(size):
                return []  # the captured call breaks its own declared dimensions: nothing to derive from
    if not extents or max(extents.values()) <= 1:
        return []
    targets = sorted({*_SIZES, max(extents.values()) - 1})
    cases: list[Case] = []
    seen: set[tuple[int, ...]] = {tuple(extents.values())}
    for target in targets:
        cut = {g: min(n, target) if n > 1 else n for g, n in extents.items()}
        shape = tuple(cut.values())
        if shape in seen:
            continue
        seen.add(shape)
        label = ", ".join(f"{g}={n}" for g, n in cut.items() if n != extents[g])
        cases.append(Case(f"extents {label}", _cut(native, values, extents, cut)))
    return cases


def cancelling(values: Sequence[Any], seed: int = 0) -> Case | None:
    """``values`` with float arrays rewritten to mixed magnitudes and cancelling pairs (None: no float array)."""
    rng = np.random.default_rng(seed)
    out: list[Any] = []
    changed = False
    for value in values:
        if isinstance(value, np.ndarray) and value.dtype.kind == "f" and value.size >= 2:
            out.append(_cancelling_array(value, rng))
            changed = True
        else:
            out.append(value.copy() if isinstance(value, np.ndarray) else value)
    return Case("mixed magnitudes and cancellation", out) if changed else None


def _cancelling_array(value: np.ndarray[Any, Any], rng: np.random.Generator) -> np.ndarray[Any, Any]:
    flat = np.ascontiguousarray(value, dtype=np.float64).reshape(-1).copy()
    finite = flat[np.isfinite(flat)]
    scale = float(np.max(np.abs(finite))) if finite.size else 1.0
    scale = scale if scale > 0 else 1.0
    flat = np.where(np.isfinite(flat), flat, 0.0) * 10.0 ** rng.uniform(-3, 3, flat.size)
    flat += scale * rng.uniform(-1, 1, flat.size) * (flat == 0)  # zeros would hide the magnitudes
    big = np.float64(scale * (1e15 if value.dtype.itemsize == 8 else 1e6))
    pairs = rng.permutation(flat.size)[: 2 * max(1, flat.size // 16)]
    flat[pairs[0::2]] = big
    flat[pairs[1::2][: pairs[0::2].size]] = -big
    return flat.astype(value.dtype).reshape(value.shape)


def _group(param: ParamSpec, axis: int) -> str:
    dim = param.dims[axis] if axis < len(param.dims) else None
    return dim if dim else f"{param.name}.shape[{axis}]"


def _cut(native: Sequence[ParamSpec], values: Sequence[Any], extents: dict[str, int], cut: dict[str, int]) -> list[Any]:
    sizes = {n: cut[g] for g, n in extents.items()}  # captured extent -> its cut (equal extents cut alike)
    out: list[Any] = []
    for param, value in zip(native, values, strict=True):
        if isinstance(value, np.ndarray):
            index = tuple(slice(0, cut[_group(param, axis)]) for axis in range(value.ndim))
            out.append(np.ascontiguousarray(value[index]).copy())
        elif isinstance(value, int) and not isinstance(value, bool) and value in sizes:
            out.append(sizes[value])
        else:
            out.append(value)
    return out
