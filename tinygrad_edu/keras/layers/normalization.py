"""BatchNormalization and LayerNormalization (last axis, Keras's defaults).

Both run on nn's kernels (``F.batch_norm`` / ``F.layer_norm``). Channels-last data
(N, ..., C) is normalised per channel by viewing it as (N * ..., C), a free reshape, so no
axis is moved.
"""
from __future__ import annotations

import numpy as np

from ...autograd import no_grad
from ...nn import functional as F
from .base import Layer, _as_float

__all__ = ["BatchNormalization", "LayerNormalization"]


def _last_axis(axis, layer: str) -> None:
    if axis not in (-1, None) and not (isinstance(axis, (list, tuple)) and list(axis) == [-1]):
        raise NotImplementedError(f"{layer}: only axis=-1 (the channels-last axis) is supported, got {axis!r}")


class BatchNormalization(Layer):
    """Normalise each channel (the last axis) with the batch's statistics in training and
    the moving ones otherwise.

    BatchNormalization(axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True)
    x: (N, ..., C) -> same shape. Weights: gamma (C,) ones, beta (C,) zeros (trainable),
    moving_mean (C,) zeros, moving_variance (C,) ones (not trainable):
    moving = moving * momentum + batch_stat * (1 - momentum), with the biased batch variance
    (Keras's rule). 4 * C parameters, 2 * C of them non-trainable.
    """

    supports_masking = True

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True, **kwargs):
        super().__init__(**kwargs)
        _last_axis(axis, "BatchNormalization")
        if not 0.0 <= float(momentum) <= 1.0:
            raise ValueError(f"BatchNormalization: momentum must be in [0, 1], got {momentum}")
        self.momentum, self.epsilon = float(momentum), float(epsilon)
        self.center, self.scale = bool(center), bool(scale)

    def build(self, input_shape):
        if len(input_shape) < 2 or input_shape[-1] is None:
            raise ValueError(f'layer "{self.name}" (BatchNormalization) needs a known last axis, got {input_shape}')
        c = input_shape[-1]
        if self.scale:
            self.add_weight("gamma", (c,), "ones")
        if self.center:
            self.add_weight("beta", (c,), "zeros")
        self.add_weight("moving_mean", (c,), "zeros", trainable=False)
        self.add_weight("moving_variance", (c,), "ones", trainable=False)

    def call(self, x, training=False):
        x = _as_float(x)
        shape, c = x.shape, x.shape[-1]
        flat = x.reshape(-1, c)                                        # (M, C), no copy
        gamma = self.gamma if self.scale else None
        beta = self.beta if self.center else None
        if training and flat.shape[0] > 1:
            values = flat.numpy()
            with no_grad():
                m = self.momentum
                self.moving_mean.data = (self.moving_mean.numpy() * m + values.mean(axis=0) * (1 - m)).astype(np.float32)
                self.moving_variance.data = (self.moving_variance.numpy() * m
                                             + values.var(axis=0) * (1 - m)).astype(np.float32)
            y = F.batch_norm(flat, None, None, gamma, beta, training=True, eps=self.epsilon)
        else:
            y = F.batch_norm(flat, self.moving_mean, self.moving_variance, gamma, beta, training=False,
                             eps=self.epsilon)
        return y.reshape(shape)


class LayerNormalization(Layer):
    """Normalise every sample over its last axis, then ``* gamma + beta``.

    LayerNormalization(axis=-1, epsilon=1e-3, center=True, scale=True)
    x: (N, ..., C) -> same shape; weights gamma (C,) ones, beta (C,) zeros.
    """

    supports_masking = True

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, **kwargs):
        super().__init__(**kwargs)
        _last_axis(axis, "LayerNormalization")
        self.epsilon, self.center, self.scale = float(epsilon), bool(center), bool(scale)

    def build(self, input_shape):
        if input_shape[-1] is None:
            raise ValueError(f'layer "{self.name}" (LayerNormalization) needs a known last axis, got {input_shape}')
        if self.scale:
            self.add_weight("gamma", (input_shape[-1],), "ones")
        if self.center:
            self.add_weight("beta", (input_shape[-1],), "zeros")

    def call(self, x, training=False):
        return F.layer_norm(_as_float(x), x.shape[-1], self.gamma if self.scale else None,
                            self.beta if self.center else None, eps=self.epsilon)
