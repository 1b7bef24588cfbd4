"""The NumPy reference kernels against PyTorch (float64, so tolerances are tight:
rtol=1e-10, atol=1e-10).  The C kernels are compared with these references in
test_kernels.py, so together they tie the C kernels to PyTorch's semantics."""
import numpy as np
import pytest
from hypothesis import given, settings

from tinygrad_edu.backends import numpy_ref as ref

from ..strategies import conv_cases, pool_cases

torch = pytest.importorskip("torch")
F = torch.nn.functional

TOL = dict(rtol=1e-10, atol=1e-10)
CASES = settings(max_examples=40, deadline=None)


def t(a, grad=False):
    return torch.tensor(a, dtype=torch.float64, requires_grad=grad)


@CASES
@given(case=conv_cases(min_size=1, max_hw=8))
def test_conv2d_and_its_gradients_match_torch(case):
    rng = np.random.default_rng(case["seed"])
    x = rng.standard_normal((case["n"], case["c"], case["h"], case["w"]))
    w = rng.standard_normal((case["o"], case["c"], case["kh"], case["kw"]))
    b = rng.standard_normal(case["o"]) if case["bias"] else None
    s, p = case["stride"], case["padding"]

    tx, tw = t(x, True), t(w, True)
    ty = F.conv2d(tx, tw, None if b is None else t(b), stride=s, padding=p)
    y = ref.conv2d_forward(x, w, b, s, p)
    np.testing.assert_allclose(y, ty.detach().numpy(), **TOL)

    gy = rng.standard_normal(y.shape)
    ty.backward(t(gy))
    np.testing.assert_allclose(ref.conv2d_backward_input(gy, w, x.shape, s, p),
                               tx.grad.numpy(), **TOL)
    np.testing.assert_allclose(ref.conv2d_backward_weight(gy, x, w.shape, s, p),
                               tw.grad.numpy(), **TOL)


@CASES
@given(case=pool_cases(min_size=1))
def test_max_pool_matches_torch_including_ties_and_padding(case):
    rng = np.random.default_rng(case["seed"])
    shape = (case["n"], case["c"], case["h"], case["w"])
    # few distinct values: many windows hold several equal maxima
    x = rng.integers(-2, 3, size=shape).astype(np.float64) if case["values"] == "ties" \
        else rng.standard_normal(shape)
    k, s, p = case["kernel"], case["stride"], case["padding"]

    tx = t(x, True)
    ty, tidx = F.max_pool2d(tx, k, s, p, return_indices=True)
    y, idx = ref.max_pool2d_forward(x, k, s, p)
    np.testing.assert_array_equal(y, ty.detach().numpy())
    np.testing.assert_array_equal(idx, tidx.numpy())

    gy = rng.standard_normal(y.shape)
    ty.backward(t(gy))
    np.testing.assert_allclose(ref.max_pool2d_backward(gy, idx, x.shape), tx.grad.numpy(), **TOL)


@CASES
@given(case=pool_cases(min_size=1))
def test_avg_pool_matches_torch_count_include_pad(case):
    rng = np.random.default_rng(case["seed"])
    x = rng.standard_normal((case["n"], case["c"], case["h"], case["w"]))
    k, s, p = case["kernel"], case["stride"], case["padding"]

    tx = t(x, True)
    ty = F.avg_pool2d(tx, k, s, p, count_include_pad=True)
    y = ref.avg_pool2d_forward(x, k, s, p)
    np.testing.assert_allclose(y, ty.detach().numpy(), **TOL)

    gy = rng.standard_normal(y.shape)
    ty.backward(t(gy))
    np.testing.assert_allclose(ref.avg_pool2d_backward(gy, x.shape, k, s, p), tx.grad.numpy(),
                               **TOL)


def test_avg_pool_divisor_counts_padding():
    """On a 5x5 input of ones with a 3x3 window, stride 2, padding 1, the corner windows
    cover 4 real cells of 9: 4/9, as PyTorch computes."""
    x = np.ones((1, 1, 5, 5))
    y = ref.avg_pool2d_forward(x, (3, 3), (2, 2), (1, 1))
    expected = F.avg_pool2d(t(x), 3, 2, 1).numpy()
    np.testing.assert_allclose(y, expected, **TOL)
    assert y[0, 0, 0, 0] == pytest.approx(4 / 9)


def test_max_pool_nan_propagates():
    """A NaN in the window wins, as in PyTorch.  (Which NaN's index is recorded differs:
    we record the first NaN, PyTorch's CPU kernel the last; the values agree.)"""
    x = np.array([[[[1.0, np.nan, 3.0, np.nan, 0.0, 2.0]]]])
    y, idx = ref.max_pool2d_forward(x, (1, 3), (1, 3), (0, 0))
    ty = F.max_pool2d(t(x), (1, 3), (1, 3))
    np.testing.assert_array_equal(y, ty.numpy())
    assert np.isnan(y[0, 0, 0, 0]) and idx[0, 0, 0, 0] == 1
    assert np.isnan(y[0, 0, 0, 1]) and idx[0, 0, 0, 1] == 3


def test_padding_limit_matches_torch():
    x = np.ones((1, 1, 6, 6))
    with pytest.raises(ValueError):
        ref.max_pool2d_forward(x, (3, 3), (1, 1), (2, 2))
    with pytest.raises(RuntimeError):
        F.max_pool2d(t(x), 3, 1, 2)
