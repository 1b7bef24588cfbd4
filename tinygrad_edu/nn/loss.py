"""Loss modules: thin wrappers that hold the options and call nn.functional.

Every one is called as ``loss_fn(input, target)`` and takes ``reduction="mean"|"sum"|"none"``.
"""
from __future__ import annotations

from ..tensor import Tensor
from . import functional as F
from .module import Module

__all__ = ["CrossEntropyLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss", "MSELoss", "L1Loss"]


class _Loss(Module):
    def __init__(self, reduction: str = "mean"):
        super().__init__()
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(f"{type(self).__name__}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
        self.reduction = reduction

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}" if self.reduction != "mean" else ""


def _reduce(losses: Tensor, reduction: str) -> Tensor:
    if reduction == "none":
        return losses
    return losses.sum() if reduction == "sum" else losses.mean()


def _buffer(value):
    """An optional weight as a Tensor (kept as a buffer, as PyTorch does), or None."""
    if value is None or isinstance(value, Tensor):
        return value
    return Tensor(value)


def _as_weight(weight, like: Tensor) -> Tensor:
    w = weight if isinstance(weight, Tensor) else Tensor(weight)
    return w.astype(like.dtype)


class CrossEntropyLoss(_Loss):
    """-log softmax(logits)[target], from raw logits.

    input: (N, C) or (N, C, d1, ...) float; target: int64 (N,) / (N, d1, ...) class indices
    (entries equal to ``ignore_index`` skipped; the mean is over the others), or float class
    probabilities shaped like the input. ``weight`` and ``label_smoothing`` are refused
    (NotImplementedError).
    """

    def __init__(self, weight=None, ignore_index: int = -100, reduction: str = "mean", label_smoothing: float = 0.0):
        super().__init__(reduction)
        if weight is not None or label_smoothing:
            raise NotImplementedError("CrossEntropyLoss: class weights and label_smoothing are not supported")
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return F.cross_entropy(input, target, reduction=self.reduction, ignore_index=self.ignore_index)


class NLLLoss(_Loss):
    """-input[target] for log-probabilities (put a LogSoftmax before it).

    input: (N, C) or (N, C, d1, ...) float; target: int64 (N,) / (N, d1, ...). ``weight`` is
    refused (NotImplementedError).
    """

    def __init__(self, weight=None, ignore_index: int = -100, reduction: str = "mean"):
        super().__init__(reduction)
        if weight is not None:
            raise NotImplementedError("NLLLoss: class weights are not supported")
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return F.nll_loss(input, target, reduction=self.reduction, ignore_index=self.ignore_index)


class BCELoss(_Loss):
    """-w (t log p + (1 - t) log(1 - p)) for probabilities p (put a Sigmoid before it).

    input, target: the same shape, float; weight (optional): broadcastable to it.
    """

    def __init__(self, weight=None, reduction: str = "mean"):
        super().__init__(reduction)
        self.register_buffer("weight", _buffer(weight))

    def forward(self, input, target):
        if self.weight is None:
            return F.binary_cross_entropy(input, target, reduction=self.reduction)
        losses = F.binary_cross_entropy(input, target, reduction="none")
        return _reduce(losses * _as_weight(self.weight, losses), self.reduction)


class BCEWithLogitsLoss(_Loss):
    """BCELoss(sigmoid(x), t), computed stably from the logits x.

    With ``pos_weight`` (one value per class, broadcast over the last axis) the positive term
    is scaled: -w (pos_weight t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))).
    input (logits), target: the same shape, float.
    """

    def __init__(self, weight=None, reduction: str = "mean", pos_weight=None):
        super().__init__(reduction)
        self.register_buffer("weight", _buffer(weight))
        self.register_buffer("pos_weight", _buffer(pos_weight))

    def forward(self, input, target):
        if self.pos_weight is None:
            losses = F.binary_cross_entropy_with_logits(input, target, reduction="none")
        else:
            x = input
            t = target if isinstance(target, Tensor) else Tensor(target)
            t = t.astype(x.dtype)
            pw = _as_weight(self.pos_weight, x)
            # log sigmoid(x) = -softplus(-x),  log(1 - sigmoid(x)) = -softplus(x),
            # softplus(z) = max(z, 0) + log(1 + e^-|z|)  (never overflows)
            log1p_term = (1 + (-x.abs()).exp()).log()
            softplus_pos = x.relu() + log1p_term          # softplus(x)
            softplus_neg = (-x).relu() + log1p_term       # softplus(-x)
            losses = pw * t * softplus_neg + (1 - t) * softplus_pos
        if self.weight is not None:
            losses = losses * _as_weight(self.weight, losses)
        return _reduce(losses, self.reduction)


class MSELoss(_Loss):
    """(input - target)^2. Shapes must broadcast."""

    def forward(self, input, target):
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """|input - target|. Shapes must broadcast."""

    def forward(self, input, target):
        return F.l1_loss(input, target, reduction=self.reduction)
