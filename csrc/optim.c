/*
 * optim.c - the optimizers' update over every parameter of a group in one call, float32
 * and float64: tge_adam_step_{f32, f64} and tge_sgd_step_{f32, f64}.
 *
 * The update itself is tinygrad_edu/optim/adam.py's and sgd.py's `_update` (PyTorch's
 * rules), which stay the reference: written there as ~8 NumPy passes per parameter, each
 * a Python call and a temporary array, so that for the small layers of the articles'
 * models the optimizer step cost more than the layers' arithmetic.  Here it is one pass
 * per parameter with everything in registers, for all parameters of a group in one call.
 *
 * The arithmetic is the reference's, operation by operation, in the parameter's type
 * (hyper-parameters rounded to it first, as NumPy does with Python floats), and compiled
 * without fused multiply-adds (TGE_EXACT): the fused step gives the same bits as the
 * NumPy reference, which the tests check over 20 steps.
 */
#include <math.h>

#include "tge_internal.h"

/* sqrt in the argument's own type (sqrtf for float), as NumPy's float32 sqrt */
#define TGE_SQRT(x) _Generic((x), float: sqrtf, default: sqrt)(x)

/* No FMA contraction in this file (the build has -ffp-contract=fast): a*b + c must
   round twice, as NumPy's separate passes do.  (The build's -fno-math-errno lets the
   loops with sqrt vectorise.) */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off")
#endif
#define TGE_EXACT /* the pragma above covers every function of this file */

static int tge_optim_check(int64_t count, const void *params, const void *grads,
                           const int64_t *sizes)
{
    int64_t total = 0;
    if (count < 0) return TGE_EINVAL;
    if (count > 0 && (!params || !grads || !sizes)) return TGE_EINVAL;
    for (int64_t i = 0; i < count; ++i) {
        if (sizes[i] < 0) return TGE_EINVAL;
        if (sizes[i] > INT64_MAX - total) return TGE_EOVERFLOW;  /* the sum below must fit */
        total += sizes[i];
    }
    return TGE_OK;
}

/* Threads: whole parameters per thread, only when there is much to do (each element
   costs ~20 flops; a few hundred thousand elements take well under a millisecond). */
static int tge_optim_threads(int64_t count, const int64_t *sizes)
{
    int64_t total = 0;
    for (int64_t i = 0; i < count; ++i) total += sizes[i];  /* fits: tge_optim_check */
    return tge_threads_for(total > INT64_MAX / 4 ? INT64_MAX : total * 4, count);
}

/* The loop bodies, written once; each loop below is one combination of the options that
   store (amsgrad, momentum), so that every loop is straight-line code that vectorises.
   The other options (maximize, weight decay) are plain selects inside. */
#define TGE_ADAM_BODY(T, VMAX_STEP)                                                        \
    for (int64_t i = 0; i < n; ++i) {                                                      \
        T g = maximize ? -g_in[i] : g_in[i];                                               \
        T pi = p[i];                                                                       \
        pi = (wd != 0 && decoupled) ? pi * decay : pi;  /* AdamW: p <- p (1 - lr wd) */    \
        g = (wd != 0 && !decoupled) ? g + wd * pi : g;  /* Adam:  g <- g + wd p      */    \
        const T mi = m[i] + one_m_b1 * (g - m[i]);      /* m <- m + (1-b1)(g - m)    */    \
        T vi = v[i] * b2;                               /* v <- b2 v                 */    \
        vi = vi + (one_m_b2 * g) * g;                   /*      + (1-b2) g g         */    \
        m[i] = mi;                                                                         \
        v[i] = vi;                                                                         \
        VMAX_STEP                                       /* amsgrad: v <- max(vmax, v) */   \
        const T denom = TGE_SQRT(vi) / bc2_sqrt + eps;  /* sqrt(v)/sqrt(bc2) + eps   */    \
        p[i] = pi + (neg_step * mi) / denom;            /* p <- p - step m / denom   */    \
    }

#define TGE_SGD_BODY(T, BUF_STEP)                                                          \
    for (int64_t i = 0; i < n; ++i) {                                                      \
        T g = maximize ? -g_in[i] : g_in[i];                                               \
        g = wd != 0 ? g + wd * p[i] : g;                /* g <- g + wd p             */    \
        BUF_STEP                                        /* momentum                  */    \
        p[i] = p[i] - lr * g;                           /* p <- p - lr g             */    \
    }

