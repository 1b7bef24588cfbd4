/*
 * tge_rnn.h - the recurrent layers' exported functions: one LSTM layer over a whole
 * sequence (lstm.c), the same with its input projection (lstm.c, lstm_input_impl.inc) and
 * one GRU layer (gru.c).  Part of the interface that csrc/tge.h declares: tge.h includes it
 * inside its cdef region, and tinygrad_edu/backends/_build.py's read_cdef() follows that
 * include, so cffi sees these declarations in tge.h's place.  The conventions at the top of
 * tge.h hold here too.
 */
#ifndef TGE_RNN_H
#define TGE_RNN_H

#include <stdint.h>

/* ---- cdef-begin (read_cdef follows tge.h's include to here) ---- */

/* ---- one LSTM layer over a whole sequence (lstm.c) ----
   steps S, batch N, hidden H; reverse = 1 reads the sequence from the end.  Gate order
   i, f, g, o (PyTorch's).  Forward takes the input projection xw (S, N, 4H) =
   x @ W_ih^T + b_ih + b_hh (done by the caller), w_hh (4H, H), h0 and c0 (N, H) and writes
   out (S, N, H) (h at every position), c_all (S, N, H) and gates (S, N, 4H) (the cell
   states and activated gates, which backward needs).  Backward takes those, the output
   gradient g_out (S, N, H) and g_cn (N, H) or NULL (length 0), and writes g_xw (S, N, 4H),
   g_h0, g_c0 (N, H) and g_w_hh (4H, H).  Lengths are checked as everywhere. */
typedef struct {
    int64_t steps, batch, hidden;
    int64_t reverse;        /* 0 or 1 */
} tge_lstm_params;

int tge_lstm_forward_f32(const tge_lstm_params *p,
                         const float *xw, int64_t xw_len,
                         const float *w_hh, int64_t w_hh_len,
                         const float *h0, int64_t h0_len,
                         const float *c0, int64_t c0_len,
                         float *out, int64_t out_len,
                         float *c_all, int64_t c_all_len,
                         float *gates, int64_t gates_len);
int tge_lstm_forward_f64(const tge_lstm_params *p,
                         const double *xw, int64_t xw_len,
                         const double *w_hh, int64_t w_hh_len,
                         const double *h0, int64_t h0_len,
                         const double *c0, int64_t c0_len,
                         double *out, int64_t out_len,
                         double *c_all, int64_t c_all_len,
                         double *gates, int64_t gates_len);
int tge_lstm_backward_f32(const tge_lstm_params *p,
                          const float *w_hh, int64_t w_hh_len,
                          const float *h0, int64_t h0_len,
                          const float *c0, int64_t c0_len,
                          const float *out, int64_t out_len,
                          const float *c_all, int64_t c_all_len,
                          const float *gates, int64_t gates_len,
                          const float *g_out, int64_t g_out_len,
                          const float *g_cn, int64_t g_cn_len,
                          float *g_xw, int64_t g_xw_len,
                          float *g_h0, int64_t g_h0_len,
                          float *g_c0, int64_t g_c0_len,
                          float *g_w_hh, int64_t g_w_hh_len);
int tge_lstm_backward_f64(const tge_lstm_params *p,
                          const double *w_hh, int64_t w_hh_len,
                          const double *h0, int64_t h0_len,
                          const double *c0, int64_t c0_len,
                          const double *out, int64_t out_len,
                          const double *c_all, int64_t c_all_len,
                          const double *gates, int64_t gates_len,
                          const double *g_out, int64_t g_out_len,
                          const double *g_cn, int64_t g_cn_len,
                          double *g_xw, int64_t g_xw_len,
                          double *g_h0, int64_t g_h0_len,
                          double *g_c0, int64_t g_c0_len,
                          double *g_w_hh, int64_t g_w_hh_len);

/* ---- one LSTM layer with its input projection (lstm.c, lstm_input_impl.inc) ----
   As above with x (S, N, F) (features F >= 1) in place of xw, and the weights in Keras's
   layout: w_x (F, 4H), w_h (H, 4H), bias (4H) or NULL (length 0).  Backward writes g_x
   (S, N, F), g_w_x, g_w_h, g_bias (NULL, length 0: not wanted), g_h0 and g_c0. */
int tge_lstm_input_forward_f32(const tge_lstm_params *p, int64_t features,
    const float *x, int64_t x_len, const float *w_x, int64_t w_x_len,
    const float *w_h, int64_t w_h_len, const float *bias, int64_t bias_len,
    const float *h0, int64_t h0_len, const float *c0, int64_t c0_len, float *out, int64_t out_len,
    float *c_all, int64_t c_all_len, float *gates, int64_t gates_len);
