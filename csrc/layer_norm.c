/*
 * layer_norm.c - LayerNorm over the last axis of a (rows, d) matrix, forward and backward
 * in one pass over each row, float32 and float64: tge_layer_norm_{forward, backward}_{f32,
 * f64}.
 *
 *   forward   mean[r] = sum_j x[r, j] / d
 *             rstd[r] = 1 / sqrt(sum_j (x[r, j] - mean[r])^2 / d + eps)   (biased variance)
 *             y[r, j] = (x[r, j] - mean[r]) * rstd[r] * weight[j] + bias[j]
 *   backward  xhat = (x - mean) * rstd,  gxhat = g * weight
 *             gx[r, j] = rstd[r] * (gxhat[r, j] - mean_j gxhat[r, :]
 *                                   - xhat[r, j] * mean_j (gxhat[r, :] * xhat[r, :]))
 *             gweight[j] = sum_r g[r, j] * xhat[r, j],   gbias[j] = sum_r g[r, j]
 *
 * weight and bias may each be NULL (length 0): scale 1, shift 0; then gweight / gbias may
 * be NULL too.  The NumPy version (numpy_ref.layer_norm_*) takes about ten whole-array
 * passes each way (mean, centre, square, mean, scale, ...); here each row is read once or
 * twice while it sits in L1.  Only mean and rstd are kept for backward (xhat is
 * recomputed), so the saved memory is two values per row.
 *
 * Rows are split over threads in forward.  In backward gweight/gbias are sums over rows:
 * the rows are cut into at most TGE_LN_CHUNKS chunks (a number that depends on the shape
 * only), each chunk sums into its own partial, and the partials are added in chunk order,
 * so the result is the same for every thread count.
 */
#include <math.h>
#include <stdlib.h>

#include "tge_internal.h"

#define TGE_LN_CHUNKS 8

static int tge_ln_check(int64_t rows, int64_t d, int64_t x_len, const void *x, int64_t w_len,
                        const void *w, int64_t b_len, const void *b, int64_t y_len,
                        const void *y, int64_t mean_len, const void *mean, int64_t rstd_len,
                        const void *rstd)
{
    int64_t n;
    if (rows < 0 || d < 0) return TGE_EINVAL;
    if (!tge_mul2(rows, d, &n)) return TGE_EOVERFLOW;
    if (x_len != n || y_len != n || mean_len != rows || rstd_len != rows) return TGE_ESIZE;
    if (w ? w_len != d : w_len != 0) return TGE_ESIZE;
    if (b ? b_len != d : b_len != 0) return TGE_ESIZE;
    if (n > 0 && (!x || !y)) return TGE_EINVAL;
    if (rows > 0 && (!mean || !rstd)) return TGE_EINVAL;
    return TGE_OK;
}

