"""The fused GRU layer: NumPy twin against PyTorch's GRU, the C kernel against the twin,
the op (ops.rnn.GRULayer) against the tensor-op reference nn.rnn.gru_layer, and bad input."""
import numpy as np
import pytest

import tinygrad_edu as tge
from tinygrad_edu import Tensor
from tinygrad_edu.backends import c as C
from tinygrad_edu.backends import numpy_ref as R
from tinygrad_edu.nn.rnn import gru_layer, gru_layer_fused

torch = pytest.importorskip("torch")
needs_c = pytest.mark.skipif(not tge.backends.c_available(), reason="the C kernels are not built")


def arrays(s, n, h, dtype, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((s, n, 3 * h)).astype(dtype), (rng.standard_normal((3 * h, h)) * 0.4).astype(dtype),
            rng.standard_normal(3 * h).astype(dtype), rng.standard_normal((n, h)).astype(dtype),
            rng.standard_normal((s, n, h)).astype(dtype))


@pytest.mark.parametrize("reverse", [False, True])
def test_twin_matches_torch_gru(reverse):
    s, n, i, h = 5, 3, 4, 6
    gru = torch.nn.GRU(i, h).double()
    rng = np.random.default_rng(1)
    x, h0, g_out = rng.standard_normal((s, n, i)), rng.standard_normal((n, h)), rng.standard_normal((s, n, h))
    tx, th0 = torch.tensor(x, requires_grad=True), torch.tensor(h0[None], requires_grad=True)
    out, _ = gru(tx.flip(0) if reverse else tx, th0)
    out = out.flip(0) if reverse else out
    (out * torch.tensor(g_out)).sum().backward()
    w_ih, w_hh, b_ih, b_hh = (p.detach().numpy() for p in (gru.weight_ih_l0, gru.weight_hh_l0, gru.bias_ih_l0, gru.bias_hh_l0))
    ours, gates = R.gru_forward(x @ w_ih.T + b_ih, w_hh, b_hh, h0, reverse)
    np.testing.assert_allclose(ours, out.detach().numpy(), rtol=1e-12, atol=1e-12)
    g_xw, g_h0, g_w_hh, g_b_hh = R.gru_backward(w_hh, b_hh, h0, ours, gates, g_out, reverse)
    np.testing.assert_allclose(g_xw @ w_ih, tx.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(g_h0, th0.grad.numpy()[0], atol=1e-12)
    np.testing.assert_allclose(g_w_hh, gru.weight_hh_l0.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(g_b_hh, gru.bias_hh_l0.grad.numpy(), atol=1e-12)


@needs_c
@pytest.mark.parametrize("dtype,tol", [(np.float32, 2e-5), (np.float64, 1e-12)], ids=["float32", "float64"])
@pytest.mark.parametrize("shape", [(6, 5, 7), (1, 1, 1), (3, 33, 16), (0, 2, 3), (4, 0, 3)])
@pytest.mark.parametrize("reverse", [False, True])
def test_c_kernel_matches_twin(shape, dtype, tol, reverse):
    xw, w_hh, b_hh, h0, g_out = arrays(*shape, dtype)
    out, gates = R.gru_forward(xw, w_hh, b_hh, h0, reverse)
    c_out, c_gates = C.gru_forward(xw, w_hh, b_hh, h0, reverse)
    np.testing.assert_allclose(c_out, out, rtol=tol, atol=tol)
    np.testing.assert_allclose(c_gates, gates, rtol=tol, atol=tol)
    for a, b in zip(C.gru_backward(w_hh, b_hh, h0, out, gates, g_out, reverse),
                    R.gru_backward(w_hh, b_hh, h0, out, gates, g_out, reverse)):
        assert a.dtype == dtype and a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=tol, atol=10 * tol)


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("bias", [True, False])
def test_fused_layer_matches_reference_loop(reverse, bias):
    rng = np.random.default_rng(2)
    values = [rng.standard_normal(s) for s in ((4, 3, 2), (3, 5), (15, 2), (15, 5), (15,), (15,))]
    for fused in (False, True):
        ts = [Tensor(v, requires_grad=True) for v in values]
        b_ih, b_hh = (ts[4], ts[5]) if bias else (None, None)
        out, h_n = (gru_layer_fused if fused else gru_layer)(ts[0], ts[1], ts[2], ts[3], b_ih, b_hh, reverse)
        (out * 1.5 + h_n.sum() * 0.5).sum().backward()
        result = [out.numpy(), h_n.numpy()] + [t.grad.numpy() for t in ts[:4 + 2 * bias]]
        if fused:
            for a, b in zip(result, reference):
                np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
        reference = result


def test_bad_input_is_refused_before_the_kernel():
    xw, w_hh, b_hh, h0, _ = arrays(3, 2, 4, np.float64)
    for table in (R, C) if tge.backends.c_available() else (R,):
        with pytest.raises(ValueError, match="3H"):
            table.gru_forward(xw[:, :, :-1], w_hh, b_hh, h0)
        with pytest.raises(ValueError, match="h0"):
            table.gru_forward(xw, w_hh, b_hh, h0[:1])
        with pytest.raises(TypeError):
            table.gru_forward(xw.astype(np.float32), w_hh, b_hh, h0)
