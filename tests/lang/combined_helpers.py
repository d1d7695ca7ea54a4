"""Helpers for test_lang_combined: functions of the language that kernels call."""

from __future__ import annotations

from autotune import c128, f64, i64


def total(a: f64[:]) -> f64:
    s = 0.0
    for v in a:
        s += v
    return s


def scale(a: f64[:], k: f64) -> None:
    for i in range(len(a)):
        a[i] = a[i] * k


def mandel(x: f64, y: f64, max_iter: i64) -> i64:
    c = complex(x, y)
    z = 0.0j
    for i in range(max_iter):
        z = z * z + c
        if z.real * z.real + z.imag * z.imag >= 4.0:
            return i
    return max_iter


def rotate(z: c128, turns: i64):
    w = z
    for _ in range(turns):
        w = w * 1j
    return w
