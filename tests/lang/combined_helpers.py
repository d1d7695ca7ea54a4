"""Helpers for test_lang_combined: functions of the language that kernels call."""

from __future__ import annotations

from autotune import f64


def total(a: f64[:]) -> f64:
    s = 0.0
    for v in a:
        s += v
    return s


def scale(a: f64[:], k: f64) -> None:
    for i in range(len(a)):
        a[i] = a[i] * k
