/*
 * tge.h - every function the C kernels export, and the one place that says so.
 *
 * tinygrad_edu/backends/_build.py hands the text between the two "cdef" marker
 * comments below to cffi's FFI.cdef() (after dropping any preprocessor lines; an
 * #include "tge_<family>.h" there is replaced by that header's own cdef region, as for the
 * recurrent layers' tge_rnn.h), so this header and the family headers it includes are the
 * single source of truth for the Python <-> C interface: add a kernel here (or in its
 * family's header), implement it in csrc/<family>.c, wrap it in
 * tinygrad_edu/backends/c/<family>.py.
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
#define TGE_ABI_VERSION 2

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
/* Adapting to a loaded machine (threads.c): when on (the default; TGE_ADAPTIVE_THREADS=0
   turns it off), a kernel's team never has more threads than there are CPUs free of
   other runnable threads.  tge_cpus_free() is that count right now (>= 1), or 0 where it
   cannot be measured (not Linux).  set: on is 0 or 1, else TGE_EINVAL. */
int tge_set_adaptive_threads(int on);
int tge_get_adaptive_threads(void);
int tge_cpus_free(void);
int tge_has_openmp(void);         /* 1 when built with OpenMP, else 0        */
const char *tge_simd_path(void);  /* "avx512", "avx2" or "generic": the GEMM
                                     micro-kernel this CPU runs               */

/* ---- measurement (peak.c) ----
   One core's float32 fused multiply-add throughput in GFLOP/s, from `iters` rounds of
   12 independent vector FMAs of the widest width the CPU has (0.0 for iters < 1).  Used
   by the benchmarks for their "% of peak" column; ~2,000,000 iterations take ~10 ms. */
double tge_fma_peak_gflops_f32(int64_t iters);

/* ---- allocator settings (alloc.c) ----
   Keep freed large blocks in the heap instead of returning them to the system (glibc's
   mallopt M_MMAP_THRESHOLD / M_TRIM_THRESHOLD, in bytes; 0 leaves one unchanged; the
   mmap threshold is capped at 32 MiB, glibc's limit), so that the arrays of a training
   step reuse the previous step's warm memory.  Called once when c.py loads (unless
   TGE_MALLOC_TUNE=0).  A no-op returning TGE_OK on other C libraries; TGE_EINVAL for a
   negative value or when glibc refuses. */
int tge_malloc_tune(int64_t mmap_threshold, int64_t trim_threshold);

/* ---- matrix product (gemm.c) ----
   C[b] = op(A[b]) @ op(B[b])  for b in [0, batch), with op(X) = X or X^T.
   Logical shapes: op(A) is (m, k), op(B) is (k, n), C is (m, n); C is overwritten.
   Storage: A[b] is (m, k) row-major, or (k, m) when trans_a is 1; B[b] is (k, n), or
   (n, k) when trans_b is 1; each batch item follows the previous one directly.
   Lengths: a_len = batch*m*k, b_len = batch*k*n, c_len = batch*m*n. */
int tge_matmul_f32(int64_t batch, int64_t m, int64_t n, int64_t k,
                 const float *a, int64_t a_len, int trans_a,
                 const float *b, int64_t b_len, int trans_b,
                 float *c, int64_t c_len);
int tge_matmul_f64(int64_t batch, int64_t m, int64_t n, int64_t k,
                 const double *a, int64_t a_len, int trans_a,
                 const double *b, int64_t b_len, int trans_b,
                 double *c, int64_t c_len);

/* ---- a linear layer's forward (gemm.c) ----
   y = x @ w^T + bias: x (m, k), w (n, k) when trans_w is 1 (nn.Linear's weight) or its
   transpose stored (k, n) when 0 (a Keras kernel), bias (n,), y (m, n), all row-major;
   x_len = m*k, w_len = n*k, bias_len = n, y_len = m*n.  The same numbers as tge_matmul
   followed by adding bias to every row, without the second pass over y. */
