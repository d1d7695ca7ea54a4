"""The demo's kernel suite, kept importable here for the tests and benchmarks: the kernels themselves live
in the package (:mod:`autotune.demo_kernels`), so ``python -m autotune demo`` works from an installed wheel."""

from __future__ import annotations

from autotune import demo_kernels
from autotune.demo_kernels import *  # noqa: F403

__all__ = demo_kernels.__all__
