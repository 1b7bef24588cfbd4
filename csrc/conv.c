/*
 * conv.c - 2-D convolution (cross-correlation, NCHW, zero padding), float32 and
 * float64: tge_conv2d_{forward, backward_input, backward_weight}_{f32, f64}.
 *
 * All three are im2col + the blocked GEMM of gemm.c, per image:
 *
 *   forward          y[n]  (O, OH*OW)      = W (O, C*KH*KW) @ cols(x[n])
 *   backward_input   cols  (C*KH*KW, OH*OW) = W^T @ gy[n];  gx[n] = col2im(cols)
 *   backward_weight  gw    (O, C*KH*KW)     = sum_n gy[n] @ cols(x[n])^T
 *
 * where cols(x[n]) (C*KH*KW, OH*OW) lists, for every kernel offset (c, i, j), the input
 * values it meets at each output position.  The plain loop nests they compute are
 * written above each function in conv_impl.inc, which holds the code for one element
 * type and is included below twice.
 *
 * On CPUs with AVX-512 most shapes take the direct path instead (conv_direct.inc,
 * conv_direct_input.inc, conv_wide.inc, micro-kernel conv_dkernel.inc): no im2col
 * matrix, the micro-kernel reads the image itself, the output channels run along the
 * vector lanes.  It is chosen per call from the shape (TGE_CONV=im2col turns it off);
 * both paths compute the reference loop nests, in different orders of addition.  3x3
 * stride-1 layers with wide enough channels and planes take Winograd's F(4x4, 3x3) before
 * either (conv_winograd.inc, conv_winograd_grad.inc; TGE_CONV=direct turns it off), which
 * rounds differently again; tge_conv2d_winograd at the end says which shapes do.
 */
#include <stdlib.h>
#include <string.h>

#include "tge_internal.h"

/* Most partial weight gradients backward_weight keeps (see conv_impl.inc). */
#define TGE_CONV_CHUNKS 16

/* About how many elements a group's im2col matrix may hold (1 MB of float): the images
   of a group are lowered side by side into one matrix so that one GEMM serves them all
   (see conv_impl.inc).  Small enough to stay in L2 with the packed panels. */
#define TGE_CONV_COLS_BUDGET ((int64_t)1 << 18)

/* Check a parameter block and the lengths of the input-shaped, weight-shaped and
   output-shaped buffers against it. */
static int tge_conv2d_check(const tge_conv2d_params *p, int64_t x_len, int64_t w_len,
                            int64_t y_len)
{
    int64_t nx, nw, ny, ckk, q, span_h, span_w;
    if (!p) return TGE_EINVAL;
    if (p->n < 0 || p->c < 0 || p->h < 0 || p->w < 0 || p->o < 0 || p->oh < 0 ||
        p->ow < 0 || p->ph < 0 || p->pw < 0)
        return TGE_EINVAL;
    if (p->kh < 1 || p->kw < 1 || p->sh < 1 || p->sw < 1) return TGE_EINVAL;
    /* the padded extent h + 2*ph must not overflow, and must hold one window */
    if (p->ph > (INT64_MAX - p->h) / 2 || p->pw > (INT64_MAX - p->w) / 2)
        return TGE_EOVERFLOW;
    span_h = p->h + 2 * p->ph - p->kh;
    span_w = p->w + 2 * p->pw - p->kw;
    if (span_h < 0 || span_w < 0) return TGE_EINVAL;
    if (p->oh != span_h / p->sh + 1 || p->ow != span_w / p->sw + 1) return TGE_ESIZE;
    if (!tge_mul4(p->n, p->c, p->h, p->w, &nx) || !tge_mul4(p->o, p->c, p->kh, p->kw, &nw) ||
        !tge_mul4(p->n, p->o, p->oh, p->ow, &ny) || !tge_mul4(p->c, p->kh, p->kw, 1, &ckk) ||
        !tge_mul2(p->oh, p->ow, &q) || !tge_mul2(ckk, q, &q))
        return TGE_EOVERFLOW;
    if (x_len != nx || w_len != nw || y_len != ny) return TGE_ESIZE;
    return TGE_OK;
}

/* Multiply-adds of one pass (N*O*OH*OW*C*KH*KW), saturating: the threading measure. */
static int64_t tge_conv2d_work(const tge_conv2d_params *p)
{
    int64_t a, b, w;
    if (!tge_mul4(p->n, p->o, p->oh, p->ow, &a) || !tge_mul4(p->c, p->kh, p->kw, 1, &b) ||
        !tge_mul2(a, b, &w))
        return INT64_MAX;
    return w;
}

/* Images per group: as many as keep the group's im2col matrix (C*KH*KW, g*cols) within
   TGE_CONV_COLS_BUDGET elements (at least 1, at most N), then evened out over the groups
   that makes (64 images in 2 groups of 32 rather than 50 + 14).  Depends on the shape
   only, never on the thread count, so results do not either.  cols_per_image is OH*OW,
   or OH*W for the wide lowering (<= 1.25 OH*OW); tge_conv2d_check bounded their product
   with C*KH*KW. */
static int64_t tge_conv2d_group(const tge_conv2d_params *p, int64_t cols_per_image)
{
    int64_t per_image;  /* saturating: the wide lowering's OH*W may exceed the checked OH*OW */
    if (!tge_mul4(p->c, p->kh, p->kw, cols_per_image, &per_image)) per_image = INT64_MAX;
    per_image = tge_max64(per_image, 1);
    int64_t g = tge_max64(TGE_CONV_COLS_BUDGET / per_image, 1);
    if (p->n <= 1) return 1;
    if (g >= p->n) return p->n;
    const int64_t groups = (p->n + g - 1) / g;
    return (p->n + groups - 1) / groups;
}

/* The direct convolutions of conv_direct.inc (AVX-512 micro-kernels, chosen at run time):
   compiled on x86-64 with GCC or Clang, as the GEMM's dispatch is. */
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__) && \
    !defined(TGE_NO_X86_DISPATCH)
#define TGE_CONV_DIRECT 1
#else
#define TGE_CONV_DIRECT 0
#endif

#define T float
#define TI int32_t /* the signed integer as wide as T (shuffle masks) */
#define SFX(name) name##_f32
#include "conv_impl.inc"
#undef T
#undef TI
#undef SFX

#define T double
#define TI int64_t
#define SFX(name) name##_f64
#include "conv_impl.inc"
#undef T
#undef TI
#undef SFX

int tge_conv2d_winograd(const tge_conv2d_params *p, int element_size)
{
    if (element_size == (int)sizeof(float)) return winograd_shape_f32(p);
    if (element_size == (int)sizeof(double)) return winograd_shape_f64(p);
    return 0;
}
