"""PolyBench/C 4.2 kernels ported as plain Python loops, compiled unchanged by numba and by autotune.

Each function follows the loop nest of its PolyBench/C original (``linear-algebra/blas/gemm/gemm.c``,
``stencils/jacobi-2d/jacobi-2d.c``, ...): the same loop order, the same in-place updates, the same
temporaries (2mm's ``tmp``, atax's ``tmp``, doitgen's ``sum``) passed as arguments, scalars ``alpha`` and
``beta`` as f64 parameters. Nothing is blocked, interchanged or written as whole-array numpy operations:
these are the loop nests a loop-nest optimiser (tiling, interchange, unroll-and-jam) is meant to improve,
so the compiler gets them as PolyBench gives them. Extents come from the arrays' shapes; named dimensions
(``f64["ni", "nk"]``) state PolyBench's extents and are checked by autotune before each call.

Deviations from the C sources, all of them spelling only:

- ``2mm`` is ``two_mm`` (a Python name cannot start with a digit); doitgen's ``sum`` is ``sum_`` (it
  would shadow the built-in); ``heat-3d``'s time loop runs ``range(1, tsteps + 1)`` as in C.
- floyd-warshall works on f64 path lengths (``inf`` for no edge) where PolyBench uses int; its
  ``a < b ? a : b`` is the conditional expression.
- covariance's ``float_n`` is a parameter, as in PolyBench.

Every kernel here compiles under autotune in PolyBench's spelling; none needed a changed spelling (where
one would, the failing spelling is to be kept in a comment with its error, as ``_classic_kernels.py``
does).

Kernel annotations are the kernel language's types, not Python typing: ``@no_type_check`` keeps mypy out.
"""

from __future__ import annotations

from typing import no_type_check

from autotune.types import f64, i64

__all__ = [
    "atax",
    "bicg",
    "covariance",
    "doitgen",
    "floyd_warshall",
    "gemm",
    "gemver",
    "heat_3d",
    "jacobi_2d",
    "lu",
    "mvt",
    "seidel_2d",
    "syrk",
    "trmm",
    "two_mm",
]


# ---- linear-algebra/blas ----------------------------------------------------------------------------
@no_type_check
def gemm(alpha: f64, beta: f64, C: f64["ni", "nj"], A: f64["ni", "nk"], B: f64["nk", "nj"]) -> None:
    """``C := alpha*A*B + beta*C`` (PolyBench 4.2 loop order: i, then k outside j)."""
    ni, nj = C.shape
    nk = A.shape[1]
    for i in range(ni):
        for j in range(nj):
            C[i, j] *= beta
        for k in range(nk):
            for j in range(nj):
                C[i, j] += alpha * A[i, k] * B[k, j]


@no_type_check
def syrk(alpha: f64, beta: f64, C: f64["n", "n"], A: f64["n", "m"]) -> None:
    """``C := alpha*A*A**T + beta*C`` on the lower triangle of ``C``."""
    n, m = A.shape
    for i in range(n):
        for j in range(i + 1):
            C[i, j] *= beta
        for k in range(m):
            for j in range(i + 1):
                C[i, j] += alpha * A[i, k] * A[j, k]


@no_type_check
def trmm(alpha: f64, A: f64["m", "m"], B: f64["m", "n"]) -> None:
    """``B := alpha*A**T*B`` with ``A`` unit lower triangular (its diagonal and upper part are not read)."""
    m, n = B.shape
    for i in range(m):
        for j in range(n):
            for k in range(i + 1, m):
                B[i, j] += A[k, i] * B[k, j]
            B[i, j] = alpha * B[i, j]


