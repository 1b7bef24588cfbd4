"""LSTM / GRU / SimpleRNN / Bidirectional: the fused path equals the step loop, PyTorch agrees
after mapping the weights, return_state / go_backwards / masks, parameter counts."""
import numpy as np
import pytest

import tinygrad_edu as tge
from tinygrad_edu import keras
from tinygrad_edu.keras import layers
from tinygrad_edu.nn import rnn as nn_rnn


@pytest.fixture(autouse=True)
def _fresh():
    keras.backend.clear_session()
    tge.manual_seed(0)
    yield


X = np.random.default_rng(0).standard_normal((3, 7, 5)).astype(np.float32)


def run_with_grads(layer, x, use_loop):
    """Outputs and (dx, dkernel, drecurrent[, dbias]) of sum(outputs), through the fused path
    or the loop."""
    if use_loop:
        layer._fast = lambda *args: None
    xt = tge.Tensor(x, requires_grad=True)
    out = layer(xt)
    outs = out if isinstance(out, list) else [out]
    total = outs[0].sum()
    for o in outs[1:]:
        total = total + o.sum()
    for w in layer.weights:
        w.grad = None
    total.backward()
    grads = [xt.grad.numpy(), layer.kernel.grad.numpy(), layer.recurrent_kernel.grad.numpy()]
    if getattr(layer, "use_bias", False):
        grads.append(layer.bias.grad.numpy())
    return [o.numpy() for o in outs], grads


@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_lstm_fused_kernel_equals_the_step_loop(go_backwards, return_sequences):
    layer = layers.LSTM(6, return_sequences=return_sequences, return_state=True, go_backwards=go_backwards)
    fast, fast_grads = run_with_grads(layer, X, use_loop=False)
    slow, slow_grads = run_with_grads(layer, X, use_loop=True)
    for a, b in zip(fast + fast_grads, slow + slow_grads):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("use_bias", [True, False])
def test_lstm_fused_kernel_equals_the_step_loop_with_and_without_bias(use_bias):
    """The fused path (the input projection inside the kernel) against the loop: outputs and
    the gradients of x, kernel, recurrent_kernel and bias (float64 kernels: test_fused_kernels)."""
    layer = layers.LSTM(6, use_bias=use_bias, return_state=True, return_sequences=True)
    fast, fast_grads = run_with_grads(layer, X, use_loop=False)
    slow, slow_grads = run_with_grads(layer, X, use_loop=True)
    assert len(fast_grads) == (4 if use_bias else 3)
    for a, b in zip(fast + fast_grads, slow + slow_grads):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_lstm_and_gru_run_on_their_fused_functions(monkeypatch):
    from tinygrad_edu.keras.layers import recurrent

    calls = []
    real = recurrent.LSTMInputLayer.apply
    monkeypatch.setattr(recurrent.LSTMInputLayer, "apply",
                        staticmethod(lambda *a, **k: calls.append(1) or real(*a, **k)))
    layers.LSTM(4)(X)
    assert calls == [1]
    calls.clear()   # recurrent dropout in training needs the per-step loop
    layers.LSTM(4, recurrent_dropout=0.5)(X, training=True)
    assert calls == []
    real_gru = nn_rnn.gru_layer
    monkeypatch.setattr(nn_rnn, "gru_layer", lambda *a, **k: calls.append(2) or real_gru(*a, **k))
    layers.GRU(4)(X)
    assert calls == [2]


@pytest.mark.parametrize("make", [lambda rs: layers.SimpleRNN(5, return_sequences=rs, go_backwards=True),
                                  lambda rs: layers.GRU(5, return_sequences=rs, go_backwards=True)])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_simple_rnn_and_gru_on_nn_paths_equal_the_keras_loop(make, return_sequences):
    layer = make(return_sequences)
    fast, fg = run_with_grads(layer, X, use_loop=False)
    slow, sg = run_with_grads(layer, X, use_loop=True)
    for a, b in zip(fast + fg, slow + sg):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_gru_matches_torch_after_mapping_the_weights():
    torch = pytest.importorskip("torch")
    layer = layers.GRU(4, return_sequences=True)
    xt = tge.Tensor(X, requires_grad=True)
    out = layer(xt)
    out.sum().backward()
    kernel, recurrent, bias = (w.numpy() for w in layer.weights)
    ref = torch.nn.GRU(5, 4, batch_first=True)

    def to_torch(block):    # Keras gate blocks z, r, h -> PyTorch's r, z, n; (in, 3U) -> (3U, in)
        z, r, h = np.split(block, 3, axis=-1)
        return torch.tensor(np.concatenate([r, z, h], axis=-1).T.copy())

    with torch.no_grad():
        ref.weight_ih_l0.copy_(to_torch(kernel))
        ref.weight_hh_l0.copy_(to_torch(recurrent))
        ref.bias_ih_l0.copy_(to_torch(bias[0][None])[:, 0])
        ref.bias_hh_l0.copy_(to_torch(bias[1][None])[:, 0])
    tx = torch.tensor(X, requires_grad=True)
    tout, _ = ref(tx)
    tout.sum().backward()
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(xt.grad.numpy(), tx.grad.numpy(), rtol=1e-4, atol=1e-6)


