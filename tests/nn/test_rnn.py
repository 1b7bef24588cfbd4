"""RNN and LSTM against torch.nn.RNN / torch.nn.LSTM with copied weights (outputs, final
states, gradients of inputs, initial states and every weight), plus gradcheck."""
import numpy as np
import pytest

import tinygrad_edu as tge
from tinygrad_edu import Tensor, nn
from tinygrad_edu.nn.rnn import lstm_layer
from tinygrad_edu.utils.gradcheck import gradcheck

from .torch_compare import compare, torch

tnn = torch.nn
DTYPES = [np.float32, np.float64]
T, N, IN, H = 5, 3, 4, 6


def randn(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def build(kind, seed=0, **kwargs):
    torch.manual_seed(seed)
    ours_cls, theirs_cls = (nn.LSTM, tnn.LSTM) if kind == "lstm" else (nn.RNN, tnn.RNN)
    return ours_cls(IN, H, **kwargs), theirs_cls(IN, H, **kwargs)


def inputs(batch_first, layers=2, directions=1, unbatched=False):
    if unbatched:
        return randn(T, IN), randn(layers * directions, H, seed=1), randn(layers * directions, H, seed=2)
    x = randn(N, T, IN) if batch_first else randn(T, N, IN)
    return x, randn(layers * directions, N, H, seed=1), randn(layers * directions, N, H, seed=2)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("initial_state", [False, True])
def test_lstm_two_layers_matches_torch(dtype, batch_first, initial_state):
    ours, theirs = build("lstm", num_layers=2, batch_first=batch_first)
    x, h0, c0 = inputs(batch_first)
    if initial_state:
        compare(ours, theirs, [x, h0, c0], dtype, call=lambda m, x, h, c: m(x, (h, c)))
    else:
        compare(ours, theirs, [x], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("initial_state", [False, True])
@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_rnn_two_layers_matches_torch(dtype, batch_first, initial_state, nonlinearity):
    ours, theirs = build("rnn", num_layers=2, batch_first=batch_first, nonlinearity=nonlinearity)
    x, h0, _ = inputs(batch_first)
    compare(ours, theirs, [x, h0] if initial_state else [x], dtype)


@pytest.mark.parametrize("kind", ["lstm", "rnn"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_bidirectional_matches_torch(kind, dtype):
    ours, theirs = build(kind, num_layers=2, bidirectional=True, batch_first=True)
    x, h0, c0 = inputs(True, directions=2)
    if kind == "lstm":
        compare(ours, theirs, [x, h0, c0], dtype, call=lambda m, x, h, c: m(x, (h, c)))
    else:
        compare(ours, theirs, [x, h0], dtype)


@pytest.mark.parametrize("kind", ["lstm", "rnn"])
def test_without_bias_matches_torch(kind):
    ours, theirs = build(kind, bias=False)
    assert list(ours.state_dict()) == ["weight_ih_l0", "weight_hh_l0"]
    compare(ours, theirs, [randn(T, N, IN)], np.float64)


@pytest.mark.parametrize("kind", ["lstm", "rnn"])
def test_unbatched_input_matches_torch(kind):
    ours, theirs = build(kind, num_layers=2)
    x, h0, c0 = inputs(False, unbatched=True)
    if kind == "lstm":
        compare(ours, theirs, [x, h0, c0], np.float64, call=lambda m, x, h, c: m(x, (h, c)))
    else:
        compare(ours, theirs, [x, h0], np.float64)


def test_dropout_between_layers_only_in_training():
    ours, theirs = build("lstm", num_layers=2, dropout=0.5)
    ours.eval()
    theirs.eval()
    compare(ours, theirs, [randn(T, N, IN)], np.float64)  # eval: dropout is off, torch agrees
    ours.train()
    x = Tensor(randn(T, N, IN).astype(np.float64))
    tge.manual_seed(0)
    a = ours(x)[0].numpy()
    tge.manual_seed(1)
    b = ours(x)[0].numpy()
    assert not np.allclose(a, b)  # different dropout masks give different outputs


def test_shapes_and_parameter_names():
    lstm = nn.LSTM(10, 20, num_layers=2, batch_first=True)
    names = [n for n, _ in lstm.named_parameters()]
    assert names == [f"{w}_l{k}" for k in range(2) for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    assert lstm.weight_ih_l0.shape == (80, 10) and lstm.weight_hh_l0.shape == (80, 20)
    assert lstm.weight_ih_l1.shape == (80, 20) and lstm.bias_ih_l1.shape == (80,)
    out, (h, c) = lstm(Tensor.randn(3, 7, 10))
    assert out.shape == (3, 7, 20) and h.shape == (2, 3, 20) and c.shape == (2, 3, 20)
    rnn = nn.RNN(10, 20)
    out, h = rnn(Tensor.randn(7, 3, 10))
    assert out.shape == (7, 3, 20) and h.shape == (1, 3, 20)


@pytest.mark.parametrize("kind", ["lstm", "rnn"])
def test_init_matches_pytorch_bounds(kind):
    module = (nn.LSTM if kind == "lstm" else nn.RNN)(30, 100)
    bound = 1 / np.sqrt(100)
    for name, p in module.named_parameters():
        values = p.numpy()
        assert p.dtype == np.float32
        assert values.min() >= -bound and values.max() <= bound, name
        assert abs(values.std() - bound / np.sqrt(3)) < 0.05 * bound, name  # std of U(-b, b)


def test_gate_order_is_i_f_g_o():
    """With only the forget gate's bias large and the others very negative, c stays c0."""
    lstm = nn.LSTM(1, 1).double()
    for p in lstm.parameters():
        p.data[...] = 0
    # gates i, f, g, o: input gate closed, forget gate open, output gate open
    lstm.bias_ih_l0.data[...] = [-50.0, 50.0, 0.0, 50.0]
    x = Tensor(np.ones((3, 1, 1)))
    h0 = Tensor(np.zeros((1, 1, 1)))
    c0 = Tensor(np.full((1, 1, 1), 0.7))
    _, (h, c) = lstm(x, (h0, c0))
    np.testing.assert_allclose(c.numpy(), 0.7)
    np.testing.assert_allclose(h.numpy(), np.tanh(0.7))


def test_lstm_layer_reference_is_what_forward_uses(monkeypatch):
    """The time loop goes through LSTM._lstm_layer, so a fused kernel can replace it."""
    calls = []

    def spy(self, *args, **kwargs):
        calls.append(args[0].shape)
        return lstm_layer(*args, **kwargs)

    monkeypatch.setattr(nn.LSTM, "_lstm_layer", spy)
    lstm = nn.LSTM(4, 3, num_layers=2)
    lstm(Tensor.randn(5, 2, 4))
    assert calls == [(5, 2, 4), (5, 2, 3)]


# ------------------------------------------------------------------------------ gradcheck
def test_gradcheck_lstm():
    tge.manual_seed(0)
    lstm = nn.LSTM(2, 3, num_layers=2).double()
    x = Tensor(randn(3, 2, 2), requires_grad=True)
    h0 = Tensor(randn(2, 2, 3, seed=1), requires_grad=True)
    c0 = Tensor(randn(2, 2, 3, seed=2), requires_grad=True)
    params = list(lstm.parameters())

    def fn(x, h0, c0, *ps):
        out, (h, c) = lstm(x, (h0, c0))
        return out, h, c

    assert gradcheck(fn, [x, h0, c0] + params)


def test_gradcheck_rnn():
    tge.manual_seed(0)
    rnn = nn.RNN(2, 3, num_layers=2, bidirectional=True, batch_first=True).double()
    x = Tensor(randn(2, 3, 2), requires_grad=True)
    params = list(rnn.parameters())
    assert gradcheck(lambda x, *ps: rnn(x), [x] + params)


# ------------------------------------------------------------------------------ errors
def test_errors_name_shapes():
    lstm = nn.LSTM(4, 3, num_layers=2)
    with pytest.raises(ValueError, match=r"\(5, 2, 7\).*input_size=4"):
        lstm(Tensor.randn(5, 2, 7))
    with pytest.raises(ValueError, match=r"h0 has shape \(1, 2, 3\), expected \(2, 2, 3\)"):
        lstm(Tensor.randn(5, 2, 4), (Tensor.randn(1, 2, 3), Tensor.randn(2, 2, 3)))
    with pytest.raises(TypeError, match="pair"):
        lstm(Tensor.randn(5, 2, 4), Tensor.randn(2, 2, 3))
    with pytest.raises(ValueError, match="shape"):
        lstm(Tensor.randn(5))
    with pytest.raises(TypeError, match="dtype"):
        lstm(Tensor.randn(5, 2, 4, dtype="float64"))
    with pytest.raises(NotImplementedError):
        nn.LSTM(4, 3, proj_size=2)
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNN(4, 3, nonlinearity="sigmoid")
