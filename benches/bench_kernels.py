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
conv3 64->64 3x3 on 5x5, flatten 576, linear 576->64, linear 64->10; the skinny products
of the LSTM classifier (K or N of 10 and 100); and the fused kernels: ReLU on the CNN's
first activation, the whole-sequence LSTM (batch 64, hidden 100, T = 10 and 100) forward
and backward, softmax cross-entropy (64 x 10) and the Adam / SGD step over the CNN's
parameters (``fused_adam``: one C call; ``reference``: the optimizer's `_update` loop).
Memory-bound cases record GB/s in ``extra_info`` instead of GFLOP/s.
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
    if benchmark.stats is None:  # --benchmark-disable: nothing was timed
        return
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


def record_gbps(benchmark, nbytes):
    if benchmark.stats is None:
        return
    benchmark.extra_info["gbps"] = round(nbytes / benchmark.stats.stats.mean / 1e9, 2)


# ---- the skinny products of the LSTM classifier ------------------------------------------

# (name, m, n, k, trans_a, trans_b): Embedding(10) -> LSTM(100) at batch 64, T = 100
LSTM_GEMMS = [
    ("input_projection", 6400, 400, 10, False, True),   # x (T*N, 10) @ W_ih^T
    ("input_grad", 6400, 10, 400, False, False),        # g @ W_ih: N = 10
    ("w_ih_grad", 400, 10, 6400, True, False),          # g^T @ x: N = 10, K long
    ("recurrent_step", 64, 400, 100, False, True),      # h @ W_hh^T, once per step
    ("recurrent_grad", 64, 100, 400, False, False),     # dz @ W_hh, once per step
]


@pytest.mark.parametrize("table", TABLES)
@pytest.mark.parametrize("name,m,n,k,ta,tb", LSTM_GEMMS, ids=[g[0] for g in LSTM_GEMMS])
def test_gemm_lstm_shapes(benchmark, table, name, m, n, k, ta, tb):
    a = rand(*((k, m) if ta else (m, k)))
    b = rand(*((n, k) if tb else (k, n)))
    benchmark(table.matmul, a, b, ta, tb)
    record_gflops(benchmark, 2 * m * n * k)


# ---- convolution: the three passes of a layer, as a training step runs them -------------

@pytest.mark.parametrize("table", TABLES)
@pytest.mark.parametrize("layer", CONV_LAYERS, ids=[layer[0] for layer in CONV_LAYERS])
def test_conv2d_all_passes(benchmark, table, layer):
    x, w, b, gy, flops = conv_case(layer)

    def step():
        table.conv2d_forward(x, w, b, (1, 1), (0, 0))
        table.conv2d_backward_input(gy, w, x.shape, (1, 1), (0, 0))
        table.conv2d_backward_weight(gy, x, w.shape, (1, 1), (0, 0))

    benchmark(step)
    record_gflops(benchmark, 3 * flops)


# ---- fused kernels -----------------------------------------------------------------------

@pytest.mark.parametrize("table", TABLES)
def test_relu_forward_backward(benchmark, table):
    x = rand(BATCH, 32, 26, 26)

    def step():
        table.relu_backward(table.relu_forward(x), x)

    benchmark(step)
    record_gbps(benchmark, 5 * x.nbytes)  # read x, write y; read gy and x, write gx


@pytest.mark.parametrize("table", TABLES)
@pytest.mark.parametrize("steps", [10, 100])
def test_lstm_forward_backward(benchmark, table, steps):
    hidden = 100
    xw = rand(steps, BATCH, 4 * hidden)
    w_hh = rand(4 * hidden, hidden) * np.float32(0.1)
    h0, c0 = rand(BATCH, hidden), rand(BATCH, hidden)
    g_out = rand(steps, BATCH, hidden)

    def step():
        out, c_all, gates = table.lstm_forward(xw, w_hh, h0, c0)
        table.lstm_backward(w_hh, h0, c0, out, c_all, gates, g_out, None)

    benchmark(step)
    # per step: h @ W_hh^T forward, dz @ W_hh backward, dz^T @ h for dW_hh
    record_gflops(benchmark, 3 * 2 * steps * BATCH * 4 * hidden * hidden)


@pytest.mark.parametrize("table", TABLES)
def test_softmax_cross_entropy(benchmark, table):
    logits = rand(BATCH, 10)
    target = np.random.default_rng(1).integers(0, 10, BATCH).astype(np.int64)
    g = np.full(BATCH, 1.0 / BATCH, np.float32)

    def step():
        logp, _ = table.cross_entropy_forward(logits, target, -100)
        table.cross_entropy_backward(logp, target, -100, g)

    benchmark(step)


@pytest.mark.parametrize("path", ["fused_adam", "reference"])
def test_adam_step_cnn_parameters(benchmark, path):
    """One Adam step over the CNN's 93,322 parameters: the fused C step against the
    reference loop of optim.Adam._update."""
    if not ck.AVAILABLE:
        pytest.skip("C kernels not built")
    import tinygrad_edu as tge
    from tinygrad_edu import Tensor, optim
    from tinygrad_edu.models import CNN

    params = list(CNN().parameters())
    for p in params:
        p.grad = Tensor(np.ones(p.shape, np.float32))
    opt = optim.Adam(params, lr=1e-3)
    previous = tge.backend()
    tge.set_backend("c" if path == "fused_adam" else "numpy")
    try:
        benchmark(opt.step)
    finally:
        tge.set_backend(previous)
    record_gbps(benchmark, 5 * sum(p.data.nbytes for p in params))
