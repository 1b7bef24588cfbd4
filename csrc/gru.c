/*
 * gru.c - one GRU layer over a whole sequence, forward and backward in one call each
 * (float32 and float64): tge_gru_{forward, backward}_{f32, f64}.
 *
 * Why fused: as for the LSTM (lstm.c), a GRU step written with tensor ops is a dozen small
 * operations, each a Python call and a fresh array; here a step is one GEMM
 * (h @ W_hh^T) and one loop over the (N, 3H) gates, and backward one loop and two GEMMs
 * per step.  Gate order r, z, n as PyTorch; the input projection xw = x @ W_ih^T + b_ih
 * (S, N, 3H) is one Linear op done by the caller; b_hh is applied here, because b_hn sits
 * inside the reset product:
 *
 *   b = h_prev @ W_hh^T + b_hh;  r = sigmoid(xw_r + b_r);  z = sigmoid(xw_z + b_z)
 *   n = tanh(xw_n + r * b_n);    h = (1 - z) * n + z * h_prev
 *
 * The NumPy twin is backends/numpy_ref/gru.py (same arguments, same results).  The
 * product runs on tge_gemm_parallel with the thread count of the work; the gate loops
 * are plain loops the compiler vectorises (the float exp is tge_expf_fast).
 */
#include <math.h>
#include <string.h>

#include "tge_internal.h"

static inline float gru_exp_f32(float x) { return tge_expf_fast(x); }
static inline double gru_exp_f64(double x) { return exp(x); }

#define T float
#define SFX(name) name##_f32
#include "gru_impl.inc"
#undef T
#undef SFX

#define T double
#define SFX(name) name##_f64
#include "gru_impl.inc"
#undef T
#undef SFX
