/* The suite kernels of examples/kernels.py written the obvious way in C, for bench/suite.py.
 *
 * Each kernel has a timing loop bench_<name>(..., reps) that calls it reps times and returns the total
 * wall time in ns (CLOCK_MONOTONIC), so Python (ctypes) overhead is not part of the figure. Kernels are
 * noipa: gcc must neither inline them into the loop nor hoist a "pure" call out of it.
 * Built at run time: gcc -O3 -march=native -shared -fPIC kernels.c -lm (and again with -ffast-math).
 */
#include <math.h>
#include <time.h>

#define NBINS 64
#define BLOCK 32 /* the suite's default tile size */
#define KERNEL __attribute__((noipa))

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static inline void barrier(void) { __asm__ volatile("" ::: "memory"); }

KERNEL double dot(const double *a, const double *b, long n) {
    double s = 0.0;
    for (long i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

KERNEL void saxpy(double alpha, const double *x, double *y, long n) {
    for (long i = 0; i < n; i++) y[i] += alpha * x[i];
}

KERNEL void stencil5(const double *a, double *out, long n, long m) {
    for (long i = 1; i < n - 1; i++)
        for (long j = 1; j < m - 1; j++)
            out[i * m + j] = 0.2 * (a[i * m + j] + a[(i - 1) * m + j] + a[(i + 1) * m + j] + a[i * m + j - 1] +
                                    a[i * m + j + 1]);
}

KERNEL void matmul(const double *a, const double *b, double *c, long n, long k, long m) {
    for (long i = 0; i < n * m; i++) c[i] = 0.0;
    for (long i0 = 0; i0 < n; i0 += BLOCK)
        for (long p0 = 0; p0 < k; p0 += BLOCK)
            for (long j0 = 0; j0 < m; j0 += BLOCK) {
                long i1 = i0 + BLOCK < n ? i0 + BLOCK : n;
                long p1 = p0 + BLOCK < k ? p0 + BLOCK : k;
                long j1 = j0 + BLOCK < m ? j0 + BLOCK : m;
                for (long i = i0; i < i1; i++)
                    for (long p = p0; p < p1; p++) {
                        double aip = a[i * k + p];
                        for (long j = j0; j < j1; j++) c[i * m + j] += aip * b[p * m + j];
                    }
            }
}

KERNEL void softmax(const double *x, double *out, long n, long m) {
    for (long i = 0; i < n; i++) {
        const double *row = x + i * m;
        double *o = out + i * m;
        double top = -INFINITY;
        for (long j = 0; j < m; j++) top = fmax(top, row[j]);
        double total = 0.0;
        for (long j = 0; j < m; j++) {
            double e = exp(row[j] - top);
            o[j] = e;
            total += e;
        }
        double inv = 1.0 / total;
        for (long j = 0; j < m; j++) o[j] *= inv;
    }
}

KERNEL void histogram(const double *x, long n, double lo, double hi, long *hist) {
    double scale = NBINS / (hi - lo);
    for (long i = 0; i < n; i++) {
        double v = x[i];
        if (lo <= v && v < hi) {
            long b = (long)((v - lo) * scale);
            if (b >= NBINS) b = NBINS - 1;
            hist[b] += 1;
        }
    }
}

/* ---- timing loops: total ns for reps calls ---- */
volatile double sink;

double bench_dot(const double *a, const double *b, long n, long reps) {
    double t0 = now_ns(), s = 0.0;
    for (long r = 0; r < reps; r++) {
        s += dot(a, b, n);
        barrier();
    }
    sink = s;
    return now_ns() - t0;
}

double bench_saxpy(double alpha, const double *x, double *y, long n, long reps) {
    double t0 = now_ns();
    for (long r = 0; r < reps; r++) {
        saxpy(alpha, x, y, n);
        barrier();
    }
    return now_ns() - t0;
}

double bench_stencil5(const double *a, double *out, long n, long m, long reps) {
    double t0 = now_ns();
    for (long r = 0; r < reps; r++) {
        stencil5(a, out, n, m);
        barrier();
    }
    return now_ns() - t0;
}

double bench_matmul(const double *a, const double *b, double *c, long n, long k, long m, long reps) {
    double t0 = now_ns();
    for (long r = 0; r < reps; r++) {
        matmul(a, b, c, n, k, m);
        barrier();
    }
    return now_ns() - t0;
}

double bench_softmax(const double *x, double *out, long n, long m, long reps) {
    double t0 = now_ns();
    for (long r = 0; r < reps; r++) {
        softmax(x, out, n, m);
        barrier();
    }
    return now_ns() - t0;
}

double bench_histogram(const double *x, long n, double lo, double hi, long *hist, long reps) {
    double t0 = now_ns();
    for (long r = 0; r < reps; r++) {
        histogram(x, n, lo, hi, hist);
        barrier();
    }
    return now_ns() - t0;
}
