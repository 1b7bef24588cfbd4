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
 * instead of keeping an extra array alive between the two passes.
 *
 * This file is the worked example of docs/tutorials/08_writing_a_c_kernel.md: it is
 * declared in tge.h, listed in SOURCES of tinygrad_edu/backends/_build.py, wrapped in
 * tinygrad_edu/backends/c.py (numpy_ref.py holds its NumPy twin) and called by the GELU
 * Function in tinygrad_edu/ops/elementwise.py.
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
    return x * 0.5f * (1.0f + erff(x * (float)TGE_RSQRT2));
}

static inline double gelu_f64(double x)
{
    return x * 0.5 * (1.0 + erf(x * TGE_RSQRT2));
}

static inline float gelu_grad_f32(float x)
{
    const float cdf = 0.5f * (1.0f + erff(x * (float)TGE_RSQRT2));
    const float pdf = expf(-0.5f * x * x) * (float)TGE_RSQRT2PI;
    return cdf + x * pdf;
}

static inline double gelu_grad_f64(double x)
{
    const double cdf = 0.5 * (1.0 + erf(x * TGE_RSQRT2));
    const double pdf = exp(-0.5 * x * x) * TGE_RSQRT2PI;
    return cdf + x * pdf;
}

/* ---- the entry points: y = gelu(x) and gx = gy * gelu'(x), over n elements ---------- */

int tge_gelu_forward_f32(int64_t n, const float *x, int64_t x_len, float *y, int64_t y_len)
{
    int err = n < 0 ? TGE_EINVAL : tge_gelu_buffer(n, x, x_len);
    if (err == TGE_OK) err = tge_gelu_buffer(n, y, y_len);
    if (err != TGE_OK) return err;
    const int nt = tge_gelu_threads(n);
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static)
#endif
    for (int64_t i = 0; i < n; ++i)
        y[i] = gelu_f32(x[i]);
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
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static)
#endif
    for (int64_t i = 0; i < n; ++i)
        gx[i] = gy[i] * gelu_grad_f32(x[i]);
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