int tge_linear_forward_f32(int64_t m, int64_t n, int64_t k, const float *x, int64_t x_len,
                           const float *w, int64_t w_len, int trans_w, const float *bias,
                           int64_t bias_len, float *y, int64_t y_len);
int tge_linear_forward_f64(int64_t m, int64_t n, int64_t k, const double *x, int64_t x_len,
                           const double *w, int64_t w_len, int trans_w, const double *bias,
                           int64_t bias_len, double *y, int64_t y_len);

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
/* 1 when the three calls above take Winograd's F(2x2, 3x3) for this shape and element size
   (4: float, 8: double): a 3x3 kernel, stride 1, wide enough layers, AVX-512 (inputs with
   NaN or inf still go the direct way); 0 otherwise, also for a parameter block they would
   refuse.  Informational (tests, benchmark reports). */
int tge_conv2d_winograd(const tge_conv2d_params *p, int element_size);

/* ---- 2-D pooling (pool.c) ----
   x (n, c, h, w) -> y (n, c, oh, ow), oh = (h + 2*ph - kh) / sh + 1, ow likewise.
   Requires h, w, kh, kw, sh, sw >= 1 and 0 <= ph <= kh/2, 0 <= pw <= kw/2 (PyTorch's
   rule), which guarantees every window overlaps the input (TGE_EINVAL otherwise). */
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

/* ---- activations (activation.c) ----
   The exact GELU over n elements (any shape, flattened; every buffer holds n values):
     forward   y[i]  = x[i] * Phi(x[i]),                   Phi(x) = (1 + erf(x / sqrt 2)) / 2
     backward  gx[i] = gy[i] * (Phi(x[i]) + x[i] * phi(x[i])),  phi(x) = exp(-x^2 / 2) / sqrt(2 pi)
   TGE_EINVAL for n < 0 (or a NULL buffer with n > 0), TGE_ESIZE when a length is not n. */
int tge_gelu_forward_f32(int64_t n, const float *x, int64_t x_len, float *y, int64_t y_len);
int tge_gelu_forward_f64(int64_t n, const double *x, int64_t x_len, double *y, int64_t y_len);
int tge_gelu_backward_f32(int64_t n, const float *gy, int64_t gy_len,
                          const float *x, int64_t x_len, float *gx, int64_t gx_len);
int tge_gelu_backward_f64(int64_t n, const double *gy, int64_t gy_len,
                          const double *x, int64_t x_len, double *gx, int64_t gx_len);

/* ---- rectifier (relu.c) ----
   Over n elements (any shape, flattened; every buffer holds n values):
     forward   y[i]  = x[i] * (x[i] > 0)
     backward  gx[i] = gy[i] * (x[i] > 0)
   TGE_EINVAL for n < 0 (or a NULL buffer with n > 0), TGE_ESIZE when a length is not n. */
int tge_relu_forward_f32(int64_t n, const float *x, int64_t x_len, float *y, int64_t y_len);
int tge_relu_forward_f64(int64_t n, const double *x, int64_t x_len, double *y, int64_t y_len);
int tge_relu_backward_f32(int64_t n, const float *gy, int64_t gy_len,
                          const float *x, int64_t x_len, float *gx, int64_t gx_len);
int tge_relu_backward_f64(int64_t n, const double *gy, int64_t gy_len,
                          const double *x, int64_t x_len, double *gx, int64_t gx_len);

/* ---- the recurrent layers: LSTM, LSTM with its input projection, GRU ---- */
#include "tge_rnn.h"

/* ---- BatchNorm over x (N, C, L), per channel (batch_norm.c) ----
   forward: y = (x - mean) / sqrt(var + eps) * weight + bias (mean, var, weight, bias (C),
   the statistics given); backward: gx, gw, gb (C) from g; batch_stats = 1 when mean and var
   were the batch's own (then they depend on x), 0 for fixed running estimates. */
