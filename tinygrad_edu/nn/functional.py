"""tinygrad_edu.nn.functional: the stateless building blocks of layers and losses.

Names, arguments and defaults follow ``torch.nn.functional``. Every function checks its inputs
first and raises ValueError/TypeError naming the shapes and dtypes involved, so no kernel ever
sees a bad shape.
"""
from __future__ import annotations

import math

import numpy as np

from ..device import is_cupy_array
from ..ops import elementwise as E
from ..ops import nn as NNOps
from ..ops.conv import Conv2d, conv_output_size, pair
from ..ops.pool import AvgPool2d, MaxPool2d
from ..tensor import Tensor, where

__all__ = [
    "relu", "leaky_relu", "gelu", "sigmoid", "tanh", "softmax", "log_softmax", "linear",
    "conv2d", "max_pool2d", "avg_pool2d", "pad", "dropout", "embedding", "layer_norm",
    "scaled_dot_product_attention", "cross_entropy", "nll_loss", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "mse_loss", "l1_loss",
]


def _tensor(x, name: str, op: str, device=None) -> Tensor:
    """``x`` as a Tensor; arrays, lists and numbers are put on ``device`` (default: the CPU)."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (np.ndarray, list, tuple, float, int)) or is_cupy_array(x):
        return Tensor(x, device=device)
    raise TypeError(f"{op}: {name} must be a Tensor, got {type(x).__name__}")


def _float(x, name: str, op: str) -> Tensor:
    x = _tensor(x, name, op)
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: {name} must be float32 or float64, got {x.dtype} with shape {x.shape}")
    return x


def _same_device(op: str, **tensors) -> None:
    """ValueError naming each tensor's device unless all given tensors share one device."""
    items = [(k, t) for k, t in tensors.items() if t is not None]
    if len({t.device for _, t in items}) > 1:
        desc = ", ".join(f"{k} {t.shape} on {t.device}" for k, t in items)
        raise ValueError(f"{op}: inputs are on different devices: {desc}; move them with .to()")


def _same_dtype(op: str, **tensors) -> None:
    arrays = [t.data for t in tensors.values() if t is not None]
    if arrays:  # the common case, checked without building sets: one dtype, all on the CPU
        dtype = arrays[0].dtype
        if all(type(a) is np.ndarray and a.dtype == dtype for a in arrays):
            return
    items = [(k, t) for k, t in tensors.items() if t is not None]
    dtypes = {t.dtype for _, t in items}
    if len(dtypes) > 1:
        desc = ", ".join(f"{k} {t.dtype} {t.shape}" for k, t in items)
        raise TypeError(f"{op}: inputs must share one dtype, got {desc}")
    devices = {t.device for _, t in items}
    if len(devices) > 1:
        desc = ", ".join(f"{k} on {t.device}" for k, t in items)
        raise ValueError(f"{op}: inputs are on different devices: {desc}")


# ------------------------------------------------------------------------------ activations
def relu(x: Tensor) -> Tensor:
    """max(x, 0), elementwise. Any shape."""
    return _tensor(x, "x", "relu").relu()


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    """x if x > 0 else negative_slope * x. Any shape."""
    return E.LeakyReLU.apply(_float(x, "x", "leaky_relu"), negative_slope=float(negative_slope))


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """x * Phi(x) with the exact normal CDF (erf), or its tanh approximation. Any shape."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return E.GELU.apply(_float(x, "x", "gelu"), approximate=approximate)


def sigmoid(x: Tensor) -> Tensor:
    """1 / (1 + e^-x), computed without overflow. Any shape."""
    return _tensor(x, "x", "sigmoid").sigmoid()


def tanh(x: Tensor) -> Tensor:
    """Hyperbolic tangent, elementwise. Any shape."""
    return _tensor(x, "x", "tanh").tanh()


def softmax(x: Tensor, axis: int = -1, *, dim=None) -> Tensor:
    """exp(x) / sum(exp(x)) along ``axis``, shifted by the max so that it never overflows.
    Any shape; returns x's shape."""
    return _tensor(x, "x", "softmax").softmax(axis if dim is None else dim)


def log_softmax(x: Tensor, axis: int = -1, *, dim=None) -> Tensor:
    """x - logsumexp(x) along ``axis`` (stable for logits of any size). Any shape; returns x's shape."""
    return _tensor(x, "x", "log_softmax").log_softmax(axis if dim is None else dim)


