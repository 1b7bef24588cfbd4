"""Keras layers: Dense, Conv2D, MaxPooling2D, Flatten, Dropout, Embedding, LSTM, and friends.

Layers follow Keras, not PyTorch:

* weights are laid out as Keras stores them: Dense ``kernel`` (in, units), Conv2D ``kernel``
  (kh, kw, in_channels, filters), LSTM ``kernel`` (in, 4U), ``recurrent_kernel`` (U, 4U) and
  ONE ``bias`` (4U,) with the gates in the order input, forget, cell, output;
* Keras's initialisers: glorot_uniform kernels, zero biases, an orthogonal recurrent kernel,
  the LSTM forget-gate bias at 1 (``unit_forget_bias``), Embedding uniform(-0.05, 0.05);
* images are channels-last, (N, H, W, C); Conv2D and MaxPooling2D transpose to (N, C, H, W)
  internally to use ``F.conv2d`` / ``F.max_pool2d`` and transpose back;
* shapes are written with ``None`` for the batch axis, e.g. ``(None, 26, 26, 32)``.

A layer creates its weights in ``build(input_shape)``, either when a model learns its input
shape (``input_shape=`` on the first layer, or the first batch it sees) or on its first
call. Every layer is also an ``nn.Module``: ``parameters()``, ``state_dict()`` work.
"""
from __future__ import annotations

import numbers

import numpy as np

from .. import rng
from ..nn import functional as F
from ..nn.module import Module
from ..nn.parameter import Parameter
from ..tensor import Tensor, stack
from . import activations, initializers
from .backend import snake_case, unique_name

__all__ = ["Layer", "InputLayer", "Input", "Dense", "Activation", "Conv2D", "MaxPooling2D", "Flatten",
           "Reshape", "Dropout", "Embedding", "LSTM"]


# ------------------------------------------------------------------------------ helpers
def _as_tensor(x) -> Tensor:
    """Layer input as a Tensor: floats become float32, integers int64 (Keras's floatx)."""
    if isinstance(x, Tensor):
        if x.dtype == np.float64:
            return x.astype(np.float32)
        return x
    array = np.asarray(x)
    if array.dtype == object:
        raise TypeError(f"layer input must be numeric, got an object array of shape {array.shape}")
    if array.dtype.kind == "f" and array.dtype != np.float32:
        array = array.astype(np.float32)
    return Tensor(array)


def _as_float(x: Tensor) -> Tensor:
    return x if x.dtype.kind == "f" else x.astype(np.float32)


def _int_pair(value, what: str, layer: str) -> tuple:
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (int(value), int(value))
    try:
        a, b = value
    except (TypeError, ValueError):
        raise TypeError(f"{layer}: {what} must be an int or a pair of ints, got {value!r}") from None
    if not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in (a, b)) or min(a, b) < 1:
        raise ValueError(f"{layer}: {what} must be positive ints, got {value!r}")
    return int(a), int(b)


def _padding_mode(padding, layer: str) -> str:
    mode = str(padding).lower()
    if mode not in ("valid", "same"):
        raise ValueError(f"{layer}: padding must be 'valid' or 'same', got {padding!r}")
    return mode


