"""Convolution and pooling layers, channels-last: Conv1D, Conv2D, MaxPooling2D,
AveragePooling2D, GlobalAveragePooling1D/2D, GlobalMaxPooling1D/2D.

The 2-D layers run on the same kernels as ``nn.Conv2d`` / ``nn.MaxPool2d`` / ``nn.AvgPool2d``
(``F.conv2d``, ``F.max_pool2d``, ``F.avg_pool2d``); images are (N, H, W, C) on the outside, as
Keras, and (N, C, H, W) inside those kernels. Conv1D is a Conv2D with a height of 1.

No copies on the hot path: a layer's channels-last output is a *view* (a permutation) of the
kernel's contiguous (N, C, H, W) result, and its activation runs before the permutation, on
the contiguous array; the next Conv2D or pooling layer permutes the view back, which gives
the contiguous array again, so Conv2D - MaxPooling2D - Conv2D chains never move data between
layouts (forward or backward). Only a layer that needs channels-last memory (Flatten before a
Dense) makes one copy. The kernel, (kh, kw, C, filters) as Keras keeps it, is copied once per
batch into the kernels' (filters, C, kh, kw) layout, and its gradient once back (_ConvKernel).
"""
from __future__ import annotations

import numpy as np

from ...autograd import Function
from ...device import array_module
from ...nn import functional as F
from ...tensor import Tensor
from .. import activations
from .base import (Layer, _ActivationLayer, _as_float, _check_data_format, _int_tuple, _padding_mode,
                   _positive_int, _same_padding, _window_output)

__all__ = ["Conv1D", "Conv2D", "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling1D",
           "GlobalAveragePooling2D", "GlobalMaxPooling1D", "GlobalMaxPooling2D"]


def _pad_same(x: Tensor, kernel, strides, value=0.0):
    """x (N, C, H, W) padded for 'same' windows; returns (x, symmetric padding or (0, 0))."""
    (top, bottom), (left, right) = (_same_padding(size, k, s) for size, k, s in zip(x.shape[2:], kernel, strides))
    if top == bottom and left == right:
        return x, (top, left)
    return x.pad(((0, 0), (0, 0), (top, bottom), (left, right)), value=value), (0, 0)


class _ConvKernel(Function):
    """Keras's (kh, kw, C, filters) kernel as the (filters, C, kh, kw) array the convolution
    kernels take, as one contiguous copy; dkernel = g moved back to Keras's layout, also one
    contiguous copy. (A permuted view, ``kernel.permute(3, 2, 0, 1)``, would be copied by the
    convolution's forward and again by its input gradient, and its gradient, a permuted view,
    copied twice on its way to the optimizer.)"""

    def forward(self, kernel):
        return array_module(kernel).ascontiguousarray(kernel.transpose(3, 2, 0, 1))

    def backward(self, g):
        return (array_module(g).ascontiguousarray(g.transpose(2, 3, 1, 0)),)


class _Conv(_ActivationLayer):
    """Shared by Conv1D and Conv2D: ``rank`` spatial axes, kernel (*kernel_size, C, filters)."""

    rank = 2

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 activation=None, use_bias=True, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 **kwargs):
        super().__init__(**kwargs)
        cls = type(self).__name__
        self.filters = _positive_int(filters, "filters", cls)
        _check_data_format(data_format, cls)
        if _int_tuple(dilation_rate, self.rank, "dilation_rate", cls) != (1,) * self.rank:
            raise ValueError(f"{cls}: only dilation_rate=1 is supported, got {dilation_rate!r}")
        self.kernel_size = _int_tuple(kernel_size, self.rank, "kernel_size", cls)
        self.strides = _int_tuple(strides, self.rank, "strides", cls)
        padding = str(padding).lower()
        if padding == "causal" and self.rank == 1:
            self.padding = "causal"
        else:
            self.padding = _padding_mode(padding, cls)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer

    def build(self, input_shape):
        cls = type(self).__name__
        if len(input_shape) != self.rank + 2:
            raise ValueError(f'Input 0 of layer "{self.name}" ({cls}) is incompatible with the layer: expected '
                             f'ndim={self.rank + 2} (batch, {"steps" if self.rank == 1 else "height, width"}, '
                             f'channels), found ndim={len(input_shape)}. Full shape received: {input_shape}')
        if input_shape[-1] is None:
            raise ValueError(f'layer "{self.name}" ({cls}) needs a known channel axis, got input shape {input_shape}')
        self._check_fits(input_shape)
        self.add_weight("kernel", self.kernel_size + (input_shape[-1], self.filters), self.kernel_initializer)
        if self.use_bias:
            self.add_weight("bias", (self.filters,), self.bias_initializer)

    def _check_fits(self, input_shape):
        out = self.compute_output_shape(input_shape)
        if any(o is not None and o < 1 for o in out[1:-1]):
            raise ValueError(f'layer "{self.name}" ({type(self).__name__}): kernel {self.kernel_size} with strides '
                             f'{self.strides} and padding "{self.padding}" does not fit the input shape '
                             f'{input_shape} (output would be {out})')

    def compute_output_shape(self, input_shape):
        mode = "same" if self.padding == "causal" else self.padding
        spatial = tuple(_window_output(size, k, s, mode)
                        for size, k, s in zip(input_shape[1:-1], self.kernel_size, self.strides))
        return (input_shape[0],) + spatial + (self.filters,)

    def _check_input_shape(self, shape):
        if len(shape) != self.rank + 2 or shape[-1] != self.input_shape[-1]:
            raise self._incompatible(self.input_shape, tuple(shape))
        self._check_fits(tuple(shape))

    def extra_repr(self):
        return (f"name={self.name!r}, filters={self.filters}, kernel_size={self.kernel_size}, "
                f"strides={self.strides}, padding={self.padding!r}, "
                f"activation={activations.serialize(self.activation)!r}")


