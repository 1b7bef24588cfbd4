/*
 * tge.h - every function the C kernels export, and the one place that says so.
 *
 * tinygrad_edu/backends/_build.py hands the text between the two "cdef" marker
 * comments below to cffi's FFI.cdef() (after dropping any preprocessor lines), so this
 * header is the single source of truth for the Python <-> C interface: add a kernel
 * here, implement it in csrc/<family>.c, wrap it in tinygrad_edu/backends/c.py.
 *
 * Conventions shared by every entry point
 *   - Arrays are dense, C-contiguous (row-major) buffers of float or double.
 *   - Every pointer comes with its length in elements (`*_len`).  A kernel first checks
 *     that the sizes are non-negative, that their products do not overflow, and that
 *     each length matches the shape it is told; on any mismatch it returns a non-zero
 *     TGE_E* code and has written nothing.  It never aborts and never writes out of
 *     bounds.  Zero sizes are legal and do the obvious (an empty or zero result).
 *   - Return value: TGE_OK (0) on success, one of the TGE_E* codes otherwise.
 *   - The kernels keep no state between calls except the thread count below, so two
 *     threads may call them at the same time on different outputs.
 */
#ifndef TGE_H
#define TGE_H

#include <stdint.h>

/* The value tge_abi_version() returns; tinygrad_edu/backends/c.py expects the same. */
#define TGE_ABI_VERSION 1

/* ---- cdef-begin (cffi reads from here) ---- */

/* Return codes. */
enum {
    TGE_OK = 0,
    TGE_EINVAL = 1,     /* a size is negative or a flag is out of range       */
    TGE_ESIZE = 2,      /* a buffer length does not match the shape           */
    TGE_EOVERFLOW = 3,  /* a product of sizes does not fit in int64           */
    TGE_ENOMEM = 4,     /* a scratch buffer could not be allocated            */
    TGE_EINDEX = 5      /* max-pool backward: an index outside the H*W plane  */
};

/* Bumped whenever a signature below changes; c.py refuses a module built from an
   older header. */
int tge_abi_version(void);

/* ---- threads (threads.c) ----
   The thread count used by every kernel.  n >= 1 sets it, n == 0 restores the OpenMP
   default (omp_get_max_threads(), i.e. OMP_NUM_THREADS or the number of cores).
   Returns TGE_EINVAL for n < 0.  Small problems always run on one thread. */
int tge_set_num_threads(int n);
int tge_get_num_threads(void);
int tge_has_openmp(void);         /* 1 when built with OpenMP, else 0        */
const char *tge_simd_path(void);  /* "avx512", "avx2" or "generic": the GEMM
                                     micro-kernel this CPU runs               */

/* ---- matrix product (gemm.c) ----
   C[b] = op(A[b]) @ op(B[b])  for b in [0, batch), with op(X) = X or X^T.
   Logical shapes: op(A) is (m, k), op(B) is (k, n), C is (m, n); C is overwritten.
   Storage: A[b] is (m, k) row-major, or (k, m) when trans_a is 1; B[b] is (k, n), or
   (n, k) when trans_b is 1; each batch item follows the previous one directly.
   Lengths: a_len = batch*m*k, b_len = batch*k*n, c_len = batch*m*n. */
int tge_gemm_f32(int64_t batch, int64_t m, int64_t n, int64_t k,
                 const float *a, int64_t a_len, int trans_a,
                 const float *b, int64_t b_len, int trans_b,
                 float *c, int64_t c_len);
int tge_gemm_f64(int64_t batch, int64_t m, int64_t n, int64_t k,
                 const double *a, int64_t a_len, int trans_a,
                 const double *b, int64_t b_len, int trans_b,
                 double *c, int64_t c_len);

/* ---- 2-D convolution (conv.c) ----
   x (n, c, h, w), weight (o, c, kh, kw), bias (o,) or NULL, y (n, o, oh, ow),
   with oh = (h + 2*ph - kh) / sh + 1 and ow likewise (the kernel checks this),
   zero padding, cross-correlation as in PyTorch. */
typedef struct {
    int64_t n, c, h, w;     /* input  (N, C, H, W)    */
    int64_t o, kh, kw;      /* weight (O, C, KH, KW)  */
    int64_t sh, sw;         /* stride   (>= 1)        */
    int64_t ph, pw;         /* padding  (>= 0)        */
    int64_t oh, ow;         /* output (N, O, OH, OW)  */
} tge_conv2d_params;

