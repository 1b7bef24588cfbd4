"""Bugs the fuzzer and the reliability review found, pinned at the user-facing level.

Each test names the bug it guards against; the fuzz targets (tests/fuzz) find the same
ones at the kernel level.
"""
import numpy as np
import pytest

import tinygrad_edu as tge
import tinygrad_edu.nn.functional as F
from tinygrad_edu import Tensor, nn, optim
from tinygrad_edu.backends import c as ck
from tinygrad_edu.backends import numpy_ref as ref

TABLES = [ref] + ([ck] if ck.AVAILABLE else [])
ids = lambda t: t.__name__.rsplit(".", 1)[1]  # noqa: E731


@pytest.mark.parametrize("table", TABLES, ids=ids)
def test_pooling_an_empty_plane_is_refused_not_a_segfault(table):
    """max_pool2d over H = 0 with padding used to read x[0] of an empty buffer in C (a
    segfault through the Python API)."""
    x = np.zeros((1, 1, 0, 4), np.float32)
    for fn in (table.max_pool2d_forward, table.avg_pool2d_forward):
        with pytest.raises(ValueError, match="empty spatial size"):
            fn(x, (2, 2), (1, 1), (1, 1))
    with pytest.raises(ValueError, match="empty"):
        F.max_pool2d(Tensor(x), 2, padding=1)


def test_matmul_with_an_empty_inner_size_gives_zeros(backend):
    """(3, 0) @ (0, 4) used to fail in reshape(-1, 0); PyTorch gives zeros."""
    for a_shape, b_shape in [((3, 0), (0, 4)), ((2, 3, 0), (0, 4)), ((2, 3, 0), (2, 0, 4)),
                             ((0,), (0,))]:
        a = Tensor.ones(*a_shape, requires_grad=True)
        b = Tensor.ones(*b_shape, requires_grad=True)
        out = a @ b
        np.testing.assert_array_equal(out.numpy(), np.ones(a_shape) @ np.ones(b_shape))
        out.sum().backward()
        assert a.grad.shape == a_shape and b.grad.shape == b_shape
    layer = nn.Linear(0, 3)
    assert layer(Tensor.ones(2, 0)).shape == (2, 3)


def test_sgd_momentum_on_a_scalar_parameter(backend):
    """The reference SGD kept a 0-d parameter's momentum buffer at its first value (the
    buffer was a NumPy scalar, which the in-place updates did not change); the fused C step
    got a (1,)-shaped gradient for it and refused it."""
    def train():
        w = Tensor(0.0, requires_grad=True)
        opt = optim.SGD([w], lr=0.1, momentum=0.9, dampening=0.1)
        history = []
        for step in range(4):
            opt.zero_grad()
            ((w - 3.0) ** 2).backward()
            opt.step()
            history.append(w.item())
        return history

    # momentum by hand: b1 = g1, b_t = 0.9 b + 0.9 g (dampening 0.1); w -= 0.1 b
    w, b, expected = 0.0, None, []
    for step in range(4):
        g = 2 * (w - 3.0)
        b = g if b is None else 0.9 * b + 0.9 * g
        w -= 0.1 * b
        expected.append(w)
    np.testing.assert_allclose(train(), expected, rtol=1e-6)


@pytest.mark.skipif(not ck.AVAILABLE, reason="C kernels not built")
def test_optimizer_kernels_refuse_short_lists_before_reading_past_them():
    """adam_step read steps[i] and sgd_step first[i] for every parameter without checking
    the lists' lengths: past the end of the C array (the sanitizer job's find)."""
    p = [np.ones(3, np.float32), np.ones(2, np.float32)]
    g = [np.ones(3, np.float32), np.ones(2, np.float32)]
    state = lambda: [np.zeros(3, np.float32), np.zeros(2, np.float32)]  # noqa: E731
    hp = dict(lr=0.1, betas=(0.9, 0.99), eps=1e-8, weight_decay=0.0, amsgrad=False,
              maximize=False, decoupled=False, momentum=0.9, dampening=0.0, nesterov=False)
    with pytest.raises(ValueError, match="1 steps for 2 parameters"):
        ck.adam_step(hp, p, g, state(), state(), None, [1])
    with pytest.raises(ValueError, match="steps must be >= 1"):
        ck.adam_step(hp, p, g, state(), state(), None, [1, 0])
    with pytest.raises(ValueError, match="1 first for 2 parameters"):
        ck.sgd_step(hp, p, g, state(), [True])
    np.testing.assert_array_equal(p[0], 1.0)  # nothing was changed


