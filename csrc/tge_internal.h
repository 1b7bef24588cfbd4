/*
 * tge_internal.h - helpers shared by the kernel files; not part of the Python interface
 * (cffi never sees this header).
 */
#ifndef TGE_INTERNAL_H
#define TGE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "tge.h"

#ifdef _OPENMP
#include <omp.h>
#endif

/* ---- run-time instruction-set choice for auto-vectorised loops ----
   The build has no -march (one binary for every x86-64), so plain loops compile to SSE2.
   TGE_CLONES on a function makes GCC compile it three times (AVX-512, AVX2+FMA, baseline)
   and pick the best one for this CPU when the library loads (an ifunc): the loop nests
   stay readable C and still use the wide vectors.  Only where GCC supports it (x86-64
   Linux); elsewhere it expands to nothing. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__) && \
    !defined(TGE_NO_X86_DISPATCH)
#define TGE_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define TGE_CLONES
#endif

/* GCC turns copy loops into memcpy calls ("loop distribution"); for the short runs of
   the packing routines the call costs more than the copy.  TGE_NO_MEMCPY on a function
   keeps its loops as loops. */
#if defined(__GNUC__) && !defined(__clang__)
#define TGE_NO_MEMCPY __attribute__((optimize("no-tree-loop-distribute-patterns")))
#else
#define TGE_NO_MEMCPY
#endif

/* ---- size arithmetic that refuses instead of overflowing ---- */

/* *out = a * b for a, b >= 0; returns 0 (and leaves *out alone) on overflow or on a
   negative factor, 1 otherwise. */
static inline int tge_mul2(int64_t a, int64_t b, int64_t *out)
{
    if (a < 0 || b < 0) return 0;
    if (a != 0 && b > INT64_MAX / a) return 0;
    *out = a * b;
    return 1;
}

/* *out = a * b * c * d with the same rules. */
static inline int tge_mul4(int64_t a, int64_t b, int64_t c, int64_t d, int64_t *out)
{
    int64_t ab, abc;
    return tge_mul2(a, b, &ab) && tge_mul2(ab, c, &abc) && tge_mul2(abc, d, out);
}

static inline int64_t tge_min64(int64_t a, int64_t b) { return a < b ? a : b; }
static inline int64_t tge_max64(int64_t a, int64_t b) { return a > b ? a : b; }

/* ---- scratch memory: 64-byte aligned (one cache line, one AVX-512 register) ---- */

static inline void *tge_alloc(int64_t count, size_t elem_size)
{
    int64_t bytes;
    if (count < 1) count = 1;
    if (!tge_mul2(count, (int64_t)elem_size, &bytes)) return NULL;
    if ((uint64_t)bytes > (uint64_t)SIZE_MAX - 64) return NULL;
    /* aligned_alloc wants a size that is a multiple of the alignment */
    bytes = (bytes + 63) & ~(int64_t)63;
    return aligned_alloc(64, (size_t)bytes);
}

/* ---- threads (threads.c) ---- */

/* The number of threads a kernel should use for `work` multiply-adds (or element
   visits): the configured count, lowered so that each thread gets at least
   TGE_MIN_WORK_PER_THREAD of it, and never more than `max_parts` (the number of
   independent pieces the kernel can hand out).  1 for small problems. */
/* 2^20 multiply-adds is ~5 us on one core: below that, waking a second thread (and, on a
   busy two-vCPU machine, waiting for it to be scheduled) costs more than it saves.
   (It was 2^17; the articles' MLP and LSTM steps run many products of 0.3-3 M.) */
#define TGE_MIN_WORK_PER_THREAD ((int64_t)1 << 20)
int tge_threads_for(int64_t work, int64_t max_parts);

/* ---- the matrix product on strided row-major matrices (gemm.c) ----
   C = op(A) @ op(B) (accumulate == 0) or C += op(A) @ op(B) (accumulate == 1);
   op(A) is m x k, stored with leading dimension lda ((m, lda) or, transposed,
   (k, lda)); likewise B and C.  Sizes are trusted (the exported entry points check
   them).  *_serial runs on the calling thread; *_parallel (what the kernels call)
   computes a thin C through its transpose and splits the rows (or the columns) of C
   over `nthreads` OpenMP threads.  Return TGE_OK or TGE_ENOMEM. */
int tge_gemm_serial_f32(int64_t m, int64_t n, int64_t k,
                        const float *a, int64_t lda, int trans_a,
                        const float *b, int64_t ldb, int trans_b,
                        float *c, int64_t ldc, int accumulate);
int tge_gemm_serial_f64(int64_t m, int64_t n, int64_t k,
                        const double *a, int64_t lda, int trans_a,
                        const double *b, int64_t ldb, int trans_b,
                        double *c, int64_t ldc, int accumulate);
int tge_gemm_parallel_f32(int64_t m, int64_t n, int64_t k,
                          const float *a, int64_t lda, int trans_a,
                          const float *b, int64_t ldb, int trans_b,
                          float *c, int64_t ldc, int accumulate, int nthreads);
int tge_gemm_parallel_f64(int64_t m, int64_t n, int64_t k,
                          const double *a, int64_t lda, int trans_a,
                          const double *b, int64_t ldb, int trans_b,
                          double *c, int64_t ldc, int accumulate, int nthreads);