int tge_lstm_input_forward_f64(const tge_lstm_params *p, int64_t features,
    const double *x, int64_t x_len, const double *w_x, int64_t w_x_len,
    const double *w_h, int64_t w_h_len, const double *bias, int64_t bias_len,
    const double *h0, int64_t h0_len, const double *c0, int64_t c0_len,
    double *out, int64_t out_len, double *c_all, int64_t c_all_len,
    double *gates, int64_t gates_len);
int tge_lstm_input_backward_f32(const tge_lstm_params *p, int64_t features,
    const float *x, int64_t x_len, const float *w_x, int64_t w_x_len,
    const float *w_h, int64_t w_h_len, const float *h0, int64_t h0_len,
    const float *c0, int64_t c0_len, const float *out, int64_t out_len,
    const float *c_all, int64_t c_all_len, const float *gates, int64_t gates_len,
    const float *g_out, int64_t g_out_len, const float *g_cn, int64_t g_cn_len,
    float *g_x, int64_t g_x_len, float *g_w_x, int64_t g_w_x_len, float *g_w_h, int64_t g_w_h_len,
    float *g_bias, int64_t g_bias_len, float *g_h0, int64_t g_h0_len,
    float *g_c0, int64_t g_c0_len);
int tge_lstm_input_backward_f64(const tge_lstm_params *p, int64_t features,
    const double *x, int64_t x_len, const double *w_x, int64_t w_x_len,
    const double *w_h, int64_t w_h_len, const double *h0, int64_t h0_len,
    const double *c0, int64_t c0_len, const double *out, int64_t out_len,
    const double *c_all, int64_t c_all_len, const double *gates, int64_t gates_len,
    const double *g_out, int64_t g_out_len, const double *g_cn, int64_t g_cn_len,
    double *g_x, int64_t g_x_len, double *g_w_x, int64_t g_w_x_len,
    double *g_w_h, int64_t g_w_h_len, double *g_bias, int64_t g_bias_len,
    double *g_h0, int64_t g_h0_len, double *g_c0, int64_t g_c0_len);

/* ---- one GRU layer over a whole sequence (gru.c) ----
   steps S, batch N, hidden H; reverse = 1 reads the sequence from the end.  Gate order
   r, z, n (PyTorch's).  Forward takes the input projection xw (S, N, 3H) = x @ W_ih^T +
   b_ih (done by the caller), w_hh (3H, H), b_hh (3H) and h0 (N, H) and writes out
   (S, N, H) (h at every position) and gates (S, N, 4H) (r, z, n and the recurrent n term
   h_prev W_hn^T + b_hn, which backward needs).  Backward takes those and the output
   gradient g_out (S, N, H) and writes g_xw (S, N, 3H), g_h0 (N, H), g_w_hh (3H, H) and
   g_b_hh (3H).  Lengths are checked as everywhere. */
typedef struct {
    int64_t steps, batch, hidden;
    int64_t reverse;        /* 0 or 1 */
} tge_gru_params;

int tge_gru_forward_f32(const tge_gru_params *p,
                        const float *xw, int64_t xw_len,
                        const float *w_hh, int64_t w_hh_len,
                        const float *b_hh, int64_t b_hh_len,
                        const float *h0, int64_t h0_len,
                        float *out, int64_t out_len,
                        float *gates, int64_t gates_len);
int tge_gru_forward_f64(const tge_gru_params *p,
                        const double *xw, int64_t xw_len,
                        const double *w_hh, int64_t w_hh_len,
                        const double *b_hh, int64_t b_hh_len,
                        const double *h0, int64_t h0_len,
                        double *out, int64_t out_len,
                        double *gates, int64_t gates_len);
int tge_gru_backward_f32(const tge_gru_params *p,
                         const float *w_hh, int64_t w_hh_len,
                         const float *b_hh, int64_t b_hh_len,
                         const float *h0, int64_t h0_len,
                         const float *out, int64_t out_len,
                         const float *gates, int64_t gates_len,
                         const float *g_out, int64_t g_out_len,
                         float *g_xw, int64_t g_xw_len,
                         float *g_h0, int64_t g_h0_len,
                         float *g_w_hh, int64_t g_w_hh_len,
                         float *g_b_hh, int64_t g_b_hh_len);
int tge_gru_backward_f64(const tge_gru_params *p,
                         const double *w_hh, int64_t w_hh_len,
                         const double *b_hh, int64_t b_hh_len,
                         const double *h0, int64_t h0_len,
                         const double *out, int64_t out_len,
                         const double *gates, int64_t gates_len,
                         const double *g_out, int64_t g_out_len,
                         double *g_xw, int64_t g_xw_len,
                         double *g_h0, int64_t g_h0_len,
                         double *g_w_hh, int64_t g_w_hh_len,
                         double *g_b_hh, int64_t g_b_hh_len);

/* ---- cdef-end ---- */

#endif /* TGE_RNN_H */
