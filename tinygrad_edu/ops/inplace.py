"""The Functions behind in-place changes that take part in a graph.

``t[i] = v``, ``t.masked_fill_(mask, v)``, ``t.fill_(v)`` / ``t.zero_()`` and ``t.copy_(src)``
are recorded, when a gradient is needed, as an out-of-place op on the old value whose result
is then written back into ``t``'s array (see ``Tensor._inplace``): the op becomes a node of the
graph and ``t``'s history moves on to it, as in PyTorch.
"""
from __future__ import annotations

from ..autograd import Function
from ..device import array_module
from .elementwise import unbroadcast


class SetItem(Function):
    """out = x with out[index] = v;  dx = g with g[index] = 0,  dv = g[index] (unbroadcast)."""

    def forward(self, x, v, index=None):
        self.index, self.v_shape = index, v.shape
        out = x.copy()
        out[index] = v
        return out

    def backward(self, g):
        gx = g.copy()
        gx[self.index] = 0
        return gx, unbroadcast(g[self.index], self.v_shape)


class MaskedFill(Function):
    """out = value where mask else x;  dx = g where not mask (0 elsewhere).

    mask: bool array broadcastable to x's shape; value: a Python number."""

    def forward(self, x, mask=None, value=0.0):
        self.mask = mask
        xp = array_module(x)
        return xp.where(mask, xp.asarray(value, dtype=x.dtype), x)

    def backward(self, g):
        return (g * ~self.mask,)


class Fill(Function):
    """out = value everywhere (x's shape and dtype);  dx = 0 (returned as no gradient)."""

    def forward(self, x, value=0.0):
        return array_module(x).full(x.shape, value, dtype=x.dtype)

    def backward(self, g):
        return (None,)


class Copy(Function):
    """out = src broadcast to x's shape, in x's dtype;  dx = 0,  dsrc = g (unbroadcast, in src's dtype)."""

    def forward(self, x, src):
        self.src_shape, self.src_dtype = src.shape, src.dtype
        return array_module(x).broadcast_to(src, x.shape).astype(x.dtype, copy=True)

    def backward(self, g):
        return None, unbroadcast(g, self.src_shape).astype(self.src_dtype, copy=False)
