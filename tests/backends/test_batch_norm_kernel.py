"""The BatchNorm kernels: the NumPy twin against torch.nn.functional.batch_norm (training and
eval statistics), the C kernels against the twin, and bad input refused before the kernel."""
import numpy as np
import pytest

import tinygrad_edu as tge
from tinygrad_edu.backends import c as C
from tinygrad_edu.backends import numpy_ref as R

torch = pytest.importorskip("torch")
needs_c = pytest.mark.skipif(not tge.backends.c_available(), reason="the C kernels are not built")


def arrays(n, c, l, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((n, c, l)) * 2 + 1).astype(dtype)
    w, b, g = rng.standard_normal(c).astype(dtype), rng.standard_normal(c).astype(dtype), \
        rng.standard_normal((n, c, l)).astype(dtype)
    return x, w, b, g


@pytest.mark.parametrize("training", [True, False])
def test_twin_matches_torch(training):
    x, w, b, g = arrays(4, 3, 5, np.float64)
    rm, rv = np.array([0.2, -0.1, 0.4]), np.array([1.5, 0.5, 2.0])
    mean, var = (x.mean(axis=(0, 2)), x.var(axis=(0, 2))) if training else (rm, rv)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    ty = torch.nn.functional.batch_norm(tx, torch.tensor(rm), torch.tensor(rv), tw, tb, training=training)
    (ty * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(R.batch_norm_forward(x, mean, var, w, b, 1e-5), ty.detach().numpy(), atol=1e-12)
    gx, gw, gb = R.batch_norm_backward(g, x, mean, var, w, 1e-5, training)
    for ours, theirs in ((gx, tx), (gw, tw), (gb, tb)):
        np.testing.assert_allclose(ours, theirs.grad.numpy(), atol=1e-11)


@needs_c
@pytest.mark.parametrize("dtype,tol", [(np.float32, 2e-5), (np.float64, 1e-12)], ids=["float32", "float64"])
@pytest.mark.parametrize("shape", [(4, 3, 5), (1, 1, 1), (8, 16, 49), (0, 3, 2), (2, 3, 0)])
@pytest.mark.parametrize("batch_stats", [True, False])
def test_c_kernels_match_twin(shape, dtype, tol, batch_stats):
    x, w, b, g = arrays(*shape, dtype)
    mean = x.mean(axis=(0, 2)) if x.size else np.zeros(shape[1], dtype)
    var = x.var(axis=(0, 2)) if x.size else np.ones(shape[1], dtype)
    mean, var = mean.astype(dtype), var.astype(dtype)
    np.testing.assert_allclose(C.batch_norm_forward(x, mean, var, w, b, 1e-5),
                               R.batch_norm_forward(x, mean, var, w, b, 1e-5), rtol=tol, atol=tol)
    for a, e in zip(C.batch_norm_backward(g, x, mean, var, w, 1e-5, batch_stats),
                    R.batch_norm_backward(g, x, mean, var, w, 1e-5, batch_stats)):
        assert a.dtype == dtype and a.shape == e.shape
        np.testing.assert_allclose(a, e, rtol=tol, atol=10 * tol)


def test_bad_input_is_refused_before_the_kernel():
    x, w, b, g = arrays(2, 3, 4, np.float64)
    m = np.zeros(3)
    for table in (R, C) if tge.backends.c_available() else (R,):
        with pytest.raises(ValueError, match=r"\(N, C, L\)"):
            table.batch_norm_forward(x[0], m, m, w, b, 1e-5)
        with pytest.raises(ValueError, match=r"should be \(3,\)"):
            table.batch_norm_forward(x, m[:2], m, w, b, 1e-5)
        with pytest.raises(ValueError, match="eps"):
            table.batch_norm_forward(x, m, m + 1, w, b, -1.0)
        with pytest.raises(TypeError):
            table.batch_norm_backward(g.astype(np.float32), x, m, m + 1, w, 1e-5)
        with pytest.raises(ValueError, match="x's shape"):
            table.batch_norm_backward(g[:1], x, m, m + 1, w, 1e-5)
