"""GPT-2's GELU (tanh approximation): the C kernels (csrc/gelu_tanh.c) against their NumPy
twin and PyTorch, forward and backward, float32 and float64, and the op's gradient."""
import numpy as np
import pytest

import tinygrad_edu as tge
import tinygrad_edu.nn.functional as F
from tinygrad_edu import Tensor
from tinygrad_edu.backends import numpy_ref
from tinygrad_edu.utils import gradcheck

needs_c = pytest.mark.skipif(not tge.backends.c_available(), reason="C kernels not built")


def sample(n, dtype, seed=0):
    x = np.random.default_rng(seed).standard_normal(n) * 4
    x[:6] = [0.0, -0.0, 1e-8, -1e-8, 12.0, -12.0]
    return x.astype(dtype)


@needs_c
@pytest.mark.parametrize("dtype,tol", [(np.float32, 2e-6), (np.float64, 1e-14)])
def test_c_matches_twin(dtype, tol):
    from tinygrad_edu.backends import c

    x, g = sample(10_001, dtype), sample(10_001, dtype, seed=1)
    np.testing.assert_allclose(c.gelu_tanh_forward(x), numpy_ref.gelu_tanh_forward(x), atol=tol, rtol=tol)
    np.testing.assert_allclose(c.gelu_tanh_backward(g, x), numpy_ref.gelu_tanh_backward(g, x),
                               atol=tol * 10, rtol=tol * 10)
    assert c.gelu_tanh_forward(x[:0]).shape == (0,)
    with pytest.raises(ValueError, match="shape"):
        c.gelu_tanh_backward(g[:5], x)


@pytest.mark.parametrize("backend", ["numpy", "c"])
def test_op_matches_pytorch(backend):
    torch = pytest.importorskip("torch")
    if backend == "c" and not tge.backends.c_available():
        pytest.skip("C kernels not built")
    x = sample(231, np.float64).reshape(3, 7, 11)
    g = sample(231, np.float64, seed=2).reshape(3, 7, 11)
    t = torch.tensor(x, requires_grad=True)
    ref = torch.nn.functional.gelu(t, approximate="tanh")
    ref.backward(torch.tensor(g))
    previous = tge.backend()
    tge.set_backend(backend)
    try:
        a = Tensor(x, requires_grad=True)
        y = F.gelu(a, approximate="tanh")
        y.backward(Tensor(g))
        assert gradcheck(lambda v: F.gelu(v, approximate="tanh"), [Tensor(x[:1, :2], requires_grad=True)])
    finally:
        tge.set_backend(previous)
    np.testing.assert_allclose(y.numpy(), ref.detach().numpy(), atol=1e-14)
    np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), atol=1e-13)