/* y = conv(x, weight) + bias */
int tge_conv2d_forward_f32(const tge_conv2d_params *p,
                           const float *x, int64_t x_len,
                           const float *weight, int64_t weight_len,
                           const float *bias, int64_t bias_len,
                           float *y, int64_t y_len);
int tge_conv2d_forward_f64(const tge_conv2d_params *p,
                           const double *x, int64_t x_len,
                           const double *weight, int64_t weight_len,
                           const double *bias, int64_t bias_len,
                           double *y, int64_t y_len);
/* gx = d(sum(gy * y)) / dx  (overwrites gx) */
int tge_conv2d_backward_input_f32(const tge_conv2d_params *p,
                                  const float *gy, int64_t gy_len,
                                  const float *weight, int64_t weight_len,
                                  float *gx, int64_t gx_len);
int tge_conv2d_backward_input_f64(const tge_conv2d_params *p,
                                  const double *gy, int64_t gy_len,
                                  const double *weight, int64_t weight_len,
                                  double *gx, int64_t gx_len);
/* gw = d(sum(gy * y)) / dweight  (overwrites gw) */
int tge_conv2d_backward_weight_f32(const tge_conv2d_params *p,
                                   const float *gy, int64_t gy_len,
                                   const float *x, int64_t x_len,
                                   float *gw, int64_t gw_len);
int tge_conv2d_backward_weight_f64(const tge_conv2d_params *p,
                                   const double *gy, int64_t gy_len,
                                   const double *x, int64_t x_len,
                                   double *gw, int64_t gw_len);

/* ---- 2-D pooling (pool.c) ----
   x (n, c, h, w) -> y (n, c, oh, ow), oh = (h + 2*ph - kh) / sh + 1, ow likewise.
   Requires kh, kw, sh, sw >= 1 and 0 <= ph <= kh/2, 0 <= pw <= kw/2 (PyTorch's rule),
   which guarantees every window overlaps the input. */
typedef struct {
    int64_t n, c, h, w;     /* input  (N, C, H, W)    */
    int64_t kh, kw;         /* window                 */
    int64_t sh, sw;         /* stride   (>= 1)        */
    int64_t ph, pw;         /* padding  (>= 0)        */
    int64_t oh, ow;         /* output (N, C, OH, OW)  */
} tge_pool2d_params;

/* Max pooling; padding acts as -inf.  indices[...] = h*W + w of the chosen input cell:
   the first maximum in row-major window order, or the first NaN if the window has one. */
int tge_max_pool2d_forward_f32(const tge_pool2d_params *p,
                               const float *x, int64_t x_len,
                               float *y, int64_t y_len,
                               int64_t *indices, int64_t indices_len);
int tge_max_pool2d_forward_f64(const tge_pool2d_params *p,
                               const double *x, int64_t x_len,
                               double *y, int64_t y_len,
                               int64_t *indices, int64_t indices_len);
/* The scatter that undoes it, over `planes` = N*C planes of `in_plane` = H*W input cells
   and `out_plane` = OH*OW output cells (gy and indices are (planes, out_plane), gx is
   (planes, in_plane)): gx = 0, then gx[pl][indices[pl][s]] += gy[pl][s].
   TGE_EINDEX if an index lies outside [0, in_plane). */
int tge_max_pool2d_backward_f32(int64_t planes, int64_t in_plane, int64_t out_plane,
                                const float *gy, int64_t gy_len,
                                const int64_t *indices, int64_t indices_len,
                                float *gx, int64_t gx_len);
int tge_max_pool2d_backward_f64(int64_t planes, int64_t in_plane, int64_t out_plane,
                                const double *gy, int64_t gy_len,
                                const int64_t *indices, int64_t indices_len,
                                double *gx, int64_t gx_len);
/* Average pooling, zero padding counted in the divisor (count_include_pad=True):
   divisor = cells of the window inside the padded input. */
int tge_avg_pool2d_forward_f32(const tge_pool2d_params *p,
                               const float *x, int64_t x_len,
                               float *y, int64_t y_len);
int tge_avg_pool2d_forward_f64(const tge_pool2d_params *p,
                               const double *x, int64_t x_len,
                               double *y, int64_t y_len);
int tge_avg_pool2d_backward_f32(const tge_pool2d_params *p,
                                const float *gy, int64_t gy_len,
                                float *gx, int64_t gx_len);
int tge_avg_pool2d_backward_f64(const tge_pool2d_params *p,
                                const double *gy, int64_t gy_len,
                                double *gx, int64_t gx_len);

/* ---- cdef-end ---- */

#endif /* TGE_H */
