"""Gathering and scattering along one axis (``torch.gather`` / ``torch.scatter_add``).

Both address cells of one axis ``dim`` through an integer ``index`` array; every other axis is
walked in step (index[i, j] picks along ``dim`` at position (i, j)):

    gather:       out[i, j]                 = x[index[i, j], j]          (dim = 0)
    scatter_add:  out = x, then out[index[i, j], j] += src[i, j]

They are each other's adjoint, so each one's backward is the other: the gradient of a gather
is scattered (added) back to the cells that were read; the gradient of scatter_add's src is
gathered from the cells it was added to.
"""
from __future__ import annotations

from ..autograd import Function
from ..device import array_module


def _mesh(xp, index, dim):
    """Open index arrays addressing every cell of ``index``, with ``index`` itself on ``dim``."""
    mesh = list(xp.ix_(*[xp.arange(s) for s in index.shape]))
    mesh[dim] = index
    return tuple(mesh)


def add_at(xp, target, where, values):
    """target[where] += values, adding repeated positions as many times as they occur."""
    if hasattr(xp.add, "at"):
        xp.add.at(target, where, values)
    else:  # CuPy
        import cupyx

        cupyx.scatter_add(target, where, values)


class Gather(Function):
    """out = x[..., index, ...] along ``dim`` (torch.gather).

    x: any shape; index: int64 with x's number of axes, index.shape[d] <= x.shape[d] for
    d != dim; out: index's shape.  dx = zeros, then dx[mesh with index] += g.
    """

    def forward(self, x, index=None, dim=0):
        xp = array_module(x)
        self.x_shape, self.where = x.shape, _mesh(xp, index, dim)
        return x[self.where]

    def backward(self, g):
        xp = array_module(g)
        gx = xp.zeros(self.x_shape, dtype=g.dtype)
        add_at(xp, gx, self.where, g)
        return (gx,)


class ScatterAdd(Function):
    """out = x, then out[index along dim] += src (torch.scatter_add).

    x: any shape; index: int64, same number of axes, index.shape[d] <= src.shape[d] (every d)
    and <= x.shape[d] (d != dim); src: float like x.  dx = g;  dsrc = g[mesh with index] in
    the cells index covers, 0 elsewhere.
    """

    def forward(self, x, src, index=None, dim=0):
        xp = array_module(x)
        self.src_shape, self.where = src.shape, _mesh(xp, index, dim)
        self.covered = tuple(slice(0, s) for s in index.shape)
        out = x.copy()
        add_at(xp, out, self.where, src[self.covered])
        return out

    def backward(self, g):
        xp = array_module(g)
        gsrc = None
        if self.needs_input_grad[1]:
            gsrc = xp.zeros(self.src_shape, dtype=g.dtype)
            gsrc[self.covered] = g[self.where]
        return g, gsrc
