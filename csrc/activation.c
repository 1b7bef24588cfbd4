/*
 * activation.c - the exact GELU, forward and backward, float32 and float64:
 * tge_gelu_{forward, backward}_{f32, f64}.
 *
 *   gelu(x)  = x * Phi(x),            Phi(x) = (1 + erf(x / sqrt 2)) / 2   (normal CDF)
 *   gelu'(x) = Phi(x) + x * phi(x),   phi(x) = exp(-x^2 / 2) / sqrt(2 pi)  (normal PDF)
 *
 * NumPy has no erf, so without this file the exact GELU would call Python's math.erf once
 * per element.  C99's <math.h> has erf (double) and erff (float): one pass over the array
 * computes the whole activation, and the backward pass recomputes Phi and phi from x
 * instead of keeping an extra array alive between the two passes.  float64 uses libm's erf
 * and exp; float32 uses tge_normal_cdf_fast / tge_expf_fast (tge_internal.h), branch-free
 * formulas the compiler turns into vector code (libm's erff is one call per element, about
 * 20 ns; the vector loop takes 2-4 ns per element), Phi within a relative 3e-7.
 *
 * This file is the worked example of docs/tutorials/08_writing_a_c_kernel.md: it is
 * declared in tge.h, found by the build among the .c files of csrc, reached through the generic
 * elementwise wrapper of tinygrad_edu/backends/c/ (its NumPy twin is
 * backends/numpy_ref/activation.py) and called by the GELU Function in
 * tinygrad_edu/ops/elementwise.py.
 *
 * The work is elementwise, so there is no blocking to do: the loop is the reference loop,
 * split into contiguous ranges over threads when the array is large enough.  Results do
 * not depend on the thread count (each element is computed alone).
 */
#include <math.h>

#include "tge_internal.h"

/* About how many flops one erf + exp costs: the threading measure per element. */
#define TGE_GELU_WORK_PER_ELEMENT 32

/* 1/sqrt(2) and 1/sqrt(2 pi), to double precision. */
#define TGE_RSQRT2 0.70710678118654752440
#define TGE_RSQRT2PI 0.39894228040143267794

/* One buffer's check: it must hold exactly n elements, and may be NULL only when
   n == 0 (n itself is checked by the caller). */
static int tge_gelu_buffer(int64_t n, const void *ptr, int64_t len)
{
    if (len != n) return TGE_ESIZE;
    if (n > 0 && !ptr) return TGE_EINVAL;
    return TGE_OK;
}

/* Threads for n elements: tge_threads_for() with the work measure saturated. */
static int tge_gelu_threads(int64_t n)
{
    const int64_t work = n > INT64_MAX / TGE_GELU_WORK_PER_ELEMENT
                             ? INT64_MAX : n * TGE_GELU_WORK_PER_ELEMENT;
    return tge_threads_for(work, n);
}

/* ---- one element ------------------------------------------------------------------ */

static inline float gelu_f32(float x)
{
    return x * tge_normal_cdf_fast(x);
}

static inline double gelu_f64(double x)
{
    return x * 0.5 * (1.0 + erf(x * TGE_RSQRT2));
}

static inline float gelu_grad_f32(float x)
{
    const float cdf = tge_normal_cdf_fast(x);
    const float pdf = tge_expf_fast(-0.5f * x * x) * (float)TGE_RSQRT2PI;
    return cdf + x * pdf;
}

static inline double gelu_grad_f64(double x)
{
    const double cdf = 0.5 * (1.0 + erf(x * TGE_RSQRT2));
    const double pdf = exp(-0.5 * x * x) * TGE_RSQRT2PI;
    return cdf + x * pdf;
}

/* ---- the entry points: y = gelu(x) and gx = gy * gelu'(x), over n elements ---------- */

