/*
 * relu.c - the rectifier, forward and backward, float32 and float64:
 * tge_relu_{forward, backward}_{f32, f64}.
 *
 *   forward   y[i]  = x[i] <= 0 ? 0 : x[i]     (x where x > 0, else +0; NaN stays NaN)
 *   backward  gx[i] = gy[i] * (x[i] > 0)
 *
 * The forward is a select, not a multiply by the 0/1 of the comparison: -inf * 0 would be
 * NaN, and relu(-inf) is 0 (as PyTorch).  The NumPy reference does the same select
 * (np.where(x <= 0, 0, x)), so the two agree to the bit, NaN and signed zeros included.
 *
 * Why a kernel for something so simple: in NumPy each pass is two (the comparison writes
 * a bool array, then a multiply casts it back to float), on arrays of megabytes (the
 * CNN's first activation is 5.5 MB at batch 64).  One pass here, auto-vectorised for
 * AVX-512 / AVX2 (TGE_CLONES), split over threads for large arrays.
 * Measured (64x32x26x26 float32, one thread): forward+backward ~0.8 ms, NumPy ~2.2 ms.
 */
#include "tge_internal.h"

#ifndef _OPENMP  /* a build without OpenMP: tge_threads_for() is always 1 */
#define omp_get_thread_num() 0
#define omp_get_num_threads() 1
#endif

/* Threads for n elements (memory-bound: an element costs about 2 multiply-adds of a
   GEMM, so only arrays of a million elements or more are split). */
static int tge_relu_threads(int64_t n) { return tge_threads_for(n > INT64_MAX / 2 ? n : 2 * n, n); }

static int tge_relu_check(int64_t n, const void *a, int64_t a_len, const void *b,
                          int64_t b_len)
{
    if (n < 0) return TGE_EINVAL;
    if (a_len != n || b_len != n) return TGE_ESIZE;
    if (n > 0 && (!a || !b)) return TGE_EINVAL;
    return TGE_OK;
}

#define TGE_RELU_DEFINE(T, SFX)                                                          \
    TGE_CLONES static void relu_fwd_##SFX(int64_t n, const T *restrict x, T *restrict y) \
    {                                                                                    \
        for (int64_t i = 0; i < n; ++i) y[i] = x[i] <= 0 ? (T)0 : x[i];                  \
    }                                                                                    \
    TGE_CLONES static void relu_bwd_##SFX(int64_t n, const T *restrict gy,               \
                                          const T *restrict x, T *restrict gx)           \
    {                                                                                    \
        for (int64_t i = 0; i < n; ++i) gx[i] = gy[i] * (T)(x[i] > 0);                    \
    }                                                                                    \
    int tge_relu_forward_##SFX(int64_t n, const T *x, int64_t x_len, T *y, int64_t y_len) \
    {                                                                                    \
        int err = tge_relu_check(n, x, x_len, y, y_len);                                 \
        if (err != TGE_OK || n == 0) return err;                                         \
        const int nt = tge_relu_threads(n);                                              \
        if (nt <= 1) {                                                                   \
            relu_fwd_##SFX(n, x, y);                                                     \
            return TGE_OK;                                                               \
        }                                                                                \
        _Pragma("omp parallel num_threads(nt)")                                          \
        {                                                                                \
            const int64_t t = omp_get_thread_num(), k = omp_get_num_threads();          \
            const int64_t lo = n * t / k, hi = n * (t + 1) / k;                          \
            relu_fwd_##SFX(hi - lo, x + lo, y + lo);                                     \
        }                                                                                \
        return TGE_OK;                                                                   \
    }                                                                                    \
    int tge_relu_backward_##SFX(int64_t n, const T *gy, int64_t gy_len, const T *x,      \
                                int64_t x_len, T *gx, int64_t gx_len)                    \
    {                                                                                    \
        int err = tge_relu_check(n, gy, gy_len, x, x_len);                               \
        if (err == TGE_OK) err = tge_relu_check(n, x, x_len, gx, gx_len);                \
        if (err != TGE_OK || n == 0) return err;                                         \
        const int nt = tge_relu_threads(n);                                              \
        if (nt <= 1) {                                                                   \
            relu_bwd_##SFX(n, gy, x, gx);                                                \
            return TGE_OK;                                                               \
        }                                                                                \
        _Pragma("omp parallel num_threads(nt)")                                          \
        {                                                                                \
            const int64_t t = omp_get_thread_num(), k = omp_get_num_threads();          \
            const int64_t lo = n * t / k, hi = n * (t + 1) / k;                          \
            relu_bwd_##SFX(hi - lo, gy + lo, x + lo, gx + lo);                           \
        }                                                                                \
        return TGE_OK;                                                                   \
    }

TGE_RELU_DEFINE(float, f32)
TGE_RELU_DEFINE(double, f64)