#define TGE_OPTIM_DEFINE(T, SFX)                                                           \
    /* One parameter, Adam (see adam.py's _update for the rule, line by line). */          \
    TGE_EXACT TGE_CLONES static void adam_one_##SFX(                                       \
        int64_t n, T *restrict p, const T *restrict g_in, T *restrict m, T *restrict v,    \
        T *restrict vmax, T wd, T decay, T one_m_b1, T b2, T one_m_b2, T bc2_sqrt, T eps,  \
        T neg_step, int maximize, int decoupled)                                           \
    {                                                                                      \
        if (vmax) {                                                                        \
            TGE_ADAM_BODY(T, vi = vmax[i] > vi ? vmax[i] : vi; vmax[i] = vi;)              \
        } else {                                                                           \
            TGE_ADAM_BODY(T, )                                                             \
        }                                                                                  \
    }                                                                                      \
                                                                                           \
    int tge_adam_step_##SFX(const tge_adam_params *hp, int64_t count, T *const *params,     \
                            const T *const *grads, T *const *exp_avg,                      \
                            T *const *exp_avg_sq, T *const *max_exp_avg_sq,                \
                            const int64_t *sizes, const int64_t *steps)                    \
    {                                                                                      \
        int err = tge_optim_check(count, params, grads, sizes);                            \
        if (err != TGE_OK) return err;                                                     \
        if (!hp || (count > 0 && (!exp_avg || !exp_avg_sq || !steps))) return TGE_EINVAL;  \
        if (hp->amsgrad && count > 0 && !max_exp_avg_sq) return TGE_EINVAL;                \
        for (int64_t i = 0; i < count; ++i)                                                \
            if (steps[i] < 1 || (sizes[i] > 0 && (!params[i] || !grads[i] || !exp_avg[i] || \
                                                   !exp_avg_sq[i] ||                       \
                                                   (hp->amsgrad && !max_exp_avg_sq[i]))))   \
                return TGE_EINVAL;                                                         \
        const int nt = tge_optim_threads(count, sizes);                                    \
        (void)nt;                                                                          \
        _Pragma("omp parallel for num_threads(nt) schedule(dynamic)")                      \
        for (int64_t i = 0; i < count; ++i) {                                              \
            const double bc1 = 1.0 - pow(hp->beta1, (double)steps[i]);                     \
            const double bc2 = 1.0 - pow(hp->beta2, (double)steps[i]);                     \
            adam_one_##SFX(sizes[i], params[i], grads[i], exp_avg[i], exp_avg_sq[i],       \
                           hp->amsgrad ? max_exp_avg_sq[i] : NULL, (T)hp->weight_decay,    \
                           (T)(1.0 - hp->lr * hp->weight_decay), (T)(1.0 - hp->beta1),     \
                           (T)hp->beta2, (T)(1.0 - hp->beta2), (T)sqrt(bc2), (T)hp->eps,   \
                           (T)(-(hp->lr / bc1)), hp->maximize != 0, hp->decoupled != 0);   \
        }                                                                                  \
        return TGE_OK;                                                                     \
    }                                                                                      \
                                                                                           \
    /* One parameter, SGD (see sgd.py's _update). */                                      \
    TGE_EXACT TGE_CLONES static void sgd_one_##SFX(                                        \
        int64_t n, T *restrict p, const T *restrict g_in, T *restrict buf, int first,      \
        T lr, T mu, T one_m_damp, T wd, int nesterov, int maximize)                        \
    {                                                                                      \
        if (!buf) {                                                                        \
            TGE_SGD_BODY(T, )                                                              \
        } else if (first) {                                /* b_1 = g                */    \
            TGE_SGD_BODY(T, buf[i] = g; g = nesterov ? g + mu * g : g;)                    \
        } else {                                           /* b = mu b + (1-damp) g  */    \
            TGE_SGD_BODY(T, const T b = buf[i] * mu + one_m_damp * g; buf[i] = b;          \
                         g = nesterov ? g + mu * b : b;)                                   \
        }                                                                                  \
    }                                                                                      \
                                                                                           \
    int tge_sgd_step_##SFX(const tge_sgd_params *hp, int64_t count, T *const *params,       \
                           const T *const *grads, T *const *momentum_buffers,              \
                           const int64_t *first, const int64_t *sizes)                     \
    {                                                                                      \
        int err = tge_optim_check(count, params, grads, sizes);                            \
        if (err != TGE_OK) return err;                                                     \
        if (!hp) return TGE_EINVAL;                                                        \
        const int momentum = hp->momentum != 0;                                            \
        if (momentum && count > 0 && (!momentum_buffers || !first)) return TGE_EINVAL;     \
        for (int64_t i = 0; i < count; ++i)                                                \
            if (sizes[i] > 0 && (!params[i] || !grads[i] ||                                \
                                 (momentum && !momentum_buffers[i])))                      \
                return TGE_EINVAL;                                                         \
        const int nt = tge_optim_threads(count, sizes);                                    \
        (void)nt;                                                                          \
        _Pragma("omp parallel for num_threads(nt) schedule(dynamic)")                      \
        for (int64_t i = 0; i < count; ++i)                                                \
            sgd_one_##SFX(sizes[i], params[i], grads[i],                                   \
                          momentum ? momentum_buffers[i] : NULL, momentum && first[i] != 0, \
                          (T)hp->lr, (T)hp->momentum, (T)(1.0 - hp->dampening),            \
                          (T)hp->weight_decay, hp->nesterov != 0, hp->maximize != 0);      \
        return TGE_OK;                                                                     \
    }

TGE_OPTIM_DEFINE(float, f32)
TGE_OPTIM_DEFINE(double, f64)