/* The float32 loops over one span of elements, as separate functions: TGE_CLONES compiles
   them for AVX-512 and AVX2 as well, and restrict + omp simd let the compiler turn the
   branch-free formulas into vector code.  The entry points hand spans to the threads. */
#define TGE_GELU_SPAN 4096

TGE_CLONES static void gelu_fwd_span_f32(int64_t n, const float *restrict x, float *restrict y)
{
#pragma omp simd
    for (int64_t i = 0; i < n; ++i)
        y[i] = gelu_f32(x[i]);
}

TGE_CLONES static void gelu_bwd_span_f32(int64_t n, const float *restrict gy,
                                         const float *restrict x, float *restrict gx)
{
#pragma omp simd
    for (int64_t i = 0; i < n; ++i)
        gx[i] = gy[i] * gelu_grad_f32(x[i]);
}

int tge_gelu_forward_f32(int64_t n, const float *x, int64_t x_len, float *y, int64_t y_len)
{
    int err = n < 0 ? TGE_EINVAL : tge_gelu_buffer(n, x, x_len);
    if (err == TGE_OK) err = tge_gelu_buffer(n, y, y_len);
    if (err != TGE_OK) return err;
    const int nt = tge_gelu_threads(n);
    const int64_t spans = n / TGE_GELU_SPAN + (n % TGE_GELU_SPAN != 0);
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static)
#endif
    for (int64_t s = 0; s < spans; ++s) {
        const int64_t lo = s * TGE_GELU_SPAN;
        gelu_fwd_span_f32(tge_min64(TGE_GELU_SPAN, n - lo), x + lo, y + lo);
    }
    (void)nt;
    return TGE_OK;
}

int tge_gelu_forward_f64(int64_t n, const double *x, int64_t x_len, double *y, int64_t y_len)
{
    int err = n < 0 ? TGE_EINVAL : tge_gelu_buffer(n, x, x_len);
    if (err == TGE_OK) err = tge_gelu_buffer(n, y, y_len);
    if (err != TGE_OK) return err;
    const int nt = tge_gelu_threads(n);
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static)
#endif
    for (int64_t i = 0; i < n; ++i)
        y[i] = gelu_f64(x[i]);
    (void)nt;
    return TGE_OK;
}

int tge_gelu_backward_f32(int64_t n, const float *gy, int64_t gy_len,
                          const float *x, int64_t x_len, float *gx, int64_t gx_len)
{
    int err = n < 0 ? TGE_EINVAL : tge_gelu_buffer(n, gy, gy_len);
    if (err == TGE_OK) err = tge_gelu_buffer(n, x, x_len);
    if (err == TGE_OK) err = tge_gelu_buffer(n, gx, gx_len);
    if (err != TGE_OK) return err;
    const int nt = tge_gelu_threads(n);
    const int64_t spans = n / TGE_GELU_SPAN + (n % TGE_GELU_SPAN != 0);
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static)
#endif
    for (int64_t s = 0; s < spans; ++s) {
        const int64_t lo = s * TGE_GELU_SPAN;
        gelu_bwd_span_f32(tge_min64(TGE_GELU_SPAN, n - lo), gy + lo, x + lo, gx + lo);
    }
    (void)nt;
    return TGE_OK;
}

int tge_gelu_backward_f64(int64_t n, const double *gy, int64_t gy_len,
                          const double *x, int64_t x_len, double *gx, int64_t gx_len)
{
    int err = n < 0 ? TGE_EINVAL : tge_gelu_buffer(n, gy, gy_len);
    if (err == TGE_OK) err = tge_gelu_buffer(n, x, x_len);
    if (err == TGE_OK) err = tge_gelu_buffer(n, gx, gx_len);
    if (err != TGE_OK) return err;
    const int nt = tge_gelu_threads(n);
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static)
#endif
    for (int64_t i = 0; i < n; ++i)
        gx[i] = gy[i] * gelu_grad_f64(x[i]);
    (void)nt;
    return TGE_OK;
}
