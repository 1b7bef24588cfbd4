"""Non-finite values (issue 15, item 5): relu(-inf) is 0 with finite gradients, a fully
masked attention row gives zeros (as PyTorch 2.13), binary cross-entropy refuses p outside
[0, 1] (as PyTorch). Each checked on both CPU backends and against PyTorch where it has one."""
import numpy as np
import pytest

import tinygrad_edu as tge
import tinygrad_edu.nn.functional as F
from tinygrad_edu import Tensor

BACKENDS = ["numpy"] + (["c"] if tge.backends.c_available() else [])


@pytest.fixture(params=BACKENDS)
def backend(request):
    old = tge.backend()
    tge.set_backend(request.param)
    yield request.param
    tge.set_backend(old)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_of_infinities_is_finite_forward_and_backward(backend, dtype):
    x = Tensor(np.array([-np.inf, -1.0, -0.0, 0.0, 2.0, np.inf, np.nan], dtype), requires_grad=True)
    y = x.relu()
    out = y.numpy()
    np.testing.assert_array_equal(out[:6], np.array([0, 0, 0, 0, 2, np.inf], dtype))
    assert np.isnan(out[6])  # NaN stays NaN, as in PyTorch
    assert not np.signbit(out[:4]).any()  # +0, not -0, for x <= 0
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.array([0, 0, 0, 0, 1, 1, 0], dtype))


def test_relu_kernels_agree_on_big_arrays_with_infinities():
    """Big enough to take the C kernel's threaded path; C and NumPy agree to the bit."""
    if "c" not in BACKENDS:
        pytest.skip("C kernels not built")
    from tinygrad_edu.backends import c, numpy_ref

    x = np.random.default_rng(0).standard_normal(3_000_001).astype(np.float32)
    x[::11] = np.inf
    x[::7] = -np.inf
    got, want = c.relu_forward(x), numpy_ref.relu_forward(x)
    np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32))
    assert (got[::7] == 0).all()


def _sdpa_both(mask, rng):
    torch = pytest.importorskip("torch")
    q, k, v = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 4)), rng.standard_normal((2, 5, 2))
    ours = [Tensor(a, requires_grad=True) for a in (q, k, v)]
    out = F.scaled_dot_product_attention(*ours, attn_mask=mask)
    (out * Tensor(np.arange(out.numel()).reshape(out.shape) / 7.0)).sum().backward()
    theirs = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
    ref = torch.nn.functional.scaled_dot_product_attention(*theirs, attn_mask=torch.tensor(mask))
    (ref * torch.arange(ref.numel()).reshape(ref.shape) / 7.0).sum().backward()
    return out, ours, ref, theirs


@pytest.mark.parametrize("kind", ["bool", "float"])
def test_a_fully_masked_attention_row_gives_zeros_like_pytorch(backend, kind):
    rng = np.random.default_rng(1)
    allowed = np.ones((2, 3, 5), bool)
    allowed[0, 1] = False  # query 1 of batch 0 may attend to nothing
    allowed[1, :, 3:] = False
    mask = allowed if kind == "bool" else np.where(allowed, 0.0, -np.inf)
    out, ours, ref, theirs = _sdpa_both(mask, rng)
    assert np.isfinite(out.numpy()).all()
    np.testing.assert_array_equal(out.numpy()[0, 1], 0.0)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    for a, b in zip(ours, theirs):
        assert np.isfinite(a.grad.numpy()).all()
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(ours[0].grad.numpy()[0, 1], 0.0)


def test_an_all_masked_causal_free_mask_in_float32_is_finite(backend):
    q = Tensor(np.ones((1, 2, 4), np.float32), requires_grad=True)
    mask = np.zeros((2, 2), bool)
    out = F.scaled_dot_product_attention(q, q, q, attn_mask=mask)
    out.sum().backward()
    assert (out.numpy() == 0).all() and np.isfinite(q.grad.numpy()).all()


@pytest.mark.parametrize("bad", [1.5, -0.25, np.nan])
def test_binary_cross_entropy_refuses_p_outside_0_1_like_pytorch(bad):
    torch = pytest.importorskip("torch")
    p = np.array([0.5, bad, 0.25], np.float32)
    t = np.array([1.0, 0.0, 1.0], np.float32)
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        torch.nn.functional.binary_cross_entropy(torch.tensor(p), torch.tensor(t))
    with pytest.raises(ValueError, match=r"binary_cross_entropy: all elements of input should be between 0 and 1"):
        F.binary_cross_entropy(Tensor(p), Tensor(t))
    with pytest.raises(ValueError, match="between 0 and 1"):
        tge.nn.BCELoss()(Tensor(p), Tensor(t))


def test_binary_cross_entropy_at_the_edges_still_works():
    p = Tensor(np.array([0.0, 1.0, 0.5], np.float64), requires_grad=True)
    loss = F.binary_cross_entropy(p, Tensor(np.array([0.0, 1.0, 1.0])))
    loss.backward()
    assert np.isfinite(loss.item()) and np.isfinite(p.grad.numpy()).all()