# ------------------------------------------------------------------------------ layers
def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x @ weight.T + bias.  x: (*, in), weight: (out, in), bias: (out,) -> (*, out)."""
    x, weight = _float(x, "x", "linear"), _float(weight, "weight", "linear")
    if weight.ndim != 2:
        raise ValueError(f"linear: weight must be 2-D (out, in), got shape {weight.shape}")
    if x.ndim < 1 or x.shape[-1] != weight.shape[1]:
        raise ValueError(
            f"linear: input {x.shape} has {x.shape[-1] if x.ndim else 0} features, "
            f"weight {weight.shape} expects {weight.shape[1]}"
        )
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ValueError(f"linear: bias shape {bias.shape} should be ({weight.shape[0]},) for weight {weight.shape}")
    _same_dtype("linear", x=x, weight=weight, bias=bias)
    if bias is None:
        return NNOps.Linear.apply(x, weight)
    return NNOps.Linear.apply(x, weight, bias)


def conv2d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0) -> Tensor:
    """2-D cross-correlation.

    x: (N, C, H, W) (or (C, H, W)), weight: (O, C, KH, KW), bias: (O,) ->
    (N, O, OH, OW) with OH = (H + 2 * padding - KH) // stride + 1.
    """
    x, weight = _float(x, "x", "conv2d"), _float(weight, "weight", "conv2d")
    if x.ndim == 3:
        return conv2d(x.unsqueeze(0), weight, bias, stride, padding)[0]
    stride, padding = pair(stride, "stride", "conv2d"), pair(padding, "padding", "conv2d")
    if x.ndim != 4 or weight.ndim != 4:
        raise ValueError(f"conv2d: expected x (N, C, H, W) and weight (O, C, KH, KW), got {x.shape} and {weight.shape}")
    if x.shape[1] != weight.shape[1]:
        raise ValueError(
            f"conv2d: x {x.shape} has {x.shape[1]} channels but weight {weight.shape} expects {weight.shape[1]}"
        )
    if min(stride) < 1 or min(padding) < 0:
        raise ValueError(f"conv2d: stride {stride} must be >= 1 and padding {padding} >= 0")
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ValueError(f"conv2d: bias shape {bias.shape} should be ({weight.shape[0]},)")
    _same_dtype("conv2d", x=x, weight=weight, bias=bias)
    kh, kw = weight.shape[2:]
    oh = conv_output_size(x.shape[2], kh, stride[0], padding[0])
    ow = conv_output_size(x.shape[3], kw, stride[1], padding[1])
    if oh < 1 or ow < 1 or kh < 1 or kw < 1:
        raise ValueError(
            f"conv2d: kernel {(kh, kw)} with padding {padding} does not fit input {x.shape} "
            f"(output would be {oh}x{ow})"
        )
    if bias is None:
        return Conv2d.apply(x, weight, stride=stride, padding=padding)
    return Conv2d.apply(x, weight, bias, stride=stride, padding=padding)


def _pool_args(x, kernel_size, stride, padding, op):
    x = _float(x, "x", op)
    kernel = pair(kernel_size, "kernel_size", op)
    stride = kernel if stride is None else pair(stride, "stride", op)
    padding = pair(padding, "padding", op)
    if x.ndim != 4:
        raise ValueError(f"{op}: expected x of shape (N, C, H, W), got {x.shape}")
    if min(kernel) < 1 or min(stride) < 1 or min(padding) < 0:
        raise ValueError(f"{op}: kernel {kernel} and stride {stride} must be >= 1, padding {padding} >= 0")
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise ValueError(f"{op}: padding {padding} must be at most half of kernel {kernel}")
    oh = conv_output_size(x.shape[2], kernel[0], stride[0], padding[0])
    ow = conv_output_size(x.shape[3], kernel[1], stride[1], padding[1])
    if oh < 1 or ow < 1:
        raise ValueError(f"{op}: kernel {kernel} with padding {padding} does not fit input {x.shape}")
    return x, kernel, stride, padding


def max_pool2d(x: Tensor, kernel_size, stride=None, padding=0) -> Tensor:
    """Largest value of each (kh, kw) window. x: (N, C, H, W) -> (N, C, OH, OW); stride defaults to kernel_size."""
    if isinstance(x, Tensor) and x.ndim == 3:
        return max_pool2d(x.unsqueeze(0), kernel_size, stride, padding)[0]
    x, kernel, stride, padding = _pool_args(x, kernel_size, stride, padding, "max_pool2d")
    return MaxPool2d.apply(x, kernel_size=kernel, stride=stride, padding=padding)


def avg_pool2d(x: Tensor, kernel_size, stride=None, padding=0) -> Tensor:
    """Mean of each window, padding counted in the divisor. x: (N, C, H, W) -> (N, C, OH, OW)."""
    if isinstance(x, Tensor) and x.ndim == 3:
        return avg_pool2d(x.unsqueeze(0), kernel_size, stride, padding)[0]
    x, kernel, stride, padding = _pool_args(x, kernel_size, stride, padding, "avg_pool2d")
    return AvgPool2d.apply(x, kernel_size=kernel, stride=stride, padding=padding)


def pad(x: Tensor, pad, mode: str = "constant", value: float = 0.0) -> Tensor:
    """PyTorch-style padding: ``pad`` = (left, right) for the last axis, then (top, bottom) for
    the one before, and so on. Only ``mode="constant"``. (``Tensor.pad`` takes NumPy-style widths.)
    x: any shape; the padded axes grow by before + after: (N, C, H, W) with pad=(1, 1, 2, 2) ->
    (N, C, H + 4, W + 2)."""
    x = _tensor(x, "x", "pad")
    if mode != "constant":
        raise ValueError(f"pad: only mode='constant' is supported, got {mode!r}")
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(f"pad: {pad} must hold one (before, after) pair per padded axis of {x.shape}")
    widths = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        widths[x.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    return x.pad(widths, value=value)


def dropout(x: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Zero each element with probability p and scale the rest by 1/(1-p) (identity when not training).
    Any shape; returns x's shape."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: probability p must be in [0, 1], got {p}")
    x = _float(x, "x", "dropout")
    if not training or p == 0.0:
        return x
    return NNOps.Dropout.apply(x, p=float(p))


def embedding(ids, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """Rows of ``weight`` picked by ``ids``.  ids: int64 (*), weight: (V, D) -> (*, D)."""
    weight = _float(weight, "weight", "embedding")
    if not isinstance(ids, Tensor):
        ids = Tensor(ids if is_cupy_array(ids) else np.asarray(ids), device=weight.device)
    _same_device("embedding", ids=ids, weight=weight)
    if ids.dtype.kind not in "iu":
        raise TypeError(f"embedding: ids must be integers, got {ids.dtype} with shape {ids.shape}")
    if weight.ndim != 2:
        raise ValueError(f"embedding: weight must be (num_embeddings, dim), got {weight.shape}")
    vocab = weight.shape[0]
    if ids.numel() and (int(ids.data.min()) < 0 or int(ids.data.max()) >= vocab):
        raise IndexError(
            f"embedding: ids must lie in [0, {vocab}) for weight {weight.shape}, "
            f"got values in [{int(ids.data.min())}, {int(ids.data.max())}]"
        )
    if padding_idx is not None and padding_idx < 0:
        padding_idx += vocab
    return NNOps.Embedding.apply(weight, ids=ids.data, padding_idx=padding_idx)


def layer_norm(x: Tensor, normalized_shape, weight=None, bias=None, eps: float = 1e-5) -> Tensor:
    """Normalise over the trailing ``normalized_shape`` axes, then ``* weight + bias``.
    x: (*, *normalized_shape), weight, bias: normalized_shape -> x's shape."""
    x = _float(x, "x", "layer_norm")
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if x.shape[x.ndim - len(shape):] != shape or len(shape) > x.ndim:
        raise ValueError(f"layer_norm: input {x.shape} does not end with normalized_shape {shape}")
    for name, p in (("weight", weight), ("bias", bias)):
        if p is not None and p.shape != shape:
            raise ValueError(f"layer_norm: {name} shape {p.shape} should be {shape}")
    _same_dtype("layer_norm", x=x, weight=weight, bias=bias)
    affine = [p for p in (weight, bias) if p is not None]
    return NNOps.LayerNorm.apply(
        x, *affine, n_axes=len(shape), eps=float(eps), has_weight=weight is not None, has_bias=bias is not None
    )