def _window_output(size, kernel, stride, mode):
    """Output length of a sliding window: 'valid' (H - k) // s + 1, 'same' ceil(H / s)."""
    if size is None:
        return None
    if mode == "same":
        return -(-size // stride)
    return (size - kernel) // stride + 1


def _same_padding(size, kernel, stride):
    """(before, after) zeros so that 'same' gives ceil(size / stride) outputs; the odd one goes after."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _shape_tuple(shape, what: str) -> tuple:
    if isinstance(shape, numbers.Integral):
        return (int(shape),)
    try:
        return tuple(None if s is None else int(s) for s in shape)
    except TypeError:
        raise TypeError(f"{what} must be a tuple of ints (None for unknown), got {shape!r}") from None


def _check_data_format(data_format, layer: str) -> None:
    if data_format not in (None, "channels_last"):
        raise ValueError(f"{layer}: only data_format='channels_last' (N, H, W, C) is supported, got {data_format!r}")


# ------------------------------------------------------------------------------ base class
class Layer(Module):
    """Base class of Keras layers.

    Layer(name=None, trainable=True, input_shape=None, input_dim=None, batch_input_shape=None,
          batch_size=None, dtype=None)
        input_shape: the shape of one sample (without the batch axis), e.g. (28, 28, 1);
        input_dim: short for input_shape=(input_dim,). On the first layer of a Sequential
        model they fix the model's input and build it at once.

    Subclasses implement ``build(input_shape)`` (create weights with ``add_weight``),
    ``call(x, training=False)`` and ``compute_output_shape(input_shape)``; shapes include the
    batch axis as ``None``. After building, ``input_shape`` and ``output_shape`` hold them.
    """

    def __init__(self, name=None, trainable=True, input_shape=None, input_dim=None, batch_input_shape=None,
                 batch_size=None, dtype=None, **kwargs):
        super().__init__()
        cls = type(self).__name__
        if kwargs:
            raise TypeError(f"{cls}: unexpected keyword argument(s) {sorted(kwargs)}")
        if dtype not in (None, "float32", np.float32):
            raise ValueError(f"{cls}: only dtype='float32' is supported, got {dtype!r}")
        self.name = name if name is not None else unique_name(snake_case(cls))
        if not isinstance(self.name, str) or not self.name or "." in self.name:
            raise ValueError(f"{cls}: name must be a non-empty string without '.', got {self.name!r}")
        self.built = False
        self.input_shape = None
        self.output_shape = None
        self._trainable = bool(trainable)
        self._weight_specs = []  # (attribute name, trainable) in creation order
        if batch_input_shape is not None:
            self._batch_input_shape = _shape_tuple(batch_input_shape, f"{cls}: batch_input_shape")
        elif input_shape is not None:
            self._batch_input_shape = (batch_size,) + _shape_tuple(input_shape, f"{cls}: input_shape")
        elif input_dim is not None:
            self._batch_input_shape = (batch_size, int(input_dim))
        else:
            self._batch_input_shape = None

    # -- weights
    def add_weight(self, name: str, shape, initializer="glorot_uniform", trainable=True) -> Parameter:
        """Create a float32 weight of ``shape`` from ``initializer`` and register it as ``self.<name>``."""
        shape = tuple(int(s) for s in shape)
        values = initializers.get(initializer)(shape, dtype="float32")
        if values.shape != shape:
            raise ValueError(f"{self.name}: initializer for {name!r} gave shape {values.shape}, expected {shape}")
        param = Parameter(Tensor(np.ascontiguousarray(values, dtype=np.float32)),
                          requires_grad=bool(trainable) and self._trainable)
        setattr(self, name, param)
        self._weight_specs.append((name, bool(trainable)))
        return param

    @property
    def weights(self) -> list:
        """Every weight, in creation order (Keras's order: kernel, then bias, ...)."""
        return [getattr(self, n) for n, _ in self._weight_specs]

    @property
    def trainable_weights(self) -> list:
        return [w for w in self.weights if w.requires_grad]

    @property
    def non_trainable_weights(self) -> list:
        return [w for w in self.weights if not w.requires_grad]

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value) -> None:
        self._trainable = bool(value)
        for name, weight_trainable in self._weight_specs:
            getattr(self, name).requires_grad_(self._trainable and weight_trainable)

    def count_params(self) -> int:
        if not self.built:
            raise ValueError(f'layer "{self.name}" is not built yet, so it has no weights to count')
        return int(sum(w.numel() for w in self.weights))

    def get_weights(self) -> list:
        """Copies of the weights as NumPy arrays."""
        return [w.numpy().copy() for w in self.weights]

    def set_weights(self, values) -> None:
        """Overwrite the weights with NumPy arrays of the same shapes (in ``weights`` order)."""
        weights = self.weights
        values = list(values)
        if len(values) != len(weights):
            raise ValueError(f'layer "{self.name}" has {len(weights)} weights, got {len(values)} arrays')
        for w, v in zip(weights, values):
            v = np.asarray(v, dtype=np.float32)
            if v.shape != w.shape:
                raise ValueError(f'layer "{self.name}": weight of shape {w.shape} cannot take an array of shape {v.shape}')
            w.data = v.copy()

    # -- building
    def build(self, input_shape: tuple) -> None:
        """Create the weights for inputs of ``input_shape`` (batch axis included, as None)."""

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape

    def build_for(self, input_shape) -> tuple:
        """Build for ``input_shape`` (batch axis included) once; return the output shape."""
        input_shape = _shape_tuple(input_shape, f"{self.name}: input shape")
        if self.built:
            self._check_input_shape(input_shape)
            return self.compute_output_shape(input_shape)
        self.build(input_shape)
        self.input_shape = input_shape
        self.output_shape = self.compute_output_shape(input_shape)
        self.built = True
        return self.output_shape

    def _incompatible(self, expected, got, detail=""):
        return ValueError(f'Input 0 of layer "{self.name}" is incompatible with the layer: expected shape '
                          f'{expected}, found shape {got}{detail}')

    def _check_input_shape(self, shape: tuple) -> None:
        """Refuse inputs whose rank or known sizes (batch axis aside) differ from the built ones."""
        expected = self.input_shape
        if expected is None:
            return
        if len(shape) != len(expected) or any(
                e is not None and s is not None and e != s for e, s in zip(expected[1:], shape[1:])):
            raise self._incompatible(expected, tuple(shape))

    # -- calling
    def _prepare(self, x) -> Tensor:
        """Convert ``x``, build on first use, check the shape."""
        x = _as_tensor(x)
        if not self.built:
            self.build_for((None,) + x.shape[1:])
        else:
            self._check_input_shape(x.shape)
        return x

    def call(self, x: Tensor, training: bool = False) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must implement call()")

    def forward(self, x, training: bool = False) -> Tensor:
        """``layer(x, training=False)``: x a Tensor or array (batch first). Dropout is active
        only with training=True (``fit`` passes it), as in Keras."""
        return self.call(self._prepare(x), training=bool(training))

    def extra_repr(self) -> str:
        return f"name={self.name!r}"


class _ActivationLayer(Layer):
    """A layer whose output is ``activation(pre_activation(x))``; the model may ask for the
    pre-activation values (the logits) to compute a softmax/sigmoid loss stably."""

    activation = None

    def pre_activation(self, x: Tensor, training: bool = False) -> Tensor:  # pragma: no cover
        raise NotImplementedError

    def call(self, x, training=False):
        return self.activation(self.pre_activation(x, training))


# ------------------------------------------------------------------------------ input
class InputLayer(Layer):
    """The input of a Sequential model: fixes the input shape, computes nothing.

    InputLayer(input_shape=None, batch_size=None, name=None, shape=None)
    """

    def __init__(self, input_shape=None, batch_size=None, name=None, shape=None, **kwargs):
        if input_shape is None:
            input_shape = shape
        if input_shape is None and kwargs.get("batch_input_shape") is None:
            raise ValueError("InputLayer: give input_shape= (the shape of one sample)")
        super().__init__(name=name, input_shape=input_shape, batch_size=batch_size, **kwargs)

    def call(self, x, training=False):
        return x


def Input(shape=None, batch_size=None, name=None, dtype=None, batch_shape=None):
    """``keras.Input(shape=(784,))``: an InputLayer to put first in a Sequential model."""
    if dtype not in (None, "float32", "int32", "int64"):
        raise ValueError(f"Input: unsupported dtype {dtype!r}")
    if batch_shape is not None:
        return InputLayer(name=name, batch_input_shape=batch_shape)
    return InputLayer(input_shape=shape, batch_size=batch_size, name=name)


# ------------------------------------------------------------------------------ dense
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
        if isinstance(units, bool) or not isinstance(units, numbers.Integral) or units < 1:
            raise ValueError(f"Dense: units must be a positive int, got {units!r}")
        self.units = int(units)
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
            raise ValueError(f'Input 0 of layer "{self.name}" is incompatible with the layer: expected axis -1 '
                             f'of the input to have size {self.input_shape[-1]}, got input shape {tuple(shape)}')

    def pre_activation(self, x, training=False):
        # F.linear wants PyTorch's (out, in) weight: the transposed view costs no copy
        return F.linear(_as_float(x), self.kernel.T, self.bias if self.use_bias else None)

    def extra_repr(self):
        return f"name={self.name!r}, units={self.units}, activation={activations.serialize(self.activation)!r}"


class Activation(_ActivationLayer):
    """Apply an activation by name: Activation("relu"). Any shape."""

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def pre_activation(self, x, training=False):
        return x


# ------------------------------------------------------------------------------ images
class Conv2D(_ActivationLayer):
    """2-D convolution on channels-last images.

    Conv2D(filters, kernel_size, strides=(1, 1), padding="valid", activation=None,
           use_bias=True, kernel_initializer="glorot_uniform", bias_initializer="zeros",
           input_shape=None, ...)
    x: (N, H, W, C) float32 -> (N, OH, OW, filters) with OH = (H - kh) // sh + 1 for
    "valid" and ceil(H / sh) for "same" (zeros around the image, the odd one at the bottom
    and right, as Keras/TensorFlow). Weights: kernel (kh, kw, C, filters), bias (filters,):
    kh * kw * C * filters + filters parameters.
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        if isinstance(filters, bool) or not isinstance(filters, numbers.Integral) or filters < 1:
            raise ValueError(f"Conv2D: filters must be a positive int, got {filters!r}")
        _check_data_format(data_format, "Conv2D")
        if _int_pair(dilation_rate, "dilation_rate", "Conv2D") != (1, 1):
            raise ValueError(f"Conv2D: only dilation_rate=1 is supported, got {dilation_rate!r}")
        self.filters = int(filters)
        self.kernel_size = _int_pair(kernel_size, "kernel_size", "Conv2D")
        self.strides = _int_pair(strides, "strides", "Conv2D")
        self.padding = _padding_mode(padding, "Conv2D")
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer

    def build(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(f'Input 0 of layer "{self.name}" is incompatible with the layer: expected ndim=4 '
                             f'(batch, height, width, channels), found ndim={len(input_shape)}. '
                             f'Full shape received: {input_shape}')
        if input_shape[-1] is None:
            raise ValueError(f'layer "{self.name}" (Conv2D) needs a known channel axis, got input shape {input_shape}')
        self._check_fits(input_shape)
        kh, kw = self.kernel_size
        self.add_weight("kernel", (kh, kw, input_shape[-1], self.filters), self.kernel_initializer)
        if self.use_bias:
            self.add_weight("bias", (self.filters,), self.bias_initializer)

    def _check_fits(self, input_shape):
        out = self.compute_output_shape(input_shape)
        if any(o is not None and o < 1 for o in out[1:3]):
            raise ValueError(
                f'layer "{self.name}" (Conv2D): kernel {self.kernel_size} with strides {self.strides} and padding '
                f'"{self.padding}" does not fit the input shape {input_shape} (output would be {out})'
            )

    def compute_output_shape(self, input_shape):
        n, h, w, _ = input_shape
        (kh, kw), (sh, sw) = self.kernel_size, self.strides
        return (n, _window_output(h, kh, sh, self.padding), _window_output(w, kw, sw, self.padding), self.filters)

    def _check_input_shape(self, shape):
        if len(shape) != 4 or shape[-1] != self.input_shape[-1]:
            raise self._incompatible(self.input_shape, tuple(shape))
        self._check_fits(tuple(shape))

    def pre_activation(self, x, training=False):
        x = _as_float(x).permute(0, 3, 1, 2)                       # (N, C, H, W)
        weight = self.kernel.permute(3, 2, 0, 1)                    # (filters, C, kh, kw)
        padding = (0, 0)
        if self.padding == "same":
            (top, bottom), (left, right) = (_same_padding(size, k, s) for size, k, s in
                                            zip(x.shape[2:], self.kernel_size, self.strides))
            if top == bottom and left == right:
                padding = (top, left)
            else:
                x = x.pad(((0, 0), (0, 0), (top, bottom), (left, right)))
        y = F.conv2d(x, weight, self.bias if self.use_bias else None, stride=self.strides, padding=padding)
        return y.permute(0, 2, 3, 1)                                # (N, OH, OW, filters)

    def extra_repr(self):
        return (f"name={self.name!r}, filters={self.filters}, kernel_size={self.kernel_size}, "
                f"strides={self.strides}, padding={self.padding!r}, activation={activations.serialize(self.activation)!r}")


class MaxPooling2D(Layer):
    """Largest value of each window, channels-last.

    MaxPooling2D(pool_size=(2, 2), strides=None, padding="valid")
    x: (N, H, W, C) -> (N, OH, OW, C); strides default to pool_size; "valid" drops the
    rows/columns that do not fill a window, "same" pads (with -inf) to ceil(H / stride).
    """

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        _check_data_format(data_format, "MaxPooling2D")
        self.pool_size = _int_pair(pool_size, "pool_size", "MaxPooling2D")
        self.strides = self.pool_size if strides is None else _int_pair(strides, "strides", "MaxPooling2D")
        self.padding = _padding_mode(padding, "MaxPooling2D")

    def build(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(f'Input 0 of layer "{self.name}" is incompatible with the layer: expected ndim=4 '
                             f'(batch, height, width, channels), found ndim={len(input_shape)}. '
                             f'Full shape received: {input_shape}')
        out = self.compute_output_shape(input_shape)
        if any(o is not None and o < 1 for o in out[1:3]):
            raise ValueError(f'layer "{self.name}" (MaxPooling2D): pool {self.pool_size} does not fit the input '
                             f'shape {input_shape}')

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        (kh, kw), (sh, sw) = self.pool_size, self.strides
        return (n, _window_output(h, kh, sh, self.padding), _window_output(w, kw, sw, self.padding), c)

    def _check_input_shape(self, shape):
        if len(shape) != 4 or (self.input_shape[-1] is not None and shape[-1] != self.input_shape[-1]):
            raise self._incompatible(self.input_shape, tuple(shape))

    def call(self, x, training=False):
        x = _as_float(x).permute(0, 3, 1, 2)                       # (N, C, H, W)
        if self.padding == "same":
            (top, bottom), (left, right) = (_same_padding(size, k, s) for size, k, s in
                                            zip(x.shape[2:], self.pool_size, self.strides))
            if top or bottom or left or right:
                x = x.pad(((0, 0), (0, 0), (top, bottom), (left, right)), value=-np.inf)
        y = F.max_pool2d(x, self.pool_size, self.strides)
        return y.permute(0, 2, 3, 1)

    def extra_repr(self):
        return f"name={self.name!r}, pool_size={self.pool_size}, strides={self.strides}, padding={self.padding!r}"


# ------------------------------------------------------------------------------ shape
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

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        if -1 in self.target_shape and all(s is not None for s in rest):
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

    Dropout(rate): identity in evaluate/predict. Any shape.
    """

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


# ------------------------------------------------------------------------------ sequences
class Embedding(Layer):
    """Look up a learned vector for every token id.

    Embedding(input_dim, output_dim, embeddings_initializer="uniform", input_length=None)
    ids: (N, T) ints in [0, input_dim) (floats holding whole numbers are accepted) ->
    (N, T, output_dim). Weight: embeddings (input_dim, output_dim), uniform(-0.05, 0.05).
    ``input_length`` only fixes the model's input shape to (None, input_length).
    ``mask_zero=True`` is not supported (pad with "pre" padding, Keras's default, so that an
    LSTM's last step reads a real token).
    """

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform", mask_zero=False,
                 input_length=None, **kwargs):
        if input_length is not None and "input_shape" not in kwargs and "batch_input_shape" not in kwargs:
            kwargs["input_shape"] = (input_length,)
        super().__init__(**kwargs)
        for what, v in (("input_dim", input_dim), ("output_dim", output_dim)):
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
                raise ValueError(f"Embedding: {what} must be a positive int, got {v!r}")
        if mask_zero:
            raise NotImplementedError("Embedding: mask_zero=True is not supported")
        self.input_dim, self.output_dim = int(input_dim), int(output_dim)
        self.input_length = input_length
        self.embeddings_initializer = embeddings_initializer

    def build(self, input_shape):
        self.add_weight("embeddings", (self.input_dim, self.output_dim), self.embeddings_initializer)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def _check_input_shape(self, shape):
        # any shape of ids works (Keras's Embedding has no input spec)
        return None

    def call(self, x, training=False):
        if x.dtype.kind == "f":
            values = x.numpy()
            if not np.all(values == np.round(values)):
                raise ValueError(f'layer "{self.name}" (Embedding): ids must be whole numbers, got floats '
                                 f'of shape {x.shape}')
            x = x.astype(np.int64)
        return F.embedding(x, self.embeddings)

    def extra_repr(self):
        return f"name={self.name!r}, input_dim={self.input_dim}, output_dim={self.output_dim}"


