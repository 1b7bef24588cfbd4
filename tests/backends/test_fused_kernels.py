"""The performance kernels against their references.

* the whole-sequence LSTM (csrc/lstm.c) against its NumPy twin, and nn.LSTM's fused path
  against the tensor-op composition ``nn.rnn.lstm_layer`` (values and gradients);
* softmax cross-entropy (csrc/loss.c) against its NumPy twin and the log-softmax formula;
* the fused Adam / SGD steps (csrc/optim.c) against the optimizers' ``_update`` loop,
  20 steps, bit for bit;
* ReLU (csrc/relu.c), the specialised 2x2 max pool, the grouped / "wide" convolution
  paths and the transposing GEMM packs against the NumPy reference;
* the allocator and FMA-peak helpers.

Tolerances as in test_kernels.py: float32 rtol=1e-4 / atol=1e-5 (the C kernels use a
polynomial exp and fused multiply-adds), float64 rtol=1e-10 / atol=1e-12.
"""
import numpy as np
import pytest

import tinygrad_edu as tge
from tinygrad_edu import Tensor, nn, optim
from tinygrad_edu.backends import c as ck
from tinygrad_edu.backends import numpy_ref as ref
from tinygrad_edu.nn.rnn import lstm_layer, lstm_layer_fused

pytestmark = pytest.mark.skipif(not ck.AVAILABLE, reason=f"C kernels not built: {ck.LOAD_ERROR}")

TOL = {np.float32: dict(rtol=1e-4, atol=1e-5), np.float64: dict(rtol=1e-10, atol=1e-12)}


@pytest.fixture
def c_backend():
    previous = tge.backend()
    tge.set_backend("c")
    yield
    tge.set_backend(previous)


def rand(rng, *shape, dtype=np.float32, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(dtype)


# ------------------------------------------------------------------------------------
# LSTM
# ------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("steps,batch,hidden", [(1, 1, 1), (7, 5, 6), (12, 3, 33), (3, 0, 5)])
def test_lstm_kernel_matches_numpy_twin(dtype, reverse, steps, batch, hidden):
    rng = np.random.default_rng(steps * 100 + hidden)
    xw = rand(rng, steps, batch, 4 * hidden, dtype=dtype, scale=2.0)
    w_hh = rand(rng, 4 * hidden, hidden, dtype=dtype, scale=0.4)
    h0, c0 = rand(rng, batch, hidden, dtype=dtype), rand(rng, batch, hidden, dtype=dtype)
    got, want = ck.lstm_forward(xw, w_hh, h0, c0, reverse), ref.lstm_forward(xw, w_hh, h0, c0, reverse)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, **TOL[dtype])
    g_out, g_cn = rand(rng, steps, batch, hidden, dtype=dtype), rand(rng, batch, hidden, dtype=dtype)
    for g in (g_cn, None):
        got = ck.lstm_backward(w_hh, h0, c0, *want, g_out, g, reverse)
        expect = ref.lstm_backward(w_hh, h0, c0, *want, g_out, g, reverse)
        for a, b in zip(got, expect):
            assert a.shape == b.shape and a.dtype == b.dtype
            np.testing.assert_allclose(a, b, **TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("steps,batch,hidden", [(3, 40, 100), (3, 70, 10)])
def test_lstm_kernel_packed_weight_paths(dtype, reverse, threads, steps, batch, hidden):
    """The kernel packs W_hh once per call for its per-step products: check the shapes
    where that matters against the NumPy twin: H = 100 (backward's depth 4H = 400 is two
    of the GEMM's depth blocks), a batch split over two threads (each packs its own copy),
    and H = 10 (backward's product is thin, 70 x 10: the ordinary GEMM path)."""
    rng = np.random.default_rng(hidden + batch)
    xw = rand(rng, steps, batch, 4 * hidden, dtype=dtype)
    w_hh = rand(rng, 4 * hidden, hidden, dtype=dtype, scale=0.1)
    h0, c0 = rand(rng, batch, hidden, dtype=dtype), rand(rng, batch, hidden, dtype=dtype)
    g_out, g_cn = rand(rng, steps, batch, hidden, dtype=dtype), rand(rng, batch, hidden, dtype=dtype)
    previous = tge.get_num_threads()
    tge.set_num_threads(threads)
    try:
        got = ck.lstm_forward(xw, w_hh, h0, c0, reverse)
        got_b = ck.lstm_backward(w_hh, h0, c0, *got, g_out, g_cn, reverse)
    finally:
        tge.set_num_threads(previous)
    want = ref.lstm_forward(xw, w_hh, h0, c0, reverse)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, **TOL[dtype])
    for a, b in zip(got_b, ref.lstm_backward(w_hh, h0, c0, *want, g_out, g_cn, reverse)):
        np.testing.assert_allclose(a, b, **TOL[dtype])


