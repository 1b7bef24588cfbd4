"""Core layers: Dense, Activation, Dropout, Flatten, Reshape, Rescaling, Embedding."""
from __future__ import annotations

import numpy as np

from ...device import array_module
from ...nn import functional as F
from ...ops import nn as NNOps
from ...tensor import Tensor
from .. import activations
from .base import Layer, _ActivationLayer, _as_float, _positive_int, _shape_tuple

__all__ = ["Dense", "Activation", "Dropout", "Flatten", "Reshape", "Rescaling", "Embedding"]


class _KerasKernel:
    """Makes ops/nn.py's Linear ops take Keras's (in, units) kernel in place of PyTorch's
    (units, in) weight, as one graph node. ``F.linear(x, kernel.T, bias)`` would add a
    Transpose node to every batch; here the transpose is a NumPy view inside the op (the
    matrix kernel reads it as the kernel plus a transpose flag, so the calls are the same),
    and the weight gradient, computed as (units, in), is handed back transposed, as a
    contiguous array (the optimizer wants one; the values are the same)."""

    __slots__ = ()

    def forward(self, x, kernel, bias=None):
        return super().forward(x, kernel.T, bias)

    def backward(self, g):
        gx, gweight, *gbias = super().backward(g)
        gkernel = None if gweight is None else array_module(gweight).ascontiguousarray(gweight.T)
        return (gx, gkernel, *gbias)


class _DenseOp(_KerasKernel, NNOps.Linear):
    """x @ kernel + bias.  x: (*, in), kernel: (in, units), bias: (units,) -> (*, units)."""


class _DenseReLUOp(_KerasKernel, NNOps.LinearReLU):
    """relu(x @ kernel + bias), shapes as _DenseOp."""


class Dense(_ActivationLayer):
    """Fully connected: ``activation(x @ kernel + bias)`` on the last axis.

    Dense(units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
          bias_initializer="zeros", input_shape=None, input_dim=None, ...)
    x: (N, ..., in) -> (N, ..., units). Weights: kernel (in, units), bias (units,):
    in * units + units parameters.
    """

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        self.units = _positive_int(units, "units", "Dense")
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer

    def build(self, input_shape):
        if len(input_shape) < 2 or input_shape[-1] is None:
            raise ValueError(f'layer "{self.name}" (Dense) needs inputs of at least 2 axes with a known last '
                             f'axis, got input shape {input_shape}')
        self.add_weight("kernel", (input_shape[-1], self.units), self.kernel_initializer)
        if self.use_bias:
            self.add_weight("bias", (self.units,), self.bias_initializer)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def _check_input_shape(self, shape):
        # Dense works on the last axis only: any leading axes are fine
        if len(shape) < 2 or shape[-1] != self.input_shape[-1]:
            raise ValueError(f'Input 0 of layer "{self.name}" (Dense) is incompatible with the layer: expected axis '
                             f'-1 of the input to have size {self.input_shape[-1]} (it was built for input shape '
                             f'{self.input_shape}), got input shape {tuple(shape)}')

    def pre_activation(self, x, training=False):
        return self._apply(_DenseOp, x)

    def call(self, x, training=False):
        if self.activation is activations.relu and type(self).pre_activation is Dense.pre_activation:
            # relu(x @ kernel + bias) as one graph node: exactly the values and gradients of
            # the two steps (ops/nn.py LinearReLU), with one node fewer in every batch
            return self._apply(_DenseReLUOp, x)
        return self.activation(self.pre_activation(x, training))

    def _apply(self, op, x):
        # the input's last axis was checked against the kernel by _check_input_shape
        x = _as_float(x)
        return op.apply(x, self.kernel, self.bias) if self.use_bias else op.apply(x, self.kernel)

    def extra_repr(self):
        return f"name={self.name!r}, units={self.units}, activation={activations.serialize(self.activation)!r}"


class Activation(_ActivationLayer):
    """Apply an activation by name: Activation("relu"). Any shape."""

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def pre_activation(self, x, training=False):
        return _as_float(x)


class Flatten(Layer):
    """(N, d1, d2, ...) -> (N, d1 * d2 * ...) in row-major (channels-last) order."""

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        size = None if any(s is None for s in rest) else int(np.prod(rest, dtype=np.int64))
        return (input_shape[0], size)

    def call(self, x, training=False):
        return x.reshape(x.shape[0], -1)


