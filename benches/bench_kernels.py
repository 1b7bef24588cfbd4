"""Benchmarks of the kernel tables (pytest-benchmark), C against the NumPy reference.

    pytest benches/bench_kernels.py                       # everything
    pytest benches/bench_kernels.py -k "gemm and c"       # a subset
    TGE_NUM_THREADS=1 pytest benches/bench_kernels.py     # one thread (OPENBLAS_NUM_THREADS=1
                                                          # too, for a fair NumPy figure)

Each matrix-product and convolution case records its GFLOP/s (2 flops per
multiply-add, from the mean time) in ``extra_info``; see it with
``--benchmark-columns=mean,ops`` plus ``--benchmark-json``, or in the compare script.
Shapes: square GEMMs 128/256/512, and every layer of the articles' CNN at batch 64:
conv1 1->32 3x3 on 28x28, max-pool 2, conv2 32->64 3x3 on 13x13, max-pool 2,
conv3 64->64 3x3 on 5x5, flatten 576, linear 576->64, linear 64->10.
"""
import numpy as np
import pytest

from tinygrad_edu.backends import c as ck
from tinygrad_edu.backends import numpy_ref

TABLES = [pytest.param(numpy_ref, id="numpy"),
          pytest.param(ck, id="c", marks=pytest.mark.skipif(
              not ck.AVAILABLE, reason=f"C kernels not built: {ck.LOAD_ERROR}"))]

BATCH = 64
# (name, input (C, H, W), out channels, kernel): the CNN's convolutions
CONV_LAYERS = [("conv1", (1, 28, 28), 32, 3), ("conv2", (32, 13, 13), 64, 3),
               ("conv3", (64, 5, 5), 64, 3)]
# (name, input (C, H, W)): its pooling layers (2x2, stride 2)
POOL_LAYERS = [("pool1", (32, 26, 26)), ("pool2", (64, 11, 11))]


def rand(*shape, dtype=np.float32):
    return np.random.default_rng(0).standard_normal(shape).astype(dtype)


def record_gflops(benchmark, flops):
    benchmark.extra_info["gflops"] = round(flops / benchmark.stats.stats.mean / 1e9, 2)


# ---- matrix product -----------------------------------------------------------------

@pytest.mark.parametrize("table", TABLES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("n", [128, 256, 512])
def test_gemm_square(benchmark, table, dtype, n):
    a, b = rand(n, n, dtype=dtype), rand(n, n, dtype=dtype)
    benchmark(table.matmul, a, b)
    record_gflops(benchmark, 2 * n ** 3)


# (name, m, n, k, trans_a, trans_b): the products the CNN's layers make
CNN_GEMMS = [
    ("linear1_fwd", BATCH, 64, 576, False, True),      # x (64, 576) @ W1^T
    ("linear1_gw", 64, 576, BATCH, True, False),       # gy^T @ x
    ("linear1_gx", BATCH, 576, 64, False, False),      # gy @ W1
    ("linear2_fwd", BATCH, 10, 64, False, True),
    ("conv1_im2col", 32, 26 * 26, 1 * 9, False, False),   # W (O, C*9) @ cols (C*9, OH*OW)
    ("conv2_im2col", 64, 11 * 11, 32 * 9, False, False),
    ("conv3_im2col", 64, 3 * 3, 64 * 9, False, False),
]


@pytest.mark.parametrize("table", TABLES)
@pytest.mark.parametrize("name,m,n,k,ta,tb", CNN_GEMMS, ids=[g[0] for g in CNN_GEMMS])
def test_gemm_cnn_shapes(benchmark, table, name, m, n, k, ta, tb):
    a = rand(*((k, m) if ta else (m, k)))
    b = rand(*((n, k) if tb else (k, n)))
    benchmark(table.matmul, a, b, ta, tb)
    record_gflops(benchmark, 2 * m * n * k)


# ---- convolution, per CNN layer -----------------------------------------------------

def conv_case(layer):
    _, (c, h, w), o, k = layer
    x, wt, bias = rand(BATCH, c, h, w), rand(o, c, k, k), rand(o)
    gy = rand(BATCH, o, h - k + 1, w - k + 1)
    flops = 2 * BATCH * o * (h - k + 1) * (w - k + 1) * c * k * k
    return x, wt, bias, gy, flops


@pytest.mark.parametrize("table", TABLES)
@pytest.mark.parametrize("layer", CONV_LAYERS, ids=[layer[0] for layer in CONV_LAYERS])
def test_conv2d_forward(benchmark, table, layer):
    x, w, b, _, flops = conv_case(layer)
    benchmark(table.conv2d_forward, x, w, b, (1, 1), (0, 0))
    record_gflops(benchmark, flops)


@pytest.mark.parametrize("table", TABLES)
@pytest.mark.parametrize("layer", CONV_LAYERS, ids=[layer[0] for layer in CONV_LAYERS])
def test_conv2d_backward_input(benchmark, table, layer):
    x, w, _, gy, flops = conv_case(layer)
    benchmark(table.conv2d_backward_input, gy, w, x.shape, (1, 1), (0, 0))
    record_gflops(benchmark, flops)


@pytest.mark.parametrize("table", TABLES)
@pytest.mark.parametrize("layer", CONV_LAYERS, ids=[layer[0] for layer in CONV_LAYERS])
def test_conv2d_backward_weight(benchmark, table, layer):
    x, w, _, gy, flops = conv_case(layer)
    benchmark(table.conv2d_backward_weight, gy, x, w.shape, (1, 1), (0, 0))
    record_gflops(benchmark, flops)


# ---- pooling, per CNN layer -----------------------------------------------------------

@pytest.mark.parametrize("table", TABLES)
@pytest.mark.parametrize("layer", POOL_LAYERS, ids=[layer[0] for layer in POOL_LAYERS])
def test_max_pool2d_forward(benchmark, table, layer):
    x = rand(BATCH, *layer[1])
    benchmark(table.max_pool2d_forward, x, (2, 2), (2, 2), (0, 0))


@pytest.mark.parametrize("table", TABLES)
@pytest.mark.parametrize("layer", POOL_LAYERS, ids=[layer[0] for layer in POOL_LAYERS])
def test_max_pool2d_backward(benchmark, table, layer):
    x = rand(BATCH, *layer[1])
    y, idx = numpy_ref.max_pool2d_forward(x, (2, 2), (2, 2), (0, 0))
    benchmark(table.max_pool2d_backward, y, idx, x.shape)


@pytest.mark.parametrize("table", TABLES)
@pytest.mark.parametrize("layer", POOL_LAYERS, ids=[layer[0] for layer in POOL_LAYERS])
def test_avg_pool2d_forward_backward(benchmark, table, layer):
    x = rand(BATCH, *layer[1])

    def step():
        y = table.avg_pool2d_forward(x, (2, 2), (2, 2), (0, 0))
        return table.avg_pool2d_backward(y, x.shape, (2, 2), (2, 2), (0, 0))

    benchmark(step)
