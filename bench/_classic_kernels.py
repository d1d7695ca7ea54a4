"""Ten classic kernels as numba users write them: loops over scalars, views and complex numbers, helpers.

Each function is written once and compiled unchanged by both ``numba.njit`` and ``autotune.tunable(...)``
(numba ignores the annotations; autotune needs them for its native signature). They follow the numba
documentation's style: kernels allocate and return their result (``np.empty_like``, ``np.zeros``) where
numba users would, take row views (``p = pos[i]``), call small helper functions, use complex numbers, and
the reduction loops with ``prange`` (``autotune.prange`` here; ``bench/classic.py`` gives numba the same code
with ``numba.prange`` and the helpers ``njit``-ed). Kernels that numba users run in place on their input
(n-body, Floyd-Warshall, LU) still do.

Where the typical spelling does not compile under autotune yet, it is kept in a comment with the exact
error, above the closest spelling that does.

Kernel annotations are the kernel language's types, not Python typing: ``@no_type_check`` keeps mypy out.
"""

from __future__ import annotations

import math
from typing import no_type_check

import numpy as np

from autotune import prange
from autotune.types import f64, i32, i64

__all__ = [
    "black_scholes",
    "conv2d",
    "csr_matvec",
    "floyd_warshall",
    "kmeans_assign",
    "lu_inplace",
    "mandelbrot",
    "nbody_step",
    "normal_cdf",
    "parallel_sum",
    "prefix_sum",
    "squared_distance",
]


@no_type_check
def mandel(x: f64, y: f64, max_iter: i64) -> i64:
    """Escape count of ``c = x + yi`` (``max_iter`` if it stays bounded): the numba documentation's helper."""
    c = complex(x, y)
    z = 0.0j
    for n in range(max_iter):
        z = z * z + c
        if z.real * z.real + z.imag * z.imag >= 4.0:
            return n
    return max_iter


@no_type_check
def mandelbrot(min_x: f64, max_x: f64, min_y: f64, max_y: f64, height: i64, width: i64, max_iter: i64) -> i64[:, :]:
    """Escape count of each grid point ``c = x + yi`` of the rectangle (``max_iter`` if it stays bounded)."""
    image = np.empty((height, width), dtype=np.int64)
    pixel_x = (max_x - min_x) / width
    pixel_y = (max_y - min_y) / height
    for i in range(height):
        y = min_y + i * pixel_y
        for j in range(width):
            image[i, j] = mandel(min_x + j * pixel_x, y, max_iter)
    return image


@no_type_check
def nbody_step(pos: f64[:, :], vel: f64[:, :], mass: f64[:], dt: f64, eps: f64) -> None:
    """One kick-drift step in place: pairwise softened gravity into the velocities, then the positions move."""
    n = pos.shape[0]
    for i in range(n):
        p = pos[i]
        ax = ay = az = 0.0
        for j in range(n):
            q = pos[j]
            dx = q[0] - p[0]
            dy = q[1] - p[1]
            dz = q[2] - p[2]
            r2 = dx * dx + dy * dy + dz * dz + eps * eps
            inv = mass[j] / (r2 * math.sqrt(r2))
            ax += dx * inv
            ay += dy * inv
            az += dz * inv
        v = vel[i]
        v[0] += dt * ax
        v[1] += dt * ay
        v[2] += dt * az
    for p, v in zip(pos, vel):  # noqa: B905  (numba 0.68 fails on zip(..., strict=True): AssertionError)
        # p += dt * v  -> KernelSyntaxError: 'p' holds array views; it cannot be a loop variable or take +=
        for d in range(3):
            p[d] += dt * v[d]


@no_type_check
def conv2d(image: f64[:, :], kernel: f64[:, :]) -> f64[:, :]:
    """'Valid' 2-D correlation of ``image`` with a small ``kernel`` (smaller than ``image`` by it less one)."""
    h, w = image.shape
    kh, kw = kernel.shape
    out = np.zeros((h - kh + 1, w - kw + 1))
    for i in range(h - kh + 1):
        for j in range(w - kw + 1):
            s = 0.0
            for di in range(kh):
                for dj in range(kw):
                    s += image[i + di, j + dj] * kernel[di, dj]
            out[i, j] = s
    return out