def test_lstm_kernel_refuses_bad_shapes():
    z = np.zeros
    with pytest.raises(ValueError):
        ck.lstm_forward(z((3, 2, 8), np.float32), z((8, 3), np.float32), z((2, 2), np.float32),
                        z((2, 2), np.float32))
    with pytest.raises(TypeError):
        ck.lstm_forward(z((3, 2, 8), np.float32), z((8, 2), np.float64), z((2, 2), np.float32),
                        z((2, 2), np.float32))


@pytest.mark.parametrize("backend_name", ["numpy", "c"])
@pytest.mark.parametrize("reverse", [False, True])
def test_fused_lstm_layer_matches_tensor_ops(backend_name, reverse):
    """lstm_layer_fused (one Function) against lstm_layer (tensor ops), float64: outputs and
    every gradient, through the NumPy twin and through the C kernel."""
    previous = tge.backend()
    tge.set_backend(backend_name)
    try:
        rng = np.random.default_rng(1)
        steps, batch, inp, hid = 6, 4, 3, 5
        arrays = [rand(rng, steps, batch, inp, dtype=np.float64), rand(rng, batch, hid, dtype=np.float64),
                  rand(rng, batch, hid, dtype=np.float64), rand(rng, 4 * hid, inp, dtype=np.float64, scale=0.5),
                  rand(rng, 4 * hid, hid, dtype=np.float64, scale=0.5), rand(rng, 4 * hid, dtype=np.float64),
                  rand(rng, 4 * hid, dtype=np.float64)]
        w_out = [rand(rng, steps, batch, hid, dtype=np.float64), rand(rng, batch, hid, dtype=np.float64),
                 rand(rng, batch, hid, dtype=np.float64)]
        results = []
        for layer in (lstm_layer, lstm_layer_fused):
            ts = [Tensor(a, requires_grad=True) for a in arrays]
            out, h, c = layer(*ts, reverse=reverse)
            loss = (out * Tensor(w_out[0])).sum() + (h * Tensor(w_out[1])).sum() + (c * Tensor(w_out[2])).sum()
            loss.backward()
            results.append([out.numpy(), h.numpy(), c.numpy()] + [t.grad.numpy() for t in ts])
        for a, b in zip(*results):
            np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-12)
    finally:
        tge.set_backend(previous)