/* ---- the matrix product with a B operand that packs itself (gemm.c) ----
   The blocked product asks `pack` for each packed block of B it needs: rows (depth)
   [pc, pc + kc) and columns [jc, jc + nc) of B, written as ceil(nc/nr) micro-panels of nr
   columns, out[q*nr*kc + p*nr + j] = B(pc + p, jc + q*nr + j), zero past column jc + nc.
   The convolutions use it to pack B straight from the image (implicit im2col); the
   ordinary product's source packs a strided matrix.  tge_gemm_bsrc_* computes
   C = op(A) @ B (accumulate == 0) or C += op(A) @ B, rows of C split over nthreads. */
typedef struct tge_bsrc_f32 {
    void (*pack)(const struct tge_bsrc_f32 *src, int64_t pc, int64_t kc, int64_t jc,
                 int64_t nc, int64_t nr, float *out);
    const void *ctx;
} tge_bsrc_f32;
typedef struct tge_bsrc_f64 {
    void (*pack)(const struct tge_bsrc_f64 *src, int64_t pc, int64_t kc, int64_t jc,
                 int64_t nc, int64_t nr, double *out);
    const void *ctx;
} tge_bsrc_f64;
int tge_gemm_bsrc_f32(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                      int trans_a, const tge_bsrc_f32 *bsrc, float *c, int64_t ldc,
                      int accumulate, int nthreads);
int tge_gemm_bsrc_f64(int64_t m, int64_t n, int64_t k, const double *a, int64_t lda,
                      int trans_a, const tge_bsrc_f64 *bsrc, double *c, int64_t ldc,
                      int accumulate, int nthreads);

/* ---- exp(x) in a form the compiler vectorises, float32 (attention, GELU, GRU, loss) ----
   exp(x) = 2^k exp(r), k = round(x / ln 2), r = x - k ln 2 in [-ln2/2, ln2/2] (ln 2 split in
   two parts so that k ln 2 is exact), exp(r) by its Taylor polynomial of degree 6 (relative
   error below 2e-7 there).  2^k is applied as two powers of two, 2^(k/2) and 2^(k - k/2),
   each a normal float, so results down to the subnormal range (exp(-103.9) ~ 1e-45) come
   out as libm's do instead of 0.  x is clamped to [-104, 88]: below, the result is 0,
   above, exp(88) ~ 1.7e38; NaN stays NaN.  libm's expf is one call per element, which no
   loop can vectorise without -ffast-math.  tge_expf_core is the same without the clamp and
   the NaN and underflow selects, for callers whose argument is already in range; where
   2^k is a normal float (|x| <= 87), exp(x) = tge_expf_reduced(x, &k) * tge_pow2f(k) is the
   same number in fewer steps. */
static inline float tge_expf_reduced(float xc, int32_t *k) /* exp(xc) = result * 2^k */
{
    const float kf = (xc * 1.44269504f + 12582912.0f) - 12582912.0f; /* round to nearest */
    const float r = (xc - kf * 0.693359375f) - kf * -2.12194440e-4f;
    *k = (int32_t)kf;
    return 1.0f + r * (1.0f + r * (0.5f + r * (1.0f / 6 + r * (1.0f / 24 +
           r * (1.0f / 120 + r * (1.0f / 720))))));
}

static inline float tge_pow2f(int32_t k) /* 2^k for k in [-126, 127] */
{
    union { int32_t i; float f; } two;
    two.i = (k + 127) << 23;
    return two.f;
}

static inline float tge_expf_core(float xc) /* xc in [-104, 88], not NaN */
{
    int32_t k;
    const float poly = tge_expf_reduced(xc, &k);
    const int32_t k_half = k / 2; /* k in [-150, 127]: halves are normal */
    return (poly * tge_pow2f(k_half)) * tge_pow2f(k - k_half);
}

static inline float tge_expf_fast(float x)
{
    const float lo = -104.0f, hi = 88.0f;
    float xc = x > lo ? x : lo; /* also maps NaN to lo: no NaN reaches the integer cast */
    xc = xc < hi ? xc : hi;
    const float y = tge_expf_core(xc);
    return x != x ? x : (x > lo ? y : 0.0f);
}

/* ---- the normal CDF Phi(x) = (1 + erf(x / sqrt 2)) / 2, vectorisable, float32 (the GELU) ----
   With a = |x| / sqrt 2, Phi(-|x|) = erfc(a) / 2, and erfc(a) = t exp(-a^2 + P(t)),
   t = 1 / (1 + a / 2), P a degree-9 polynomial fitted to a Chebyshev expansion (the
   classic coefficients of W. J. Cody's school, as printed in Numerical Recipes' erfcc):
   fractional error below 1.2e-7 for every a >= 0, so the far tail of Phi keeps its relative
   accuracy (an approximation of erf itself, then 1 + erf, would cancel there).  Phi(|x|) =
   1 - Phi(-|x|).  No branch (the sign picks between two computed values), no libm call
   (libm's erff costs a call per element); Phi(-inf) = 0, Phi(inf) = 1, NaN stays NaN. */
static inline float tge_normal_cdf_fast(float x)
{
    const float a = (x < 0 ? -x : x) * 0.70710678f, t = 1.0f / (1.0f + 0.5f * a);
    const float p = -1.26551223f + t * (1.00002368f + t * (0.37409196f + t * (0.09678418f +
                    t * (-0.18628806f + t * (0.27886807f + t * (-1.13520398f + t * (1.48851587f +
                    t * (-0.82215223f + t * 0.17087277f))))))));
    const float lower = 0.5f * t * tge_expf_fast(p - a * a); /* Phi(-|x|) */
    return x < 0 ? lower : 1.0f - lower;
}

#endif /* TGE_INTERNAL_H */
