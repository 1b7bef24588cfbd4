"""Dropout: regularisation by zeroing random activations while training."""
from __future__ import annotations

from . import functional as F
from .module import Module

__all__ = ["Dropout", "Dropout2d"]


class Dropout(Module):
    """In training mode zero each element with probability ``p`` and scale the others by
    1 / (1 - p) (the mask comes from ``rng.generator()``); in eval mode return x unchanged.
    x: float32/float64, any shape -> same shape."""

    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: probability p must be in [0, 1], got {p}")
        self.p, self.inplace = float(p), inplace

    def forward(self, x):
        return F.dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Dropout2d(Module):
    """Channel dropout: in training mode zero each whole (sample, channel) plane with
    probability ``p`` and scale the others by 1 / (1 - p); identity in eval mode.
    x: (N, C, H, W) (or (N, C, L)) -> same shape."""

    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout2d: probability p must be in [0, 1], got {p}")
        self.p, self.inplace = float(p), inplace

    def forward(self, x):
        return F.dropout2d(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"
