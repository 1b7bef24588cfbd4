/*
 * batch_norm.c - BatchNorm's normalisation and its backward over x (N, C, L), per channel
 * (float32 and float64): tge_batch_norm_{forward, backward}_{f32, f64}.
 *
 * The statistics (mean, biased var per channel) come from the caller.  Forward is one pass:
 * y = x * scale[c] + shift[c] with scale = weight / sqrt(var + eps), shift = bias -
 * mean * scale.  Backward is two passes per channel: the sums gb = sum g and
 * gw = sum g * xhat (accumulated in double), then
 *   batch statistics:  gx = scale * (g - gb / M - xhat * gw / M),  M = N * L
 *   fixed statistics:  gx = scale * g
 * where NumPy needs about ten full passes with temporaries.  The NumPy twin is
 * backends/numpy_ref/batch_norm.py.
 */
#include <math.h>

#include "tge_internal.h"

#define T float
#define SFX(name) name##_f32
#include "batch_norm_impl.inc"
#undef T
#undef SFX

#define T double
#define SFX(name) name##_f64
#include "batch_norm_impl.inc"
#undef T
#undef SFX
