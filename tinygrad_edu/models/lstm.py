"""LSTMClassifier: the text classifier of the articles (Embedding -> LSTM -> Linear)."""
from __future__ import annotations

from .. import nn

__all__ = ["LSTMClassifier"]


class LSTMClassifier(nn.Module):
    """Token ids -> Embedding -> LSTM (batch_first) -> last layer's final hidden state -> Linear.

    LSTMClassifier(vocab_size, embedding_dim, hidden_dim, output_dim, num_layers=1,
                   padding_idx=None, dropout=0.0)
    forward(ids): ids (N, T) int64 in [0, vocab_size) -> logits (N, output_dim) (float32).
    The classifier reads h_n[-1], the state after the last time step, so pad sequences at the
    front ("pre" padding, the Keras default) for the last step to be a real token.
    ``dropout`` applies between LSTM layers (num_layers > 1) in training mode.
    Submodules: ``embedding``, ``lstm``, ``fc``.
    """

    def __init__(self, vocab_size: int, embedding_dim: int, hidden_dim: int, output_dim: int,
                 num_layers: int = 1, padding_idx: int | None = None, dropout: float = 0.0):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=padding_idx)
        self.lstm = nn.LSTM(embedding_dim, hidden_dim, num_layers=num_layers, batch_first=True, dropout=dropout)
        self.fc = nn.Linear(hidden_dim, output_dim)

    def forward(self, ids):
        if ids.ndim != 2:
            raise ValueError(f"LSTMClassifier: ids should be (N, T) int64, got shape {ids.shape}")
        _, (h_n, _) = self.lstm(self.embedding(ids))
        return self.fc(h_n[-1])