int tge_batch_norm_forward_f32(int64_t n, int64_t c, int64_t l, const float *x, int64_t x_len,
                               const float *mean, int64_t mean_len, const float *var, int64_t var_len,
                               const float *weight, int64_t weight_len, const float *bias,
                               int64_t bias_len, double eps, float *y, int64_t y_len);
int tge_batch_norm_forward_f64(int64_t n, int64_t c, int64_t l, const double *x, int64_t x_len,
                               const double *mean, int64_t mean_len, const double *var, int64_t var_len,
                               const double *weight, int64_t weight_len, const double *bias,
                               int64_t bias_len, double eps, double *y, int64_t y_len);
int tge_batch_norm_backward_f32(int64_t n, int64_t c, int64_t l, int64_t batch_stats,
                                const float *g, int64_t g_len, const float *x, int64_t x_len,
                                const float *mean, int64_t mean_len, const float *var, int64_t var_len,
                                const float *weight, int64_t weight_len, double eps,
                                float *gx, int64_t gx_len, float *gw, int64_t gw_len,
                                float *gb, int64_t gb_len);
int tge_batch_norm_backward_f64(int64_t n, int64_t c, int64_t l, int64_t batch_stats,
                                const double *g, int64_t g_len, const double *x, int64_t x_len,
                                const double *mean, int64_t mean_len, const double *var, int64_t var_len,
                                const double *weight, int64_t weight_len, double eps,
                                double *gx, int64_t gx_len, double *gw, int64_t gw_len,
                                double *gb, int64_t gb_len);

/* ---- softmax cross-entropy with class targets (loss.c) ----
   logits / logp / glogits (n, c), target (n,) int64 (a class in [0, c) or ignore_index),
   losses and g (n,).  forward: logp = log_softmax(logits) row by row and
   losses[i] = -logp[i, target[i]] (0 for ignored rows); backward: glogits[i] =
   g[i] * (exp(logp[i]) - onehot(target[i])) (0 for ignored rows).  TGE_EINDEX (nothing
   written) for a target outside [0, c) that is not ignore_index. */
int tge_cross_entropy_forward_f32(int64_t n, int64_t c, const float *logits, int64_t logits_len,
                                 const int64_t *target, int64_t target_len,
                                 int64_t ignore_index, float *logp, int64_t logp_len,
                                 float *losses, int64_t losses_len);
int tge_cross_entropy_forward_f64(int64_t n, int64_t c, const double *logits,
                                 int64_t logits_len, const int64_t *target,
                                 int64_t target_len, int64_t ignore_index, double *logp,
                                 int64_t logp_len, double *losses, int64_t losses_len);
int tge_cross_entropy_backward_f32(int64_t n, int64_t c, const float *logp, int64_t logp_len,
                                  const int64_t *target, int64_t target_len,
                                  int64_t ignore_index, const float *g, int64_t g_len,
                                  float *glogits, int64_t glogits_len);
int tge_cross_entropy_backward_f64(int64_t n, int64_t c, const double *logp,
                                  int64_t logp_len, const int64_t *target,
                                  int64_t target_len, int64_t ignore_index, const double *g,
                                  int64_t g_len, double *glogits, int64_t glogits_len);

/* ---- optimizer steps over all parameters of a group (optim.c) ----
   count parameters; params[i], grads[i] and the state arrays [i] each hold sizes[i]
   elements.  Adam: steps[i] is the step number t >= 1 of parameter i AFTER this update
   (bias corrections 1 - beta^t); max_exp_avg_sq may be NULL unless amsgrad.  SGD:
   momentum_buffers may be NULL when momentum == 0; first[i] != 0 says buffer i is new
   (it is set to the gradient, as PyTorch's first step).  The rules are optim/adam.py's
   and optim/sgd.py's `_update`, operation by operation in the parameters' type.
   TGE_EINVAL for a negative count or size, a NULL array that is needed, or a step < 1;
   TGE_EOVERFLOW when the sizes add up to more than INT64_MAX. */
