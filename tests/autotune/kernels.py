"""Small kernels the front-end tests share (defined in a file so inspect.getsource works)."""

from __future__ import annotations

import autotune
from autotune import Const, boolean, f32, f64, i32, i64


@autotune.tunable(vectorize=[0, 4, 8], unroll=[0, 2], fastmath=[False, True])
def dot(a: f64["n"], b: f64["n"], n: i64) -> f64:
    s = 0.0
    for i in range(n):
        s += a[i] * b[i]
    return s


@autotune.tunable
def axpb(x: f64, y: f64) -> f64:
    return 2.0 * x + y


@autotune.tunable(vectorize=[0, 8])
def saxpy(alpha: f64, x: f64["n"], y: f64["n"]) -> None:
    for i in range(len(x)):
        y[i] += alpha * x[i]


@autotune.tunable
def floordiv(a: i64, b: i64) -> i64:
    return a // b


@autotune.tunable
def mixed(flag: boolean, k: i32, x: f32) -> f64:
    if flag:
        return float(k) + x
    return -1.0


@autotune.tunable(BLOCK=[2, 4])
def block_sum(x: f64[:, :], BLOCK: Const) -> f64:
    s = 0.0
    for i in range(0, x.shape[0], BLOCK):
        for j in range(x.shape[1]):
            s += x[i, j]
    return s


@autotune.tunable(key=lambda x: len(x) // 100)
def keyed_sum(x: f64[:]) -> f64:
    s = 0.0
    for i in range(len(x)):
        s += x[i]
    return s


@autotune.tunable
def is_positive(x: f64) -> boolean:
    return x > 0.0
