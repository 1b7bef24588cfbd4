"""The per-batch shortcuts of fit must give exactly what the plain composition gives:

* Dense runs x @ kernel + bias (and its relu) as one op on Keras's (in, units) kernel, in
  place of F.linear(x, kernel.T, bias) (then relu): the same output and gradients, bit for bit;
* Conv2D hands the convolution a contiguous (filters, C, kh, kw) copy of its kernel in place
  of a permuted view: the same output and gradients;
* a cross-entropy's training loss is F.cross_entropy's own mean, equal to the mean of the
  per-sample losses (value and gradient);
* fit's input batch is a Tensor owning the rows it copied (no second copy, no sharing).
"""
import numpy as np
import pytest

import tinygrad_edu.keras as keras
from tinygrad_edu import Tensor
from tinygrad_edu.keras import layers, losses
from tinygrad_edu.keras.models import data as D
from tinygrad_edu.nn import functional as F


def _grads(tensors):
    return [t.grad.numpy().copy() for t in tensors]


@pytest.mark.parametrize("activation", [None, "relu"])
@pytest.mark.parametrize("use_bias", [True, False])
@pytest.mark.parametrize("shape", [(7, 5), (3, 4, 5)])
def test_dense_op_equals_linear_on_the_transposed_kernel(activation, use_bias, shape):
    keras.utils.set_random_seed(0)
    dense = layers.Dense(6, activation=activation, use_bias=use_bias)
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    dense.build_for((None,) + shape[1:])
    g = np.random.default_rng(2).standard_normal(shape[:-1] + (6,)).astype(np.float32)

    xa = Tensor(x, requires_grad=True)
    out = dense(xa, training=True)
    (out * Tensor(g)).sum().backward()
    fast = [out.numpy()] + _grads([xa] + dense.trainable_weights)
    assert dense.kernel.grad.numpy().flags.c_contiguous         # as the optimizer takes it
    for w in dense.trainable_weights:
        w.grad = None

    xb = Tensor(x, requires_grad=True)
    ref = F.linear(xb, dense.kernel.T, dense.bias if use_bias else None)
    ref = ref.relu() if activation == "relu" else ref
    (ref * Tensor(g)).sum().backward()
    plain = [ref.numpy()] + _grads([xb] + dense.trainable_weights)
    for a, b in zip(fast, plain):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("channels", [1, 3])
def test_conv2d_kernel_copy_equals_the_permuted_view(channels):
    keras.utils.set_random_seed(0)
    conv = layers.Conv2D(4, (3, 2), activation="relu")
    x = np.random.default_rng(1).standard_normal((2, 6, 5, channels)).astype(np.float32)
    conv.build_for((None, 6, 5, channels))
    g = np.random.default_rng(2).standard_normal((2, 4, 4, 4)).astype(np.float32)

    xa = Tensor(x, requires_grad=True)
    out = conv(xa)
    (out * Tensor(g)).sum().backward()
    fast = [out.numpy()] + _grads([xa, conv.kernel, conv.bias])
    conv.kernel.grad = conv.bias.grad = None

    xb = Tensor(x, requires_grad=True)
    ref = F.conv2d(xb.permute(0, 3, 1, 2), conv.kernel.permute(3, 2, 0, 1), conv.bias).relu().permute(0, 2, 3, 1)
    (ref * Tensor(g)).sum().backward()
    plain = [ref.numpy()] + _grads([xb, conv.kernel, conv.bias])
    for a, b in zip(fast, plain):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("loss, target", [
    (losses.SparseCategoricalCrossentropy(), np.array([0, 3, 1, 2, 2, 0, 1])),
    (losses.CategoricalCrossentropy(), np.eye(4, dtype=np.float32)[[0, 3, 1, 2, 2, 0, 1]]),
    (losses.CategoricalCrossentropy(), np.full((7, 4), 0.25, np.float32)),      # soft targets
    (losses.SparseCategoricalCrossentropy(), np.arange(14).reshape(7, 2) % 4),  # (N, T) sequences
])
def test_mean_on_logits_equals_the_mean_of_the_per_sample_losses(loss, target):
    shape = (7, 4) if target.ndim == 1 or target.shape[-1] == 4 else (7, 2, 4)
    z = np.random.default_rng(0).standard_normal(shape).astype(np.float32) * 3
    fused_logits, plain_logits = Tensor(z, requires_grad=True), Tensor(z, requires_grad=True)
    fused = loss.mean_on_logits(target, fused_logits)
    plain = loss.call_on_logits(target, plain_logits).mean()
    fused.backward()
    plain.backward()
    assert fused.shape == () and np.array_equal(fused.numpy(), plain.numpy())
    assert np.array_equal(fused_logits.grad.numpy(), plain_logits.grad.numpy())


def test_take_inputs_owns_the_copied_rows():
    x = np.arange(24, dtype=np.float32).reshape(6, 4)
    ids = np.arange(6, dtype=np.int64)
    text = np.array(["a", "b", "c", "d", "e", "f"])
    small = np.arange(6, dtype=np.int32)
    index = np.array([4, 0, 2])
    bx, bids, btext, bsmall = D.take_inputs([x, ids, text, small], index)
    assert isinstance(bx, Tensor) and isinstance(bids, Tensor)
    assert np.array_equal(bx.numpy(), x[index]) and not np.shares_memory(bx.numpy(), x)
    assert bids.dtype == np.int64 and np.array_equal(bids.numpy(), ids[index])
    assert isinstance(btext, np.ndarray) and isinstance(bsmall, np.ndarray)   # converted by the model


def test_fit_with_relu_dense_layers_trains_like_the_plain_loop():
    """One fit step of Dense(relu) - Dense(softmax) with SGD equals the hand-written step."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([layers.Dense(5, activation="relu", input_shape=(3,)),
                              layers.Dense(4, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="sparse_categorical_crossentropy")
    x = np.random.default_rng(1).standard_normal((8, 3)).astype(np.float32)
    y = np.array([0, 1, 2, 3, 0, 1, 2, 3])
    start = [w.numpy().copy() for w in model.trainable_weights]
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)

    k1, b1, k2, b2 = [Tensor(w, requires_grad=True) for w in start]
    h = F.linear(Tensor(x), k1.T, b1).relu()
    loss = F.cross_entropy(F.linear(h, k2.T, b2), Tensor(y), reduction="none").mean()
    loss.backward()
    for w, p, before in zip(model.trainable_weights, (k1, b1, k2, b2), start):
        expected = before - np.float32(0.1) * p.grad.numpy()
        assert np.array_equal(w.numpy(), expected)
