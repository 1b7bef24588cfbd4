"""Losses of nn.functional. Every loss takes ``reduction="mean"|"sum"|"none"``."""
from __future__ import annotations

import numpy as np

from ...ops import nn as NNOps
from ...tensor import Tensor
from ._checks import _float, _same_device, _same_dtype, _tensor

_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(reduction, op):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _class_axis_last(logits: Tensor, target: Tensor):
    """(N, C, d1, ...) logits and (N, d1, ...) targets -> (N*d1*..., C) and (N*d1*...,)."""
    c = logits.shape[1]
    perm = (0,) + tuple(range(2, logits.ndim)) + (1,)
    return logits.permute(*perm).reshape(-1, c), target.reshape(-1)


def cross_entropy(logits, target, reduction: str = "mean", ignore_index: int = -100, *,
                  label_smoothing: float = 0.0) -> Tensor:
    """-log softmax(logits)[target], averaged over the batch.

    logits: (N, C) or (N, C, d1, ...) float; target: int64 class indices (N,) / (N, d1, ...)
    (entries equal to ``ignore_index`` are skipped), or float class probabilities shaped like
    logits. Stable for logits of any size (log-sum-exp). ``label_smoothing`` = s in [0, 1]
    mixes the target with the uniform distribution: (1 - s) * target + s / C, as PyTorch.
    """
    _check_reduction(reduction, "cross_entropy")
    logits = _float(logits, "logits", "cross_entropy")
    target = _tensor(target, "target", "cross_entropy", device=logits.device)
    _same_device("cross_entropy", logits=logits, target=target)
    if logits.ndim == 0:
        raise ValueError(f"cross_entropy: logits must be (C,), (N, C) or (N, C, d...), got a 0-d tensor "
                         f"(shape ()) with target {target.shape}")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    if label_smoothing > 0.0:
        return _smoothed_cross_entropy(logits, target, reduction, ignore_index, float(label_smoothing))
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


def _smoothed_cross_entropy(logits, target, reduction, ignore_index, s):
    """Cross-entropy against (1 - s) * target + s / C, built from the unsmoothed loss:
    loss_i = (1 - s) * ce_i + s * mean_c(-log p_ic), with ignored entries dropped (the mean
    divides by the number of entries kept)."""
    c = logits.shape[1] if logits.ndim > 1 else logits.shape[0]
    if target.dtype.kind == "f":
        return cross_entropy(logits, target * (1.0 - s) + s / c, reduction)
    hard = cross_entropy(logits, target, "none", ignore_index)
    uniform = -logits.log_softmax(axis=1 if logits.ndim > 1 else 0).mean(axis=1 if logits.ndim > 1 else 0)
    keep = (target.numpy() != ignore_index).astype(logits.dtype)
    losses = (hard * (1.0 - s) + uniform * s) * Tensor(keep, device=logits.device)
    if reduction == "none":
        return losses
    if reduction == "sum":
        return losses.sum()
    return losses.sum() / float(keep.sum())


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
    p, target: the same shape (any); returns a scalar, or p's shape with reduction="none".
    A p outside [0, 1] (or NaN) raises ValueError, as PyTorch raises."""
    _check_reduction(reduction, "binary_cross_entropy")
    p, target = _pair_loss_args(p, target, "binary_cross_entropy")
    if p.numel():
        lo, hi = float(p.data.min()), float(p.data.max())
        if not (0.0 <= lo and hi <= 1.0):  # also catches NaN, as PyTorch does
            raise ValueError(
                f"binary_cross_entropy: all elements of input should be between 0 and 1, got values in "
                f"[{lo}, {hi}] (input shape {p.shape}); use binary_cross_entropy_with_logits for logits"
            )
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
