"""Fused layer operations and losses.

Each could be written as a chain of elementwise and reduction ops, and the tests check them
against exactly that composition; fusing them into one Function gives one node in the graph,
fewer temporary arrays and a numerically stable formula (log-sum-exp instead of log(softmax)).
"""
from __future__ import annotations

import math

import numpy as np

from .. import rng
from ..autograd import Function
from ..device import array_module
from .elementwise import stable_sigmoid, unbroadcast
from ..backends import kernels_for


class Linear(Function):
    """y = x @ w^T + b.  x: (*, in), w: (out, in), b: (out,) -> y: (*, out).

    dx = g @ w,   dw = g^T @ x,   db = sum of g over every row.
    """

    def forward(self, x, w, b=None):
        self.x_shape = x.shape
        self.x2 = x.reshape(math.prod(x.shape[:-1]), x.shape[-1])  # not -1: sizes may be 0
        self.w = w
        kern = kernels_for(x)
        if b is None:
            y = kern.matmul(self.x2, w, trans_b=True)
        else:  # the bias added as each tile of y leaves the product, not in a second pass
            y = kern.linear_forward(self.x2, w, b)
        return y.reshape(x.shape[:-1] + (w.shape[0],))

    def backward(self, g):
        kern = kernels_for(g)
        g2 = g.reshape(math.prod(g.shape[:-1]), g.shape[-1])
        gx = kern.matmul(g2, self.w).reshape(self.x_shape) if self.needs_input_grad[0] else None
        gw = kern.matmul(g2, self.x2, trans_a=True) if self.needs_input_grad[1] else None
        if len(self.needs_input_grad) == 3:
            return gx, gw, (g2.sum(axis=0) if self.needs_input_grad[2] else None)
        return gx, gw


class LinearReLU(Linear):
    """out = relu(x @ w^T + b) as one node.  Shapes as Linear.

    dpre = g * (out > 0) (out > 0 exactly where the pre-activation is > 0, so only the output
    is kept), then Linear's backward on dpre.  Exactly Linear then ReLU, with one graph node,
    one saved array and one temporary fewer.
    """

    def forward(self, x, w, b=None):
        y = super().forward(x, w, b)
        self.out = kernels_for(y).relu_forward(y)
        return self.out

    def backward(self, g):
        return super().backward(kernels_for(g).relu_backward(g.astype(self.out.dtype, copy=False), self.out))


class Embedding(Function):
    """y = weight[ids].  ids: int64 (*), weight: (V, D) -> y: (*, D).

    dweight[v] = sum of g over the positions whose id is v (zero for ``padding_idx``).
    """

    def forward(self, weight, ids=None, padding_idx=None):
        self.ids, self.shape, self.padding_idx = ids, weight.shape, padding_idx
        return weight[ids]

    def backward(self, g):
        ids = self.ids.reshape(-1).astype(np.int64, copy=False)
        padding = -1 if self.padding_idx is None else self.padding_idx % self.shape[0]
        return (kernels_for(g).embedding_backward(ids, g.reshape(ids.size, self.shape[1]),
                                                  self.shape[0], padding),)


