"""Differential fuzzing of every C entry point against the NumPy reference (a package).

Shared by ``tests/fuzz/test_fuzz_kernels.py`` (hypothesis, the short run of CI) and
``tools/fuzz.py`` (the long local run, e.g. ``--cases 100000``).  Files: common.py (random
sources, arrays, comparisons, raw-call helpers), dense.py and fused.py (the wrappers of
the C table against the NumPy twins), attention.py, invalid.py (spoiled calls),
raw_dense.py and raw_fused.py (the compiled functions called directly).

A *target* is a pair of functions::

    case = target.generate(src)   # src: random choices (a hypothesis `draw` or a NumPy Generator)
    target.check(case)            # raises AssertionError on a discrepancy, returns a short tag

A case is a plain dict of small values (shapes, flags, layouts, a seed for the array values),
so a failing one prints in a form that replays: ``tools/fuzz.py --replay`` takes it back.

What is checked
---------------
* ``matmul``, ``linear``, ``conv2d``, ``pool2d``, ``elementwise`` (every elementwise kernel of the
  contract, backends/contract.py), ``lstm``, ``xent``, ``optim``: the C table
  (:mod:`tinygrad_edu.backends.c`) against the NumPy one on the same arrays: random shapes with sizes 0 and 1, every stride,
  padding and kernel size (larger than the input too, which both must refuse alike), transpose
  flags, float32 and float64, non-contiguous / reversed / unaligned / read-only / broadcast
  views, and values with NaN, +-inf, -0.0 and denormals.  Comparisons are NaN-aware (a NaN
  must sit where the reference has one; infinities must match exactly).  The C kernels must
  also leave their inputs untouched and return fresh C-contiguous arrays.
* ``invalid``: a valid call with one argument spoiled (dtype, rank, channels, stride,
  padding, bias, indices, shape arguments ...): both tables must do the same thing, which is
  raising the same ValueError or TypeError (or, when the spoiling happened to give a legal
  call, the same result).  Nothing else may escape, and nothing may crash.
* ``raw_*``: the compiled functions called directly through the ffi with random, often
  inconsistent sizes and lengths (negative, zero, off by one, overflowing, NULL buffers).  A
  Python model of the contract in csrc/tge.h says whether the call is legal: a legal one must
  return 0 and compute the reference result, an illegal one a non-zero TGE_E* code without
  writing anything.  Buffers are exactly as long as the call claims, so under the sanitizer
  build (``.ci/sanitizers``) any read or write past them is reported.
* ``raw_overflow``: calls whose size arithmetic does not fit in int64: pooling windows up to
  2^62 cells a side (the average's divisor), optimizer sizes adding past INT64_MAX, and the
  adaptive thread-pool switches (raw_overflow.py).
* ``threads``: ``tge_set_num_threads`` / ``tge_get_num_threads`` with random values;
  ``measure``: the benchmarks' ``tge_fma_peak_gflops_f32`` probe; ``malloc_tune``: the
  allocator setting ``tge_malloc_tune``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .attention import check_attention, check_raw_attention, gen_attention, gen_raw_attention
from .common import RAW_CALLED, DrawSource, RandomSource, raw  # noqa: F401 - the API
from .dense import (
    ELEMENTWISE_KERNELS, check_conv, check_elementwise, check_linear, check_matmul, check_pool,
    gen_conv, gen_elementwise, gen_linear, gen_matmul, gen_pool)
from .fused import check_lstm, check_optim, check_xent, gen_lstm, gen_optim, gen_xent
from .lstm_input import check_lstm_input, check_raw_lstm_input, gen_lstm_input, gen_raw_lstm_input
from .gru import check_gru, check_raw_gru, gen_gru, gen_raw_gru
from .embedding import check_embedding, check_raw_embedding, gen_embedding, gen_raw_embedding
from .batch_norm import check_batch_norm, check_raw_batch_norm, gen_batch_norm, gen_raw_batch_norm
from .norm_dropout import (
    check_dropout, check_layer_norm, check_raw_dropout, check_raw_layer_norm, gen_dropout,
    gen_layer_norm, gen_raw_dropout, gen_raw_layer_norm)
from .invalid import check_invalid, check_invalid_optim, gen_invalid, gen_invalid_optim
from .raw_dense import (
    check_raw_conv, check_raw_elementwise, check_raw_gemm, check_raw_linear,
    check_raw_max_backward, check_raw_pool, gen_raw_conv, gen_raw_elementwise, gen_raw_gemm,
    gen_raw_linear, gen_raw_max_backward, gen_raw_pool)
from .raw_fused import (
    check_malloc_tune, check_measure, check_raw_lstm, check_raw_optim, check_raw_xent,
    check_threads, gen_malloc_tune, gen_measure, gen_raw_lstm, gen_raw_optim, gen_raw_xent,
    gen_threads)
from .raw_overflow import check_raw_overflow, gen_raw_overflow

# ------------------------------------------------------------------------------------
# The registry
# ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    name: str
    generate: Callable
    check: Callable
    kernels: tuple  # the kernels of the contract it exercises
    weight: int = 1  # share of the long run


TARGETS = {t.name: t for t in (
    Target("matmul", gen_matmul, check_matmul, ("matmul",), 3),
    Target("linear", gen_linear, check_linear, ("linear_forward",), 1),
    Target("conv2d", gen_conv, check_conv,
           ("conv2d_forward", "conv2d_backward_input", "conv2d_backward_weight"), 3),
    Target("pool2d", gen_pool, check_pool,
           ("max_pool2d_forward", "max_pool2d_backward", "avg_pool2d_forward",
            "avg_pool2d_backward"), 3),
    Target("elementwise", gen_elementwise, check_elementwise, ELEMENTWISE_KERNELS, 2),
    Target("lstm", gen_lstm, check_lstm, ("lstm_forward", "lstm_backward"), 2),
    Target("lstm_input", gen_lstm_input, check_lstm_input,
           ("lstm_input_forward", "lstm_input_backward"), 2),
    Target("gru", gen_gru, check_gru, ("gru_forward", "gru_backward"), 2),
    Target("batch_norm", gen_batch_norm, check_batch_norm, ("batch_norm_forward", "batch_norm_backward"), 2),
    Target("optim", gen_optim, check_optim, ("adam_step", "sgd_step"), 2),
    Target("xent", gen_xent, check_xent, ("cross_entropy_forward", "cross_entropy_backward"), 2),
    Target("attention", gen_attention, check_attention,
           ("causal_attention_forward", "causal_attention_backward"), 2),
    Target("layer_norm", gen_layer_norm, check_layer_norm,
           ("layer_norm_forward", "layer_norm_backward"), 2),
    Target("dropout", gen_dropout, check_dropout, ("dropout",), 1),
    Target("embedding", gen_embedding, check_embedding, ("embedding_backward",), 1),
    Target("raw_layer_norm", gen_raw_layer_norm, check_raw_layer_norm,
           ("layer_norm_forward", "layer_norm_backward"), 2),
    Target("raw_dropout", gen_raw_dropout, check_raw_dropout, ("dropout",), 1),
    Target("raw_embedding", gen_raw_embedding, check_raw_embedding, ("embedding_backward",), 1),
    Target("invalid_optim", gen_invalid_optim, check_invalid_optim, (), 1),
    Target("invalid", gen_invalid, check_invalid, (), 2),
    Target("raw_gemm", gen_raw_gemm, check_raw_gemm, ("matmul",), 2),
    Target("raw_linear", gen_raw_linear, check_raw_linear, ("linear_forward",), 1),
    Target("raw_conv", gen_raw_conv, check_raw_conv,
           ("conv2d_forward", "conv2d_backward_input", "conv2d_backward_weight"), 2),
    Target("raw_pool", gen_raw_pool, check_raw_pool,
           ("max_pool2d_forward", "avg_pool2d_forward", "avg_pool2d_backward"), 2),
    Target("raw_max_backward", gen_raw_max_backward, check_raw_max_backward,
           ("max_pool2d_backward",), 1),
    Target("raw_elementwise", gen_raw_elementwise, check_raw_elementwise,
           ELEMENTWISE_KERNELS, 2),
    Target("raw_optim", gen_raw_optim, check_raw_optim, ("adam_step", "sgd_step"), 2),
    Target("raw_xent", gen_raw_xent, check_raw_xent,
           ("cross_entropy_forward", "cross_entropy_backward"), 2),
    Target("raw_lstm", gen_raw_lstm, check_raw_lstm, ("lstm_forward", "lstm_backward"), 2),
    Target("raw_lstm_input", gen_raw_lstm_input, check_raw_lstm_input,
           ("lstm_input_forward", "lstm_input_backward"), 2),
    Target("raw_gru", gen_raw_gru, check_raw_gru, ("gru_forward", "gru_backward"), 2),
    Target("raw_batch_norm", gen_raw_batch_norm, check_raw_batch_norm,
           ("batch_norm_forward", "batch_norm_backward"), 2),
    Target("raw_attention", gen_raw_attention, check_raw_attention,
           ("causal_attention_forward", "causal_attention_backward"), 2),
    Target("raw_overflow", gen_raw_overflow, check_raw_overflow,
           ("max_pool2d_forward", "avg_pool2d_forward", "avg_pool2d_backward", "adam_step", "sgd_step"), 1),
    Target("threads", gen_threads, check_threads, (), 1),
    Target("measure", gen_measure, check_measure, (), 1),
    Target("malloc_tune", gen_malloc_tune, check_malloc_tune, (), 1),
)}


def covered_kernels() -> set:
    """The kernels of the contract that some target exercises, through the wrapper and
    through the raw ffi (the elementwise ones are picked up from the contract)."""
    wrapped = set().union(*(t.kernels for t in TARGETS.values() if not t.name.startswith("raw")))
    called_raw = set().union(*(t.kernels for t in TARGETS.values() if t.name.startswith("raw")))
    return wrapped & called_raw


def run_case(target_name: str, case: dict) -> str:
    """Check one case of a target; returns its outcome tag, raises on a failure."""
    with np.errstate(all="ignore"):
        return TARGETS[target_name].check(case)