@pytest.mark.parametrize("table", TABLES, ids=ids)
def test_cross_entropy_kernels_refuse_bad_targets_alike(table):
    """A negative target wrapped around in NumPy's indexing (the last class, silently) and
    a too-large one raised IndexError, while C refused both with a RuntimeError."""
    if not hasattr(table, "cross_entropy_forward"):
        pytest.skip("no fused cross-entropy in this table")
    logits = np.zeros((3, 4), np.float32)
    for bad in (-1, 4):
        target = np.array([0, bad, 2])
        with pytest.raises(ValueError, match="target values must be classes"):
            table.cross_entropy_forward(logits, target, -100)
    # rows with ignore_index get exactly 0, even with a non-finite upstream gradient
    target = np.array([0, -100, 2])
    logp, _ = table.cross_entropy_forward(logits, target, -100)
    g = np.array([1.0, np.inf, 1.0], np.float32)
    assert np.all(table.cross_entropy_backward(logp, target, -100, g)[1] == 0)


@pytest.mark.parametrize("table", TABLES, ids=ids)
def test_lstm_backward_checks_every_saved_array(table):
    """The NumPy table's lstm_backward broadcast a wrongly shaped g_out / out / g_cn
    silently (only the C wrapper checked them)."""
    if not hasattr(table, "lstm_backward"):
        pytest.skip("no fused LSTM in this table")
    rng = np.random.default_rng(0)
    xw, w_hh = rng.standard_normal((3, 2, 8)), rng.standard_normal((8, 2))
    h0, c0 = rng.standard_normal((2, 2)), rng.standard_normal((2, 2))
    out, c_all, gates = table.lstm_forward(xw, w_hh, h0, c0)
    with pytest.raises(ValueError, match="g_out"):
        table.lstm_backward(w_hh, h0, c0, out, c_all, gates, np.ones((1, 2, 2)))
    with pytest.raises(ValueError, match="g_cn"):
        table.lstm_backward(w_hh, h0, c0, out, c_all, gates, np.ones((3, 2, 2)), np.ones(2))


@pytest.mark.skipif(not ck.AVAILABLE, reason="C kernels not built")
def test_conv_weight_gradient_ignores_cells_outside_every_window():
    """The 'wide' lowering of stride-1 unpadded convolutions multiplied the input cells in
    its unused columns by zero: an inf there (outside the kernel's reach for that weight)
    turned a finite weight gradient into NaN."""
    x = np.ones((1, 1, 5, 7), np.float32)
    x[0, 0, 2, 6] = np.inf  # the last column: kernel column 0 of a 1x2 kernel never reads it
    w = np.ones((1, 1, 5, 2), np.float32)
    gy = np.ones(ck.conv2d_forward(x, w, None, (1, 1), (0, 0)).shape, np.float32)
    gw = ck.conv2d_backward_weight(gy, x, w.shape, (1, 1), (0, 0))
    assert np.isfinite(gw[0, 0, :, 0]).all()  # column 0 never sees the inf
    assert np.isinf(gw[0, 0, 2, 1])           # column 1 does


@pytest.mark.skipif(not ck.AVAILABLE, reason="C kernels not built")
def test_lstm_kernel_propagates_nan():
    """exp() of the float LSTM converted a NaN to an integer (undefined behaviour, a
    negative left shift under UBSan); NaN must simply propagate."""
    if not hasattr(ck, "lstm_forward"):
        pytest.skip("no fused LSTM")
    xw = np.zeros((2, 1, 8), np.float32)
    xw[0, 0, 3] = np.nan
    out, c_all, gates = ck.lstm_forward(xw, np.zeros((8, 2), np.float32),
                                        np.zeros((1, 2), np.float32),
                                        np.zeros((1, 2), np.float32))
    assert np.isnan(gates[0, 0, 3]) and np.isnan(out[0, 0, 1]) and np.isfinite(out[0, 0, 0])
