"""Keras layers: output shapes, Keras's parameter counts, initial values, forward maths."""
import numpy as np
import pytest

import tinygrad_edu as tge
from tinygrad_edu import keras
from tinygrad_edu.keras import layers
from tinygrad_edu.keras.models import Sequential


@pytest.fixture(autouse=True)
def _fresh_names():
    keras.backend.clear_session()
    yield


def article_cnn():
    model = Sequential()
    model.add(layers.Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1)))
    model.add(layers.MaxPooling2D((2, 2)))
    model.add(layers.Conv2D(64, (3, 3), activation="relu"))
    model.add(layers.MaxPooling2D((2, 2)))
    model.add(layers.Conv2D(64, (3, 3), activation="relu"))
    model.add(layers.Flatten())
    model.add(layers.Dense(64, activation="relu"))
    model.add(layers.Dense(10, activation="softmax"))
    return model


def summary_lines(model):
    lines = []
    model.summary(print_fn=lines.append)
    return lines


def row(lines, start):
    """The summary row of the layer whose name starts the line, split into its columns."""
    matches = [line for line in lines if line.startswith(start + " ")]
    assert len(matches) == 1, f"no single row for {start!r} in:\n" + "\n".join(lines)
    return matches[0].split()


# ------------------------------------------------------------------ summary and parameter counts
def test_cnn_summary_shows_keras_shapes_and_param_counts(capsys):
    model = article_cnn()
    model.summary()
    text = capsys.readouterr().out
    lines = text.splitlines()
    assert lines[0] == 'Model: "sequential"'
    assert "Layer (type)" in text and "Output Shape" in text and "Param #" in text
    expected = [
        ("conv2d", "(Conv2D)", "(None, 26, 26, 32)", "320"),
        ("max_pooling2d", "(MaxPooling2D)", "(None, 13, 13, 32)", "0"),
        ("conv2d_1", "(Conv2D)", "(None, 11, 11, 64)", "18496"),
        ("max_pooling2d_1", "(MaxPooling2D)", "(None, 5, 5, 64)", "0"),
        ("conv2d_2", "(Conv2D)", "(None, 3, 3, 64)", "36928"),
        ("flatten", "(Flatten)", "(None, 576)", "0"),
        ("dense", "(Dense)", "(None, 64)", "36928"),
        ("dense_1", "(Dense)", "(None, 10)", "650"),
    ]
    for name, kind, shape, params in expected:
        cells = row(lines, name)
        assert cells[0] == name and cells[1] == kind
        assert " ".join(cells[2:-1]) == shape
        assert cells[-1] == params
    assert "Total params: 93,322" in lines
    assert "Trainable params: 93,322" in lines
    assert "Non-trainable params: 0" in lines
    assert model.count_params() == 93322


def test_lstm_has_keras_parameter_count_with_one_bias_per_gate():
    model = Sequential([layers.LSTM(100, input_shape=(7, 10))])
    lstm = model.layers[0]
    assert lstm.count_params() == 44400 == 4 * (100 * (10 + 100) + 100)
    assert [w.shape for w in lstm.weights] == [(10, 400), (100, 400), (400,)]
    assert [n for n, _ in lstm.named_parameters()] == ["kernel", "recurrent_kernel", "bias"]
    assert lstm.output_shape == (None, 100)


def test_text_model_summary():
    model = Sequential()
    model.add(layers.Embedding(3, 10, input_length=10))
    model.add(layers.LSTM(100))
    model.add(layers.Dense(1, activation="sigmoid"))
    lines = summary_lines(model)
    assert row(lines, "embedding")[-1] == "30" and "(None, 10, 10)" in " ".join(row(lines, "embedding"))
    assert row(lines, "lstm")[-1] == "44400" and "(None, 100)" in " ".join(row(lines, "lstm"))
    assert row(lines, "dense")[-1] == "101"
    assert "Total params: 44,531" in lines


def test_summary_before_build_and_lazy_build():
    model = Sequential([layers.Dense(8, activation="relu"), layers.Dense(3)])
    assert not model.built
    with pytest.raises(ValueError, match="not yet been built"):
        model.summary()
    out = model.predict(np.zeros((5, 4)))
    assert out.shape == (5, 3) and model.built
    assert model.input_shape == (None, 4)
    assert model.layers[0].kernel.shape == (4, 8)
    model.summary(print_fn=lambda line: None)


def test_input_layer_and_input_dim():
    a = Sequential([keras.Input(shape=(6,)), layers.Dense(4)])
    b = Sequential([layers.Dense(4, input_dim=6)])
    assert a.built and b.built
    assert a.input_shape == b.input_shape == (None, 6)
    assert a.count_params() == b.count_params() == 28