class LayerNorm(Function):
    """Normalise over the last ``n`` axes, then scale and shift.

    xhat = (x - mean) / sqrt(var + eps)   (biased variance over those axes)
    y    = xhat * weight + bias
    dx   = (gxhat - mean(gxhat) - xhat * mean(gxhat * xhat)) / sqrt(var + eps),  gxhat = g * weight

    x is seen as (rows, d): the leading axes are the rows, the normalised axes d features; the
    kernels ``layer_norm_forward`` / ``layer_norm_backward`` (csrc/layer_norm.c, twin
    backends/numpy_ref/layer_norm.py) do one pass per row and keep only mean and rstd.
    """

    def forward(self, x, *affine, n_axes=1, eps=1e-5, has_weight=True, has_bias=True):
        self.norm_shape = x.shape[x.ndim - n_axes:]
        d = math.prod(self.norm_shape)
        self.x2 = x.reshape(math.prod(x.shape[:x.ndim - n_axes]), d)  # not -1: sizes may be 0
        self.weight = affine[0] if has_weight else None
        self.has_bias = has_bias
        if x.size == 0:
            self.mean = self.rstd = None
            return array_module(x).empty(x.shape, x.dtype)
        w = None if self.weight is None else self.weight.reshape(d)
        b = affine[-1].reshape(d) if has_bias else None
        y, self.mean, self.rstd = kernels_for(x).layer_norm_forward(self.x2, w, b, eps)
        return y.reshape(x.shape)

    def backward(self, g):
        x2, weight, needs = self.x2, self.weight, self.needs_input_grad
        if self.mean is None:  # empty x
            xp = array_module(g)
            gx, gw, gb = (xp.zeros(x2.shape, g.dtype),
                          None if weight is None else xp.zeros(weight.shape, g.dtype),
                          xp.zeros(self.norm_shape, g.dtype))
        else:
            flags = (needs[0], weight is not None and needs[1], self.has_bias and needs[-1])
            gx, gw, gb = kernels_for(g).layer_norm_backward(
                g.astype(x2.dtype, copy=False).reshape(x2.shape), x2,
                None if weight is None else weight.reshape(-1), self.mean, self.rstd, flags)
        grads = [None if gx is None or not needs[0] else gx.reshape(g.shape)]
        if weight is not None:
            grads.append(None if gw is None or not needs[1] else gw.reshape(weight.shape))
        if self.has_bias:
            grads.append(None if gb is None or not needs[-1] else gb.reshape(self.norm_shape))
        return tuple(grads)


class Dropout(Function):
    """y = x * mask / (1 - p), mask ~ Bernoulli(1 - p);  dx = g * mask / (1 - p).

    The kernel ``dropout`` (csrc/dropout.c, twin backends/numpy_ref/dropout.py) draws the
    mask from a hash of (seed, element index), the seed from the library's generator (so
    ``manual_seed`` fixes it): backward is the same kernel on g with the same seed, and no
    mask is kept in memory between the two passes.
    """

    def forward(self, x, p=0.5):
        self.seed, self.p = int(rng.generator().integers(0, 2 ** 63)), p
        return kernels_for(x).dropout(x, self.seed, p)

    def backward(self, g):
        return (kernels_for(g).dropout(g, self.seed, self.p),)


# ---------------------------------------------------------------------------- losses
class _Loss(Function):
    """Shared reduction logic: subclasses compute per-element losses, this sums or averages."""

    def reduce(self, losses, reduction, count=None):
        self.reduction, self.loss_shape = reduction, losses.shape
        self.count = losses.size if count is None else count
        if reduction == "none":
            return losses
        total = losses.sum()
        if reduction == "sum":
            return total
        xp = array_module(losses)
        # mean over zero elements is NaN, as in PyTorch
        with np.errstate(invalid="ignore", divide="ignore"):
            return xp.asarray(total / losses.dtype.type(self.count), dtype=losses.dtype)

    def expand(self, g):
        """The upstream gradient as one value per element of the unreduced loss."""
        xp = array_module(g)
        if self.reduction == "none":
            return g
        if self.reduction == "mean":
            g = g / g.dtype.type(max(self.count, 1)) if self.count else g * g.dtype.type(np.nan)
        if xp is np and g.ndim == 0:  # the loss was reduced to one value: every element gets it
            return xp.full(self.loss_shape, g, dtype=g.dtype)
        return xp.broadcast_to(g, self.loss_shape)


