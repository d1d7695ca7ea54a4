"""The demo's kernel suite, kept importable here for the tests and benchmarks: the kernels themselves live
in the package (:mod:`autotune.demo_kernels`), so ``python -m autotune demo`` works from an installed wheel."""

from __future__ import annotations

from autotune.demo_kernels import (
    HIST,
    NBINS,
    SUITE,
    SuiteEntry,
    arguments,
    dot,
    histogram,
    matmul,
    saxpy,
    softmax,
    stencil5,
)

__all__ = [
    "HIST",
    "NBINS",
    "SUITE",
    "SuiteEntry",
    "arguments",
    "dot",
    "histogram",
    "matmul",
    "saxpy",
    "softmax",
    "stencil5",
]