class Reshape(Layer):
    """Reshape each sample: Reshape((28, 28, 1)) turns (N, 784) into (N, 28, 28, 1); one -1 allowed."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = _shape_tuple(target_shape, "Reshape: target_shape")
        if list(self.target_shape).count(-1) > 1:
            raise ValueError(f"Reshape: at most one -1 in target_shape, got {target_shape!r}")

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        if -1 in self.target_shape:
            if any(s is None for s in rest):
                return (input_shape[0],) + tuple(None if s == -1 else s for s in self.target_shape)
            known = int(np.prod([s for s in self.target_shape if s != -1]))
            total = int(np.prod(rest))
            if known == 0 or total % known:
                raise ValueError(f'layer "{self.name}" (Reshape): cannot reshape {input_shape} to {self.target_shape}')
            return (input_shape[0],) + tuple(total // known if s == -1 else s for s in self.target_shape)
        return (input_shape[0],) + self.target_shape

    def build(self, input_shape):
        rest = input_shape[1:]
        if -1 not in self.target_shape and all(s is not None for s in rest):
            if int(np.prod(rest)) != int(np.prod(self.target_shape)):
                raise ValueError(f'layer "{self.name}" (Reshape): input shape {input_shape} has '
                                 f'{int(np.prod(rest))} values per sample, target {self.target_shape} '
                                 f'has {int(np.prod(self.target_shape))}')
        self.compute_output_shape(input_shape)

    def call(self, x, training=False):
        return x.reshape((x.shape[0],) + self.target_shape)


class Dropout(Layer):
    """Zero a fraction ``rate`` of the inputs in training (and scale the rest by 1 / (1 - rate)).

    Dropout(rate): identity in evaluate/predict. Any shape. Masks pass through.
    """

    supports_masking = True

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= float(rate) < 1.0:
            raise ValueError(f"Dropout: rate must be in [0, 1), got {rate}")
        if noise_shape is not None:
            raise NotImplementedError("Dropout: noise_shape is not supported")
        self.rate = float(rate)

    def call(self, x, training=False):
        if not training or self.rate == 0.0:
            return x
        return F.dropout(_as_float(x), self.rate, True)


class Rescaling(Layer):
    """``x * scale + offset`` (e.g. Rescaling(1 / 255) for images). Any shape, float32 out."""

    supports_masking = True

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale, self.offset = float(scale), float(offset)

    def call(self, x, training=False):
        y = _as_float(x) * self.scale
        return y + self.offset if self.offset else y


class Embedding(Layer):
    """Look up a learned vector for every token id.

    Embedding(input_dim, output_dim, embeddings_initializer="uniform", mask_zero=False,
              input_length=None)
    ids: (N, T) ints in [0, input_dim) (floats holding whole numbers are accepted) ->
    (N, T, output_dim). Weight: embeddings (input_dim, output_dim), uniform(-0.05, 0.05).
    ``input_length`` only fixes the model's input shape to (None, input_length).
    ``mask_zero=True``: id 0 is padding; the output carries the mask ``ids != 0`` (N, T),
    which the recurrent layers and GlobalAveragePooling1D use to skip the padded steps.
    """

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform", mask_zero=False,
                 input_length=None, **kwargs):
        if input_length is not None and "input_shape" not in kwargs and "batch_input_shape" not in kwargs:
            kwargs["input_shape"] = (input_length,)
        super().__init__(**kwargs)
        self.input_dim = _positive_int(input_dim, "input_dim", "Embedding")
        self.output_dim = _positive_int(output_dim, "output_dim", "Embedding")
        self.mask_zero = bool(mask_zero)
        self.input_length = input_length
        self.embeddings_initializer = embeddings_initializer

    def build(self, input_shape):
        self.add_weight("embeddings", (self.input_dim, self.output_dim), self.embeddings_initializer)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def _check_input_shape(self, shape):
        # any shape of ids works (Keras's Embedding has no input spec)
        return None

    def _makes_mask(self):
        return self.mask_zero

    def _ids(self, x: Tensor) -> Tensor:
        if x.dtype.kind == "f":
            values = x.numpy()
            if not np.all(values == np.round(values)):
                raise ValueError(f'layer "{self.name}" (Embedding): ids must be whole numbers, got floats '
                                 f'of shape {x.shape}')
            x = x.astype(np.int64)
        return x

    def compute_mask(self, inputs, mask=None):
        if not self.mask_zero:
            return None
        return Tensor(np.asarray(inputs.numpy() if isinstance(inputs, Tensor) else inputs) != 0)

    def call(self, x, training=False):
        return F.embedding(self._ids(x), self.embeddings)

    def extra_repr(self):
        return f"name={self.name!r}, input_dim={self.input_dim}, output_dim={self.output_dim}"

