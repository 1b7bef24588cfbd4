"""The LayerNorm kernels (csrc/layer_norm.c and numpy_ref.layer_norm_*): C against the NumPy
reference, the reference against PyTorch, the errors, thread-count independence, and the op
(F.layer_norm / nn.LayerNorm) against PyTorch in value and gradient.

Tolerances: C vs reference float32 rtol=atol=2e-5 (row sums in another order), float64
1e-12; reference vs PyTorch float64 1e-12; the op vs PyTorch float32 1e-5.
"""
import numpy as np
import pytest

import tinygrad_edu as tge
from tinygrad_edu import Tensor
from tinygrad_edu.backends import c as ck
from tinygrad_edu.backends import numpy_ref as ref
import tinygrad_edu.nn.functional as F

from ..helpers import assert_same_for_thread_counts


needs_c = pytest.mark.skipif(not ck.AVAILABLE, reason=f"C kernels not built: {ck.LOAD_ERROR}")
torch = pytest.importorskip("torch")

TOL = {np.float32: dict(rtol=2e-5, atol=2e-5), np.float64: dict(rtol=1e-12, atol=1e-12)}
SHAPES = [(0, 4), (1, 1), (3, 5), (64, 128), (17, 257)]
AFFINE = [(True, True), (True, False), (False, True), (False, False)]
NEEDS = [(True, True, True), (True, False, False), (False, True, True)]


def inputs(rows, d, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((rows, d)) * 3 + 1).astype(dtype)
    w, b = rng.standard_normal(d).astype(dtype), rng.standard_normal(d).astype(dtype)
    g = rng.standard_normal((rows, d)).astype(dtype)
    return x, w, b, g


@needs_c
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("affine", AFFINE, ids=str)
def test_c_matches_reference(shape, dtype, affine):
    x, w, b, g = inputs(*shape, dtype)
    w, b = (w if affine[0] else None), (b if affine[1] else None)
    got, want = ck.layer_norm_forward(x, w, b, 1e-5), ref.layer_norm_forward(x, w, b, 1e-5)
    for a, e in zip(got, want):
        assert a.shape == e.shape and a.dtype == e.dtype == np.dtype(dtype)
        np.testing.assert_allclose(a, e, **TOL[dtype])
    mean, rstd = want[1], want[2]
    for needs in NEEDS:
        got = ck.layer_norm_backward(g, x, w, mean, rstd, needs)
        want = ref.layer_norm_backward(g, x, w, mean, rstd, needs)
        for a, e in zip(got, want):
            assert (a is None) == (e is None)
            if a is not None:
                assert a.shape == e.shape and a.dtype == e.dtype
                np.testing.assert_allclose(a, e, **TOL[dtype])


def test_reference_matches_torch():
    x, w, b, g = inputs(6, 10, np.float64)
    y, mean, rstd = ref.layer_norm_forward(x, w, b, 1e-5)
    gx, gw, gb = ref.layer_norm_backward(g, x, w, mean, rstd)
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    yt = torch.nn.functional.layer_norm(xt, (10,), wt, bt, 1e-5)
    yt.backward(torch.tensor(g))
    for a, e in ((y, yt), (gx, xt.grad), (gw, wt.grad), (gb, bt.grad)):
        np.testing.assert_allclose(a, e.detach().numpy(), rtol=1e-12, atol=1e-12)


@needs_c
def test_c_result_does_not_depend_on_thread_count():
    x, w, b, g = inputs(4096, 128, np.float32)
    y, mean, rstd = ck.layer_norm_forward(x, w, b, 1e-5)
    assert_same_for_thread_counts(
        lambda: (ck.layer_norm_forward(x, w, b, 1e-5),
                 ck.layer_norm_backward(g, x, w, mean, rstd, (True, True, True))))


@pytest.mark.parametrize("table", ["numpy", "c"])
def test_errors_name_the_shapes(table):
    if table == "c" and not ck.AVAILABLE:
        pytest.skip("C kernels not built")
    k = ck if table == "c" else ref
    x = np.zeros((3, 4), np.float32)
    with pytest.raises(ValueError, match=r"bias .*\(5,\).*should be \(4,\)"):
        k.layer_norm_forward(x, None, np.zeros(5, np.float32), 1e-5)
    with pytest.raises(TypeError, match="dtypes differ"):
        k.layer_norm_forward(x, np.zeros(4, np.float64), None, 1e-5)
    with pytest.raises(ValueError, match=r"\(rows, d\)"):
        k.layer_norm_forward(np.zeros(4, np.float32), None, None, 1e-5)
    with pytest.raises(ValueError, match="no feature"):
        k.layer_norm_forward(np.zeros((3, 0), np.float32), None, None, 1e-5)
    with pytest.raises(ValueError, match="mean"):
        k.layer_norm_backward(x, x, None, np.zeros(2, np.float32), np.zeros(3, np.float32))


@pytest.mark.parametrize("backend", ["numpy", "c"])
@pytest.mark.parametrize("normalized", [(8,), (3, 8)], ids=str)
def test_op_matches_torch(backend, normalized):
    if backend == "c" and not ck.AVAILABLE:
        pytest.skip("C kernels not built")
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 5) + normalized).astype(np.float32)
    w = rng.standard_normal(normalized).astype(np.float32)
    b = rng.standard_normal(normalized).astype(np.float32)
    g = rng.standard_normal(x.shape).astype(np.float32)
    before = tge.backend()
    tge.set_backend(backend)
    try:
        xs, ws, bs = (Tensor(a, requires_grad=True) for a in (x, w, b))
        F.layer_norm(xs, normalized, ws, bs).backward(Tensor(g))
        xn = Tensor(x, requires_grad=True)  # no affine parameters
        F.layer_norm(xn, normalized).backward(Tensor(g))
    finally:
        tge.set_backend(before)
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    torch.nn.functional.layer_norm(xt, normalized, wt, bt).backward(torch.tensor(g))
    xtn = torch.tensor(x, requires_grad=True)
    torch.nn.functional.layer_norm(xtn, normalized).backward(torch.tensor(g))
    for a, e in ((xs.grad, xt.grad), (ws.grad, wt.grad), (bs.grad, bt.grad), (xn.grad, xtn.grad)):
        np.testing.assert_allclose(a.numpy(), e.numpy(), rtol=1e-5, atol=1e-5)


def test_op_gradcheck_float64():
    from tinygrad_edu.utils import gradcheck

    rng = np.random.default_rng(2)
    x = Tensor(rng.standard_normal((3, 4)), requires_grad=True)
    w = Tensor(rng.standard_normal(4), requires_grad=True)
    b = Tensor(rng.standard_normal(4), requires_grad=True)
    assert gradcheck(lambda x, w, b: F.layer_norm(x, 4, w, b), (x, w, b))
