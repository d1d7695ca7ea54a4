"""Ten classic kernels as a numba user writes them: plain loops, scalars and ``math``, outputs passed in.

Each function is written once and compiled unchanged by both ``numba.njit(f)`` and ``autotune.tunable(...)(f)``
(numba ignores the annotations; autotune needs them for its native signature). Output arrays are
parameters, as in performance-minded numba code that keeps allocation out of the timed call (the kernel
language cannot create or return arrays yet). ``parallel_sum`` loops with ``prange``: autotune's when it
exists (:data:`PRANGE`), else ``range``; numba gets ``numba.prange`` (see ``bench/classic.py``).

Kernel annotations are the kernel language's types, not Python typing: ``@no_type_check`` keeps mypy out.
"""

from __future__ import annotations

import math
from typing import no_type_check

import autotune
from autotune.types import f64, i32, i64

__all__ = [
    "PRANGE",
    "black_scholes",
    "conv2d",
    "csr_matvec",
    "floyd_warshall",
    "kmeans_assign",
    "lu_inplace",
    "mandelbrot",
    "nbody_step",
    "parallel_sum",
    "prange",
    "prefix_sum",
]

#: Which ``prange`` ``parallel_sum`` loops with: ``"autotune.prange"`` or ``"range"`` (not there yet).
PRANGE = "autotune.prange" if hasattr(autotune, "prange") else "range"
prange = getattr(autotune, "prange", range)


@no_type_check
def mandelbrot(x0: f64, y0: f64, dx: f64, dy: f64, max_iter: i64, counts: i64[:, :]) -> None:
    """Escape count of each grid point ``c = (x0 + j*dx) + (y0 + i*dy)i`` (``max_iter`` if it stays bounded)."""
    for i in range(counts.shape[0]):
        ci = y0 + i * dy
        for j in range(counts.shape[1]):
            cr = x0 + j * dx
            zr = 0.0
            zi = 0.0
            n = 0
            while n < max_iter and zr * zr + zi * zi <= 4.0:
                zr, zi = zr * zr - zi * zi + cr, 2.0 * zr * zi + ci
                n += 1
            counts[i, j] = n


@no_type_check
def nbody_step(pos: f64[:, :], vel: f64[:, :], mass: f64[:], dt: f64, eps: f64) -> None:
    """One kick-drift step: pairwise softened gravity into the velocities, then the positions move."""
    n = pos.shape[0]
    for i in range(n):
        ax = 0.0
        ay = 0.0
        az = 0.0
        for j in range(n):
            dx = pos[j, 0] - pos[i, 0]
            dy = pos[j, 1] - pos[i, 1]
            dz = pos[j, 2] - pos[i, 2]
            r2 = dx * dx + dy * dy + dz * dz + eps * eps
            inv = mass[j] / (r2 * math.sqrt(r2))
            ax += dx * inv
            ay += dy * inv
            az += dz * inv
        vel[i, 0] += dt * ax
        vel[i, 1] += dt * ay
        vel[i, 2] += dt * az
    for i in range(n):
        for d in range(3):
            pos[i, d] += dt * vel[i, d]


@no_type_check
def conv2d(image: f64[:, :], kernel: f64[:, :], out: f64[:, :]) -> None:
    """'Valid' 2-D correlation of ``image`` with a small ``kernel`` (out is smaller by the kernel less one)."""
    kh = kernel.shape[0]
    kw = kernel.shape[1]
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            s = 0.0
            for di in range(kh):
                for dj in range(kw):
                    s += image[i + di, j + dj] * kernel[di, dj]
            out[i, j] = s


@no_type_check
def floyd_warshall(dist: f64[:, :]) -> None:
    """All-pairs shortest paths in place (``inf`` where there is no edge)."""
    n = dist.shape[0]
    for k in range(n):
        for i in range(n):
            for j in range(n):
                dist[i, j] = min(dist[i, j], dist[i, k] + dist[k, j])


@no_type_check
def lu_inplace(a: f64[:, :]) -> None:
    """Doolittle LU in place without pivoting: L (unit diagonal, not stored) below, U on and above."""
    n = a.shape[0]
    for k in range(n):
        for i in range(k + 1, n):
            a[i, k] /= a[k, k]
            f = a[i, k]
            for j in range(k + 1, n):
                a[i, j] -= f * a[k, j]


@no_type_check
def prefix_sum(x: f64[:], out: f64[:]) -> None:
    """Inclusive cumulative sum (``np.cumsum``)."""
    s = 0.0
    for i in range(len(x)):
        s += x[i]
        out[i] = s


@no_type_check
def kmeans_assign(points: f64[:, :], centroids: f64[:, :], labels: i64[:]) -> f64:
    """Nearest centroid of each point into ``labels``; returns the inertia (sum of squared distances)."""
    n = points.shape[0]
    k = centroids.shape[0]
    d = points.shape[1]
    total = 0.0
    for i in range(n):
        best = math.inf
        arg = 0
        for c in range(k):
            dist = 0.0
            for m in range(d):
                diff = points[i, m] - centroids[c, m]
                dist += diff * diff
            if dist < best:
                best = dist
                arg = c
        labels[i] = arg
        total += best
    return total


@no_type_check
def black_scholes(spot: f64[:], strike: f64[:], years: f64[:], rate: f64, sigma: f64, call: f64[:]) -> None:
    """European call prices (normal CDF through ``math.erf``)."""
    for i in range(len(spot)):
        s = spot[i]
        k = strike[i]
        t = years[i]
        vt = sigma * math.sqrt(t)
        d1 = (math.log(s / k) + (rate + 0.5 * sigma * sigma) * t) / vt
        d2 = d1 - vt
        n1 = 0.5 * (1.0 + math.erf(d1 / math.sqrt(2.0)))
        n2 = 0.5 * (1.0 + math.erf(d2 / math.sqrt(2.0)))
        call[i] = s * n1 - k * math.exp(-rate * t) * n2


@no_type_check
def csr_matvec(indptr: i32[:], indices: i32[:], data: f64[:], x: f64[:], y: f64[:]) -> None:
    """``y = A @ x`` for A in CSR form (scipy's int32 ``indptr``/``indices``)."""
    for row in range(len(y)):
        s = 0.0
        for jj in range(indptr[row], indptr[row + 1]):
            s += data[jj] * x[indices[jj]]
        y[row] = s


@no_type_check
def parallel_sum(x: f64[:]) -> f64:
    """Sum of ``sqrt(1 + x*x)`` over ``x`` with a ``prange`` loop (a reduction the compiler parallelizes)."""
    s = 0.0
    for i in prange(len(x)):
        s += math.sqrt(1.0 + x[i] * x[i])
    return s