def test_layer_names_are_numbered_per_session():
    d1, d2, c = layers.Dense(1), layers.Dense(1), layers.Conv2D(1, 3)
    assert (d1.name, d2.name, c.name) == ("dense", "dense_1", "conv2d")
    keras.backend.clear_session()
    assert layers.Dense(1).name == "dense"
    with pytest.raises(ValueError, match="unique names"):
        Sequential([layers.Dense(2, name="same", input_dim=3), layers.Dense(2, name="same")])


# ------------------------------------------------------------------ shapes
@pytest.mark.parametrize("padding,strides,expected", [
    ("valid", 1, (None, 26, 26, 8)), ("same", 1, (None, 28, 28, 8)),
    ("valid", 2, (None, 13, 13, 8)), ("same", 2, (None, 14, 14, 8)),
])
def test_conv2d_output_shapes(padding, strides, expected):
    model = Sequential([layers.Conv2D(8, 3, strides=strides, padding=padding, input_shape=(28, 28, 1))])
    assert model.output_shape == expected
    out = model.predict(np.random.default_rng(0).random((2, 28, 28, 1)))
    assert out.shape == (2,) + expected[1:]


def test_dense_on_sequences_works_on_the_last_axis():
    model = Sequential([layers.Dense(5, input_shape=(7, 3))])
    assert model.output_shape == (None, 7, 5)
    x = np.random.default_rng(1).random((2, 7, 3)).astype(np.float32)
    kernel, bias = model.get_weights()
    np.testing.assert_allclose(model.predict(x), x @ kernel + bias, rtol=1e-5, atol=1e-6)


def test_lstm_return_sequences_and_embedding_shapes():
    model = Sequential([layers.Embedding(50, 8, input_length=6), layers.LSTM(4, return_sequences=True),
                        layers.LSTM(3)])
    assert [l.output_shape for l in model.layers] == [(None, 6, 8), (None, 6, 4), (None, 3)]
    ids = np.random.default_rng(2).integers(0, 50, (5, 6))
    assert model.predict(ids).shape == (5, 3)


# ------------------------------------------------------------------ forward maths
def test_conv2d_same_padding_puts_the_odd_zero_at_the_bottom_right():
    # 2x2 kernel of ones, stride 1, "same" on a 5x5 image: TensorFlow pads 0 rows above and
    # 1 below (0 columns left, 1 right), so each output sums the window starting at its pixel.
    conv = layers.Conv2D(1, 2, padding="same", use_bias=False, kernel_initializer="ones")
    x = np.arange(25, dtype=np.float32).reshape(1, 5, 5, 1)
    out = conv(x).numpy()[0, :, :, 0]
    img = np.pad(x[0, :, :, 0], ((0, 1), (0, 1)))
    expected = img[:-1, :-1] + img[1:, :-1] + img[:-1, 1:] + img[1:, 1:]
    np.testing.assert_allclose(out, expected)
    assert out[4, 4] == x[0, 4, 4, 0]


