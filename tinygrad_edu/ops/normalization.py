"""Batch normalisation and the smooth activations SiLU and Softplus, forward and backward.

BatchNorm normalises each channel (axis 1) over every other axis: x (N, C, *) with statistics
of shape (C,). In training mode the statistics are those of the batch itself, so they depend
on x and the backward pass carries two extra terms; in eval mode they are fixed numbers (the
running averages) and the layer is an affine map of x.
"""
from __future__ import annotations

from ..autograd import Function
from ..backends import kernels_for
from ..device import array_module
from .elementwise import stable_sigmoid


class BatchNorm(Function):
    """y = (x - mean) / sqrt(var + eps) * weight + bias, per channel (axis 1).

    forward(x, [weight], [bias], mean, var, eps, batch_stats, has_weight, has_bias)
        x: (N, C, *); weight, bias: (C,) tensors; mean, var: (C,) arrays (the biased batch
        statistics when ``batch_stats``, the running estimates otherwise).
    backward, with xhat = (x - mean) * inv_std and gxhat = g * weight, sums over axes != 1:
        batch_stats:  dx = inv_std * (gxhat - mean(gxhat) - xhat * mean(gxhat * xhat))
        fixed stats:  dx = inv_std * gxhat
        dweight = sum(g * xhat),  dbias = sum(g)
    Both directions are one kernel call on x viewed as (N, C, L) (``batch_norm_forward`` /
    ``batch_norm_backward``: csrc/batch_norm.c or the NumPy twin in
    backends/numpy_ref/batch_norm.py); a missing weight is ones, a missing bias zeros.
    """

    def forward(self, x, *affine, mean, var, eps=1e-5, batch_stats=True, has_weight=True, has_bias=True):
        xp = array_module(x)
        c = x.shape[1]
        self.x_shape, self.x3 = x.shape, xp.ascontiguousarray(x).reshape(x.shape[0], c, -1)
        self.mean, self.var = xp.asarray(mean, dtype=x.dtype), xp.asarray(var, dtype=x.dtype)
        self.weight = affine[0] if has_weight else xp.ones(c, dtype=x.dtype)
        bias = affine[-1] if has_bias else xp.zeros(c, dtype=x.dtype)
        self.eps, self.batch_stats, self.has_weight, self.has_bias = float(eps), batch_stats, has_weight, has_bias
        y = kernels_for(x).batch_norm_forward(self.x3, self.mean, self.var, self.weight, bias, self.eps)
        return y.reshape(x.shape)

    def backward(self, g):
        xp = array_module(g)
        gx, gw, gb = kernels_for(g).batch_norm_backward(
            xp.ascontiguousarray(g).reshape(self.x3.shape), self.x3, self.mean, self.var, self.weight,
            self.eps, self.batch_stats)
        grads = [gx.reshape(self.x_shape) if self.needs_input_grad[0] else None]
        if self.has_weight:
            grads.append(gw if self.needs_input_grad[1] else None)
        if self.has_bias:
            grads.append(gb if self.needs_input_grad[-1] else None)
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
