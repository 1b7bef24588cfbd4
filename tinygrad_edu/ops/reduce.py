"""Reductions and the softmax family.

A reduction's backward spreads the output gradient back over the reduced axes: the output was
computed from every element along them, so ``g`` is reshaped to keep those axes (size 1) and
broadcast over them.
"""
from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..device import array_module


def normalize_axes(axis, ndim: int, op: str):
    """None -> all axes; int or sequence -> a sorted tuple of non-negative axes (checked)."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        if not isinstance(a, (int, np.integer)) or isinstance(a, bool):
            raise TypeError(f"{op}: axis must be an int or a tuple of ints, got {axis!r}")
        if not -ndim <= a < max(ndim, 1):
            raise ValueError(f"{op}: axis {a} is out of range for a tensor with {ndim} dimensions")
        out.append(int(a) % max(ndim, 1))
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: repeated axis in {axis!r}")
    return tuple(sorted(out))


def _keepdims_shape(shape, axes):
    """``shape`` with each reduced axis set to 1 (the shape of a keepdims result)."""
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


class Sum(Function):
    """out = sum of x over ``axes``;  dx = g broadcast back over those axes."""

    def forward(self, x, axes=(), keepdims=False):
        self.in_shape, self.axes = x.shape, axes
        return x.sum(axis=axes, keepdims=keepdims)

    def backward(self, g):
        if g.ndim and g.ndim != len(self.in_shape):  # a 0-d g (sum of all) broadcasts as it is
            g = g.reshape(_keepdims_shape(self.in_shape, self.axes))
        gx = array_module(g).empty(self.in_shape, dtype=g.dtype)
        gx[...] = g  # broadcast (cheaper than broadcast_to(...).copy() for small arrays)
        return (gx,)


class Mean(Function):
    """out = mean of x over ``axes``;  dx = g / n broadcast back (n = elements averaged)."""

    def forward(self, x, axes=(), keepdims=False):
        self.in_shape, self.axes = x.shape, axes
        self.count = int(np.prod([x.shape[a] for a in axes])) if axes else 1
        return x.mean(axis=axes, keepdims=keepdims)

    def backward(self, g):
        g = g.reshape(_keepdims_shape(self.in_shape, self.axes)) / g.dtype.type(self.count)
        gx = array_module(g).empty(self.in_shape, dtype=g.dtype)
        gx[...] = g
        return (gx,)


class Max(Function):
    """out = max of x over ``axes``; the gradient is shared equally among tied maxima."""

    reduce = "max"

    def forward(self, x, axes=(), keepdims=False):
        if x.size == 0:
            raise ValueError(f"{self.reduce}: cannot reduce an empty tensor of shape {x.shape}")
        self.x, self.axes = x, axes
        self.out_keep = getattr(x, self.reduce)(axis=axes, keepdims=True)
        return self.out_keep if keepdims else self.out_keep.reshape(
            tuple(s for i, s in enumerate(x.shape) if i not in axes)
        )

    def backward(self, g):
        g = g.reshape(self.out_keep.shape)
        hit = (self.x == self.out_keep).astype(g.dtype)
        return (hit * (g / hit.sum(axis=self.axes, keepdims=True)),)


class Min(Max):
    """out = min of x over ``axes``; ties share the gradient equally."""

    reduce = "min"


class Var(Function):
    """out = sum((x - mean)^2) / (n - correction);  dx = g * 2 (x - mean) / (n - correction)."""

    def forward(self, x, axes=(), keepdims=False, correction=1):
        self.in_shape, self.axes = x.shape, axes
        n = int(np.prod([x.shape[a] for a in axes])) if axes else 1
        self.denominator = max(n - correction, 0)
        self.centered = x - x.mean(axis=axes, keepdims=True)
        sq = (self.centered * self.centered).sum(axis=axes, keepdims=keepdims)
        with np.errstate(divide="ignore", invalid="ignore"):
            return sq / x.dtype.type(self.denominator)

    def backward(self, g):
        g = g.reshape(_keepdims_shape(self.in_shape, self.axes))
        with np.errstate(divide="ignore", invalid="ignore"):
            return (g * self.centered * g.dtype.type(2.0 / self.denominator if self.denominator else np.inf),)


class Softmax(Function):
    """out = e^(x - max) / sum e^(x - max) along ``axis`` (subtracting the max keeps e^ finite).

    dx = out * (g - sum(g * out, axis))   (the Jacobian-vector product of softmax).
    """

    def forward(self, x, axis=-1):
        xp = array_module(x)
        self.axis = axis
        e = xp.exp(x - x.max(axis=axis, keepdims=True))
        self.out = e / e.sum(axis=axis, keepdims=True)
        return self.out

    def backward(self, g):
        out = self.out
        return (out * (g - (g * out).sum(axis=self.axis, keepdims=True)),)


class LogSoftmax(Function):
    """out = x - max - log(sum e^(x - max)) along ``axis``;  dx = g - softmax * sum(g, axis)."""

    def forward(self, x, axis=-1):
        xp = array_module(x)
        self.axis = axis
        shifted = x - x.max(axis=axis, keepdims=True)
        self.out = shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))
        return self.out

    def backward(self, g):
        xp = array_module(g)
        return (g - xp.exp(self.out) * g.sum(axis=self.axis, keepdims=True),)
