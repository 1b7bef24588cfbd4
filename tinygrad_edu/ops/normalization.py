"""Batch normalisation and the smooth activations SiLU and Softplus, forward and backward.

BatchNorm normalises each channel (axis 1) over every other axis: x (N, C, *) with statistics
of shape (C,). In training mode the statistics are those of the batch itself, so they depend
on x and the backward pass carries two extra terms; in eval mode they are fixed numbers (the
running averages) and the layer is an affine map of x.
"""
from __future__ import annotations

from ..autograd import Function
from ..device import array_module
from .elementwise import stable_sigmoid


def _channel_view(shape_len: int, values):
    """(C,) -> (1, C, 1, ..., 1), to broadcast against an input of ``shape_len`` axes."""
    return values.reshape((1, -1) + (1,) * (shape_len - 2))


class BatchNorm(Function):
    """y = (x - mean) / sqrt(var + eps) * weight + bias, per channel (axis 1).

    forward(x, [weight], [bias], mean, var, eps, batch_stats, has_weight, has_bias)
        x: (N, C, *); weight, bias: (C,) tensors; mean, var: (C,) arrays (the biased batch
        statistics when ``batch_stats``, the running estimates otherwise).
    backward, with xhat = (x - mean) * inv_std and gxhat = g * weight, sums over axes != 1:
        batch_stats:  dx = inv_std * (gxhat - mean(gxhat) - xhat * mean(gxhat * xhat))
        fixed stats:  dx = inv_std * gxhat
        dweight = sum(g * xhat),  dbias = sum(g)
    """

    def forward(self, x, *affine, mean, var, eps=1e-5, batch_stats=True, has_weight=True, has_bias=True):
        xp = array_module(x)
        self.axes = (0,) + tuple(range(2, x.ndim))
        self.batch_stats = batch_stats
        self.inv_std = _channel_view(x.ndim, 1 / xp.sqrt(var.astype(x.dtype) + x.dtype.type(eps)))
        self.xhat = (x - _channel_view(x.ndim, mean.astype(x.dtype))) * self.inv_std
        self.weight = _channel_view(x.ndim, affine[0]) if has_weight else None
        self.has_bias = has_bias
        y = self.xhat * self.weight if has_weight else self.xhat.copy()
        if has_bias:
            y += _channel_view(x.ndim, affine[-1])
        return y

    def backward(self, g):
        axes, xhat = self.axes, self.xhat
        gxhat = g * self.weight if self.weight is not None else g
        gx = None
        if self.needs_input_grad[0]:
            if self.batch_stats:
                gx = (gxhat - gxhat.mean(axis=axes, keepdims=True)
                      - xhat * (gxhat * xhat).mean(axis=axes, keepdims=True)) * self.inv_std
            else:
                gx = gxhat * self.inv_std
        grads = [gx]
        if self.weight is not None:
            grads.append((g * xhat).sum(axis=axes) if self.needs_input_grad[1] else None)
        if self.has_bias:
            grads.append(g.sum(axis=axes) if self.needs_input_grad[-1] else None)
        return tuple(grads)


class SiLU(Function):
    """out = x * sigmoid(x) (the "swish");  dx = g * s * (1 + x * (1 - s)),  s = sigmoid(x)."""

    def forward(self, x):
        self.x, self.s = x, stable_sigmoid(x)
        return x * self.s

    def backward(self, g):
        s = self.s
        return (g * s * (1 + self.x * (1 - s)),)


class Softplus(Function):
    """out = log(1 + exp(beta * x)) / beta, and out = x where beta * x > threshold (PyTorch's
    rule, which keeps exp from overflowing);  dx = g * sigmoid(beta * x) (g where linear)."""

    def forward(self, x, beta=1.0, threshold=20.0):
        xp = array_module(x)
        bx = x * x.dtype.type(beta)
        self.linear = bx > threshold
        self.s = stable_sigmoid(bx)
        # log(1 + e^bx) = max(bx, 0) + log1p(e^-|bx|): no overflow for large |bx|
        soft = (xp.maximum(bx, 0) + xp.log1p(xp.exp(-xp.abs(bx)))) / x.dtype.type(beta)
        return xp.where(self.linear, x, soft).astype(x.dtype, copy=False)

    def backward(self, g):
        xp = array_module(g)
        return (xp.where(self.linear, g, g * self.s).astype(g.dtype, copy=False),)
