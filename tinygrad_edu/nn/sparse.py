"""Embedding: a lookup table of learned vectors, one per token id."""
from __future__ import annotations

import numpy as np

from ..autograd import no_grad
from ..tensor import Tensor
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter

__all__ = ["Embedding"]


class Embedding(Module):
    """ids -> rows of ``weight``.

    ids: int64 (*) with values in [0, num_embeddings) -> (*, embedding_dim) in weight's dtype.
    Parameter: ``weight`` (num_embeddings, embedding_dim), initialised N(0, 1) as PyTorch, with
    the ``padding_idx`` row (if given; negative counts from the end) set to zero. That row
    receives no gradient, so it stays as it is during training.
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None, _weight=None,
                 _freeze: bool = False):
        super().__init__()
        if num_embeddings <= 0 or embedding_dim <= 0:
            raise ValueError(f"Embedding: sizes must be positive, got {num_embeddings} x {embedding_dim}")
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(f"Embedding: padding_idx {padding_idx} must lie in [-{num_embeddings}, {num_embeddings})")
            padding_idx = padding_idx % num_embeddings
        self.num_embeddings, self.embedding_dim, self.padding_idx = int(num_embeddings), int(embedding_dim), padding_idx
        if _weight is None:
            self.weight = Parameter(np.empty((num_embeddings, embedding_dim), dtype=np.float32))
            self.reset_parameters()
        else:
            weight = _weight if isinstance(_weight, Tensor) else Tensor(np.asarray(_weight))
            if weight.shape != (num_embeddings, embedding_dim):
                raise ValueError(f"Embedding: _weight has shape {weight.shape}, expected {(num_embeddings, embedding_dim)}")
            self.weight = Parameter(weight.numpy().copy(), requires_grad=not _freeze)

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        if self.padding_idx is not None:
            with no_grad():
                self.weight.data[self.padding_idx] = 0

    @classmethod
    def from_pretrained(cls, embeddings, freeze: bool = True, padding_idx: int | None = None) -> "Embedding":
        """An Embedding holding a copy of ``embeddings`` ((V, D) float array or Tensor).

        freeze=True (default) makes the weight not trainable. As in PyTorch the padding row is
        not zeroed here, only excluded from gradients.
        """
        shape = tuple(np.shape(embeddings.numpy() if isinstance(embeddings, Tensor) else embeddings))
        if len(shape) != 2:
            raise ValueError(f"Embedding.from_pretrained: embeddings must be 2-D (V, D), got shape {shape}")
        return cls(shape[0], shape[1], padding_idx=padding_idx, _weight=embeddings, _freeze=freeze)

    def forward(self, ids):
        return F.embedding(ids, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            text += f", padding_idx={self.padding_idx}"
        return text