def scaled_dot_product_attention(q, k, v, attn_mask=None, dropout_p: float = 0.0, is_causal: bool = False,
                                 scale: float | None = None, training: bool = True) -> Tensor:
    """softmax(q @ k^T * scale + mask) @ v.

    q: (*, L, E), k: (*, S, E), v: (*, S, Ev) -> (*, L, Ev); scale defaults to 1/sqrt(E).
    attn_mask: bool (True = may attend, as PyTorch) or float (added to the scores),
    broadcastable to (*, L, S). is_causal: position i attends to positions <= i.
    """
    q, k, v = (_float(t, n, "scaled_dot_product_attention") for t, n in ((q, "q"), (k, "k"), (v, "v")))
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise ValueError(
            f"scaled_dot_product_attention: q {q.shape}, k {k.shape}, v {v.shape}: need q[-1] == k[-1] "
            f"and k[-2] == v[-2]"
        )
    _same_dtype("scaled_dot_product_attention", q=q, k=k, v=v)
    L, S = q.shape[-2], k.shape[-2]
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    scores = (q @ k.transpose(-2, -1)) * scale
    if is_causal:
        if attn_mask is not None:
            raise ValueError("scaled_dot_product_attention: give attn_mask or is_causal, not both")
        attn_mask = Tensor(np.tril(np.ones((L, S), dtype=bool)), device=q.device)
    if attn_mask is not None:
        mask = attn_mask if isinstance(attn_mask, Tensor) else Tensor(
            attn_mask if is_cupy_array(attn_mask) else np.asarray(attn_mask), device=q.device)
        _same_device("scaled_dot_product_attention", q=q, attn_mask=mask)
        try:
            np.broadcast_shapes(mask.shape, scores.shape)
        except ValueError:
            raise ValueError(f"scaled_dot_product_attention: mask {mask.shape} does not broadcast to scores {scores.shape}") from None
        if mask.dtype == np.bool_:
            scores = where(mask, scores, float("-inf"))
        else:
            scores = scores + mask.astype(scores.dtype)
    weights = scores.softmax(-1)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p, training)
    return weights @ v


