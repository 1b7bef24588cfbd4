/*
 * pool.c - 2-D max and average pooling (NCHW), float32 and float64:
 * tge_{max, avg}_pool2d_{forward, backward}_{f32, f64}.
 *
 * Pooling reads each input cell about KH*KW / (SH*SW) times and does one compare or add
 * per read, so it is bound by memory traffic, not arithmetic: the loop nests in
 * pool_impl.inc are the reference ones, with the window clipped to the input once per
 * output cell, and threads take whole (n, c) planes (or blocks of them).  pool_impl.inc
 * holds the code for one element type and is included below twice; this file adds the
 * AVX-512 kernel of the CNNs' 2x2 max pooling (float32), at its end.
 */
#include <stdlib.h>
#include <string.h>

#include "tge_internal.h"

/* The AVX-512 kernel of max pooling's 2x2 windows (float32, defined at the end of this
   file): compiled where GCC-style target attributes and the x86 intrinsics exist, run
   where tge_simd_path() chose AVX-512 (the CPU has it and TGE_SIMD did not lower the
   choice; TGE_SIMD=avx2 keeps the portable kernel, which is how the tests compare them). */
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__) && \
    !defined(TGE_NO_X86_DISPATCH)
#include <immintrin.h>
#define TGE_POOL_AVX512 1
#define TGE_POOL_WIDE_TARGET __attribute__((target("avx512f")))
static int tge_pool_wide(void) { return strcmp(tge_simd_path(), "avx512") == 0; }
TGE_POOL_WIDE_TARGET static void max_pool_2x2_wide_f32(const float *x, int64_t count,
                                                       int64_t h, int64_t w, int64_t oh_n,
                                                       int64_t ow_n, float *y,
                                                       int64_t *indices);
#else
#define TGE_POOL_AVX512 0
#endif

/* The backward pass zeroes a block of planes of gx, about TGE_POOL_BLOCK values (4 KB of
   float32), before their scatters: the zeros are still in L1 when the scatter adds to
   them, and a block of the small planes costs one call (measured on the CNN's two pool
   layers against 1 plane and 4096 or 16384 values per block: 5-15 % faster).  Threads
   take whole blocks; no result depends on them. */
#ifndef TGE_POOL_BLOCK
#define TGE_POOL_BLOCK 1024
#endif

/* Check a parameter block and the lengths of the input-shaped and output-shaped
   buffers against it (PyTorch's rule: padding at most half the window). */
static int tge_pool2d_check(const tge_pool2d_params *p, int64_t x_len, int64_t y_len)
{
    int64_t nx, ny, span_h, span_w;
    if (!p) return TGE_EINVAL;
    if (p->n < 0 || p->c < 0 || p->h < 0 || p->w < 0 || p->oh < 0 || p->ow < 0 ||
        p->ph < 0 || p->pw < 0)
        return TGE_EINVAL;
    if (p->kh < 1 || p->kw < 1 || p->sh < 1 || p->sw < 1) return TGE_EINVAL;
    /* an empty plane (H or W = 0) would still give windows made of padding only, and
       max pooling would read its first cell: refused, as in Python and PyTorch */
    if (p->h < 1 || p->w < 1) return TGE_EINVAL;
    if (p->ph > p->kh / 2 || p->pw > p->kw / 2) return TGE_EINVAL;
    if (p->ph > (INT64_MAX - p->h) / 2 || p->pw > (INT64_MAX - p->w) / 2)
        return TGE_EOVERFLOW;
    span_h = p->h + 2 * p->ph - p->kh;
    span_w = p->w + 2 * p->pw - p->kw;
    if (span_h < 0 || span_w < 0) return TGE_EINVAL;
    if (p->oh != span_h / p->sh + 1 || p->ow != span_w / p->sw + 1) return TGE_ESIZE;
    if (!tge_mul4(p->n, p->c, p->h, p->w, &nx) || !tge_mul4(p->n, p->c, p->oh, p->ow, &ny))
        return TGE_EOVERFLOW;
    if (x_len != nx || y_len != ny) return TGE_ESIZE;
    return TGE_OK;
}