def test_return_state_shapes_and_initial_state():
    out, h, c = layers.LSTM(4, return_state=True)(X)
    assert out.shape == h.shape == c.shape == (3, 4)
    np.testing.assert_array_equal(out.numpy(), h.numpy())
    seq, h2 = layers.GRU(4, return_sequences=True, return_state=True)(X)
    assert seq.shape == (3, 7, 4) and h2.shape == (3, 4)
    np.testing.assert_array_equal(seq.numpy()[:, -1], h2.numpy())
    decoder = layers.LSTM(4)
    with_state = decoder(X, initial_state=[h, c]).numpy()
    assert not np.allclose(with_state, decoder(X).numpy())
    with pytest.raises(ValueError, match="initial_state needs 2"):
        decoder(X, initial_state=[h])


def test_go_backwards_reads_the_reversed_sequence():
    fwd = layers.LSTM(3, return_sequences=True)
    bwd = layers.LSTM(3, return_sequences=True, go_backwards=True)
    fwd.build_for((None, 7, 5))
    bwd.build_for((None, 7, 5))
    bwd.set_weights(fwd.get_weights())
    np.testing.assert_allclose(bwd(X).numpy(), fwd(X[:, ::-1].copy()).numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("mode, last", [("concat", 8), ("sum", 4), ("mul", 4), ("ave", 4)])
def test_bidirectional_merge_modes(mode, last):
    bi = layers.Bidirectional(layers.LSTM(4, return_sequences=True), merge_mode=mode)
    y = bi(X).numpy()
    assert y.shape == (3, 7, last)
    assert bi.count_params() == 2 * 4 * (4 * (5 + 4) + 4)
    f = bi.forward_layer(X).numpy()
    b = bi.backward_layer(X).numpy()[:, ::-1]          # back in time order
    expected = {"concat": np.concatenate([f, b], -1), "sum": f + b, "mul": f * b, "ave": (f + b) / 2}[mode]
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-6)
    assert bi.forward_layer.name.startswith("forward_") and bi.backward_layer.name.startswith("backward_")


def test_bidirectional_without_merge_and_with_states():
    fwd, bwd = layers.Bidirectional(layers.GRU(3), merge_mode=None)(X)
    assert fwd.shape == bwd.shape == (3, 3)
    out = layers.Bidirectional(layers.LSTM(3, return_state=True))(X)
    assert [o.shape for o in out] == [(3, 6), (3, 3), (3, 3), (3, 3), (3, 3)]
    inputs = keras.Input(shape=(None, 5))
    assert layers.Bidirectional(layers.LSTM(3))(inputs).shape == (None, 6)
    with pytest.raises(TypeError, match="LSTM, GRU or SimpleRNN"):
        layers.Bidirectional(layers.Dense(3))


def test_masked_sequence_equals_the_unpadded_one_for_every_recurrent_layer():
    ids = np.array([[0, 0, 0, 2, 5, 1], [3, 1, 4, 1, 5, 2]])
    emb = layers.Embedding(7, 4, mask_zero=True)
    for make in (lambda: layers.LSTM(3), lambda: layers.GRU(3), lambda: layers.SimpleRNN(3),
                 lambda: layers.Bidirectional(layers.LSTM(3))):
        layer = make()
        model = keras.Sequential([emb, layer])
        padded = model.predict(ids)
        alone = layer(emb(ids[:1, 3:])).numpy()
        np.testing.assert_allclose(padded[:1], alone, rtol=1e-5, atol=1e-6)
        keras.backend.clear_session()


def test_recurrent_argument_errors():
    with pytest.raises(ValueError, match="units"):
        layers.GRU(0)
    with pytest.raises(NotImplementedError, match="stateful"):
        layers.LSTM(3, stateful=True)
    with pytest.raises(ValueError, match=r"ndim=3.*\(None, 5\)"):
        layers.LSTM(3)(keras.Input(shape=(5,)))