@no_type_check
def floyd_warshall(dist: f64[:, :]) -> None:
    """All-pairs shortest paths in place (``inf`` where there is no edge)."""
    # In place, as the classic kernel is; ``dist = graph.copy()`` then returning ``dist`` also compiles.
    n = dist.shape[0]
    for k in range(n):
        for i in range(n):
            for j in range(n):
                dist[i, j] = min(dist[i, j], dist[i, k] + dist[k, j])


@no_type_check
def lu_inplace(a: f64[:, :]) -> None:
    """Doolittle LU in place without pivoting: L (unit diagonal, not stored) below, U on and above."""
    # The numpy-flavoured row update ``a[i, k + 1:] -= a[i, k] * a[k, k + 1:]`` fails:
    # -> KernelSyntaxError: cannot assign to 'a[i, k + 1:]', an array view (a row, column or slice): assign
    #    its elements in a loop
    # and returning ``L, U`` (``-> tuple[f64[:, :], f64[:, :]]``) fails: a kernel returns a tuple of real
    # scalar types (tuple[f64, i64]).
    n = a.shape[0]
    for k in range(n):
        pivot = a[k]
        for i in range(k + 1, n):
            row = a[i]
            row[k] /= pivot[k]
            f = row[k]
            for j in range(k + 1, n):
                row[j] -= f * pivot[j]


@no_type_check
def prefix_sum(x: f64[:]) -> f64[:]:
    """Inclusive cumulative sum (``np.cumsum``) as a new array."""
    out = np.empty_like(x)
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i]
        out[i] = s
    return out


@no_type_check
def squared_distance(a: f64[:], b: f64[:]) -> f64:
    """``sum((a - b)**2)`` of two vectors of one length."""
    s = 0.0
    for m in range(a.shape[0]):
        d = a[m] - b[m]
        s += d * d
    return s


@no_type_check
def kmeans_assign(points: f64[:, :], centroids: f64[:, :]) -> i64[:]:
    """Label of the nearest centroid of each point (the k-means assignment step)."""
    # Returning the inertia too, ``return labels, total`` with ``-> tuple[i64[:], f64]``, fails:
    # -> KernelSyntaxError: a kernel returns a tuple of real scalar types (tuple[f64, i64]), not tuple[i64[:], f64]
    n = points.shape[0]
    labels = np.empty(n, dtype=np.int64)
    for i in range(n):
        p = points[i]
        best = np.inf
        label = 0
        for c in range(centroids.shape[0]):
            d = squared_distance(p, centroids[c])
            if d < best:
                best = d
                label = c
        labels[i] = label
    return labels


@no_type_check
def normal_cdf(x: f64) -> f64:
    """The standard normal distribution function, through ``math.erf``."""
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


@no_type_check
def black_scholes(spot: f64[:], strike: f64[:], years: f64[:], rate: f64, sigma: f64) -> f64[:]:
    """European call prices."""
    call = np.empty_like(spot)
    for i in range(spot.shape[0]):
        s = spot[i]
        k = strike[i]
        t = years[i]
        vt = sigma * math.sqrt(t)
        d1 = (math.log(s / k) + (rate + 0.5 * sigma * sigma) * t) / vt
        d2 = d1 - vt
        call[i] = s * normal_cdf(d1) - k * math.exp(-rate * t) * normal_cdf(d2)
    return call


@no_type_check
def csr_matvec(indptr: i32[:], indices: i32[:], data: f64[:], x: f64[:]) -> f64[:]:
    """``A @ x`` for A in CSR form (scipy's int32 ``indptr``/``indices``)."""
    n_rows = indptr.shape[0] - 1
    y = np.zeros(n_rows)
    for row in range(n_rows):
        s = 0.0
        for jj in range(indptr[row], indptr[row + 1]):
            s += data[jj] * x[indices[jj]]
        y[row] = s
    return y


@no_type_check
def parallel_sum(x: f64[:]) -> f64:
    """Sum of ``sqrt(1 + x*x)`` over ``x`` with a ``prange`` loop (a reduction split across threads)."""
    s = 0.0
    for i in prange(x.shape[0]):
        s += math.sqrt(1.0 + x[i] * x[i])
    return s