@no_type_check
def gemver(
    alpha: f64,
    beta: f64,
    A: f64["n", "n"],
    u1: f64["n"],
    v1: f64["n"],
    u2: f64["n"],
    v2: f64["n"],
    w: f64["n"],
    x: f64["n"],
    y: f64["n"],
    z: f64["n"],
) -> None:
    """Rank-2 update of ``A``, then ``x := beta*A**T*y + z`` and ``w := alpha*A*x``, all in place."""
    n = A.shape[0]
    for i in range(n):
        for j in range(n):
            A[i, j] = A[i, j] + u1[i] * v1[j] + u2[i] * v2[j]
    for i in range(n):
        for j in range(n):
            x[i] = x[i] + beta * A[j, i] * y[j]
    for i in range(n):
        x[i] = x[i] + z[i]
    for i in range(n):
        for j in range(n):
            w[i] = w[i] + alpha * A[i, j] * x[j]


# ---- linear-algebra/kernels -------------------------------------------------------------------------
@no_type_check
def two_mm(
    alpha: f64,
    beta: f64,
    tmp: f64["ni", "nj"],
    A: f64["ni", "nk"],
    B: f64["nk", "nj"],
    C: f64["nj", "nl"],
    D: f64["ni", "nl"],
) -> None:
    """2mm: ``D := alpha*A*B*C + beta*D`` through ``tmp := alpha*A*B`` (innermost loops over the sum)."""
    ni, nj = tmp.shape
    nk = A.shape[1]
    nl = D.shape[1]
    for i in range(ni):
        for j in range(nj):
            tmp[i, j] = 0.0
            for k in range(nk):
                tmp[i, j] += alpha * A[i, k] * B[k, j]
    for i in range(ni):
        for j in range(nl):
            D[i, j] *= beta
            for k in range(nj):
                D[i, j] += tmp[i, k] * C[k, j]


@no_type_check
def atax(A: f64["m", "n"], x: f64["n"], y: f64["n"], tmp: f64["m"]) -> None:
    """``y := A**T*(A*x)`` (``tmp`` holds ``A*x``)."""
    m, n = A.shape
    for i in range(n):
        y[i] = 0.0
    for i in range(m):
        tmp[i] = 0.0
        for j in range(n):
            tmp[i] = tmp[i] + A[i, j] * x[j]
        for j in range(n):
            y[j] = y[j] + A[i, j] * tmp[i]


@no_type_check
def bicg(A: f64["n", "m"], s: f64["m"], q: f64["n"], p: f64["m"], r: f64["n"]) -> None:
    """BiCG's two products in one sweep: ``s := A**T*r`` and ``q := A*p``."""
    n, m = A.shape
    for i in range(m):
        s[i] = 0.0
    for i in range(n):
        q[i] = 0.0
        for j in range(m):
            s[j] = s[j] + r[i] * A[i, j]
            q[i] = q[i] + A[i, j] * p[j]


@no_type_check
def mvt(x1: f64["n"], x2: f64["n"], y_1: f64["n"], y_2: f64["n"], A: f64["n", "n"]) -> None:
    """``x1 += A*y_1`` and ``x2 += A**T*y_2``, in place."""
    n = A.shape[0]
    for i in range(n):
        for j in range(n):
            x1[i] = x1[i] + A[i, j] * y_1[j]
    for i in range(n):
        for j in range(n):
            x2[i] = x2[i] + A[j, i] * y_2[j]


@no_type_check
def doitgen(A: f64["nr", "nq", "np"], C4: f64["np", "np"], sum_: f64["np"]) -> None:
    """Multiresolution analysis kernel: each row ``A[r, q, :]`` becomes ``A[r, q, :] @ C4``, in place."""
    nr, nq, np_ = A.shape
    for r in range(nr):
        for q in range(nq):
            for p in range(np_):
                sum_[p] = 0.0
                for s in range(np_):
                    sum_[p] += A[r, q, s] * C4[s, p]
            for p in range(np_):
                A[r, q, p] = sum_[p]


