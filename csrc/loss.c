/*
 * loss.c - softmax cross-entropy with integer class targets, forward and backward in one
 * pass each, float32 and float64: tge_cross_entropy_{forward, backward}_{f32, f64}.
 *
 *   forward   logp[i, :] = logits[i, :] - max_j logits[i, j]
 *                          - log sum_j exp(logits[i, j] - max_j logits[i, j])
 *             losses[i]  = -logp[i, target[i]]       (0 where target[i] == ignore_index)
 *   backward  glogits[i, :] = g[i] * (exp(logp[i, :]) - onehot(target[i]))
 *                             (0 for the rows whose target is ignore_index)
 *
 * The NumPy version (numpy_ref.cross_entropy_*, the reference) is ~10 array operations and
 * a fancy-indexing pass each way; for the articles' classifier heads (64 x 10 logits) the
 * Python calls cost more than the arithmetic, so one C call per direction.  The mean or
 * sum over rows stays in Python (one NumPy sum).
 */
#include <math.h>

#include "tge_internal.h"

static int tge_xent_check(int64_t n, int64_t c, int64_t logits_len, const void *logits,
                          int64_t target_len, const int64_t *target, int64_t out_len,
                          const void *out)
{
    int64_t nc;
    if (n < 0 || c < 0) return TGE_EINVAL;
    if (!tge_mul2(n, c, &nc)) return TGE_EOVERFLOW;
    if (logits_len != nc || target_len != n || out_len != nc) return TGE_ESIZE;
    if (nc > 0 && (!logits || !out)) return TGE_EINVAL;
    if (n > 0 && !target) return TGE_EINVAL;
    return TGE_OK;
}

/* every target is a class or ignore_index (checked before anything is written) */
static int tge_xent_targets(int64_t n, int64_t c, const int64_t *target, int64_t ignore_index)
{
    for (int64_t i = 0; i < n; ++i)
        if (target[i] != ignore_index && (target[i] < 0 || target[i] >= c)) return TGE_EINDEX;
    return TGE_OK;
}

/* One row, as separate functions so that TGE_CLONES compiles them for AVX-512 / AVX2 and
   the loops (max, sum of exp, the exp of the backward pass) run as vector code; the float
   exp is tge_expf_fast (libm's expf is one call per element), the log runs once per row. */
#define TGE_XENT_ROWS(T, SFX, EXP, LOG)                                                    \
    TGE_CLONES static void xent_log_softmax_row_##SFX(int64_t c, const T *restrict x,       \
                                                      T *restrict lp)                      \
    {                                                                                      \
        T mx = x[0], sum = 0;                                                              \
        _Pragma("omp simd reduction(max : mx)")                                            \
        for (int64_t j = 1; j < c; ++j) mx = x[j] > mx ? x[j] : mx;                        \
        _Pragma("omp simd reduction(+ : sum)")                                             \
        for (int64_t j = 0; j < c; ++j) {                                                  \
            lp[j] = x[j] - mx;                                                             \
            sum += EXP(lp[j]);                                                             \
        }                                                                                  \
        const T lse = LOG(sum);                                                            \
        _Pragma("omp simd")                                                                \
        for (int64_t j = 0; j < c; ++j) lp[j] -= lse;                                      \
    }                                                                                      \
    /* gl = g (exp(lp) - onehot(t)): the softmax times the row's gradient, then the target's \
       element as g (p - 1), not g p - g (the same value, and inf, not NaN, for an         \
       infinite g) */                                                                      \
    TGE_CLONES static void xent_grad_row_##SFX(int64_t c, const T *restrict lp, int64_t t, \
                                               T g, T *restrict gl)                        \
    {                                                                                      \
        _Pragma("omp simd")                                                                \
        for (int64_t j = 0; j < c; ++j) gl[j] = g * EXP(lp[j]);                            \
        gl[t] = g * (EXP(lp[t]) - 1);                                                      \
    }

TGE_XENT_ROWS(float, f32, tge_expf_fast, logf)
TGE_XENT_ROWS(double, f64, exp, log)

#define TGE_XENT_DEFINE(T, SFX)                                                            \
    int tge_cross_entropy_forward_##SFX(int64_t n, int64_t c, const T *logits,              \
                                       int64_t logits_len, const int64_t *target,          \
                                       int64_t target_len, int64_t ignore_index, T *logp,  \
                                       int64_t logp_len, T *losses, int64_t losses_len)    \
    {                                                                                      \
        int err = tge_xent_check(n, c, logits_len, logits, target_len, target, logp_len,   \
                                 logp);                                                    \
        if (err != TGE_OK) return err;                                                     \
        if (losses_len != n) return TGE_ESIZE;                                             \
        if (n > 0 && !losses) return TGE_EINVAL;                                           \
        if ((err = tge_xent_targets(n, c, target, ignore_index)) != TGE_OK) return err;    \
        if (c == 0) {                                                                      \
            for (int64_t i = 0; i < n; ++i) losses[i] = 0;                                 \
            return TGE_OK;                                                                 \
        }                                                                                  \
        for (int64_t i = 0; i < n; ++i) {                                                  \
            T *lp = logp + i * c;                                                          \
            xent_log_softmax_row_##SFX(c, logits + i * c, lp);                             \
            losses[i] = target[i] == ignore_index ? (T)0 : -lp[target[i]];                 \
        }                                                                                  \
        return TGE_OK;                                                                     \
    }                                                                                      \
                                                                                           \
    int tge_cross_entropy_backward_##SFX(int64_t n, int64_t c, const T *logp,               \
                                        int64_t logp_len, const int64_t *target,           \
                                        int64_t target_len, int64_t ignore_index,          \
                                        const T *g, int64_t g_len, T *glogits,             \
                                        int64_t glogits_len)                               \
    {                                                                                      \
        int err = tge_xent_check(n, c, logp_len, logp, target_len, target, glogits_len,    \
                                 glogits);                                                 \
        if (err != TGE_OK) return err;                                                     \
        if (g_len != n) return TGE_ESIZE;                                                  \
        if (n > 0 && !g) return TGE_EINVAL;                                                \
        if ((err = tge_xent_targets(n, c, target, ignore_index)) != TGE_OK) return err;    \
        for (int64_t i = 0; i < n; ++i) {                                                  \
            const T *lp = logp + i * c;                                                    \
            T *gl = glogits + i * c;                                                       \
            if (target[i] == ignore_index) {                                               \
                for (int64_t j = 0; j < c; ++j) gl[j] = 0;                                 \
                continue;                                                                  \
            }                                                                              \
            xent_grad_row_##SFX(c, lp, target[i], g[i], gl);                              \
        }                                                                                  \
        return TGE_OK;                                                                     \
    }

TGE_XENT_DEFINE(float, f32)
TGE_XENT_DEFINE(double, f64)
