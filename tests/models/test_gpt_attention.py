"""The fused causal attention op (tinygrad_edu.ops.attention): against the unfused formula and
PyTorch, forward and backward, float32 and float64; gradcheck; the cached (generation) path."""
import numpy as np
import pytest

import tinygrad_edu as tge
from tinygrad_edu import Tensor
from tinygrad_edu.backends import numpy_ref
from tinygrad_edu.nn.functional import causal_self_attention
from tinygrad_edu.utils import gradcheck


def packed(B, T, E, dtype=np.float64, seed=0):
    return np.random.default_rng(seed).standard_normal((B, T, 3 * E)).astype(dtype)


def torch_attention(qkv, n_head):
    torch = pytest.importorskip("torch")
    t = torch.tensor(qkv, requires_grad=True)
    B, T, E3 = qkv.shape
    E = E3 // 3
    q, k, v = (x.reshape(B, T, n_head, E // n_head).transpose(1, 2) for x in t.split(E, dim=2))
    out = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
    return t, out.transpose(1, 2).reshape(B, T, E)


@pytest.mark.parametrize("backend", ["numpy", "c"])
@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-12), (np.float32, 2e-5)])
@pytest.mark.parametrize("shape", [(2, 7, 12, 3), (1, 1, 8, 2), (3, 33, 64, 4)])
def test_matches_pytorch(backend, dtype, tol, shape):
    if backend == "c" and not tge.backends.c_available():
        pytest.skip("C kernels not built")
    B, T, E, H = shape
    qkv = packed(B, T, E, dtype, seed=T)
    g = np.random.default_rng(1).standard_normal((B, T, E)).astype(dtype)
    t, ref = torch_attention(qkv, H)
    ref.backward(__import__("torch").tensor(g))
    previous = tge.backend()
    tge.set_backend(backend)
    try:
        x = Tensor(qkv, requires_grad=True)
        out = causal_self_attention(x, H)
        out.backward(Tensor(g))
    finally:
        tge.set_backend(previous)
    assert out.shape == (B, T, E) and out.dtype == dtype
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), atol=tol, rtol=tol)
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), atol=tol * 10, rtol=tol * 10)


def test_gradcheck_float64():
    for backend in ["numpy"] + (["c"] if tge.backends.c_available() else []):
        previous = tge.backend()
        tge.set_backend(backend)
        try:
            x = Tensor(packed(2, 6, 12, seed=3), requires_grad=True)
            assert gradcheck(lambda a: causal_self_attention(a, 3), [x])
        finally:
            tge.set_backend(previous)


def test_reference_twins_agree_with_the_unfused_composition():
    """The NumPy formulas against the op written with the library's own small ops."""
    qkv = packed(2, 9, 8, seed=5)
    out, lse = numpy_ref.causal_attention_forward(qkv, 2, 9, 9, 0.5)
    x = Tensor(qkv, requires_grad=True)
    q, k, v = (x[:, :, i * 8:(i + 1) * 8].reshape(2, 9, 2, 4).transpose(1, 2) for i in range(3))
    import tinygrad_edu.nn.functional as F
    y = F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=0.5).transpose(1, 2).reshape(2, 9, 8)
    np.testing.assert_allclose(out, y.numpy(), atol=1e-12)
    g = np.random.default_rng(0).standard_normal((2, 9, 8))
    y.backward(Tensor(g))
    np.testing.assert_allclose(numpy_ref.causal_attention_backward(qkv, out, lse, g, 2, 0.5), x.grad.numpy(), atol=1e-12)


def test_cached_path_equals_the_full_pass():
    qkv = packed(2, 10, 12, seed=7)
    full = causal_self_attention(Tensor(qkv), 3).numpy()
    buffer = np.zeros((2, 16, 36))
    with tge.no_grad():
        first = causal_self_attention(Tensor(qkv[:, :4]), 3, cache=(buffer, 0)).numpy()
        rest = [causal_self_attention(Tensor(qkv[:, t:t + 1]), 3, cache=(buffer, t)).numpy() for t in range(4, 10)]
    np.testing.assert_allclose(np.concatenate([first] + rest, axis=1), full, atol=1e-13)


def test_refusals():
    with pytest.raises(ValueError, match="divisible"):
        causal_self_attention(Tensor(packed(1, 3, 4)), 3)
    with pytest.raises(TypeError, match="float32 or float64"):
        causal_self_attention(Tensor(np.zeros((1, 2, 6), dtype=np.int64)), 1)
    with pytest.raises(ValueError, match="do not fit"):
        with tge.no_grad():
            causal_self_attention(Tensor(packed(1, 3, 4)), 2, cache=(np.zeros((1, 4, 12)), 2))
    with pytest.raises(RuntimeError, match="no_grad"):
        causal_self_attention(Tensor(packed(1, 3, 4), requires_grad=True), 2, cache=(np.zeros((1, 4, 12)), 0))
