"""Shape and movement operations: they rearrange elements without arithmetic.

Each backward applies the inverse rearrangement to the gradient: reshape back, permute back,
sum an expansion, scatter an indexing, slice off padding, split a concatenation.
"""
from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..device import array_module, device_of, move, scatter_add


class Reshape(Function):
    """out = x viewed with a new shape;  dx = g reshaped back."""

    def forward(self, x, shape=()):
        self.in_shape = x.shape
        return x.reshape(shape)

    def backward(self, g):
        return (g.reshape(self.in_shape),)


class Permute(Function):
    """out = x with axes reordered by ``dims``;  dx = g permuted by the inverse order."""

    def forward(self, x, dims=()):
        self.inverse = tuple(np.argsort(dims))
        return x.transpose(dims)

    def backward(self, g):
        return (g.transpose(self.inverse),)


class Expand(Function):
    """out = x broadcast to ``shape`` (a view);  dx = g summed over the broadcast axes."""

    def forward(self, x, shape=()):
        self.in_shape = x.shape
        return array_module(x).broadcast_to(x, shape)

    def backward(self, g):
        from .elementwise import unbroadcast

        return (unbroadcast(g, self.in_shape),)


def _has_advanced_index(index) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return any(not isinstance(i, (int, np.integer, slice, type(None), type(Ellipsis))) for i in items)


class GetItem(Function):
    """out = x[index] (ints, slices, None, Ellipsis, integer or boolean arrays).

    dx = zeros like x with g added at the indexed positions. Integer-array indexing may pick
    the same element several times, so the scatter uses ``add.at``, which accumulates repeats.
    """

    def forward(self, x, index=None):
        self.in_shape, self.dtype, self.index = x.shape, x.dtype, index
        return x[index]

    def backward(self, g):
        xp = array_module(g)
        grad = xp.zeros(self.in_shape, dtype=g.dtype)
        if _has_advanced_index(self.index):
            scatter_add(grad, self.index, g)
        else:
            grad[self.index] = g
        return (grad,)


class Pad(Function):
    """out = x with constant padding, one (before, after) pair per axis;  dx = g's inner slice."""

    def forward(self, x, pad_width=(), value=0.0):
        self.inner = tuple(slice(b, b + s) for (b, _), s in zip(pad_width, x.shape))
        return array_module(x).pad(x, pad_width, mode="constant", constant_values=value)

    def backward(self, g):
        return (g[self.inner],)


class Cat(Function):
    """out = the inputs joined along ``axis``;  each input's gradient is its slice of g."""

    def forward(self, *xs, axis=0):
        self.axis = axis
        self.bounds = np.cumsum([0] + [x.shape[axis] for x in xs])
        return array_module(xs[0]).concatenate(xs, axis=axis)

    def backward(self, g):
        grads = []
        for i, needed in enumerate(self.needs_input_grad):
            if not needed:
                grads.append(None)
                continue
            index = [slice(None)] * g.ndim
            index[self.axis] = slice(int(self.bounds[i]), int(self.bounds[i + 1]))
            grads.append(g[tuple(index)])
        return tuple(grads)


class Stack(Function):
    """out = the inputs stacked along a new ``axis``;  input i's gradient is g taken at i."""

    def forward(self, *xs, axis=0):
        self.axis = axis
        return array_module(xs[0]).stack(xs, axis=axis)

    def backward(self, g):
        return tuple(
            g.take(i, axis=self.axis) if needed else None
            for i, needed in enumerate(self.needs_input_grad)
        )


class ToDevice(Function):
    """out = x copied to another device ("cpu" or "cuda");  dx = g copied back."""

    def forward(self, x, device="cpu"):
        self.source = device_of(x)
        return move(x, device)

    def backward(self, g):
        return (move(g, self.source),)