/* Cells visited by one pass (N*C*OH*OW*KH*KW) times 4, saturating: the threading
   measure.  Pooling is memory-bound, a cell costs about as much as 4 multiply-adds of a
   GEMM, so a CNN layer's pool (1-5 M cells) gets two threads. */
static int64_t tge_pool2d_work(const tge_pool2d_params *p)
{
    int64_t a, w;
    if (!tge_mul4(p->n, p->c, p->oh, p->ow, &a) || !tge_mul4(a, p->kh, p->kw, 4, &w))
        return INT64_MAX;
    return w;
}

#define T float
#define TI int32_t /* the signed integer as wide as T (vector masks) */
#define SFX(name) name##_f32
#define TGE_POOL_WIDE TGE_POOL_AVX512 /* the AVX-512 2x2 kernel: float32 only */
#include "pool_impl.inc"
#undef T
#undef TI
#undef SFX
#undef TGE_POOL_WIDE

#define T double
#define TI int64_t
#define SFX(name) name##_f64
#define TGE_POOL_WIDE 0
#include "pool_impl.inc"
#undef T
#undef TI
#undef SFX
#undef TGE_POOL_WIDE

#if TGE_POOL_AVX512
/* ------------------------------------------------------------------------------------
 * Max pooling forward, 2x2 windows, stride 2, no padding, float32, with AVX-512 masked
 * loads and stores: the kernel of pool_impl.inc (max_pool_2x2_plane: same results, bit
 * for bit, ties and NaN included) spends most of its time in the padded tail copies of
 * the articles' small planes (13 or 5 outputs per row).  Here one step makes up to 16
 * outputs, from two masked loads of 16 floats per input row (lanes past what the step
 * needs read nothing and cannot fault), and writes them with masked stores: no copies,
 * no scalar tails.  A step covers
 *   - a chunk of up to 16 outputs of one row, when rows are longer than 16 (OW > 16);
 *   - else `rows` whole output rows, as many as fit both in the 16 output lanes and in
 *     the 32 floats loaded from the first top row on (5 outputs per row, W = 11: two rows,
 *     whose top rows lie 22 floats apart).
 * Within the 32 floats loaded from a top row (and from the bottom row below it), output
 * lane l takes its left cell from position pos[l] and its right cell from pos[l] + 1: a
 * permutation across two registers (vpermt2ps) gathers them.
 * Measured (one thread, AMD EPYC Zen 4, tge_max_pool2d_forward_f32 on data in cache):
 * CNN pool1 64x32x26x26 -> 13x13: 0.69 -> 0.22 ms; pool2 64x64x11x11 -> 5x5: 0.46 ->
 * 0.10 ms.  What is left is mostly the ~60 instructions of a step (with the stores
 * going to L1 only, pool1 still takes ~0.2 ms), not memory traffic.
 * ---------------------------------------------------------------------------------- */

/* What one kind of step loads, permutes and stores.  Plain arrays, not vector members:
   a 64-byte aligned local can land misaligned on AddressSanitizer's fake stack. */
typedef struct {
    int32_t pos[16];             /* pos[l]: lane l's left cell among the 32 loaded floats */
    int64_t pos64[16];           /* the same as int64: the offsets of the lanes' indices */
    __mmask16 load_lo, load_hi;  /* the floats needed, of the first and second 16 */
    __mmask16 out;               /* the lanes that are outputs */
} wide_plan_f32;

/* The step that makes `rows` output rows of `len` outputs (rows > 1 only when the row is
   whole, len = OW): lane l = r * len + j takes the window at column j of row r, whose
   top-left cell lies r*2W + 2j floats after the step's first top-left cell. */