def test_conv2d_matches_a_channels_last_loop():
    rng = np.random.default_rng(3)
    conv = layers.Conv2D(4, (3, 2), strides=(2, 1), activation="relu")
    x = rng.standard_normal((2, 7, 6, 3)).astype(np.float32)
    out = conv(x).numpy()
    kernel, bias = conv.get_weights()          # (3, 2, 3, 4), (4,)
    expected = np.zeros((2, 3, 5, 4), np.float32)
    for i in range(3):
        for j in range(5):
            patch = x[:, 2 * i:2 * i + 3, j:j + 2, :]                    # (N, 3, 2, C)
            expected[:, i, j, :] = np.tensordot(patch, kernel, axes=([1, 2, 3], [0, 1, 2])) + bias
    np.testing.assert_allclose(out, np.maximum(expected, 0), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_max_pooling_matches_numpy(padding):
    x = np.random.default_rng(4).standard_normal((2, 5, 5, 3)).astype(np.float32)
    out = layers.MaxPooling2D((2, 2), padding=padding)(x).numpy()
    size = 3 if padding == "same" else 2
    padded = np.pad(x, ((0, 0), (0, 1), (0, 1), (0, 0)), constant_values=-np.inf)
    expected = np.zeros((2, size, size, 3), np.float32)
    for i in range(size):
        for j in range(size):
            expected[:, i, j] = padded[:, 2 * i:2 * i + 2, 2 * j:2 * j + 2].max(axis=(1, 2))
    np.testing.assert_allclose(out, expected)


def keras_lstm_numpy(x, kernel, recurrent, bias, act=np.tanh, rec=lambda z: 1 / (1 + np.exp(-z))):
    """Keras's LSTM equations, step by step in NumPy (gates i, f, c, o)."""
    n, steps, _ = x.shape
    u = recurrent.shape[0]
    h, c = np.zeros((n, u)), np.zeros((n, u))
    seq = []
    for t in range(steps):
        z = x[:, t] @ kernel + h @ recurrent + bias
        i, f, g, o = rec(z[:, :u]), rec(z[:, u:2 * u]), act(z[:, 2 * u:3 * u]), rec(z[:, 3 * u:])
        c = f * c + i * g
        h = o * act(c)
        seq.append(h)
    return h, np.stack(seq, axis=1)


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_lstm_forward_matches_keras_equations(activation):
    rng = np.random.default_rng(5)
    lstm = layers.LSTM(6, activation=activation, return_sequences=True)
    x = rng.standard_normal((3, 5, 4)).astype(np.float32)
    out = lstm(x).numpy()
    kernel, recurrent, bias = (w.astype(np.float64) for w in lstm.get_weights())
    bias = bias + rng.standard_normal(bias.shape) * 0.1     # make every bias entry matter
    lstm.set_weights([kernel, recurrent, bias])
    out = lstm(x).numpy()
    act = np.tanh if activation == "tanh" else (lambda z: np.maximum(z, 0))
    last, seq = keras_lstm_numpy(x.astype(np.float64), kernel, recurrent, bias.astype(np.float32), act)
    np.testing.assert_allclose(out, seq, rtol=1e-4, atol=1e-5)
    lstm.return_sequences = False
    np.testing.assert_allclose(lstm(x).numpy(), last, rtol=1e-4, atol=1e-5)


def test_lstm_matches_torch_after_mapping_the_weights():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    lstm = layers.LSTM(5)
    x = rng.standard_normal((2, 4, 3)).astype(np.float32)
    ours = lstm(x).numpy()
    kernel, recurrent, bias = lstm.get_weights()
    ref = torch.nn.LSTM(3, 5, batch_first=True)
    with torch.no_grad():     # same gate order (i, f, c/g, o); Keras's one bias goes into bias_ih
        ref.weight_ih_l0.copy_(torch.from_numpy(kernel.T.copy()))
        ref.weight_hh_l0.copy_(torch.from_numpy(recurrent.T.copy()))
        ref.bias_ih_l0.copy_(torch.from_numpy(bias))
        ref.bias_hh_l0.zero_()
        _, (h, _) = ref(torch.from_numpy(x))
    np.testing.assert_allclose(ours, h[0].numpy(), rtol=1e-5, atol=1e-6)


def test_dropout_only_in_training():
    tge.manual_seed(0)
    drop = layers.Dropout(0.5)
    x = np.ones((200, 50), np.float32)
    np.testing.assert_array_equal(drop(x).numpy(), x)
    out = drop(x, training=True).numpy()
    assert set(np.unique(out)) <= {0.0, 2.0}
    assert 0.4 < (out == 0).mean() < 0.6


def test_activations_by_name():
    x = tge.Tensor(np.array([[-2.0, 0.0, 3.0]], np.float32))
    expect = {
        "relu": [0, 0, 3], "linear": [-2, 0, 3], None: [-2, 0, 3],
        "sigmoid": 1 / (1 + np.exp(-np.array([-2.0, 0, 3]))), "tanh": np.tanh([-2.0, 0, 3]),
        "softmax": np.exp([-2.0, 0, 3]) / np.exp([-2.0, 0, 3]).sum(),
        "elu": [np.exp(-2.0) - 1, 0, 3], "softplus": np.log1p(np.exp([-2.0, 0, 3])),
        "softsign": [-2 / 3, 0, 0.75], "swish": np.array([-2.0, 0, 3]) / (1 + np.exp(-np.array([-2.0, 0, 3]))),
    }
    for name, values in expect.items():
        out = layers.Activation(name)(x).numpy()[0]
        np.testing.assert_allclose(out, values, rtol=1e-5, atol=1e-6, err_msg=str(name))
    with pytest.raises(ValueError, match="unknown activation 'relux'"):
        layers.Dense(3, activation="relux")


# ------------------------------------------------------------------ Keras's initialisers
def test_dense_and_conv_kernels_are_glorot_uniform_and_biases_zero():
    tge.manual_seed(1)
    model = article_cnn()
    for layer in model.layers:
        if not layer.weights:
            continue
        kernel, bias = layer.get_weights()
        if kernel.ndim == 4:
            kh, kw, cin, cout = kernel.shape
            fan_in, fan_out = kh * kw * cin, kh * kw * cout
        else:
            fan_in, fan_out = kernel.shape
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        assert np.abs(kernel).max() <= limit
        assert np.abs(kernel).max() > 0.95 * limit                  # it does use the whole range
        assert abs(kernel.std() - limit / np.sqrt(3)) < 0.1 * limit / np.sqrt(3)
        assert abs(kernel.mean()) < 0.1 * limit
        np.testing.assert_array_equal(bias, 0.0)


def test_lstm_initialisation_is_keras_s():
    tge.manual_seed(2)
    units, features = 32, 10
    lstm = Sequential([layers.LSTM(units, input_shape=(None, features))]).layers[0]
    kernel, recurrent, bias = lstm.get_weights()
    # recurrent kernel (U, 4U): orthogonal as one matrix, so its rows are orthonormal
    np.testing.assert_allclose(recurrent @ recurrent.T, np.eye(units), atol=2e-5)
    # kernel: glorot_uniform with fans (features, 4U)
    limit = np.sqrt(6.0 / (features + 4 * units))
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.9 * limit
    # bias: zeros except the forget gate's block (the second of i, f, c, o), which is 1
    np.testing.assert_array_equal(bias[:units], 0.0)
    np.testing.assert_array_equal(bias[units:2 * units], 1.0)
    np.testing.assert_array_equal(bias[2 * units:], 0.0)
    no_forget = Sequential([layers.LSTM(4, unit_forget_bias=False, input_shape=(3, 2))]).layers[0]
    np.testing.assert_array_equal(no_forget.get_weights()[2], 0.0)


def test_embedding_is_uniform_005():
    tge.manual_seed(3)
    emb = Sequential([layers.Embedding(1000, 64, input_length=5)]).layers[0]
    table = emb.get_weights()[0]
    assert table.shape == (1000, 64)
    assert np.abs(table).max() <= 0.05 and np.abs(table).max() > 0.049
    assert abs(table.std() - 0.1 / np.sqrt(12)) < 0.002


def test_initialisation_follows_manual_seed():
    tge.manual_seed(7)
    a = Sequential([layers.Dense(5, input_dim=3)]).get_weights()
    tge.manual_seed(7)
    b = Sequential([layers.Dense(5, input_dim=3)]).get_weights()
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


# ------------------------------------------------------------------ errors
def test_conv2d_refuses_flat_input_naming_the_shape():
    with pytest.raises(ValueError, match=r"expected ndim=4.*\(None, 100\)"):
        Sequential([layers.Dense(100, input_dim=8), layers.Conv2D(4, 3)])


def test_conv2d_kernel_larger_than_image():
    with pytest.raises(ValueError, match=r"does not fit the input shape \(None, 2, 2, 1\)"):
        Sequential([layers.Conv2D(4, 3, input_shape=(2, 2, 1))])


def test_wrong_input_width_names_both_shapes():
    model = Sequential([layers.Dense(4, input_shape=(100,))])
    with pytest.raises(ValueError, match=r"size 100.*\(3, 50\)"):
        model.predict(np.zeros((3, 50)))


def test_embedding_ids_out_of_range():
    emb = layers.Embedding(5, 2)
    with pytest.raises(IndexError, match=r"\[0, 5\)"):
        emb(np.array([[1, 7]]))


def test_bad_arguments():
    with pytest.raises(ValueError, match="units"):
        layers.Dense(0)
    with pytest.raises(ValueError, match="padding"):
        layers.Conv2D(3, 3, padding="full")
    with pytest.raises(TypeError, match="unexpected keyword"):
        layers.Dense(3, activaton="relu")
    with pytest.raises(ValueError, match="merge_mode"):
        layers.Bidirectional(layers.LSTM(3), merge_mode="max")


def test_layers_are_modules_with_state_dicts():
    model = Sequential([layers.Dense(3, input_dim=2, name="hidden"), layers.Dense(1, name="out")])
    assert sorted(model.state_dict()) == ["hidden.bias", "hidden.kernel", "out.bias", "out.kernel"]
    model.layers[0].trainable = False
    assert len(model.trainable_weights) == 2 and len(model.non_trainable_weights) == 2
    lines = summary_lines(model)
    assert "Trainable params: 4" in lines and "Non-trainable params: 9" in lines


def test_public_names():
    import tinygrad_edu.keras.preprocessing.sequence
    import tinygrad_edu.keras.preprocessing.text  # noqa: F401 (still importable on their own)

    for name in ("Sequential", "layers", "models", "optimizers", "losses", "preprocessing", "Input"):
        assert hasattr(keras, name), name
    assert keras.Sequential is keras.models.Sequential
    for name in ("Dense", "Conv2D", "MaxPooling2D", "Flatten", "Dropout", "Embedding", "LSTM"):
        assert issubclass(getattr(layers, name), layers.Layer)
    assert keras.datasets.mnist.load_data is not None
    assert keras.preprocessing.sequence.pad_sequences([[1, 2]], maxlen=3).tolist() == [[0, 1, 2]]