typedef struct {
    double lr, beta1, beta2, eps, weight_decay;
    int64_t decoupled;      /* 1: AdamW (p *= 1 - lr*wd), 0: Adam (g += wd*p) */
    int64_t amsgrad, maximize;
} tge_adam_params;
typedef struct {
    double lr, momentum, dampening, weight_decay;
    int64_t nesterov, maximize;
} tge_sgd_params;

int tge_adam_step_f32(const tge_adam_params *hp, int64_t count, float *const *params,
                      const float *const *grads, float *const *exp_avg,
                      float *const *exp_avg_sq, float *const *max_exp_avg_sq,
                      const int64_t *sizes, const int64_t *steps);
int tge_adam_step_f64(const tge_adam_params *hp, int64_t count, double *const *params,
                      const double *const *grads, double *const *exp_avg,
                      double *const *exp_avg_sq, double *const *max_exp_avg_sq,
                      const int64_t *sizes, const int64_t *steps);
int tge_sgd_step_f32(const tge_sgd_params *hp, int64_t count, float *const *params,
                     const float *const *grads, float *const *momentum_buffers,
                     const int64_t *first, const int64_t *sizes);
int tge_sgd_step_f64(const tge_sgd_params *hp, int64_t count, double *const *params,
                     const double *const *grads, double *const *momentum_buffers,
                     const int64_t *first, const int64_t *sizes);

/* ---- GPT-2's GELU, the tanh approximation (gelu_tanh.c) ----
   y = x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) / 2 over n elements, and gx = gy * dy/dx. */
int tge_gelu_tanh_forward_f32(int64_t n, const float *x, int64_t x_len, float *y, int64_t y_len);
int tge_gelu_tanh_forward_f64(int64_t n, const double *x, int64_t x_len, double *y, int64_t y_len);
int tge_gelu_tanh_backward_f32(int64_t n, const float *gy, int64_t gy_len, const float *x,
                               int64_t x_len, float *gx, int64_t gx_len);
int tge_gelu_tanh_backward_f64(int64_t n, const double *gy, int64_t gy_len, const double *x,
                               int64_t x_len, double *gx, int64_t gx_len);

/* ---- causal multi-head self-attention over a packed qkv (attention.c) ----
   qkv: (batch, rows, 3 * n_head * head_dim), each row [q | k | v].  Forward: the queries
   are rows kv_len - q_len .. kv_len - 1 (0 <= q_len <= kv_len <= rows), query i sees keys
   0 .. kv_len - q_len + i; out (batch, q_len, n_head * head_dim), lse (batch, n_head,
   q_len) = log sum exp of each row's scores.  Backward: the whole sequence (rows = t),
   out and gout (batch, t, E), lse from the forward -> gqkv (batch, t, 3E). */
int tge_causal_attention_forward_f32(int64_t batch, int64_t rows, int64_t q_len,
                                     int64_t kv_len, int64_t n_head, int64_t head_dim,
                                     double scale, const float *qkv, int64_t qkv_len,
                                     float *out, int64_t out_len, float *lse, int64_t lse_len);
int tge_causal_attention_forward_f64(int64_t batch, int64_t rows, int64_t q_len,
                                     int64_t kv_len, int64_t n_head, int64_t head_dim,
                                     double scale, const double *qkv, int64_t qkv_len,
                                     double *out, int64_t out_len, double *lse,
                                     int64_t lse_len);
int tge_causal_attention_backward_f32(int64_t batch, int64_t t, int64_t n_head,
                                      int64_t head_dim, double scale, const float *qkv,
                                      int64_t qkv_len, const float *out, int64_t out_len,
                                      const float *lse, int64_t lse_len, const float *gout,
                                      int64_t gout_len, float *gqkv, int64_t gqkv_len);
