from __future__ import annotations

import pytest

from autotune import Space, SpaceError


def test_default_size_and_grid() -> None:
    space = Space({"vectorize": [0, 4, 8], "fastmath": [False, True], "BLOCK": [16, 32]}, default={"BLOCK": 32})
    assert space.default == {"BLOCK": 32, "fastmath": False, "vectorize": 0}
    assert space.size == 12
    grid = list(space.grid())
    assert grid[0] == space.default and len(grid) == 12
    assert len({Space.key(p) for p in grid}) == 12
    assert space.user_constants() == ("BLOCK",)


def test_validate_fills_defaults_and_rejects_outsiders() -> None:
    space = Space({"unroll": [1, 2], "opt": [2, 3]})
    assert space.validate({"opt": 3}) == {"opt": 3, "unroll": 1}
    with pytest.raises(SpaceError, match="allowed"):
        space.validate({"opt": 1})
    with pytest.raises(SpaceError, match="unknown knob"):
        space.validate({"tile": 1})
    with pytest.raises(SpaceError):
        space.validate({"unroll": True})  # bool is not the int 1


@pytest.mark.parametrize(
    "knobs",
    [
        {"opt": [4]},
        {"fastmath": [1]},
        {"vectorize": [6]},
        {"unroll": []},
        {"unroll": "12"},
        {"B": [1, 1]},
        {"B": [float("nan")]},
        {"B": [[1]]},
        {"1x": [1]},
    ],
)
def test_bad_spaces(knobs: dict[str, object]) -> None:
    with pytest.raises(SpaceError):
        Space(knobs)  # type: ignore[arg-type]


def test_distributions_and_fingerprint() -> None:
    space = Space({"vectorize": [0, 8], "fastmath": [False, True]})
    dists = space.distributions()
    assert list(dists["vectorize"].choices) == [0, 8]
    assert space.fingerprint() == Space({"fastmath": [False, True], "vectorize": [0, 8]}).fingerprint()
    assert space.fingerprint() != Space({"vectorize": [0, 8]}).fingerprint()