# ------------------------------------------------------------------------------ losses
_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(reduction, op):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _class_axis_last(logits: Tensor, target: Tensor):
    """(N, C, d1, ...) logits and (N, d1, ...) targets -> (N*d1*..., C) and (N*d1*...,)."""
    c = logits.shape[1]
    perm = (0,) + tuple(range(2, logits.ndim)) + (1,)
    return logits.permute(*perm).reshape(-1, c), target.reshape(-1)


def cross_entropy(logits, target, reduction: str = "mean", ignore_index: int = -100) -> Tensor:
    """-log softmax(logits)[target], averaged over the batch.

    logits: (N, C) or (N, C, d1, ...) float; target: int64 class indices (N,) / (N, d1, ...)
    (entries equal to ``ignore_index`` are skipped), or float class probabilities shaped like
    logits. Stable for logits of any size (log-sum-exp).
    """
    _check_reduction(reduction, "cross_entropy")
    logits = _float(logits, "logits", "cross_entropy")
    target = _tensor(target, "target", "cross_entropy", device=logits.device)
    _same_device("cross_entropy", logits=logits, target=target)
    if logits.ndim == 1:
        logits = logits.unsqueeze(0)
        target = target.reshape(1) if target.dtype.kind in "iu" else target.unsqueeze(0)
        out = cross_entropy(logits, target, reduction, ignore_index)
        return out[0] if reduction == "none" else out
    if target.dtype.kind == "f":
        if target.shape != logits.shape:
            raise ValueError(f"cross_entropy: probability target {target.shape} must match logits {logits.shape}")
        _same_dtype("cross_entropy", logits=logits, target=target)
        out_shape = (logits.shape[0],) + logits.shape[2:]
        flat_logits, flat_target = logits, target
        if logits.ndim > 2:
            perm = (0,) + tuple(range(2, logits.ndim)) + (1,)
            flat_logits = logits.permute(*perm).reshape(-1, logits.shape[1])
            flat_target = target.permute(*perm).reshape(-1, logits.shape[1])
        out = NNOps.CrossEntropy.apply(flat_logits, flat_target, reduction=reduction, soft=True)
        return out.reshape(out_shape) if reduction == "none" else out
    if target.dtype.kind not in "iu":
        raise TypeError(f"cross_entropy: target must hold int64 class indices, got {target.dtype}")
    expected = (logits.shape[0],) + logits.shape[2:]
    if target.shape != expected:
        raise ValueError(f"cross_entropy: logits {logits.shape} need target of shape {expected}, got {target.shape}")
    _check_classes(target, logits.shape[1], ignore_index, "cross_entropy")
    flat_logits, flat_target = _class_axis_last(logits, target) if logits.ndim > 2 else (logits, target)
    out = NNOps.CrossEntropy.apply(flat_logits, flat_target, reduction=reduction, ignore_index=ignore_index)
    return out.reshape(expected) if reduction == "none" else out