def test_lstm_module_uses_fused_path_with_c(c_backend):
    """nn.LSTM (batch_first, 2 layers) under the C backend: same outputs and gradients as
    the tensor-op reference, float32."""
    tge.manual_seed(3)
    lstm = nn.LSTM(4, 6, num_layers=2, batch_first=True)
    x = Tensor(np.random.default_rng(3).standard_normal((5, 7, 4)).astype(np.float32))
    out_fused, (h_f, c_f) = lstm(x)
    assert type(out_fused._ctx).__name__ != "Stack"  # the fused graph, not 7 stacked steps
    (out_fused.sum() + h_f.sum() * 2 + c_f.sum() * 3).backward()
    fused_grads = [p.grad.numpy().copy() for p in lstm.parameters()]
    lstm.zero_grad()
    lstm._lstm_layer = lambda *a, reverse=False: lstm_layer(*a, reverse=reverse)
    out_ref, (h_r, c_r) = lstm(x)
    (out_ref.sum() + h_r.sum() * 2 + c_r.sum() * 3).backward()
    np.testing.assert_allclose(out_fused.numpy(), out_ref.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(c_f.numpy(), c_r.numpy(), rtol=1e-4, atol=1e-5)
    for a, p in zip(fused_grads, lstm.parameters()):
        np.testing.assert_allclose(a, p.grad.numpy(), rtol=1e-3, atol=1e-4)


# ------------------------------------------------------------------------------------
# softmax cross-entropy
# ------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n,c", [(1, 1), (64, 10), (5, 1000)])
def test_cross_entropy_kernel_matches_twin(dtype, n, c):
    rng = np.random.default_rng(n + c)
    logits = rand(rng, n, c, dtype=dtype, scale=5.0)
    target = rng.integers(0, c, n).astype(np.int64)
    target[::3] = -100  # ignored rows
    logp, losses = ck.cross_entropy_forward(logits, target, -100)
    logp_r, losses_r = ref.cross_entropy_forward(logits, target, -100)
    np.testing.assert_allclose(logp, logp_r, **TOL[dtype])
    np.testing.assert_allclose(losses, losses_r, **TOL[dtype])
    shifted = logits.astype(np.float64) - logits.max(1, keepdims=True)
    formula = shifted - np.log(np.exp(shifted).sum(1, keepdims=True))
    np.testing.assert_allclose(logp, formula, **TOL[dtype])
    g = rand(rng, n, dtype=dtype)
    np.testing.assert_allclose(ck.cross_entropy_backward(logp, target, -100, g),
                               ref.cross_entropy_backward(logp_r, target, -100, g), **TOL[dtype])


def test_cross_entropy_kernel_refuses_bad_targets():
    logits = np.zeros((3, 4), np.float32)
    with pytest.raises((ValueError, RuntimeError)):  # refused, in Python or by the kernel
        ck.cross_entropy_forward(logits, np.array([0, 4, 1]), -100)
    with pytest.raises(ValueError):
        ck.cross_entropy_forward(logits, np.array([0, 1]), -100)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_same_on_both_backends(reduction):
    rng = np.random.default_rng(7)
    x = rand(rng, 16, 5)
    t = rng.integers(0, 5, 16)
    t[3] = -100
    results = []
    for name in ("numpy", "c"):
        previous = tge.backend()
        tge.set_backend(name)
        try:
            logits = Tensor(x, requires_grad=True)
            loss = nn.functional.cross_entropy(logits, Tensor(t), reduction=reduction)
            (loss.sum() if reduction == "none" else loss).backward()
            results.append((loss.numpy(), logits.grad.numpy()))
        finally:
            tge.set_backend(previous)
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------------------------
# fused optimizer steps
# ------------------------------------------------------------------------------------

OPTIMIZERS = [
    (optim.Adam, dict(lr=1e-2)),
    (optim.Adam, dict(lr=1e-2, weight_decay=0.1, amsgrad=True)),
    (optim.AdamW, dict(lr=1e-2, maximize=True)),
    (optim.SGD, dict(lr=0.1)),
    (optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    (optim.SGD, dict(lr=0.1, momentum=0.9, dampening=0.1)),
]


def _train(backend_name, cls, kwargs, dtype, steps=20):
    previous = tge.backend()
    tge.set_backend(backend_name)
    try:
        rng = np.random.default_rng(0)
        params = [Tensor(rand(rng, *s, dtype=dtype), requires_grad=True)
                  for s in [(3, 4), (5,), (2, 3, 2)]]
        opt = cls(params, **kwargs)
        for step in range(steps):
            for i, p in enumerate(params):
                # a parameter without gradient now and then: skipped, its step count lags
                p.grad = None if (step + i) % 7 == 6 else Tensor(rand(rng, *p.shape, dtype=dtype))
            opt.step()
        return [p.numpy().copy() for p in params], opt.state_dict()
    finally:
        tge.set_backend(previous)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cls,kwargs", OPTIMIZERS, ids=[f"{c.__name__}-{i}" for i, (c, _) in enumerate(OPTIMIZERS)])
def test_fused_optimizer_step_matches_reference_bit_for_bit(cls, kwargs, dtype):
    """20 steps of the fused C step (C backend) and of the _update loop (NumPy backend)."""
    fused, fused_state = _train("c", cls, kwargs, dtype)
    reference, ref_state = _train("numpy", cls, kwargs, dtype)
    for a, b in zip(fused, reference):
        np.testing.assert_array_equal(a, b)
    for index, entries in ref_state["state"].items():
        for name, value in entries.items():
            np.testing.assert_array_equal(fused_state["state"][index][name], value)


def test_fused_adam_falls_back_for_non_contiguous_parameters(c_backend):
    p = Tensor(np.ones((4, 3), np.float32), requires_grad=True)
    p.data = np.asfortranarray(p.data)  # not C-contiguous: the reference loop runs
    opt = optim.Adam([p], lr=0.1)
    p.grad = Tensor(np.ones((4, 3), np.float32))
    opt.step()
    np.testing.assert_allclose(p.numpy(), 0.9, rtol=1e-6)


# ------------------------------------------------------------------------------------
# ReLU, 2x2 max pooling, convolution paths, GEMM packing
# ------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_kernels_match_reference_bitwise(dtype):
    x = np.array([-2.0, -0.0, 0.0, 1.5, np.nan, np.inf, -np.inf] * 300, dtype=dtype)
    g = np.linspace(-1, 1, x.size).astype(dtype)
    np.testing.assert_array_equal(ck.relu_forward(x), ref.relu_forward(x))
    np.testing.assert_array_equal(ck.relu_backward(g, x), ref.relu_backward(g, x))
    big = np.random.default_rng(0).standard_normal(3_000_000).astype(dtype)  # threaded path
    np.testing.assert_array_equal(ck.relu_forward(big), ref.relu_forward(big))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("h,w", [(2, 2), (26, 26), (11, 11), (5, 37), (4, 18)])
def test_max_pool_2x2_fast_path(dtype, h, w):
    rng = np.random.default_rng(h * w)
    x = rng.integers(-2, 3, size=(3, 4, h, w)).astype(dtype)  # many ties
    x.reshape(-1)[rng.integers(0, x.size, 9)] = np.nan           # and a few NaNs
    y, idx = ck.max_pool2d_forward(x, (2, 2), (2, 2), (0, 0))
    y_r, idx_r = ref.max_pool2d_forward(x, (2, 2), (2, 2), (0, 0))
    np.testing.assert_array_equal(idx, idx_r)
    np.testing.assert_array_equal(y, y_r)


CONV_CASES = [  # (N, C, H, W, O, K, stride, padding): wide, grouped, plain, padded, strided
    (64, 1, 28, 28, 32, 3, 1, 0), (9, 32, 13, 13, 64, 3, 1, 0), (70, 64, 5, 5, 64, 3, 1, 0),
    (3, 5, 9, 12, 7, 2, 1, 0), (4, 3, 10, 10, 8, 3, 2, 1), (2, 40, 8, 8, 6, 1, 1, 0),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CONV_CASES, ids=[str(c) for c in CONV_CASES])
def test_conv_paths_match_reference_and_do_not_depend_on_threads(case, dtype):
    n, c, h, w, o, k, s, p = case
    rng = np.random.default_rng(n + c)
    x, wt, b = rand(rng, n, c, h, w, dtype=dtype), rand(rng, o, c, k, k, dtype=dtype), rand(rng, o, dtype=dtype)
    results = {}
    threads = tge.get_num_threads()
    try:
        for nt in (1, 2):
            tge.set_num_threads(nt)
            y = ck.conv2d_forward(x, wt, b, (s, s), (p, p))
            gy = rand(np.random.default_rng(5), *y.shape, dtype=dtype)
            results[nt] = (y, ck.conv2d_backward_input(gy, wt, x.shape, (s, s), (p, p)),
                           ck.conv2d_backward_weight(gy, x, wt.shape, (s, s), (p, p)))
    finally:
        tge.set_num_threads(threads)
    for a, b2 in zip(results[1], results[2]):
        np.testing.assert_array_equal(a, b2)
    gy = rand(np.random.default_rng(5), *results[1][0].shape, dtype=dtype)
    expected = (ref.conv2d_forward(x, wt, b, (s, s), (p, p)),
                ref.conv2d_backward_input(gy, wt, x.shape, (s, s), (p, p)),
                ref.conv2d_backward_weight(gy, x, wt.shape, (s, s), (p, p)))
    tol = dict(rtol=1e-4, atol=1e-3) if dtype == np.float32 else TOL[dtype]
    for a, e in zip(results[1], expected):
        np.testing.assert_allclose(a, e, **tol)


@pytest.mark.parametrize("m,n,k", [(64, 10, 400), (400, 10, 6400), (13, 37, 5), (70, 33, 129)])
@pytest.mark.parametrize("ta", [False, True])
@pytest.mark.parametrize("tb", [False, True])
def test_gemm_transposing_packs(m, n, k, ta, tb):
    rng = np.random.default_rng(m + n + k)
    a = rand(rng, *((k, m) if ta else (m, k)), dtype=np.float64)
    b = rand(rng, *((n, k) if tb else (k, n)), dtype=np.float64)
    np.testing.assert_allclose(ck.matmul(a, b, ta, tb), ref.matmul(a, b, ta, tb), rtol=1e-10, atol=1e-10)


def test_allocator_and_peak_helpers():
    # under AddressSanitizer (.ci/sanitizers) its allocator replaces glibc's, and its
    # mallopt refuses every setting: TGE_EINVAL, as tge.h documents for a refusal
    under_asan = "libasan" in __import__("os").environ.get("LD_PRELOAD", "")
    assert ck.lib.tge_malloc_tune(32 << 20, 512 << 20) == (1 if under_asan else 0)
    assert ck.lib.tge_malloc_tune(-1, 0) != 0
    assert ck.lib.tge_fma_peak_gflops_f32(0) == 0.0
    assert ck.lib.tge_fma_peak_gflops_f32(200_000) > 0.5