# ---- datamining -------------------------------------------------------------------------------------
@no_type_check
def covariance(float_n: f64, data: f64["n", "m"], cov: f64["m", "m"], mean: f64["m"]) -> None:
    """Covariance of the ``m`` columns of ``data`` (``n`` observations); ``data`` is centred in place."""
    n, m = data.shape
    for j in range(m):
        mean[j] = 0.0
        for i in range(n):
            mean[j] += data[i, j]
        mean[j] /= float_n
    for i in range(n):
        for j in range(m):
            data[i, j] -= mean[j]
    for i in range(m):
        for j in range(i, m):
            cov[i, j] = 0.0
            for k in range(n):
                cov[i, j] += data[k, i] * data[k, j]
            cov[i, j] /= float_n - 1.0
            cov[j, i] = cov[i, j]


# ---- linear-algebra/solvers -------------------------------------------------------------------------
@no_type_check
def lu(A: f64["n", "n"]) -> None:
    """LU decomposition in place without pivoting (L unit lower, not stored on the diagonal; U upper)."""
    n = A.shape[0]
    for i in range(n):
        for j in range(i):
            for k in range(j):
                A[i, j] -= A[i, k] * A[k, j]
            A[i, j] /= A[j, j]
        for j in range(i, n):
            for k in range(i):
                A[i, j] -= A[i, k] * A[k, j]


# ---- medley -----------------------------------------------------------------------------------------
@no_type_check
def floyd_warshall(path: f64["n", "n"]) -> None:
    """All-pairs shortest path lengths in place (``inf`` where there is no edge)."""
    n = path.shape[0]
    for k in range(n):
        for i in range(n):
            for j in range(n):
                path[i, j] = path[i, j] if path[i, j] < path[i, k] + path[k, j] else path[i, k] + path[k, j]


# ---- stencils ---------------------------------------------------------------------------------------
@no_type_check
def jacobi_2d(tsteps: i64, A: f64["n", "n"], B: f64["n", "n"]) -> None:
    """``tsteps`` double sweeps of the 5-point Jacobi stencil, ``A`` into ``B`` and back."""
    n = A.shape[0]
    for _t in range(tsteps):
        for i in range(1, n - 1):
            for j in range(1, n - 1):
                B[i, j] = 0.2 * (A[i, j] + A[i, j - 1] + A[i, 1 + j] + A[1 + i, j] + A[i - 1, j])
        for i in range(1, n - 1):
            for j in range(1, n - 1):
                A[i, j] = 0.2 * (B[i, j] + B[i, j - 1] + B[i, 1 + j] + B[1 + i, j] + B[i - 1, j])


@no_type_check
def seidel_2d(tsteps: i64, A: f64["n", "n"]) -> None:
    """``tsteps`` Gauss-Seidel sweeps of the 9-point stencil, in place (each point reads updated ones)."""
    n = A.shape[0]
    for _t in range(tsteps):
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
def heat_3d(tsteps: i64, A: f64["n", "n", "n"], B: f64["n", "n", "n"]) -> None:
    """``tsteps`` double steps of the 3-D heat equation's 7-point stencil, ``A`` into ``B`` and back."""
    n = A.shape[0]
    for _t in range(1, tsteps + 1):
        for i in range(1, n - 1):
            for j in range(1, n - 1):
                for k in range(1, n - 1):
                    B[i, j, k] = (
                        0.125 * (A[i + 1, j, k] - 2.0 * A[i, j, k] + A[i - 1, j, k])
                        + 0.125 * (A[i, j + 1, k] - 2.0 * A[i, j, k] + A[i, j - 1, k])
                        + 0.125 * (A[i, j, k + 1] - 2.0 * A[i, j, k] + A[i, j, k - 1])
                        + A[i, j, k]
                    )
        for i in range(1, n - 1):
            for j in range(1, n - 1):
                for k in range(1, n - 1):
                    A[i, j, k] = (
                        0.125 * (B[i + 1, j, k] - 2.0 * B[i, j, k] + B[i - 1, j, k])
                        + 0.125 * (B[i, j + 1, k] - 2.0 * B[i, j, k] + B[i, j - 1, k])
                        + 0.125 * (B[i, j, k + 1] - 2.0 * B[i, j, k] + B[i, j, k - 1])
                        + B[i, j, k]
                    )