static void make_wide_plan_f32(int64_t rows, int64_t len, int64_t w, wide_plan_f32 *s)
{
    /* a lane past the outputs reads position 0: harmless, its result is not stored */
    for (int l = 0; l < 16; ++l) s->pos[l] = 0;
    for (int64_t r = 0, l = 0; r < rows; ++r)
        for (int64_t j = 0; j < len; ++j, ++l) s->pos[l] = (int32_t)(r * 2 * w + 2 * j);
    for (int l = 0; l < 16; ++l) s->pos64[l] = s->pos[l];
    /* floats needed: up to the last row's last right cell, at most 32 by construction */
    const int64_t need = (rows - 1) * 2 * w + 2 * len;
    const uint32_t bits = (uint32_t)(((uint64_t)1 << need) - 1);
    s->load_lo = (__mmask16)bits;
    s->load_hi = (__mmask16)(bits >> 16);
    s->out = (__mmask16)((1u << (rows * len)) - 1);
}

/* One step: top points at the first top-left cell (its plane's index `base`), the bottom
   row is w floats further; results to y and ind.  Inlined, so that the plan's vectors
   are loaded once, before the caller's loop.  Returns 0, writing nothing, when one of the
   cells is NaN: the caller then takes those windows the reference way. */
TGE_POOL_WIDE_TARGET static inline __attribute__((always_inline)) int wide_step_f32(
    const wide_plan_f32 *s, const float *top, int64_t w, int64_t base, float *y, int64_t *ind)
{
    /* where each lane's left and right cells lie among the 32 floats loaded per row */
    const __m512i pick_left = _mm512_loadu_si512(s->pos);
    const __m512i pick_right = _mm512_add_epi32(pick_left, _mm512_set1_epi32(1));
    const float *bottom = top + w;
    const __m512 t0 = _mm512_maskz_loadu_ps(s->load_lo, top);
    const __m512 u0 = _mm512_maskz_loadu_ps(s->load_lo, bottom);
    __m512 t1 = _mm512_setzero_ps(), u1 = _mm512_setzero_ps();
    if (s->load_hi) {  /* (the pointers past 16 are formed only when they are needed) */
        t1 = _mm512_maskz_loadu_ps(s->load_hi, top + 16);
        u1 = _mm512_maskz_loadu_ps(s->load_hi, bottom + 16);
    }
    /* a, b: the windows' top-left, top-right cells; c, d: bottom-left, bottom-right */
    const __m512 a = _mm512_permutex2var_ps(t0, pick_left, t1);
    const __m512 b = _mm512_permutex2var_ps(t0, pick_right, t1);
    const __m512 c = _mm512_permutex2var_ps(u0, pick_left, u1);
    const __m512 d = _mm512_permutex2var_ps(u0, pick_right, u1);
    /* unordered: one of the two is NaN */
    if (_mm512_mask_cmp_ps_mask(s->out, a, b, _CMP_UNORD_Q) |
        _mm512_mask_cmp_ps_mask(s->out, c, d, _CMP_UNORD_Q))
        return 0;
    /* in window order, take the candidate when strictly larger: the first maximum wins */
    const __mmask16 take_b = _mm512_cmp_ps_mask(b, a, _CMP_GT_OQ);
    __m512 best = _mm512_mask_mov_ps(a, take_b, b);
    const __mmask16 take_c = _mm512_cmp_ps_mask(c, best, _CMP_GT_OQ);
    best = _mm512_mask_mov_ps(best, take_c, c);
    const __mmask16 take_d = _mm512_cmp_ps_mask(d, best, _CMP_GT_OQ);
    best = _mm512_mask_mov_ps(best, take_d, d);
    _mm512_mask_storeu_ps(y, s->out, best);
    /* the winner is in the bottom row when c or d was taken (the later of them won), and
       in the right column when d was taken, or b was and c was not */
    const __mmask16 bottom_row = take_c | take_d, right_col = take_d | (take_b & ~take_c);
    const __m512i width = _mm512_set1_epi64(w), one = _mm512_set1_epi64(1);
    const __m512i first = _mm512_set1_epi64(base);
    __m512i k = _mm512_add_epi64(first, _mm512_loadu_si512(s->pos64));
    k = _mm512_mask_add_epi64(k, (__mmask8)bottom_row, k, width);
    k = _mm512_mask_add_epi64(k, (__mmask8)right_col, k, one);
    _mm512_mask_storeu_epi64(ind, (__mmask8)s->out, k);
    if (s->out >> 8) {
        k = _mm512_add_epi64(first, _mm512_loadu_si512(s->pos64 + 8));
        k = _mm512_mask_add_epi64(k, (__mmask8)(bottom_row >> 8), k, width);
        k = _mm512_mask_add_epi64(k, (__mmask8)(right_col >> 8), k, one);
        _mm512_mask_storeu_epi64(ind + 8, (__mmask8)(s->out >> 8), k);
    }
    return 1;
}