def _check_classes(target: Tensor, n_classes: int, ignore_index: int, op: str) -> None:
    t = target.numpy()
    if t.size and 0 <= t.min() and t.max() < n_classes:  # every entry a class: no mask needed
        return
    valid = t[t != ignore_index]
    if valid.size and (valid.min() < 0 or valid.max() >= n_classes):
        raise IndexError(f"{op}: target values must lie in [0, {n_classes}), got [{valid.min()}, {valid.max()}]")


def nll_loss(logp, target, reduction: str = "mean", ignore_index: int = -100) -> Tensor:
    """-logp[target]: the loss for log-probabilities. logp: (N, C) [or (N, C, d...)], target: int64 (N,) [(N, d...)]."""
    _check_reduction(reduction, "nll_loss")
    logp = _float(logp, "input", "nll_loss")
    target = _tensor(target, "target", "nll_loss", device=logp.device)
    _same_device("nll_loss", input=logp, target=target)
    if target.dtype.kind not in "iu":
        raise TypeError(f"nll_loss: target must hold int64 class indices, got {target.dtype}")
    if logp.ndim < 2:
        raise ValueError(f"nll_loss: input must be (N, C), got {logp.shape}")
    expected = (logp.shape[0],) + logp.shape[2:]
    if target.shape != expected:
        raise ValueError(f"nll_loss: input {logp.shape} needs target of shape {expected}, got {target.shape}")
    _check_classes(target, logp.shape[1], ignore_index, "nll_loss")
    flat_logp, flat_target = _class_axis_last(logp, target) if logp.ndim > 2 else (logp, target)
    out = NNOps.NLL.apply(flat_logp, flat_target, reduction=reduction, ignore_index=ignore_index)
    return out.reshape(expected) if reduction == "none" else out


def _pair_loss_args(a, b, op, same_shape=True):
    a = _float(a, "input", op)
    b = _tensor(b, "target", op, device=a.device)
    _same_device(op, input=a, target=b)
    if b.dtype != a.dtype:
        b = b.astype(a.dtype)
    if same_shape and a.shape != b.shape:
        raise ValueError(f"{op}: input {a.shape} and target {b.shape} must have the same shape")
    return a, b


def binary_cross_entropy(p, target, reduction: str = "mean") -> Tensor:
    """-(t log p + (1 - t) log(1 - p)) for probabilities p in [0, 1] (logs clamped at -100).
    p, target: the same shape (any); returns a scalar, or p's shape with reduction="none"."""
    _check_reduction(reduction, "binary_cross_entropy")
    p, target = _pair_loss_args(p, target, "binary_cross_entropy")
    return NNOps.BinaryCrossEntropy.apply(p, target, reduction=reduction)


def binary_cross_entropy_with_logits(logits, target, reduction: str = "mean") -> Tensor:
    """binary_cross_entropy(sigmoid(logits), target) computed stably from the logits.
    logits, target: the same shape (any); returns a scalar, or that shape with reduction="none"."""
    _check_reduction(reduction, "binary_cross_entropy_with_logits")
    logits, target = _pair_loss_args(logits, target, "binary_cross_entropy_with_logits")
    return NNOps.BinaryCrossEntropyWithLogits.apply(logits, target, reduction=reduction)


def mse_loss(input, target, reduction: str = "mean") -> Tensor:
    """(input - target)^2, averaged by default. Shapes must broadcast."""
    _check_reduction(reduction, "mse_loss")
    a, b = _pair_loss_args(input, target, "mse_loss", same_shape=False)
    try:
        np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(f"mse_loss: input {a.shape} and target {b.shape} do not broadcast") from None
    return NNOps.MSE.apply(a, b, reduction=reduction)


def l1_loss(input, target, reduction: str = "mean") -> Tensor:
    """|input - target|, averaged by default."""
    _check_reduction(reduction, "l1_loss")
    a, b = _pair_loss_args(input, target, "l1_loss", same_shape=False)
    losses = (a - b).abs()
    return losses if reduction == "none" else losses.sum() if reduction == "sum" else losses.mean()
