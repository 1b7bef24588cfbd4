"""Benchmark of the exact-GELU kernels (pytest-benchmark): C (csrc/activation.c) against
the NumPy reference (Python's math.erf per element) and against the tanh approximation
written with NumPy ufuncs, the fastest thing NumPy alone can do.

    pytest benches/bench_gelu.py
    pytest benches/bench_gelu.py -k c                 # the C kernels only

The shape is one BERT feed-forward activation: 8 sentences x 32 tokens x 1536 features
(all-MiniLM-L6-v2's intermediate size), 393,216 elements.  Each case records its
throughput in millions of elements per second (``extra_info["Melem/s"]``, from the mean).
"""
import math

import numpy as np
import pytest

from tinygrad_edu.backends import c as ck
from tinygrad_edu.backends import numpy_ref

SHAPE = (8 * 32, 1536)
C_TABLE = pytest.param(ck, id="c", marks=pytest.mark.skipif(
    not ck.AVAILABLE, reason=f"C kernels not built: {ck.LOAD_ERROR}"))
TABLES = [pytest.param(numpy_ref, id="numpy"), C_TABLE]


def data(dtype):
    rng = np.random.default_rng(0)
    return rng.standard_normal(SHAPE).astype(dtype), rng.standard_normal(SHAPE).astype(dtype)


def record_throughput(benchmark):
    elements = SHAPE[0] * SHAPE[1]
    benchmark.extra_info["Melem/s"] = round(elements / benchmark.stats.stats.mean / 1e6, 1)


@pytest.mark.benchmark(group="gelu-forward")
@pytest.mark.parametrize("table", TABLES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_gelu_forward(benchmark, table, dtype):
    x, _ = data(dtype)
    benchmark(table.gelu_forward, x)
    record_throughput(benchmark)


@pytest.mark.benchmark(group="gelu-backward")
@pytest.mark.parametrize("table", TABLES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_gelu_backward(benchmark, table, dtype):
    x, gy = data(dtype)
    benchmark(table.gelu_backward, gy, x)
    record_throughput(benchmark)


@pytest.mark.benchmark(group="gelu-forward")
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_gelu_tanh_numpy_forward(benchmark, dtype):
    """For scale: the tanh approximation in vectorised NumPy (no erf needed)."""
    x, _ = data(dtype)
    k = dtype(math.sqrt(2.0 / math.pi))

    def gelu_tanh(x):
        return dtype(0.5) * x * (1 + np.tanh(k * (x + dtype(0.044715) * x * x * x)))

    benchmark(gelu_tanh, x)
    record_throughput(benchmark)
