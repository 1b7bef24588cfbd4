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
from ..device import array_module, scatter_add
from .elementwise import stable_sigmoid, unbroadcast
from .kernel_table import kernels_for


class Linear(Function):
    """y = x @ w^T + b.  x: (*, in), w: (out, in), b: (out,) -> y: (*, out).

    dx = g @ w,   dw = g^T @ x,   db = sum of g over every row.
    """

    def forward(self, x, w, b=None):
        self.x_shape = x.shape
        self.x2 = x.reshape(math.prod(x.shape[:-1]), x.shape[-1])  # not -1: sizes may be 0
        self.w = w
        y = kernels_for(x).matmul(self.x2, w, trans_b=True)
        if b is not None:
            y += b
        return y.reshape(x.shape[:-1] + (w.shape[0],))

    def backward(self, g):
        kern = kernels_for(g)
        g2 = g.reshape(math.prod(g.shape[:-1]), g.shape[-1])
        gx = kern.matmul(g2, self.w).reshape(self.x_shape) if self.needs_input_grad[0] else None
        gw = kern.matmul(g2, self.x2, trans_a=True) if self.needs_input_grad[1] else None
        if len(self.needs_input_grad) == 3:
            return gx, gw, (g2.sum(axis=0) if self.needs_input_grad[2] else None)
        return gx, gw


class Embedding(Function):
    """y = weight[ids].  ids: int64 (*), weight: (V, D) -> y: (*, D).

    dweight[v] = sum of g over the positions whose id is v (zero for ``padding_idx``).
    """

    def forward(self, weight, ids=None, padding_idx=None):
        self.ids, self.shape, self.padding_idx = ids, weight.shape, padding_idx
        return weight[ids]

    def backward(self, g):
        xp = array_module(g)
        gw = xp.zeros(self.shape, dtype=g.dtype)
        scatter_add(gw, self.ids.reshape(-1), g.reshape(self.ids.size, self.shape[1]))
        if self.padding_idx is not None:
            gw[self.padding_idx] = 0
        return (gw,)


class LayerNorm(Function):
    """Normalise over the last ``n`` axes, then scale and shift.

    xhat = (x - mean) / sqrt(var + eps)   (biased variance over those axes)
    y    = xhat * weight + bias
    dx   = (gxhat - mean(gxhat) - xhat * mean(gxhat * xhat)) / sqrt(var + eps),  gxhat = g * weight
    """

    def forward(self, x, *affine, n_axes=1, eps=1e-5, has_weight=True, has_bias=True):
        xp = array_module(x)
        axes = tuple(range(x.ndim - n_axes, x.ndim))
        self.axes, self.batch_axes = axes, tuple(range(x.ndim - n_axes))
        mean = x.mean(axis=axes, keepdims=True)
        centered = x - mean
        var = (centered * centered).mean(axis=axes, keepdims=True)
        self.inv_std = 1 / xp.sqrt(var + x.dtype.type(eps))
        self.xhat = centered * self.inv_std
        self.weight = affine[0] if has_weight else None
        self.has_bias = has_bias
        y = self.xhat * self.weight if has_weight else self.xhat.copy()
        if has_bias:
            y += affine[-1]
        return y

    def backward(self, g):
        axes, xhat = self.axes, self.xhat
        gxhat = g * self.weight if self.weight is not None else g
        gx = None
        if self.needs_input_grad[0]:
            gx = (
                gxhat
                - gxhat.mean(axis=axes, keepdims=True)
                - xhat * (gxhat * xhat).mean(axis=axes, keepdims=True)
            ) * self.inv_std
        grads = [gx]
        if self.weight is not None:
            grads.append((g * xhat).sum(axis=self.batch_axes) if self.needs_input_grad[1] else None)
        if self.has_bias:
            grads.append(g.sum(axis=self.batch_axes) if self.needs_input_grad[-1] else None)
        return tuple(grads)


class Dropout(Function):
    """y = x * mask / (1 - p), mask ~ Bernoulli(1 - p);  dx = g * mask / (1 - p)."""

    def forward(self, x, p=0.5):
        keep = rng.random(x.shape, array_module(x)) >= p  # drawn on x's device
        scale = x.dtype.type(0.0 if p >= 1 else 1.0 / (1.0 - p))
        self.mask = keep * scale
        return x * self.mask

    def backward(self, g):
        return (g * self.mask,)


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
        return xp.broadcast_to(g, self.loss_shape)


class CrossEntropy(_Loss):
    """loss_i = -log softmax(logits_i)[target_i].  logits: (N, C), target: int64 (N,).

    Soft targets (float (N, C) class probabilities) give loss_i = -sum_c t_ic log p_ic.
    dlogits_i = g_i * (softmax(logits_i) - onehot(target_i))  (rows with ``ignore_index`` get 0);
    the mean is over the rows that are not ignored, as PyTorch.
    """

    def forward(self, logits, target, reduction="mean", ignore_index=-100, soft=False):
        xp = array_module(logits)
        self.table = None
        if not soft and target.dtype == np.int64:
            # class targets: one fused kernel call each way (csrc/loss.c or its NumPy twin)
            table = kernels_for(logits)
            if hasattr(table, "softmax_xent_forward"):
                self.table, self.soft, self.target = table, False, target
                self.ignore_index = int(ignore_index)
                self.logp, losses = table.softmax_xent_forward(logits, target, self.ignore_index)
                count = target.shape[0] - int(xp.count_nonzero(target == ignore_index))
                return self.reduce(losses, reduction, count=count)
        shifted = logits - logits.max(axis=1, keepdims=True)
        self.logp = shifted - xp.log(xp.exp(shifted).sum(axis=1, keepdims=True))
        self.soft, self.target = soft, target
        if soft:
            return self.reduce(-(target * self.logp).sum(axis=1), reduction)
        self.valid = target != ignore_index
        safe_target = xp.where(self.valid, target, 0)
        self.safe_target = safe_target
        picked = xp.take_along_axis(self.logp, safe_target[:, None], axis=1)[:, 0]
        losses = xp.where(self.valid, -picked, logits.dtype.type(0))
        return self.reduce(losses, reduction, count=int(self.valid.sum()))

    def backward(self, g):
        xp = array_module(g)
        if self.table is not None:
            g_rows = xp.ascontiguousarray(self.expand(g), dtype=self.logp.dtype)
            return self.table.softmax_xent_backward(self.logp, self.target, self.ignore_index,
                                                    g_rows), None
        g = self.expand(g)[:, None]
        probs = xp.exp(self.logp)
        if self.soft:
            t = self.target
            glogits = g * (probs * t.sum(axis=1, keepdims=True) - t)
            gtarget = -g * self.logp if self.needs_input_grad[1] else None
            return glogits, gtarget
        grad = probs
        rows = xp.arange(grad.shape[0])
        grad[rows, self.safe_target] -= 1
        grad *= g * self.valid[:, None]
        return grad, None


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