#define TGE_LN_DEFINE(T, SFX, SQRT)                                                         \
    TGE_CLONES static void tge_ln_forward_rows_##SFX(int64_t r0, int64_t r1, int64_t d,      \
                                                     const T *x, const T *w, const T *b,    \
                                                     T eps, T *y, T *mean, T *rstd)         \
    {                                                                                       \
        for (int64_t r = r0; r < r1; ++r) {                                                 \
            const T *xr = x + r * d;                                                        \
            T *yr = y + r * d;                                                              \
            /* sums in double: a constant row then has its exact mean (x - mean == 0) */    \
            double s = 0, v = 0;                                                            \
            _Pragma("omp simd reduction(+ : s)")                                            \
            for (int64_t j = 0; j < d; ++j) s += xr[j];                                     \
            const T m = d > 0 ? (T)(s / (double)d) : (T)0;                                  \
            _Pragma("omp simd reduction(+ : v)")                                            \
            for (int64_t j = 0; j < d; ++j) v += (double)((xr[j] - m) * (xr[j] - m));       \
            const T rs = (T)1 / SQRT((d > 0 ? (T)(v / (double)d) : (T)0) + eps);            \
            mean[r] = m;                                                                    \
            rstd[r] = rs;                                                                   \
            if (w && b) {                                                                   \
                _Pragma("omp simd")                                                         \
                for (int64_t j = 0; j < d; ++j) yr[j] = (xr[j] - m) * rs * w[j] + b[j];     \
            } else if (w) {                                                                 \
                _Pragma("omp simd")                                                         \
                for (int64_t j = 0; j < d; ++j) yr[j] = (xr[j] - m) * rs * w[j];            \
            } else if (b) {                                                                 \
                _Pragma("omp simd")                                                         \
                for (int64_t j = 0; j < d; ++j) yr[j] = (xr[j] - m) * rs + b[j];            \
            } else {                                                                        \
                _Pragma("omp simd")                                                         \
                for (int64_t j = 0; j < d; ++j) yr[j] = (xr[j] - m) * rs;                   \
            }                                                                               \
        }                                                                                   \
    }                                                                                       \
                                                                                            \
    int tge_layer_norm_forward_##SFX(int64_t rows, int64_t d, const T *x, int64_t x_len,    \
                                     const T *weight, int64_t weight_len, const T *bias,    \
                                     int64_t bias_len, double eps, T *y, int64_t y_len,     \
                                     T *mean, int64_t mean_len, T *rstd, int64_t rstd_len)  \
    {                                                                                       \
        int err = tge_ln_check(rows, d, x_len, x, weight_len, weight, bias_len, bias,       \
                               y_len, y, mean_len, mean, rstd_len, rstd);                   \
        if (err != TGE_OK) return err;                                                      \
        if (rows == 0) return TGE_OK;                                                       \
        const int nt = tge_threads_for(x_len * 4, rows);                                    \
        (void)nt;                                                                           \
        _Pragma("omp parallel for schedule(static) num_threads(nt) if (nt > 1)")            \
        for (int64_t t = 0; t < nt; ++t)                                                    \
            tge_ln_forward_rows_##SFX(rows * t / nt, rows * (t + 1) / nt, d, x, weight,     \
                                      bias, (T)eps, y, mean, rstd);                         \
        return TGE_OK;                                                                      \
    }                                                                                       \
                                                                                            \
    /* gx for rows [r0, r1); gw / gb (when not NULL) get these rows' sums added */          \
    TGE_CLONES static void tge_ln_backward_rows_##SFX(int64_t r0, int64_t r1, int64_t d,     \
                                                      const T *g, const T *x, const T *w,   \
                                                      const T *mean, const T *rstd, T *gx,  \
                                                      T *gw, T *gb)                         \
    {                                                                                       \
        for (int64_t r = r0; r < r1; ++r) {                                                 \
            const T *gr = g + r * d, *xr = x + r * d;                                       \
            const T m = mean[r], rs = rstd[r];                                              \
            T s1 = 0, s2 = 0;                                                               \
            _Pragma("omp simd reduction(+ : s1, s2)")                                       \
            for (int64_t j = 0; j < d; ++j) {                                               \
                const T gh = w ? gr[j] * w[j] : gr[j];                                      \
                s1 += gh;                                                                   \
                s2 += gh * ((xr[j] - m) * rs);                                              \
            }                                                                               \
            const T a = d > 0 ? s1 / (T)d : (T)0, c = d > 0 ? s2 / (T)d : (T)0;             \
            if (gx) {                                                                       \
                T *gxr = gx + r * d;                                                        \
                _Pragma("omp simd")                                                         \
                for (int64_t j = 0; j < d; ++j) {                                           \
                    const T gh = w ? gr[j] * w[j] : gr[j];                                  \
                    gxr[j] = (gh - a - (xr[j] - m) * rs * c) * rs;                          \
                }                                                                           \
            }                                                                               \
            if (gw) {                                                                       \
                _Pragma("omp simd")                                                         \
                for (int64_t j = 0; j < d; ++j) gw[j] += gr[j] * ((xr[j] - m) * rs);        \
            }                                                                               \
            if (gb) {                                                                       \
                _Pragma("omp simd")                                                         \
                for (int64_t j = 0; j < d; ++j) gb[j] += gr[j];                             \
            }                                                                               \
        }                                                                                   \
    }                                                                                       \
                                                                                            \
    int tge_layer_norm_backward_##SFX(int64_t rows, int64_t d, const T *g, int64_t g_len,   \
                                      const T *x, int64_t x_len, const T *weight,           \
                                      int64_t weight_len, const T *mean, int64_t mean_len,  \
                                      const T *rstd, int64_t rstd_len, T *gx,               \
                                      int64_t gx_len, T *gweight, int64_t gweight_len,      \
                                      T *gbias, int64_t gbias_len)                          \
    {                                                                                       \
        int err = tge_ln_check(rows, d, x_len, x, weight_len, weight, 0, NULL, g_len, g,    \
                               mean_len, mean, rstd_len, rstd);                             \
        if (err != TGE_OK) return err;                                                      \
        if (gx ? gx_len != x_len : gx_len != 0) return TGE_ESIZE;                           \
        if (gweight ? gweight_len != d : gweight_len != 0) return TGE_ESIZE;                \
        if (gbias ? gbias_len != d : gbias_len != 0) return TGE_ESIZE;                      \
        const int64_t chunks = tge_max64(tge_min64(TGE_LN_CHUNKS, rows), 1);                \
        const int need = gweight || gbias; /* partial sums for chunks 1.. */                \
        int64_t plen = 0;                                                                   \
        if (need && !tge_mul4(chunks - 1, 2, d, 1, &plen)) return TGE_EOVERFLOW;            \
        T *part = need && chunks > 1 ? (T *)tge_alloc(plen, sizeof(T)) : NULL;              \
        if (need && chunks > 1 && !part) return TGE_ENOMEM;                                 \
        /* nothing is written before this point */                                          \
        for (int64_t j = 0; gweight && j < d; ++j) gweight[j] = 0;                          \
        for (int64_t j = 0; gbias && j < d; ++j) gbias[j] = 0;                              \
        if (rows == 0) return TGE_OK;                                                       \
        for (int64_t s = 0; s < plen; ++s) part[s] = 0;                                     \
        const int nt = tge_threads_for(x_len * 6, chunks);                                  \
        (void)nt;                                                                           \
        _Pragma("omp parallel for schedule(static) num_threads(nt) if (nt > 1)")            \
        for (int64_t ch = 0; ch < chunks; ++ch) {                                           \
            T *pw = ch == 0 ? gweight : (gweight ? part + (ch - 1) * 2 * d : NULL);         \
            T *pb = ch == 0 ? gbias : (gbias ? part + (ch - 1) * 2 * d + d : NULL);         \
            tge_ln_backward_rows_##SFX(rows * ch / chunks, rows * (ch + 1) / chunks, d, g,   \
                                       x, weight, mean, rstd, gx, pw, pb);                  \
        }                                                                                   \
        for (int64_t ch = 1; need && ch < chunks; ++ch) {                                   \
            const T *pw = part + (ch - 1) * 2 * d, *pb = pw + d;                            \
            for (int64_t j = 0; gweight && j < d; ++j) gweight[j] += pw[j];                 \
            for (int64_t j = 0; gbias && j < d; ++j) gbias[j] += pb[j];                     \
        }                                                                                   \
        free(part);                                                                         \
        return TGE_OK;                                                                      \
    }

TGE_LN_DEFINE(float, f32, sqrtf)
TGE_LN_DEFINE(double, f64, sqrt)
