"""``Space``: the knobs of a tunable kernel and the values each may take.

Built-in knobs map to what LLVM understands (loop metadata, fast-math flags, pipeline level, preferred
vector width); any other name is a user constant that the kernel declares as a ``Const`` parameter.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from .errors import SpaceError

__all__ = ["BUILTIN_KNOBS", "Space", "Value", "is_schedule_knob"]

Value = int | float | bool

#: Built-in knob -> (what it means, check of one value).
BUILTIN_KNOBS: dict[str, str] = {
    "unroll": "loop unroll count on innermost loops (0: LLVM decides, 1: no unrolling)",
    "vectorize": "forced vector width on innermost loops (0: LLVM decides, 1: scalar)",
    "interleave": "loop interleave count on innermost loops (0: LLVM decides)",
    "fastmath": "reassoc/contract/arcp/nsz/afn flags on float operations (True/False)",
    "opt": "optimisation pipeline level 0-3",
    "prefer_vector_width": "the prefer-vector-width function attribute in bits (0: target default)",
    "veclib": "vectorised math calls go to glibc's libmvec (True/False)",
    "parallel": "threads of prange loops (0 or 1: serial, k >= 2: k threads); only kernels with a prange",
}


#: Names of loop-nest schedule knobs (``@tunable(schedule=True)``; see :mod:`autotune.schedule`): ``order0``,
#: ``tile0_i``, ``jam0_i``, ``hoist0`` for band 0 and its loop ``i``.
_SCHEDULE_KNOB = re.compile(r"(order|hoist)\d+|(tile|jam)\d+_[A-Za-z_]\w*")


def is_schedule_knob(name: str) -> bool:
    """Whether ``name`` is a loop-nest schedule knob rather than a user constant."""
    return _SCHEDULE_KNOB.fullmatch(name) is not None


def _check_schedule(name: str, value: object) -> None:
    if name.startswith("hoist"):
        ok = isinstance(value, bool)
    else:
        least = 0 if name.startswith("tile") else 1
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= least
    if not ok:
        raise SpaceError(f"schedule knob {name!r}: invalid value {value!r}")


def _check_builtin(name: str, value: object) -> None:
    if name in ("fastmath", "veclib"):
        ok = isinstance(value, bool)
    elif isinstance(value, bool) or not isinstance(value, int):
        ok = False
    elif name == "opt":
        ok = 0 <= value <= 3
    elif name == "prefer_vector_width":
        ok = value in (0, 64, 128, 256, 512)
    elif name == "vectorize":
        ok = 0 <= value <= 64 and value & (value - 1) == 0
    else:
        ok = 0 <= value <= 64
    if not ok:
        raise SpaceError(f"knob {name!r}: invalid value {value!r} ({BUILTIN_KNOBS[name]})")


class Space:
    """Named knobs with finite value lists; the first value (or ``default``) is the default variant.

    >>> space = Space({"vectorize": [0, 4, 8], "BLOCK": [32, 64]}, default={"BLOCK": 64})
    >>> space.default
    {'BLOCK': 64, 'vectorize': 0}
    >>> space.size
    6
    """

    def __init__(
        self, knobs: Mapping[str, Sequence[Value]] | None = None, *, default: Mapping[str, Value] | None = None
    ):
        self._values: dict[str, tuple[Value, ...]] = {}
        for name, values in sorted((knobs or {}).items()):
            if not isinstance(name, str) or not name.isidentifier():
                raise SpaceError(f"knob names are identifiers, got {name!r}")
            if isinstance(values, str | bytes) or not isinstance(values, Sequence) or not values:
                raise SpaceError(f"knob {name!r}: give a non-empty list of values, got {values!r}")
            for value in values:
                if name in BUILTIN_KNOBS:
                    _check_builtin(name, value)
                elif is_schedule_knob(name):
                    _check_schedule(name, value)
                elif not isinstance(value, int | float | bool) or (
                    isinstance(value, float) and not math.isfinite(value)
                ):
                    raise SpaceError(f"constant {name!r}: values are int, float or bool, got {value!r}")
            if len(set(map(repr, values))) != len(values):
                raise SpaceError(f"knob {name!r}: duplicate values in {list(values)!r}")
            self._values[name] = tuple(values)
        chosen = {name: values[0] for name, values in self._values.items()}
        for name, value in (default or {}).items():
            if name not in self._values:
                raise SpaceError(f"default names unknown knob {name!r}; knobs: {', '.join(self._values) or 'none'}")
            if not any(value == v and type(value) is type(v) for v in self._values[name]):
                raise SpaceError(f"default {name}={value!r} is not one of {list(self._values[name])!r}")
            chosen[name] = value
        self._default = chosen

    @property
    def names(self) -> tuple[str, ...]:
        """Knob names, sorted."""
        return tuple(self._values)

    def values(self, name: str) -> tuple[Value, ...]:
        """The values knob ``name`` may take."""
        return self._values[name]

    @property
    def default(self) -> dict[str, Value]:
        """Parameters of the default variant."""
        return dict(self._default)

    @property
    def size(self) -> int:
        """Number of distinct variants."""
        return math.prod(len(v) for v in self._values.values())

    def user_constants(self) -> tuple[str, ...]:
        """Knob names that are not built in: the kernel's ``Const`` parameters."""
        return tuple(n for n in self._values if n not in BUILTIN_KNOBS and not is_schedule_knob(n))

    def schedule_knobs(self) -> tuple[str, ...]:
        """Knob names that are loop-nest schedule knobs."""
        return tuple(n for n in self._values if is_schedule_knob(n))

    def validate(self, params: Mapping[str, Any]) -> dict[str, Value]:
        """Complete ``params`` with defaults; SpaceError for unknown names or values outside the space."""
        unknown = sorted(set(params) - set(self._values))
        if unknown:
            raise SpaceError(
                f"unknown knob(s) {', '.join(unknown)}; this kernel's knobs: {', '.join(self._values) or 'none'}"
            )
        full = self.default
        for name, value in params.items():
            if not any(value == v and type(value) is type(v) for v in self._values[name]):
                raise SpaceError(f"{name}={value!r} is not in the space; allowed: {list(self._values[name])!r}")
            full[name] = value
        return full

    def grid(self) -> Iterator[dict[str, Value]]:
        """Every variant, default first."""
        default = self.default
        yield default
        for combo in itertools.product(*self._values.values()):
            params = dict(zip(self._values, combo, strict=True))
            if params != default:
                yield params

    @staticmethod
    def key(params: Mapping[str, Any]) -> str:
        """A canonical text form of a parameter set (dedupes trials, names variants)."""
        return json.dumps(dict(sorted(params.items())), sort_keys=True, separators=(",", ":"))

    def fingerprint(self) -> str:
        """Stable short hash of the names, values and default (part of study names)."""
        blob = json.dumps([list(self._values.items()), sorted(self._default.items())], default=repr)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]

    def distributions(self) -> dict[str, Any]:
        """optuna ``CategoricalDistribution`` per knob."""
        from optuna.distributions import CategoricalDistribution

        return {name: CategoricalDistribution(list(values)) for name, values in self._values.items()}

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={list(v)!r}" for k, v in self._values.items())
        return f"Space({inner})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Space) and (self._values, self._default) == (other._values, other._default)

    def __hash__(self) -> int:
        return hash(self.fingerprint())
