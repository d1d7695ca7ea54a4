"""``Schedule``: a kernel's loop-nest schedule knobs (``@tunable(schedule=True)``), their space and seeds.

:mod:`autotune.lang` finds the bands and rewrites them (see its ``_schedule`` module for what each knob
does); this module turns the bands into knobs the tuner searches, with value lists sized for this
machine's caches, and seeds the search with the schedules an expert would try first (the untransformed
nest is the default; then the loop order that makes the most accesses unit-stride innermost, tiled for
the caches, with and without unroll-and-jam of the outer loop).

Tile sizes: powers of two from 8 to twice the side of a square tile of which three f64 blocks fit the L2
cache (``/sys/devices/system/cpu/cpu0/cache``; 1 MiB assumed when it cannot be read): 8-256 here.
"""

from __future__ import annotations

import ast
import copy
import math
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path

from .errors import SpaceError
from .lang import (
    Band,
    KernelInfo,
    Knobs,
    LoweredKernel,
    apply_schedule,
    choice_of,
    effective_jams,
    find_bands,
    lower,
    order_code,
)
from .source import Lowerer
from .space import Value

__all__ = ["JAM_FACTORS", "Schedule", "cache_sizes", "tile_sizes"]

#: unroll-and-jam factors offered for each loop (1: none)
JAM_FACTORS: tuple[int, ...] = (1, 2, 4, 8, 16)


@cache
def cache_sizes() -> dict[int, int]:
    """Data cache sizes in bytes by level (L1d, L2, L3) of CPU 0, from sysfs; {} when unreadable."""
    sizes: dict[int, int] = {}
    for index in sorted(Path("/sys/devices/system/cpu/cpu0/cache").glob("index*")):
        try:
            kind = (index / "type").read_text().strip()
            level = int((index / "level").read_text())
            text = (index / "size").read_text().strip()
        except (OSError, ValueError):
            continue
        if kind == "Instruction":
            continue
        unit = {"K": 1024, "M": 1024 * 1024}.get(text[-1:], 1)
        try:
            sizes[level] = int(text.rstrip("KM")) * unit
        except ValueError:
            continue
    return sizes


