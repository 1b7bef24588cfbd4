"""BatchNormalization, global pooling, Conv1D, AveragePooling2D, Rescaling, Reshape, Activation,
LayerNormalization, MultiHeadAttention, TextVectorization, and the no-copy layout of Conv2D chains.
(Values against TensorFlow are in test_tf_reference.py.)"""
import numpy as np
import pytest

import tinygrad_edu as tge
from tinygrad_edu import keras
from tinygrad_edu.keras import layers
from tinygrad_edu.nn import functional as F


@pytest.fixture(autouse=True)
def _fresh():
    keras.backend.clear_session()
    tge.manual_seed(0)
    yield


RNG = np.random.default_rng(3)


def test_batch_normalization_moving_statistics_follow_keras_rule():
    bn = layers.BatchNormalization(momentum=0.9)
    x = RNG.standard_normal((16, 3)).astype(np.float32) * 2 + 5
    y = bn(x, training=True).numpy()
    np.testing.assert_allclose(y.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(bn.moving_mean.numpy(), 0.1 * x.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(bn.moving_variance.numpy(), 0.9 + 0.1 * x.var(axis=0), rtol=1e-5)
    inference = bn(x, training=False).numpy()
    expected = (x - bn.moving_mean.numpy()) / np.sqrt(bn.moving_variance.numpy() + 1e-3)
    np.testing.assert_allclose(inference, expected, rtol=1e-4, atol=1e-5)
    assert [w.requires_grad for w in bn.weights] == [True, True, False, False]


def test_batch_normalization_trains_inside_a_model():
    model = keras.Sequential([keras.Input(shape=(6, 6, 2)), layers.Conv2D(4, 3), layers.BatchNormalization(),
                              layers.Activation("relu"), layers.GlobalAveragePooling2D(), layers.Dense(1)])
    x = RNG.standard_normal((32, 6, 6, 2)).astype(np.float32)
    y = x.mean(axis=(1, 2, 3))[:, None]
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(x, y, epochs=4, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    bn = model.layers[1]
    assert not np.allclose(bn.moving_mean.numpy(), 0)            # updated by fit
    lines = []
    model.summary(print_fn=lines.append)
    assert "Non-trainable params: 8" in lines


def test_global_pooling_layers():
    x = RNG.standard_normal((2, 5, 3)).astype(np.float32)
    np.testing.assert_allclose(layers.GlobalAveragePooling1D()(x).numpy(), x.mean(axis=1), rtol=1e-6)
    np.testing.assert_allclose(layers.GlobalMaxPooling1D()(x).numpy(), x.max(axis=1), rtol=1e-6)
    img = RNG.standard_normal((2, 4, 4, 3)).astype(np.float32)
    np.testing.assert_allclose(layers.GlobalAveragePooling2D()(img).numpy(), img.mean(axis=(1, 2)), rtol=1e-5)
    assert layers.GlobalAveragePooling1D(keepdims=True)(x).shape == (2, 1, 3)
    assert layers.GlobalMaxPooling1D()(keras.Input(shape=(None, 8))).shape == (None, 8)


def test_conv1d_equals_a_loop_over_windows():
    layer = layers.Conv1D(4, 3, strides=2, activation="relu")
    x = RNG.standard_normal((2, 9, 3)).astype(np.float32)
    y = layer(x).numpy()
    k, b = layer.kernel.numpy(), layer.bias.numpy()
    expected = np.stack([np.einsum("nkc,kcf->nf", x[:, t:t + 3], k) + b for t in range(0, 7, 2)], axis=1)
    np.testing.assert_allclose(y, np.maximum(expected, 0), rtol=1e-5, atol=1e-6)
    assert layer.count_params() == 3 * 3 * 4 + 4


def test_average_pooling_valid_is_the_nn_kernel():
    img = RNG.standard_normal((2, 6, 6, 3)).astype(np.float32)
    got = layers.AveragePooling2D((2, 3))(img).numpy()
    ref = F.avg_pool2d(tge.Tensor(img.transpose(0, 3, 1, 2).copy()), (2, 3)).numpy().transpose(0, 2, 3, 1)
    np.testing.assert_allclose(got, ref, rtol=1e-6)


def test_rescaling_reshape_activation_layer_norm():
    x = np.arange(12, dtype=np.float32).reshape(2, 6)
    np.testing.assert_allclose(layers.Rescaling(1 / 255)(x).numpy(), x / 255, rtol=1e-6)
    np.testing.assert_allclose(layers.Rescaling(2.0, offset=-1)(x).numpy(), 2 * x - 1)
    assert layers.Reshape((3, -1))(x).shape == (2, 3, 2)
    assert layers.Reshape((-1, 2))(keras.Input(shape=(6,))).shape == (None, 3, 2)
    with pytest.raises(ValueError, match="cannot reshape"):
        layers.Reshape((4, -1))(keras.Input(shape=(6,)))
    np.testing.assert_allclose(layers.Activation("tanh")(x).numpy(), np.tanh(x), rtol=1e-6)
    ln = layers.LayerNormalization()(x).numpy()
    np.testing.assert_allclose(ln, (x - x.mean(1, keepdims=True)) / np.sqrt(x.var(1, keepdims=True) + 1e-3),
                               rtol=1e-4, atol=1e-5)


def test_multi_head_attention_shapes_masks_and_self_attention_model():
    mha = layers.MultiHeadAttention(num_heads=2, key_dim=4)
    q = RNG.standard_normal((2, 3, 6)).astype(np.float32)
    v = RNG.standard_normal((2, 5, 6)).astype(np.float32)
    out, scores = mha(q, v, return_attention_scores=True)
    assert out.shape == (2, 3, 6) and scores.shape == (2, 2, 3, 5)
    np.testing.assert_allclose(scores.numpy().sum(-1), 1, rtol=1e-5)
    mask = np.ones((2, 3, 5), bool)
    mask[:, :, 3:] = False
    _, masked = mha(q, v, attention_mask=mask, return_attention_scores=True)
    assert np.all(masked.numpy()[..., 3:] < 1e-6)
    np.testing.assert_allclose(mha(q, v, attention_mask=mask).numpy(),
                               mha(q, v[:, :3]).numpy(), rtol=1e-5, atol=1e-6)
    _, causal = mha(q, q, return_attention_scores=True, use_causal_mask=True)
    assert np.all(np.triu(causal.numpy()[0, 0], 1) < 1e-6)
    inputs = keras.Input(shape=(7, 6))
    x = layers.MultiHeadAttention(num_heads=2, key_dim=3)(inputs, inputs)
    x = layers.LayerNormalization()(layers.Add()([inputs, x]))
    model = keras.Model(inputs, layers.Dense(1)(layers.GlobalAveragePooling1D()(x)))
    assert model.predict(RNG.standard_normal((4, 7, 6)).astype(np.float32)).shape == (4, 1)


def test_text_vectorization_modes_and_errors():
    texts = ["Good movie!", "bad movie", "good, good plot"]
    tv = layers.TextVectorization()
    with pytest.raises(ValueError, match="no vocabulary"):
        tv(texts)
    tv.adapt(texts)
    assert tv.get_vocabulary()[:3] == ["", "[UNK]", "good"]
    assert tv(["good film"]).numpy().tolist() == [[2, 1]]
    assert tv(np.array([["bad"], ["movie movie plot"]])).shape == (2, 3)
    hot = layers.TextVectorization(output_mode="multi_hot")
    hot.adapt(texts)
    counts = layers.TextVectorization(output_mode="count", vocabulary=hot.get_vocabulary())
    assert hot(["good good"]).numpy()[0].tolist().count(1.0) == 1
    assert counts(["good good"]).numpy()[0].max() == 2
    chars = layers.TextVectorization(split="character", standardize=None, output_sequence_length=4)
    chars.adapt(["abca"])
    assert chars(["ab"]).numpy().tolist() == [[2, 4, 0, 0]]     # a (2x), then c, b: ties in reverse order
    custom = layers.TextVectorization(standardize=lambda s: s.replace("<br />", " ").lower())
    custom.adapt(["A<br />B"])
    assert sorted(custom.get_vocabulary()[2:]) == ["a", "b"]
    with pytest.raises(NotImplementedError, match="ngrams"):
        layers.TextVectorization(ngrams=2)
    with pytest.raises(TypeError, match="cannot be saved"):
        custom.get_config()


def test_conv2d_chain_moves_no_data_between_layouts():
    conv = layers.Conv2D(4, 3, activation="relu")
    pool = layers.MaxPooling2D()
    y = conv(RNG.standard_normal((2, 8, 8, 3)).astype(np.float32))
    # channels-last outside, but a view of the kernel's contiguous (N, C, H, W) result
    assert y.shape == (2, 6, 6, 4) and not y.numpy().flags.c_contiguous
    assert y.permute(0, 3, 1, 2).numpy().flags.c_contiguous
    assert pool(y).permute(0, 3, 1, 2).numpy().flags.c_contiguous
