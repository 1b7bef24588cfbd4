"""Running sums and products: cumsum along an axis, and the product reduction.

    cumsum:  out[i] = x[0] + ... + x[i];            dx[i] = g[i] + ... + g[n-1]  (a reversed cumsum)
    prod:    out = x[0] * ... * x[n-1];             dx[i] = g * (product of every x[j], j != i)

The product of the others is taken as (x[0]...x[i-1]) * (x[i+1]...x[n-1]) from two exclusive
running products, not as out / x[i], so that zeros in x get their exact gradient.
"""
from __future__ import annotations

from ..autograd import Function
from ..device import array_module


class Cumsum(Function):
    """out = cumulative sum of x along ``axis`` (same shape); dx = reversed cumsum of g."""

    def forward(self, x, axis=0):
        self.axis = axis
        return array_module(x).cumsum(x, axis=axis).astype(x.dtype, copy=False)

    def backward(self, g):
        xp = array_module(g)
        return (xp.flip(xp.cumsum(xp.flip(g, self.axis), axis=self.axis), self.axis),)


def _exclusive_cumprod(xp, x, axis):
    """[1, x0, x0*x1, ..., x0*...*x(n-2)] along ``axis``."""
    ones = xp.ones_like(xp.take(x, [0], axis=axis))
    body = xp.take(xp.cumprod(x, axis=axis), list(range(x.shape[axis] - 1)), axis=axis)
    return xp.concatenate([ones, body], axis=axis)


class Prod(Function):
    """out = product of x along ``axis`` (None: all entries); keepdims as NumPy.

    dx = g * left * right with left/right the exclusive running products from each end."""

    def forward(self, x, axis=None, keepdims=False):
        xp = array_module(x)
        self.x_shape, self.axis, self.x = x.shape, axis, x
        out = xp.prod(x, axis=axis, keepdims=True)
        self.keep_shape = out.shape
        if keepdims:
            return out
        return out.reshape(()) if axis is None else xp.squeeze(out, axis=axis)

    def backward(self, g):
        xp = array_module(g)
        x, axis = self.x, self.axis
        if axis is None:
            x, axis = x.reshape(-1), 0
        if x.shape[axis] == 0:
            return (xp.zeros(self.x_shape, dtype=g.dtype),)
        left = _exclusive_cumprod(xp, x, axis)
        right = xp.flip(_exclusive_cumprod(xp, xp.flip(x, axis), axis), axis)
        others = (left * right).reshape(self.x_shape)
        return (g.reshape(self.keep_shape) * others,)