class Conv2D(_Conv):
    """2-D convolution on channels-last images.

    Conv2D(filters, kernel_size, strides=(1, 1), padding="valid", activation=None,
           use_bias=True, kernel_initializer="glorot_uniform", bias_initializer="zeros",
           input_shape=None, ...)
    x: (N, H, W, C) float32 -> (N, OH, OW, filters) with OH = (H - kh) // sh + 1 for
    "valid" and ceil(H / sh) for "same" (zeros around the image, the odd one at the bottom
    and right, as Keras/TensorFlow). Weights: kernel (kh, kw, C, filters), bias (filters,):
    kh * kw * C * filters + filters parameters.
    """

    rank = 2

    def _conv_nchw(self, x):
        """The convolution in the kernel's layout: (N, H, W, C) view -> (N, filters, OH, OW)."""
        x = _as_float(x).permute(0, 3, 1, 2)                       # (N, C, H, W), a view
        weight = _ConvKernel.apply(self.kernel)                      # (filters, C, kh, kw)
        padding = (0, 0)
        if self.padding == "same":
            x, padding = _pad_same(x, self.kernel_size, self.strides)
        return F.conv2d(x, weight, self.bias if self.use_bias else None, stride=self.strides, padding=padding)

    def pre_activation(self, x, training=False):
        return self._conv_nchw(x).permute(0, 2, 3, 1)              # (N, OH, OW, filters)

    def call(self, x, training=False):
        # the activation runs on the kernel's contiguous (N, filters, OH, OW) output; the
        # channels-last result is a view of it, which the next Conv2D / pooling layer
        # permutes back without a copy
        return self.activation(self._conv_nchw(x)).permute(0, 2, 3, 1)


class Conv1D(_Conv):
    """1-D convolution over steps, channels-last (text after an Embedding).

    Conv1D(filters, kernel_size, strides=1, padding="valid"|"same"|"causal", activation=None, ...)
    x: (N, T, C) -> (N, OT, filters), OT = (T - k) // s + 1 ("valid"), ceil(T / s) ("same"),
    T ("causal": k - 1 zeros before, strides 1). Weights: kernel (k, C, filters), bias (filters,).
    Runs as F.conv2d on a (N, C, 1, T) view.
    """

    rank = 1

    def _conv_nct(self, x):
        x = _as_float(x).permute(0, 2, 1).unsqueeze(2)                 # (N, C, 1, T)
        weight = self.kernel.permute(2, 1, 0).unsqueeze(2)             # (filters, C, 1, k)
        padding = (0, 0)
        if self.padding == "same":
            x, padding = _pad_same(x, (1,) + self.kernel_size, (1,) + self.strides)
        elif self.padding == "causal":
            x = x.pad(((0, 0), (0, 0), (0, 0), (self.kernel_size[0] - 1, 0)))
        y = F.conv2d(x, weight, self.bias if self.use_bias else None, stride=(1,) + self.strides, padding=padding)
        return y.squeeze(2)                                            # (N, filters, OT)

    def pre_activation(self, x, training=False):
        return self._conv_nct(x).permute(0, 2, 1)                      # (N, OT, filters)

    def call(self, x, training=False):
        return self.activation(self._conv_nct(x)).permute(0, 2, 1)     # activation on the contiguous layout


