/*
 * gelu_tanh.c - GPT-2's GELU (the tanh approximation), forward and backward, float32 and
 * float64: tge_gelu_tanh_{forward, backward}_{f32, f64}.
 *
 *   u = sqrt(2/pi) (x + 0.044715 x^3),   t = tanh(u),   y = x (1 + t) / 2
 *   dy/dx = (1 + t) / 2 + x (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2) / 2
 *
 * In NumPy each pass is about ten array operations over the MLP's widest activation
 * (4 x n_embd per token); here one pass each, the backward recomputing t from x instead of
 * keeping it alive between the passes.  float32 writes tanh as 1 - 2 / (exp(2u) + 1) with
 * the vectorisable exp of tge_internal.h (absolute error ~1e-7, like tanhf); float64 calls
 * libm's tanh.  Elementwise: contiguous ranges over threads for large arrays, the result
 * independent of the thread count.
 */
#include <math.h>

#include "tge_internal.h"

#define TGE_GELU_K0 0.7978845608028654 /* sqrt(2 / pi) */
#define TGE_GELU_K1 0.044715

/* float32: tanh(u) = 1 - 2 / (exp(2u) + 1), u clamped to [-10, 10] first: beyond, the
   formula already gives exactly +-1 in float32, and NaN (which only a NaN x gives, and
   which y then carries through x) needs no select, and 2^k is one normal float.  With the
   selects of tge_expf_fast, GCC computed the division twice per vector, once per branch:
   1.5x the time. */
static inline float tge_tanh_f32(float u)
{
    float uc = u > -10.0f ? u : -10.0f;
    int32_t k;
    uc = uc < 10.0f ? uc : 10.0f;
    const float e = tge_expf_reduced(2.0f * uc, &k) * tge_pow2f(k); /* exp(2 uc), |k| <= 29 */
    return 1.0f - 2.0f / (e + 1.0f);
}
static inline double tge_tanh_f64(double u) { return tanh(u); }

static int tge_gelu_tanh_check(int64_t n, const void *x, int64_t x_len, const void *y, int64_t y_len)
{
    if (n < 0) return TGE_EINVAL;
    if (x_len != n || y_len != n) return TGE_ESIZE;
    if (n > 0 && (!x || !y)) return TGE_EINVAL;
    return TGE_OK;
}

/* About 20 multiply-adds per element (the exp and the division): the threading measure. */
static int tge_gelu_tanh_threads(int64_t n) { return tge_threads_for(n > INT64_MAX / 20 ? INT64_MAX : 20 * n, n); }

#define TGE_GELU_TANH_DEFINE(T, SFX)                                                        \
    TGE_CLONES static void gelu_tanh_fwd_##SFX(int64_t n, const T *restrict x, T *restrict y) \
    {                                                                                       \
        _Pragma("omp simd")                                                                 \
        for (int64_t i = 0; i < n; ++i) {                                                   \
            const T v = x[i];                                                               \
            const T t = tge_tanh_##SFX((T)TGE_GELU_K0 * (v + (T)TGE_GELU_K1 * v * v * v));  \
            y[i] = (T)0.5 * v * ((T)1 + t);                                                 \
        }                                                                                   \
    }                                                                                       \
    TGE_CLONES static void gelu_tanh_bwd_##SFX(int64_t n, const T *restrict gy,             \
                                               const T *restrict x, T *restrict gx)         \
    {                                                                                       \
        _Pragma("omp simd")                                                                 \
        for (int64_t i = 0; i < n; ++i) {                                                   \
            const T v = x[i];                                                               \
            const T t = tge_tanh_##SFX((T)TGE_GELU_K0 * (v + (T)TGE_GELU_K1 * v * v * v));  \
            const T du = (T)TGE_GELU_K0 * ((T)1 + (T)(3 * TGE_GELU_K1) * v * v);            \
            gx[i] = gy[i] * ((T)0.5 * ((T)1 + t) + (T)0.5 * v * ((T)1 - t * t) * du);       \
        }                                                                                   \
    }                                                                                       \
    int tge_gelu_tanh_forward_##SFX(int64_t n, const T *x, int64_t x_len, T *y, int64_t y_len) \
    {                                                                                       \
        int err = tge_gelu_tanh_check(n, x, x_len, y, y_len);                               \
        if (err != TGE_OK || n == 0) return err;                                            \
        const int nt = tge_gelu_tanh_threads(n);                                            \
        _Pragma("omp parallel num_threads(nt) if(nt > 1)")                                  \
        {                                                                                   \
            const int64_t parts = omp_get_num_threads(), me = omp_get_thread_num();         \
            const int64_t lo = n / parts * me + (me < n % parts ? me : n % parts);          \
            const int64_t len = n / parts + (me < n % parts);                               \
            gelu_tanh_fwd_##SFX(len, x + lo, y + lo);                                       \
        }                                                                                   \
        return TGE_OK;                                                                      \
    }                                                                                       \
    int tge_gelu_tanh_backward_##SFX(int64_t n, const T *gy, int64_t gy_len, const T *x,    \
                                     int64_t x_len, T *gx, int64_t gx_len)                  \
    {                                                                                       \
        int err = tge_gelu_tanh_check(n, x, x_len, gx, gx_len);                             \
        if (err != TGE_OK) return err;                                                      \
        if (gy_len != n) return TGE_ESIZE;                                                  \
        if (n > 0 && !gy) return TGE_EINVAL;                                                \
        if (n == 0) return TGE_OK;                                                          \
        const int nt = tge_gelu_tanh_threads(n);                                            \
        _Pragma("omp parallel num_threads(nt) if(nt > 1)")                                  \
        {                                                                                   \
            const int64_t parts = omp_get_num_threads(), me = omp_get_thread_num();         \
            const int64_t lo = n / parts * me + (me < n % parts ? me : n % parts);          \
            const int64_t len = n / parts + (me < n % parts);                               \
            gelu_tanh_bwd_##SFX(len, gy + lo, x + lo, gx + lo);                             \
        }                                                                                   \
        return TGE_OK;                                                                      \
    }

#ifndef _OPENMP /* a build without OpenMP: one part, this thread */
#define omp_get_thread_num() 0
#define omp_get_num_threads() 1
#endif

TGE_GELU_TANH_DEFINE(float, f32)
TGE_GELU_TANH_DEFINE(double, f64)