int tge_causal_attention_backward_f64(int64_t batch, int64_t t, int64_t n_head,
                                      int64_t head_dim, double scale, const double *qkv,
                                      int64_t qkv_len, const double *out, int64_t out_len,
                                      const double *lse, int64_t lse_len, const double *gout,
                                      int64_t gout_len, double *gqkv, int64_t gqkv_len);

/* ---- LayerNorm over the last axis (layer_norm.c) ----
   x, y, g, gx: (rows, d); weight, bias, gweight, gbias: (d,) or NULL with length 0 (scale 1,
   shift 0; no gradient wanted); mean, rstd: (rows,), written by forward (the mean and
   1 / sqrt(biased variance + eps) of each row) and read by backward.  gx may be NULL (length
   0) when x needs no gradient. */
int tge_layer_norm_forward_f32(int64_t rows, int64_t d, const float *x, int64_t x_len,
                               const float *weight, int64_t weight_len, const float *bias,
                               int64_t bias_len, double eps, float *y, int64_t y_len,
                               float *mean, int64_t mean_len, float *rstd, int64_t rstd_len);
int tge_layer_norm_forward_f64(int64_t rows, int64_t d, const double *x, int64_t x_len,
                               const double *weight, int64_t weight_len, const double *bias,
                               int64_t bias_len, double eps, double *y, int64_t y_len,
                               double *mean, int64_t mean_len, double *rstd, int64_t rstd_len);
int tge_layer_norm_backward_f32(int64_t rows, int64_t d, const float *g, int64_t g_len,
                                const float *x, int64_t x_len, const float *weight,
                                int64_t weight_len, const float *mean, int64_t mean_len,
                                const float *rstd, int64_t rstd_len, float *gx, int64_t gx_len,
                                float *gweight, int64_t gweight_len, float *gbias,
                                int64_t gbias_len);
int tge_layer_norm_backward_f64(int64_t rows, int64_t d, const double *g, int64_t g_len,
                                const double *x, int64_t x_len, const double *weight,
                                int64_t weight_len, const double *mean, int64_t mean_len,
                                const double *rstd, int64_t rstd_len, double *gx,
                                int64_t gx_len, double *gweight, int64_t gweight_len,
                                double *gbias, int64_t gbias_len);

/* ---- dropout with a counter-based mask (dropout.c) ----
   y[i] = x[i] * (32 hash bits of (seed, i) >= threshold ? scale : 0) over n elements;
   0 <= threshold <= 2^32 - 1 (else TGE_EINVAL).  The same call on the gradient is the
   backward pass. */
int tge_dropout_f32(int64_t n, const float *x, int64_t x_len, int64_t seed, int64_t threshold,
                    double scale, float *y, int64_t y_len);
int tge_dropout_f64(int64_t n, const double *x, int64_t x_len, int64_t seed, int64_t threshold,
                    double scale, double *y, int64_t y_len);

/* ---- the gradient of an embedding lookup (embedding.c) ----
   gw (num_embeddings, dim) = 0, then gw[ids[i], :] += g[i, :] for i < n (in order), and the
   row padding_idx zeroed when 0 <= padding_idx < num_embeddings (pass -1 for none).
   TGE_EINDEX (nothing written) for an id outside [0, num_embeddings). */
int tge_embedding_backward_f32(int64_t n, int64_t dim, int64_t num_embeddings,
                               const int64_t *ids, int64_t ids_len, const float *g,
                               int64_t g_len, int64_t padding_idx, float *gw, int64_t gw_len);
int tge_embedding_backward_f64(int64_t n, int64_t dim, int64_t num_embeddings,
                               const int64_t *ids, int64_t ids_len, const double *g,
                               int64_t g_len, int64_t padding_idx, double *gw, int64_t gw_len);

/* ---- cdef-end ---- */

#endif /* TGE_H */