class CrossEntropy(_Loss):
    """loss_i = -log softmax(logits_i)[target_i].  logits: (N, C), target: int64 (N,).

    Soft targets (float (N, C) class probabilities) give loss_i = -sum_c t_ic log p_ic.
    dlogits_i = g_i * (softmax(logits_i) - onehot(target_i))  (rows with ``ignore_index`` get 0);
    the mean is over the rows that are not ignored, as PyTorch.
    """

    def forward(self, logits, target, reduction="mean", ignore_index=-100, soft=False):
        xp = array_module(logits)
        self.soft, self.target = soft, target
        if soft:  # probabilities as targets: no kernel, the formula
            shifted = logits - logits.max(axis=1, keepdims=True)
            self.logp = shifted - xp.log(xp.exp(shifted).sum(axis=1, keepdims=True))
            return self.reduce(-(target * self.logp).sum(axis=1), reduction)
        # class targets: one fused kernel call each way (csrc/loss.c, numpy_ref/loss.py)
        self.target = target.astype(np.int64, copy=False)
        self.ignore_index = int(ignore_index)
        self.logp, losses = kernels_for(logits).cross_entropy_forward(logits, self.target,
                                                                     self.ignore_index)
        count = target.shape[0] - int(xp.count_nonzero(self.target == self.ignore_index))
        return self.reduce(losses, reduction, count=count)

    def backward(self, g):
        xp = array_module(g)
        if not self.soft:
            g_rows = xp.ascontiguousarray(self.expand(g), dtype=self.logp.dtype)
            return kernels_for(g_rows).cross_entropy_backward(self.logp, self.target,
                                                             self.ignore_index, g_rows), None
        g = self.expand(g)[:, None]
        t = self.target
        glogits = g * (xp.exp(self.logp) * t.sum(axis=1, keepdims=True) - t)
        gtarget = -g * self.logp if self.needs_input_grad[1] else None
        return glogits, gtarget


class NLL(_Loss):
    """loss_i = -logp[i, target_i].  logp: (N, C) log-probabilities, target: int64 (N,)."""

    def forward(self, logp, target, reduction="mean", ignore_index=-100):
        xp = array_module(logp)
        self.shape = logp.shape
        self.valid = target != ignore_index
        self.safe_target = xp.where(self.valid, target, 0)
        picked = xp.take_along_axis(logp, self.safe_target[:, None], axis=1)[:, 0]
        losses = xp.where(self.valid, -picked, logp.dtype.type(0))
        return self.reduce(losses, reduction, count=int(self.valid.sum()))

    def backward(self, g):
        xp = array_module(g)
        g = self.expand(g) * self.valid
        grad = xp.zeros(self.shape, dtype=g.dtype)
        grad[xp.arange(self.shape[0]), self.safe_target] = -g
        return grad, None


class BinaryCrossEntropy(_Loss):
    """loss = -(t log p + (1 - t) log(1 - p)), logs clamped at -100 as PyTorch.

    dp = g (p - t) / max(p (1 - p), 1e-12),   dt = g (log(1 - p) - log p).
    """

    def forward(self, p, t, reduction="mean"):
        xp = array_module(p)
        self.p, self.t = p, t
        with np.errstate(divide="ignore"):
            self.log_p = xp.maximum(xp.log(p), p.dtype.type(-100))
            self.log_1mp = xp.maximum(xp.log(1 - p), p.dtype.type(-100))
        return self.reduce(-(t * self.log_p + (1 - t) * self.log_1mp), reduction)

    def backward(self, g):
        xp = array_module(g)
        g = self.expand(g)
        p, t = self.p, self.t
        gp = g * (p - t) / xp.maximum(p * (1 - p), p.dtype.type(1e-12))
        gt = g * (self.log_1mp - self.log_p) if self.needs_input_grad[1] else None
        return gp, gt


class BinaryCrossEntropyWithLogits(_Loss):
    """loss = max(x, 0) - x t + log(1 + e^-|x|)  (= BCE(sigmoid(x), t) without overflow).

    dx = g (sigmoid(x) - t),   dt = -g x.
    """

    def forward(self, x, t, reduction="mean"):
        xp = array_module(x)
        self.x, self.t = x, t
        losses = xp.maximum(x, 0) - x * t + xp.log1p(xp.exp(-xp.abs(x)))
        return self.reduce(losses, reduction)

    def backward(self, g):
        g = self.expand(g)
        gx = g * (stable_sigmoid(self.x) - self.t)
        gt = -g * self.x if self.needs_input_grad[1] else None
        return gx, gt


class MSE(_Loss):
    """loss = (a - b)^2;  da = 2 g (a - b),  db = -da."""

    def forward(self, a, b, reduction="mean"):
        self.a_shape, self.b_shape = a.shape, b.shape
        self.diff = a - b
        return self.reduce(self.diff * self.diff, reduction)

    def backward(self, g):
        grad = 2 * self.expand(g) * self.diff
        return (
            unbroadcast(grad, self.a_shape),
            unbroadcast(-grad, self.b_shape) if self.needs_input_grad[1] else None,
        )
