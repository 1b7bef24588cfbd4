/*
 * pool.c - 2-D max and average pooling (NCHW), float32 and float64:
 * tge_{max, avg}_pool2d_{forward, backward}_{f32, f64}.
 *
 * Pooling reads each input cell about KH*KW / (SH*SW) times and does one compare or add
 * per read, so it is bound by memory traffic, not arithmetic: the loop nests in
 * pool_impl.inc are the reference ones, with the window clipped to the input once per
 * output cell, and threads take whole (n, c) planes.  pool_impl.inc holds the code for
 * one element type and is included below twice.
 */
#include <stdlib.h>

#include "tge_internal.h"

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
#include "pool_impl.inc"
#undef T
#undef TI
#undef SFX

#define T double
#define TI int64_t
#define SFX(name) name##_f64
#include "pool_impl.inc"
#undef T
#undef TI
#undef SFX