class LSTM(Layer):
    """Long short-term memory with Keras's weights, gate order and initialisation.

    LSTM(units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
         kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
         bias_initializer="zeros", unit_forget_bias=True, dropout=0.0,
         recurrent_dropout=0.0, return_sequences=False)
    x: (N, T, F) float32 -> (N, units) (the last step's h) or, with return_sequences,
    (N, T, units). Weights: kernel (F, 4U), recurrent_kernel (U, 4U), bias (4U,), with the
    four gate blocks in the order i, f, c, o; 4 * (U * (F + U) + U) parameters
    (LSTM(100) on 10 features: 44,400). unit_forget_bias sets the f block of the bias to 1.

    Per step (h, c start at zero; act = activation, rec = recurrent_activation):
        z = x_t @ kernel + h @ recurrent_kernel + bias             (N, 4U)
        i = rec(z[:, :U])   f = rec(z[:, U:2U])   g = act(z[:, 2U:3U])   o = rec(z[:, 3U:])
        c = f * c + i * g;   h = o * act(c)
    dropout / recurrent_dropout (training only) multiply x_t / h by one mask per sequence,
    the same at every step, as Keras.
    """

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", unit_forget_bias=True, dropout=0.0, recurrent_dropout=0.0,
                 return_sequences=False, return_state=False, go_backwards=False, stateful=False,
                 unroll=False, **kwargs):
        super().__init__(**kwargs)
        if isinstance(units, bool) or not isinstance(units, numbers.Integral) or units < 1:
            raise ValueError(f"LSTM: units must be a positive int, got {units!r}")
        for what, flag in (("return_state", return_state), ("go_backwards", go_backwards), ("stateful", stateful)):
            if flag:
                raise NotImplementedError(f"LSTM: {what}=True is not supported")
        for what, rate in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
            if not 0.0 <= float(rate) < 1.0:
                raise ValueError(f"LSTM: {what} must be in [0, 1), got {rate}")
        self.units = int(units)
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.use_bias, self.unit_forget_bias = bool(use_bias), bool(unit_forget_bias)
        self.kernel_initializer, self.recurrent_initializer = kernel_initializer, recurrent_initializer
        self.bias_initializer = bias_initializer
        self.dropout, self.recurrent_dropout = float(dropout), float(recurrent_dropout)
        self.return_sequences = bool(return_sequences)

    def build(self, input_shape):
        if len(input_shape) != 3 or input_shape[-1] is None:
            raise ValueError(f'Input 0 of layer "{self.name}" is incompatible with the layer: expected ndim=3 '
                             f'(batch, timesteps, features) with known features, found shape {input_shape}')
        units = self.units
        self.add_weight("kernel", (input_shape[-1], 4 * units), self.kernel_initializer)
        self.add_weight("recurrent_kernel", (units, 4 * units), self.recurrent_initializer)
        if self.use_bias:
            bias = self.add_weight("bias", (4 * units,), self.bias_initializer)
            if self.unit_forget_bias:
                values = bias.numpy().copy()
                values[units:2 * units] = 1.0
                bias.data = values

    def compute_output_shape(self, input_shape):
        if self.return_sequences:
            return (input_shape[0], input_shape[1], self.units)
        return (input_shape[0], self.units)

    def _check_input_shape(self, shape):
        if len(shape) != 3 or shape[-1] != self.input_shape[-1]:
            raise self._incompatible(self.input_shape, tuple(shape))

    def _mask(self, shape, rate):
        keep = rng.generator().random(shape) >= rate
        return Tensor((keep / (1.0 - rate)).astype(np.float32))

    def call(self, x, training=False):
        x = _as_float(x)
        n, steps, features = x.shape
        if steps == 0:
            raise ValueError(f'layer "{self.name}" (LSTM): the input {x.shape} has no time steps')
        u = self.units
        if training and self.dropout > 0:
            x = x * self._mask((n, 1, features), self.dropout)
        xw = F.linear(x, self.kernel.T, self.bias if self.use_bias else None)   # (N, T, 4U), one product
        h_mask = self._mask((n, u), self.recurrent_dropout) if training and self.recurrent_dropout > 0 else None
        h = Tensor.zeros(n, u)
        c = Tensor.zeros(n, u)
        act, rec = self.activation, self.recurrent_activation
        outputs = []
        for t in range(steps):
            h_in = h * h_mask if h_mask is not None else h
            z = xw[:, t] + h_in @ self.recurrent_kernel                    # (N, 4U)
            i = rec(z[:, :u])                                               # input gate
            f = rec(z[:, u:2 * u])                                          # forget gate
            g = act(z[:, 2 * u:3 * u])                                      # candidate cell
            o = rec(z[:, 3 * u:])                                           # output gate
            c = f * c + i * g
            h = o * act(c)
            if self.return_sequences:
                outputs.append(h)
        return stack(outputs, axis=1) if self.return_sequences else h

    def extra_repr(self):
        return f"name={self.name!r}, units={self.units}, return_sequences={self.return_sequences}"