class _Pooling2D(Layer):
    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        cls = type(self).__name__
        _check_data_format(data_format, cls)
        self.pool_size = _int_tuple(pool_size, 2, "pool_size", cls)
        self.strides = self.pool_size if strides is None else _int_tuple(strides, 2, "strides", cls)
        self.padding = _padding_mode(padding, cls)

    def build(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(f'Input 0 of layer "{self.name}" ({type(self).__name__}) is incompatible with the layer: '
                             f'expected ndim=4 (batch, height, width, channels), found ndim={len(input_shape)}. '
                             f'Full shape received: {input_shape}')
        out = self.compute_output_shape(input_shape)
        if any(o is not None and o < 1 for o in out[1:3]):
            raise ValueError(f'layer "{self.name}" ({type(self).__name__}): pool {self.pool_size} does not fit the '
                             f'input shape {input_shape}')

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        (kh, kw), (sh, sw) = self.pool_size, self.strides
        return (n, _window_output(h, kh, sh, self.padding), _window_output(w, kw, sw, self.padding), c)

    def _check_input_shape(self, shape):
        if len(shape) != 4 or (self.input_shape[-1] is not None and shape[-1] != self.input_shape[-1]):
            raise self._incompatible(self.input_shape, tuple(shape))

    def extra_repr(self):
        return f"name={self.name!r}, pool_size={self.pool_size}, strides={self.strides}, padding={self.padding!r}"


class MaxPooling2D(_Pooling2D):
    """Largest value of each window, channels-last.

    MaxPooling2D(pool_size=(2, 2), strides=None, padding="valid")
    x: (N, H, W, C) -> (N, OH, OW, C); strides default to pool_size; "valid" drops the
    rows/columns that do not fill a window, "same" pads (with -inf) to ceil(H / stride).
    """

    def call(self, x, training=False):
        return self._pool_nchw(_as_float(x).permute(0, 3, 1, 2)).permute(0, 2, 3, 1)

    def _pool_nchw(self, x):
        """The pooling in the kernel's layout: (N, C, H, W) -> (N, C, OH, OW)."""
        if self.padding == "same":
            (top, bottom), (left, right) = (_same_padding(size, k, s) for size, k, s in
                                            zip(x.shape[2:], self.pool_size, self.strides))
            if top or bottom or left or right:
                x = x.pad(((0, 0), (0, 0), (top, bottom), (left, right)), value=-np.inf)
        return F.max_pool2d(x, self.pool_size, self.strides)

    def after_relu_conv(self, conv, x):
        """``self(conv(x))`` for a Conv2D whose activation is relu, computed as the pooling of
        the convolution, then the relu: the same values and gradients (the max of a window
        commutes with the monotone relu, and both pass NaN on), with the relu's two passes
        on a quarter of the values for 2x2 windows. (N, H, W, C) -> (N, OH, OW, filters)."""
        return self._pool_nchw(conv._conv_nchw(x)).relu().permute(0, 2, 3, 1)


class AveragePooling2D(_Pooling2D):
    """Mean of each window, channels-last.

    AveragePooling2D(pool_size=(2, 2), strides=None, padding="valid")
    x: (N, H, W, C) -> (N, OH, OW, C). With "same", the padded cells do not count in the
    mean (as TensorFlow): the pooled sum is divided by the pooled count of real cells.
    """

    def call(self, x, training=False):
        x = _as_float(x).permute(0, 3, 1, 2)                       # (N, C, H, W)
        if self.padding == "same":
            ones = Tensor(np.ones((1, 1) + x.shape[2:], dtype=np.float32))
            x, pad = _pad_same(x, self.pool_size, self.strides)
            ones, _ = _pad_same(ones, self.pool_size, self.strides)
            y = F.avg_pool2d(x, self.pool_size, self.strides, padding=pad)
            y = y / F.avg_pool2d(ones, self.pool_size, self.strides, padding=pad)
        else:
            y = F.avg_pool2d(x, self.pool_size, self.strides)
        return y.permute(0, 2, 3, 1)


class _GlobalPooling(Layer):
    axes = (1,)
    _call_takes_mask = True

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        _check_data_format(data_format, type(self).__name__)
        self.keepdims = bool(keepdims)

    def build(self, input_shape):
        if len(input_shape) != len(self.axes) + 2:
            raise ValueError(f'Input 0 of layer "{self.name}" ({type(self).__name__}) is incompatible with the '
                             f'layer: expected ndim={len(self.axes) + 2}, found shape {input_shape}')

    def compute_output_shape(self, input_shape):
        if self.keepdims:
            return tuple(1 if i in self.axes else s for i, s in enumerate(input_shape))
        return tuple(s for i, s in enumerate(input_shape) if i not in self.axes)


class GlobalAveragePooling1D(_GlobalPooling):
    """Mean over the steps: (N, T, C) -> (N, C); with a mask, the mean of the unmasked steps."""

    axes = (1,)

    def call(self, x, training=False, mask=None):
        x = _as_float(x)
        if mask is None:
            return x.mean(axis=1, keepdims=self.keepdims)
        m = mask.astype(np.float32).unsqueeze(-1)                       # (N, T, 1)
        return (x * m).sum(axis=1, keepdims=self.keepdims) / m.sum(axis=1, keepdims=self.keepdims).clip(1.0, None)


class GlobalAveragePooling2D(_GlobalPooling):
    """Mean over height and width: (N, H, W, C) -> (N, C)."""

    axes = (1, 2)

    def call(self, x, training=False, mask=None):
        return _as_float(x).mean(axis=(1, 2), keepdims=self.keepdims)


class GlobalMaxPooling1D(_GlobalPooling):
    """Largest value over the steps: (N, T, C) -> (N, C)."""

    axes = (1,)

    def call(self, x, training=False, mask=None):
        return _as_float(x).max(axis=1, keepdims=self.keepdims)


class GlobalMaxPooling2D(_GlobalPooling):
    """Largest value over height and width: (N, H, W, C) -> (N, C)."""

    axes = (1, 2)

    def call(self, x, training=False, mask=None):
        return _as_float(x).max(axis=(1, 2), keepdims=self.keepdims)
