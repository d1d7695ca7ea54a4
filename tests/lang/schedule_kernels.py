"""Loop nests for the schedule tests: legal ones of each shape, and ones a dependence forbids reordering.

Plain functions (the tests decorate them with ``autotune.tunable(schedule=True, ...)``); kernel
annotations are the kernel language's types, so mypy is kept out.
"""

from __future__ import annotations

from typing import no_type_check

from autotune import f64, i64


@no_type_check
def matmul(A: f64[:, :], B: f64[:, :], C: f64[:, :]):
    for i in range(A.shape[0]):
        for j in range(B.shape[1]):
            for k in range(A.shape[1]):
                C[i, j] += A[i, k] * B[k, j]


@no_type_check
def matmul_dot(A: f64[:, :], B: f64[:, :], C: f64[:, :]):
    """An imperfect nest: the band is (i, j), with a private accumulator and an inner k loop."""
    for i in range(A.shape[0]):
        for j in range(B.shape[1]):
            s = 0.0
            for k in range(A.shape[1]):
                s += A[i, k] * B[k, j]
            C[i, j] = s


@no_type_check
def jacobi_step(A: f64[:, :], B: f64[:, :]):
    for i in range(1, A.shape[0] - 1):
        for j in range(1, A.shape[1] - 1):
            B[i, j] = 0.2 * (A[i, j] + A[i - 1, j] + A[i + 1, j] + A[i, j - 1] + A[i, j + 1])


@no_type_check
def jacobi_2d(steps: i64, A: f64[:, :], B: f64[:, :]):
    """PolyBench's jacobi-2d: a time loop around two bands."""
    n = A.shape[0]
    for _t in range(steps):
        for i in range(1, n - 1):
            for j in range(1, n - 1):
                B[i, j] = 0.2 * (A[i, j] + A[i, j - 1] + A[i, j + 1] + A[i + 1, j] + A[i - 1, j])
        for i in range(1, n - 1):
            for j in range(1, n - 1):
                A[i, j] = 0.2 * (B[i, j] + B[i, j - 1] + B[i, j + 1] + B[i + 1, j] + B[i - 1, j])


@no_type_check
def row_scan(A: f64[:, :]):
    """Each row a prefix recurrence: distance (0, 1), so interchange and tiling are legal."""
    for i in range(A.shape[0]):
        for j in range(1, A.shape[1]):
            A[i, j] = A[i, j - 1] * 0.5 + A[i, j]


@no_type_check
def skewed(A: f64[:, :]):
    """``A[i, j]`` reads ``A[i - 1, j + 1]``: distance (1, -1); interchange would read it before it is written."""
    for i in range(1, A.shape[0]):
        for j in range(A.shape[1] - 1):
            A[i, j] = A[i - 1, j + 1] * 0.5 + 1.0


@no_type_check
def seidel_2d(A: f64[:, :]):
    """The 9-point Gauss-Seidel sweep updated in place (PolyBench's seidel-2d body)."""
    n = A.shape[0]
    for i in range(1, n - 1):
        for j in range(1, n - 1):
            A[i, j] = (
                A[i - 1, j - 1]
                + A[i - 1, j]
                + A[i - 1, j + 1]
                + A[i, j - 1]
                + A[i, j]
                + A[i, j + 1]
                + A[i + 1, j - 1]
                + A[i + 1, j]
                + A[i + 1, j + 1]
            ) / 9.0


@no_type_check
def gather_rows(A: f64[:, :], idx: i64[:], B: f64[:, :]):
    """A non-affine index (``idx[i]``): B's rows may repeat, so the order of its updates is unknown."""
    for i in range(idx.shape[0]):
        for j in range(A.shape[1]):
            B[idx[i], j] += A[i, j]


@no_type_check
def last_index_used(A: f64[:, :]) -> i64:
    """The loop variables are read after the nest: no reordering may change their last values."""
    i = 0
    j = 0
    for i in range(A.shape[0]):
        for j in range(A.shape[1]):
            A[i, j] += 1.0
    return i * 1000 + j


@no_type_check
def triangular(A: f64[:, :], B: f64[:, :]):
    """trmm-like: the inner loop's bounds depend on i, so the band ends at i (nothing is offered)."""
    n = A.shape[0]
    for i in range(n):
        for j in range(i + 1, n):
            B[i, j] += A[i, j] * 2.0


@no_type_check
def self_update(A: f64[:, :], C: f64[:, :]):
    """C[i, j] accumulates while the same loop reads C[i, k]: the element may not live in a local."""
    for i in range(C.shape[0]):
        for j in range(C.shape[1]):
            for k in range(C.shape[1]):
                C[i, j] += 0.5 * C[i, k] * A[k, j]


@no_type_check
def counts(A: i64[:, :], H: i64[:, :]):
    """An integer accumulator (H[i, j] += ...) beside a read of a shifted element of the same array."""
    for i in range(H.shape[0]):
        for j in range(H.shape[1] - 1):
            for k in range(A.shape[1]):
                H[i, j] += A[i, k] * (j + 1) + H[i, j + 1]


@no_type_check
def first_column(A: f64[:, :], H: f64[:, :]):
    """H[i, j] accumulates while the loop reads H[i, 0]: the same element when j is 0."""
    for i in range(H.shape[0]):
        for j in range(H.shape[1]):
            for k in range(A.shape[1]):
                H[i, j] += A[i, k] * H[i, 0]


@no_type_check
def two_mm(A: f64[:, :], B: f64[:, :], T: f64[:, :]):
    """An imperfect nest that distributes: T[i, j] is zeroed, then accumulated over k."""
    for i in range(A.shape[0]):
        for j in range(B.shape[1]):
            T[i, j] = 0.0
            for k in range(A.shape[1]):
                T[i, j] += A[i, k] * B[k, j]


@no_type_check
def two_passes(A: f64[:, :], x: f64[:], y: f64[:], t: f64[:]):
    """atax's shape: per row, a statement and two inner loops reusing one loop variable."""
    for i in range(A.shape[0]):
        t[i] = 0.0
        for j in range(A.shape[1]):
            t[i] = t[i] + A[i, j] * x[j]
        for j in range(A.shape[1]):
            y[j] = y[j] + A[i, j] * t[i]


@no_type_check
def carried_row(A: f64[:, :]):
    """Row i starts from what the inner loop of row i - 1 wrote: distributing would read it too early."""
    for i in range(1, A.shape[0]):
        A[i, 0] = A[i - 1, A.shape[1] - 1] * 0.5
        for j in range(1, A.shape[1]):
            A[i, j] += A[i, j - 1]


@no_type_check
def scalar_before(A: f64[:, :], B: f64[:, :]):
    """The statement before the inner loop sets a scalar the loop reads: only its last value would survive."""
    for i in range(A.shape[0]):
        s = A[i, 0] * 2.0
        for j in range(A.shape[1]):
            B[i, j] = s + A[i, j]
