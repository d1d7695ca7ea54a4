"""Kernels called with arrays of any layout (tests/autotune/test_strided.py)."""

from __future__ import annotations

from autotune import f32, f64, i64, tunable


@tunable(vectorize=[0, 1, 4], unroll=[1, 2])
def axpy(a: f64, x: f64["n"], y: f64["n"]) -> None:
    for i in range(len(x)):
        y[i] += a * x[i]


@tunable()
def weighted(A: f64[:, :]) -> f64:
    t = 0.0
    for i in range(A.shape[0]):
        for j in range(A.shape[1]):
            t = t * 0.5 + A[i, j] * (i + 2 * j + 1)
    return t


@tunable()
def smooth(T: f32[:, :, :], out: f32[:, :, :]) -> None:
    for i in range(T.shape[0]):
        for j in range(T.shape[1]):
            row = T[i, j]
            dst = out[i, j]
            for k in range(1, len(row)):
                dst[k] = row[k] + row[k - 1] * 0.5


@tunable()
def count_steps(a: i64[:], lo: i64, step: i64) -> i64:
    t = 0
    for x in a[lo::step]:
        t = t * 3 + x
    return t


@tunable()
def stamp(A: f64[:, :], x: f64[:]) -> None:
    for i in range(A.shape[0]):
        for j in range(A.shape[1]):
            A[i, j] = A[i, j] * 2.0 + x[j] + i
