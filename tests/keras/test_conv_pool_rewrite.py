"""Sequential runs Conv2D(activation="relu") then MaxPooling2D as conv, pool, relu: the
outputs and every gradient must equal the layer-by-layer computation exactly, for both
paddings, and the rewrite must not apply where it would change the result."""
import numpy as np
import pytest

import tinygrad_edu.keras as keras
from tinygrad_edu import Tensor
from tinygrad_edu.keras import layers
from tinygrad_edu.keras.models import sequential


def _model(conv_padding, pool_padding, activation="relu"):
    keras.utils.set_random_seed(3)
    model = keras.Sequential([
        keras.Input(shape=(9, 9, 2)),
        layers.Conv2D(4, (3, 3), padding=conv_padding, activation=activation),
        layers.MaxPooling2D((2, 2), padding=pool_padding),
        layers.Flatten(),
        layers.Dense(3),
    ])
    return model


def _output_and_grads(model, x, rewrite: bool, monkeypatch):
    if not rewrite:
        monkeypatch.setattr(sequential, "_relu_conv_then_max_pool", lambda a, b: False)
    for w in model.trainable_weights:
        w.grad = None
    out = model(Tensor(x), training=True)
    (out * out).sum().backward()
    monkeypatch.undo()
    return out.numpy(), [w.grad.numpy().copy() for w in model.trainable_weights]


@pytest.mark.parametrize("conv_padding, pool_padding", [("valid", "valid"), ("same", "same"), ("valid", "same")])
def test_rewrite_is_exact(conv_padding, pool_padding, monkeypatch):
    model = _model(conv_padding, pool_padding)
    x = np.random.default_rng(0).standard_normal((5, 9, 9, 2)).astype(np.float32)
    assert sequential._relu_conv_then_max_pool(model.layers[0], model.layers[1])
    fused, fused_grads = _output_and_grads(model, x, True, monkeypatch)
    plain, plain_grads = _output_and_grads(model, x, False, monkeypatch)
    np.testing.assert_array_equal(fused, plain)
    for a, b in zip(fused_grads, plain_grads):
        np.testing.assert_array_equal(a, b)


def test_not_applied_to_other_activations_or_subclasses():
    assert not sequential._relu_conv_then_max_pool(layers.Conv2D(2, 3, activation="tanh"), layers.MaxPooling2D())
    assert not sequential._relu_conv_then_max_pool(layers.Conv2D(2, 3, activation="relu"), layers.AveragePooling2D())

    class MyConv(layers.Conv2D):
        pass

    assert not sequential._relu_conv_then_max_pool(MyConv(2, 3, activation="relu"), layers.MaxPooling2D())


def test_bad_input_still_names_the_layer():
    model = _model("valid", "valid")
    with pytest.raises(ValueError, match="expected shape|incompatible|Input"):
        model(Tensor(np.zeros((2, 9, 9, 3), np.float32)))