/* Windows [j0, j1) of output rows [r0, r1) of one plane, the reference way (NaN). */
static void max_pool_2x2_ref_f32(const float *xp, int64_t w, int64_t ow_n, int64_t r0,
                                 int64_t r1, int64_t j0, int64_t j1, float *yp, int64_t *ip)
{
    for (int64_t r = r0; r < r1; ++r)
        for (int64_t j = j0; j < j1; ++j) {
            int64_t k;
            max_2x2_one_f32(xp + 2 * r * w, xp + (2 * r + 1) * w, j, w, yp + r * ow_n + j, &k);
            ip[r * ow_n + j] = 2 * r * w + 2 * j + k;
        }
}

/* `count` planes of h x w floats -> oh_n x ow_n maxima and their indices. */
TGE_POOL_WIDE_TARGET static void max_pool_2x2_wide_f32(const float *x, int64_t count,
                                                       int64_t h, int64_t w, int64_t oh_n,
                                                       int64_t ow_n, float *y,
                                                       int64_t *indices)
{
    /* rows per step: 1 for rows longer than 8 outputs; else as many as both limits allow */
    int64_t rows = 1;
    while (rows < oh_n && (rows + 1) * ow_n <= 16 && rows * 2 * w + 2 * ow_n <= 32) ++rows;
    const int64_t len = tge_min64(ow_n, 16);
    /* the full step and the last one (fewer rows, or a row's last chunk) */
    wide_plan_f32 full, last;
    make_wide_plan_f32(rows, len, w, &full);
    if (ow_n > 16)
        make_wide_plan_f32(1, (ow_n - 1) % 16 + 1, w, &last);
    else
        make_wide_plan_f32((oh_n - 1) % rows + 1, len, w, &last);
    /* steps per row (chunks) or per plane (groups of rows); the last one uses `last` */
    const int64_t steps = ow_n > 16 ? (ow_n - 1) / 16 + 1 : (oh_n - 1) / rows + 1;
    /* how far the next step's input, outputs and first index lie */
    const int64_t x_step = ow_n > 16 ? 32 : 2 * rows * w, y_step = ow_n > 16 ? 16 : rows * ow_n;
    /* one pass per row (chunks) or per plane (groups of rows) */
    const int64_t passes = ow_n > 16 ? count * oh_n : count;
    for (int64_t pass = 0; pass < passes; ++pass) {
        /* where the pass starts: plane `pl`, output row `r0` */
        const int64_t pl = ow_n > 16 ? pass / oh_n : pass, r0 = ow_n > 16 ? pass % oh_n : 0;
        const float *xp = x + pl * h * w;
        float *yp = y + pl * oh_n * ow_n;
        int64_t *ip = indices + pl * oh_n * ow_n;
        int64_t base = 2 * r0 * w;  /* the step's first top-left cell, in its plane */
        float *yd = yp + r0 * ow_n;
        int64_t *id = ip + r0 * ow_n;
        for (int64_t t = 0; t < steps; ++t, base += x_step, yd += y_step, id += y_step) {
            if (t + 1 < steps ? wide_step_f32(&full, xp + base, w, base, yd, id)
                              : wide_step_f32(&last, xp + base, w, base, yd, id))
                continue;
            /* a NaN: the step's windows the reference way */
            if (ow_n > 16)
                max_pool_2x2_ref_f32(xp, w, ow_n, r0, r0 + 1, 16 * t,
                                     tge_min64(16 * t + 16, ow_n), yp, ip);
            else
                max_pool_2x2_ref_f32(xp, w, ow_n, rows * t, tge_min64(rows * t + rows, oh_n),
                                     0, ow_n, yp, ip);
        }
    }
}
#endif
