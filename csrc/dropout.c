/*
 * dropout.c - dropout with a counter-based mask, float32 and float64: tge_dropout_{f32,f64}.
 *
 *   y[i] = x[i] * (bits(seed, i) >= threshold ? scale : 0)
 *
 * bits(seed, i) is 32 bits of a hash of (seed, i): for the pair k = i / 2,
 *   z = splitmix64(seed + (k + 1) * 0x9E3779B97F4A7C15)
 * (Steele, Lea and Flood's finaliser), whose low half is element 2k's bits and high half
 * element 2k+1's.  The keep probability is 1 - threshold / 2^32, so the caller passes
 * threshold = round(p * 2^32) and scale = 1 / (1 - p).
 *
 * Because the mask is a function of (seed, i), nothing is stored between forward and
 * backward: the backward pass is the same call on the incoming gradient with the same
 * seed (dL/dx = g * the same factor).  One pass over the data each way, against four or
 * five whole-array passes (draw, compare, scale, multiply) and a saved float mask for the
 * NumPy formulation; the twin (numpy_ref/dropout.py) computes the same bits with NumPy's
 * uint64 arithmetic, so both tables give the same mask.  Elements are independent, so the
 * threads split the pairs and the result is the same for every thread count.
 */
#include "tge_internal.h"

static inline uint64_t tge_dropout_hash(uint64_t seed, uint64_t k)
{
    uint64_t z = seed + (k + 1) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

#define TGE_DROPOUT_DEFINE(T, SFX)                                                           \
    /* the pairs [k0, k1) of x (n elements) */                                               \
    TGE_CLONES static void tge_dropout_pairs_##SFX(int64_t k0, int64_t k1, int64_t n,         \
                                                   const T *x, uint64_t seed, uint32_t thr,  \
                                                   T scale, T *y)                            \
    {                                                                                        \
        const int64_t full = tge_min64(k1, n / 2); /* pairs with both elements */            \
        for (int64_t k = k0; k < full; ++k) {                                                \
            const uint64_t z = tge_dropout_hash(seed, (uint64_t)k);                          \
            y[2 * k] = x[2 * k] * ((uint32_t)z >= thr ? scale : (T)0);                       \
            y[2 * k + 1] = x[2 * k + 1] * ((uint32_t)(z >> 32) >= thr ? scale : (T)0);       \
        }                                                                                    \
        if (k1 > full && full * 2 < n) { /* the last, odd element */                         \
            const uint64_t z = tge_dropout_hash(seed, (uint64_t)full);                       \
            y[2 * full] = x[2 * full] * ((uint32_t)z >= thr ? scale : (T)0);                 \
        }                                                                                    \
    }                                                                                        \
                                                                                             \
    int tge_dropout_##SFX(int64_t n, const T *x, int64_t x_len, int64_t seed,                \
                          int64_t threshold, double scale, T *y, int64_t y_len)              \
    {                                                                                        \
        if (n < 0 || threshold < 0 || threshold > (int64_t)UINT32_MAX) return TGE_EINVAL;    \
        if (x_len != n || y_len != n) return TGE_ESIZE;                                      \
        if (n > 0 && (!x || !y)) return TGE_EINVAL;                                          \
        if (n == 0) return TGE_OK;                                                           \
        const int64_t pairs = n / 2 + n % 2;                                                 \
        const int nt = tge_threads_for(n * 4, pairs);                                        \
        (void)nt;                                                                            \
        _Pragma("omp parallel for schedule(static) num_threads(nt) if (nt > 1)")             \
        for (int64_t t = 0; t < nt; ++t)                                                     \
            tge_dropout_pairs_##SFX(pairs * t / nt, pairs * (t + 1) / nt, n, x,              \
                                    (uint64_t)seed, (uint32_t)threshold, (T)scale, y);       \
        return TGE_OK;                                                                       \
    }

TGE_DROPOUT_DEFINE(float, f32)
TGE_DROPOUT_DEFINE(double, f64)
