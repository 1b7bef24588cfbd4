"""TransformerClassifier: a small encoder-only Transformer for sequence classification."""
from __future__ import annotations

import numpy as np

from .. import nn
from ..tensor import Tensor

__all__ = ["TransformerClassifier"]


class TransformerClassifier(nn.Module):
    """Token + learned position embeddings -> TransformerEncoder -> mean over real tokens -> Linear.

    TransformerClassifier(vocab_size, num_classes, d_model=128, nhead=4, num_layers=2,
                          dim_feedforward=512, max_len=512, dropout=0.1, padding_idx=0)
    forward(ids): ids (N, T) int64, T <= max_len -> logits (N, num_classes) (float32).
    Positions whose id is ``padding_idx`` are masked out of attention
    (src_key_padding_mask = ids == padding_idx) and left out of the mean; padding_idx=None
    means no padding. A sequence made of padding only gives NaN, as in PyTorch.
    Submodules: ``token_embedding``, ``position_embedding``, ``dropout``, ``encoder``
    (post-norm layers, batch_first), ``fc``.
    """

    def __init__(self, vocab_size: int, num_classes: int, d_model: int = 128, nhead: int = 4, num_layers: int = 2,
                 dim_feedforward: int = 512, max_len: int = 512, dropout: float = 0.1, padding_idx: int | None = 0):
        super().__init__()
        self.max_len, self.padding_idx = max_len, padding_idx
        self.token_embedding = nn.Embedding(vocab_size, d_model, padding_idx=padding_idx)
        self.position_embedding = nn.Embedding(max_len, d_model)
        self.dropout = nn.Dropout(dropout)
        layer = nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers)
        self.fc = nn.Linear(d_model, num_classes)

    def forward(self, ids):
        if not isinstance(ids, Tensor):
            ids = Tensor(np.asarray(ids), device=self.fc.weight.device)
        if ids.ndim != 2:
            raise ValueError(f"TransformerClassifier: ids should be (N, T) int64, got shape {ids.shape}")
        n, t = ids.shape
        if t > self.max_len:
            raise ValueError(f"TransformerClassifier: sequence length {t} exceeds max_len={self.max_len}")
        positions = Tensor(np.arange(t, dtype=np.int64), device=ids.device)
        x = self.dropout(self.token_embedding(ids) + self.position_embedding(positions))  # (N, T, D)
        if self.padding_idx is None:
            return self.fc(self.encoder(x).mean(axis=1))
        padding = ids == self.padding_idx                                               # (N, T) bool
        h = self.encoder(x, src_key_padding_mask=padding)
        keep = (ids != self.padding_idx).astype(h.dtype).reshape(n, t, 1)              # (N, T, 1), on h's device
        pooled = (h * keep).sum(axis=1) / keep.sum(axis=1)                              # (N, D)
        return self.fc(pooled)
