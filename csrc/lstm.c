/*
 * lstm.c - one LSTM layer over a whole sequence, forward and backward, in one call each
 * (float32 and float64): tge_lstm_{forward, backward}_{f32, f64}.
 *
 * Why fused: written with tensor ops, a step of an LSTM is ~15 small operations (a
 * matrix product, slices, three sigmoids, two tanh, products and sums), each one a
 * Python call that allocates its result, and their backward as many again; at batch 64
 * and hidden size 100 the arithmetic of a step takes microseconds and the Python
 * overhead dominates.  Here a step is one GEMM (h @ W_hh^T) and one loop over the
 * (N, 4H) gates; backward is one GEMM per step (dz @ W_hh) plus one large GEMM at the end
 * for dW_hh = sum_t dz_t^T h_{t-1} over all steps at once.
 *
 * The input projection xw = x @ W_ih^T + b_ih + b_hh (T, N, 4H) is NOT done here: it is
 * one matrix product for the whole sequence, done (and differentiated) by the ordinary
 * Linear op before the call.  Gate order i, f, g, o as PyTorch.
 *
 * The sigmoid and tanh use exp_T below: for float a polynomial exp (1-2 ulp), written
 * without branches so that the gate loop vectorises (libm's expf is a call per element);
 * for double, libm's exp.  The NumPy twin (numpy_ref.lstm_forward / lstm_backward)
 * computes the same with np.exp / np.tanh.
 */
#include <math.h>
#include <string.h>

#include "tge_internal.h"

/* e^x for float: x = k ln2 + r with |r| <= ln2/2, e^r by its Taylor polynomial to degree
   7 (relative error < 2e-9 on that interval, below float's 6e-8), times 2^k built in the
   exponent bits.  x is clamped to [-87, 88] so that 2^k stays a normal float: enough for
   the sigmoid and tanh below, which saturate long before. */
static inline float exp_f32(float x)
{
    x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
    /* round x / ln2 to the nearest integer: adding 1.5 * 2^23 drops the fraction */
    const float shifter = 12582912.0f;
    const float kf = (x * 1.44269504088896341f + shifter) - shifter;
    const float r = (x - kf * 0.693145751953125f) - kf * 1.428606765330187e-6f;
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    /* a NaN x makes kf NaN, and converting NaN to an integer is undefined behaviour (and
       gave a negative left shift, found by the fuzzer under UBSan): take k = 0 then, the
       polynomial p is NaN already, so the result stays NaN */
    const float k = kf == kf ? kf : 0.0f;
    union { int32_t i; float f; } scale;
    scale.i = ((int32_t)k + 127) << 23;
    return p * scale.f;
}

static inline double exp_f64(double x) { return exp(x); }

#define T float
#define SFX(name) name##_f32
#include "lstm_impl.inc"
#include "lstm_input_impl.inc"
#undef T
#undef SFX

#define T double
#define SFX(name) name##_f64
#include "lstm_impl.inc"
#include "lstm_input_impl.inc"
#undef T
#undef SFX
