"""The LSTM kernel with its input projection (csrc/lstm_input_impl.inc, the Keras LSTM's path)
against its NumPy twin, float32 and float64, forward and backward, with and without a bias
and g_cn; the same bits for one and two threads; refusals before the kernel runs.

Tolerances as in test_kernels.py: float32 rtol=1e-4 / atol=1e-5 (polynomial exp, fused
multiply-adds, the projection summed inside the step's product), float64 rtol=1e-10 /
atol=1e-12.
"""
import numpy as np
import pytest

from tinygrad_edu.backends import c as ck
from tinygrad_edu.backends import numpy_ref as ref

from ..helpers import assert_same_for_thread_counts

pytestmark = pytest.mark.skipif(not ck.AVAILABLE, reason=f"C kernels not built: {ck.LOAD_ERROR}")

TOL = {np.float32: dict(rtol=1e-4, atol=1e-5), np.float64: dict(rtol=1e-10, atol=1e-12)}


def _case(seed, steps, batch, hidden, features, dtype):
    """x, w_x, w_h, bias, h0, c0, g_out, g_cn for one call."""
    rng = np.random.default_rng(seed)

    def rand(*shape, scale=1.0):
        return (rng.standard_normal(shape) * scale).astype(dtype)

    return (rand(steps, batch, features), rand(features, 4 * hidden, scale=0.5),
            rand(hidden, 4 * hidden, scale=0.3), rand(4 * hidden), rand(batch, hidden),
            rand(batch, hidden), rand(steps, batch, hidden), rand(batch, hidden))


def _close(got, want, dtype):
    assert len(got) == len(want)
    for a, b in zip(got, want):
        assert (a is None) == (b is None)
        if a is not None:
            assert a.shape == b.shape and a.dtype == b.dtype
            np.testing.assert_allclose(a, b, **TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("steps,batch,hidden,features",
                         [(1, 1, 1, 1), (7, 5, 6, 3), (12, 33, 17, 10), (4, 40, 100, 10),
                          (3, 70, 10, 2), (3, 0, 5, 2)])
def test_lstm_input_kernel_matches_numpy_twin(dtype, reverse, steps, batch, hidden, features):
    """(4, 40, 100, 10): the step products of the Keras classifier's shape (backward's depth
    4H = 400, two GEMM depth blocks); (3, 70, 10, 2): thin products (the ordinary GEMM)."""
    x, w_x, w_h, bias, h0, c0, g_out, g_cn = _case(steps * 100 + hidden, steps, batch, hidden,
                                                   features, dtype)
    for b in (bias, None):
        got = ck.lstm_input_forward(x, w_x, w_h, b, h0, c0, reverse)
        want = ref.lstm_input_forward(x, w_x, w_h, b, h0, c0, reverse)
        _close(got, want, dtype)
        for g in (g_cn, None):
            args = (x, w_x, w_h, h0, c0, *want, g_out, g, reverse, b is not None)
            _close(ck.lstm_input_backward(*args), ref.lstm_input_backward(*args), dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reverse", [False, True])
def test_lstm_input_kernel_same_bits_for_one_and_two_threads(dtype, reverse):
    """Threads take blocks of batch rows (at least 16 each): batch 64 splits in two."""
    x, w_x, w_h, bias, h0, c0, g_out, g_cn = _case(7, 5, 64, 100, 10, dtype)

    def run():
        fwd = ck.lstm_input_forward(x, w_x, w_h, bias, h0, c0, reverse)
        return fwd + ck.lstm_input_backward(x, w_x, w_h, h0, c0, *fwd, g_out, g_cn, reverse, True)

    assert_same_for_thread_counts(run)


def test_lstm_input_zero_steps_gives_zero_gradients_and_passes_g_cn():
    x, w_x, w_h, bias, h0, c0, _, g_cn = _case(1, 0, 3, 4, 2, np.float64)
    fwd = ck.lstm_input_forward(x, w_x, w_h, bias, h0, c0, False)
    assert all(a.shape[0] == 0 for a in fwd)
    got = ck.lstm_input_backward(x, w_x, w_h, h0, c0, *fwd, np.zeros((0, 3, 4)), g_cn, False, True)
    want = ref.lstm_input_backward(x, w_x, w_h, h0, c0, *fwd, np.zeros((0, 3, 4)), g_cn, False,
                                   True)
    _close(got, want, np.float64)
    np.testing.assert_array_equal(got[5], g_cn)


def test_lstm_input_kernel_refuses_bad_calls_like_the_twin():
    x, w_x, w_h, bias, h0, c0, g_out, g_cn = _case(3, 3, 2, 4, 5, np.float32)
    bad = [(x[..., :4], w_x, w_h, bias, h0, c0),            # F differs from w_x's rows
           (x, w_x, w_h[:3], bias, h0, c0),                 # w_h not (H, 4H)
           (x, w_x, w_h, bias[:-1], h0, c0),                # bias not (4H,)
           (x, w_x, w_h, bias, h0[:1], c0),                 # h0 not (N, H)
           (x[..., :0], w_x[:0], w_h, bias, h0, c0),        # no features
           (x, w_x.astype(np.float64), w_h, bias, h0, c0)]  # dtypes differ
    for args in bad:
        with pytest.raises((TypeError, ValueError)) as expected:
            ref.lstm_input_forward(*args, False)
        with pytest.raises(expected.type) as ours:
            ck.lstm_input_forward(*args, False)
        assert str(ours.value) == str(expected.value)
    fwd = ref.lstm_input_forward(x, w_x, w_h, bias, h0, c0, False)
    with pytest.raises(ValueError, match="gates"):
        ck.lstm_input_backward(x, w_x, w_h, h0, c0, fwd[0], fwd[1], fwd[2][:, :, :-1], g_out,
                               g_cn, False, True)
    with pytest.raises(ValueError, match="g_cn"):
        ck.lstm_input_backward(x, w_x, w_h, h0, c0, *fwd, g_out, g_cn[:1], False, True)