def tile_sizes() -> tuple[int, ...]:
    """The tile sizes offered (0, then powers of two up to twice the L2 square tile; see the module doc)."""
    l2 = cache_sizes().get(2, 1 << 20)
    side = math.isqrt(l2 // (3 * 8))
    return (0, *(t for t in (8, 16, 32, 64, 128, 256, 512) if t <= 2 * side))


class Schedule:
    """The schedule knobs of one kernel: its bands, their knobs, how to apply a parameter set."""

    def __init__(self, info: KernelInfo, *, noalias: bool) -> None:
        self.noalias = noalias
        self.bands: tuple[Band, ...] = find_bands(info, noalias=noalias)

    def knobs(self) -> dict[str, list[Value]]:
        """Every schedule knob with its values, the untransformed value first."""
        knobs: dict[str, list[Value]] = {}
        for band in self.bands:
            n = band.number
            if len(band.permutations) > 1:
                knobs[f"order{n}"] = [order_code(p) for p in band.permutations]
            if band.tileable:
                for var in band.names:
                    knobs[f"tile{n}_{var}"] = list(tile_sizes())
            if band.refusal is None:
                for var in band.names:
                    knobs[f"jam{n}_{var}"] = list(JAM_FACTORS)
                knobs[f"hoist{n}"] = [False, True]
        return knobs

    def merged(self, given: Mapping[str, Sequence[Value]]) -> dict[str, list[Value]]:
        """The derived knobs with the user's lists for some of them (``tile0_k=[0, 64]``) in their place;
        SpaceError for a schedule knob the kernel does not have, or a loop order its band may not take
        (an order the dependence test forbids is never run, so naming one is a mistake to report)."""
        derived = self.knobs()
        unknown = sorted(set(given) - set(derived))
        if unknown:
            raise SpaceError(
                f"unknown schedule knob(s) {', '.join(unknown)}; this kernel's: {', '.join(derived) or 'none'}"
                + "".join(f"\n  {b.describe()}" for b in self.bands)
            )
        for band in self.bands:
            name = f"order{band.number}"
            legal = derived.get(name, [])
            wrong = [v for v in given.get(name, []) if v not in legal or isinstance(v, bool)]
            if wrong:
                raise SpaceError(
                    f"{name}={wrong[0]!r} is not a legal loop order of band {band.number}; "
                    f"legal: {', '.join(map(str, legal))}\n  {band.describe()}"
                )
        return {**derived, **{name: list(values) for name, values in given.items()}}

    def apply(self, info: KernelInfo, params: Mapping[str, Value]) -> KernelInfo:
        """``info`` with the schedule ``params`` names (other parameters are ignored)."""
        return apply_schedule(info, self.bands, {b.number: choice_of(b, params) for b in self.bands})

    def canonical(self, params: Mapping[str, Value]) -> dict[str, Value]:
        """``params`` with the schedule knobs that change nothing set to their no-op value: an unroll-and-jam
        factor of the innermost loop of the chosen order, or one illegal in that order, is 1. The search
        treats two parameter sets with the same canonical form as one variant (the space is conditional:
        which jams count depends on the order)."""
        canonical = dict(params)
        for band in self.bands:
            choice = choice_of(band, params)
            applied = effective_jams(band, choice)
            for var in band.names:
                name = f"jam{band.number}_{var}"
                if name in canonical and var not in applied:
                    canonical[name] = 1
        return canonical

    def conditional(self) -> list[str]:
        """The knobs whose value matters only for some values of the others: the unroll-and-jam factors
        (a jam of the loop the order puts innermost, or an illegal one, changes nothing)."""
        return [f"jam{b.number}_{var}" for b in self.bands if b.refusal is None for var in b.names]

    def matters(self, name: str, params: Mapping[str, Value]) -> bool:
        """Whether the jam knob ``name`` changes the variant, given the other knobs in ``params``."""
        return self.canonical(dict(params, **{name: max(JAM_FACTORS)}))[name] != 1

    def lowerer(self, info: KernelInfo, *, strided: bool = False) -> Lowerer:
        """A lowerer that applies the schedule of each parameter set before lowering it."""

        def lowered(knobs: Knobs, consts: Mapping[str, Value], params: Mapping[str, Value]) -> LoweredKernel:
            return lower(self.apply(info, params), consts, knobs, strided=strided)

        return lowered

    def describe(self, info: KernelInfo, params: Mapping[str, Value]) -> str:
        """The scheduled kernel as Python, after a comment per band (its loops, what was applied or why
        nothing may be)."""
        lines = [f"# {b.describe()}" for b in self.bands] or ["# no loop nest of two or more range loops"]
        tree = copy.copy(self.apply(info, params).tree)
        tree.decorator_list = []
        return "\n".join(lines) + "\n" + ast.unparse(tree) + "\n"

    def seeds(self, default: Mapping[str, Value], names: Sequence[str]) -> list[dict[str, Value]]:
        """Schedules to try first, most aggressive first, as complete parameter sets (knobs not in ``names``
        are left out). Per band, with the loop order that makes the most accesses unit-stride innermost:

        - that order tiled (64 on the inner loops, 256 on the innermost, the outermost untiled: blocks of
          the inner loops reused across it), invariant loads hoisted and the outer loops unrolled and
          jammed by 2 and 4 (a register block of 8 updates per innermost iteration); then jammed by 4 and
          4 with the outermost loop in blocks of 16, the middle ones of 64 and the innermost whole (a
          2-loop band: its outer loop jammed by 4, then by 8, both tiled as before); the best of sweeps
          of matmul, gemm and stencil schedules on this machine;
        - the register-blocked schedule of a band that accumulates into an element (``C[i, j] += ...`` in
          a loop over ``k``): the reduction loop innermost, the loop of the element's last index outside it
          jammed by 16 and the one outside that by 8, accumulators hoisted, so 8 x 16 elements stay in
          registers while the reduction runs (with vectors of 8 doubles, 16 registers); also with the loop
          vectoriser off and fastmath (FMA), the fastest matmul on this machine where validation allows it;
        - that order tiled, then that order alone.
        """
        ordered: dict[str, Value] = {}
        blocked: dict[str, Value] = {}
        jams: list[dict[str, Value]] = [{}, {}]
        registers: dict[str, Value] = {}
        for band in self.bands:
            if band.refusal is not None:
                continue
            n = band.number
            order = max(band.permutations, key=lambda p: _unit_stride_score(band, p))
            ordered[f"order{n}"] = order_code(order)
            loops = [band.names[k] for k in order]
            tiles: dict[str, Value] = {f"tile{n}_{var}": 256 if var == loops[-1] else 64 for var in loops[1:]}
            blocked.update(tiles)
            choices = ([2, 4], [4, 4]) if len(loops) >= 3 else ([4], [8])
            for jammed, factors in zip(jams, choices, strict=True):
                jammed.update(tiles)
                for var, factor in zip(loops[:-1], factors, strict=False):
                    jammed[f"jam{n}_{var}"] = factor
                jammed[f"hoist{n}"] = True
            if len(loops) >= 3:  # the 4 x 4 jam with the innermost loop whole, the outer ones in blocks
                jams[1].update({f"tile{n}_{loops[0]}": 16, f"tile{n}_{loops[-1]}": 0})
            registers.update(_register_blocked(band))
        tiled = {**ordered, **blocked}
        scalar = {**registers, "vectorize": 1, "fastmath": True} if registers else {}
        seeds = [*({**ordered, **jammed} for jammed in jams), registers, scalar, tiled, ordered]
        made: list[dict[str, Value]] = []
        for seed in seeds:
            full = dict(default, **{k: v for k, v in seed.items() if k in names})
            if seed and full != default and full not in made:
                made.append(full)
        return made


def _register_blocked(band: Band) -> dict[str, Value]:
    """The register-blocked schedule of ``band`` (see :meth:`Schedule.seeds`), or {} when it has none."""
    for store in band.stores:
        reductions = [v for v in band.names if v not in store]
        along = store[-1]
        if not reductions or not along:
            continue
        rest = [v for v in band.names if v not in (reductions[-1], along)]
        order = tuple(band.names.index(v) for v in (*rest, along, reductions[-1]))
        if order not in band.permutations:
            continue
        n = band.number
        params: dict[str, Value] = {f"order{n}": order_code(order), f"jam{n}_{along}": 16, f"hoist{n}": True}
        if rest:
            params[f"jam{n}_{rest[-1]}"] = 8
        return params
    return {}


def _unit_stride_score(band: Band, order: Sequence[int]) -> tuple[int, int]:
    """How many accesses of the band run along their last index with the innermost loop of ``order``
    (then: prefer the source order)."""
    innermost = band.names[order[-1]]
    score = sum(1 for var in band.unit_stride if var == innermost)
    return score, -sum(abs(k - p) for k, p in enumerate(order))
