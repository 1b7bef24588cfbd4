"""The layers of BERT, with Hugging Face's module tree and parameter names."""
from __future__ import annotations

import math

from ... import nn
from ...tensor import Tensor
from .config import _ACTIVATIONS, BertConfig


class BertEmbeddings(nn.Module):
    """Token + segment + position embeddings, then LayerNorm and dropout.

    input_ids, token_type_ids, position_ids: int64 (N, T) -> (N, T, H).
    """

    def __init__(self, config: BertConfig):
        super().__init__()
        H = config.hidden_size
        self.word_embeddings = nn.Embedding(config.vocab_size, H, padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, H)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, H)
        self.LayerNorm = nn.LayerNorm(H, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, input_ids, token_type_ids, position_ids):
        # the order of the sums is the original's: (word + type) + position
        x = self.word_embeddings(input_ids) + self.token_type_embeddings(token_type_ids)
        x = x + self.position_embeddings(position_ids)
        return self.dropout(self.LayerNorm(x))


class BertSelfAttention(nn.Module):
    """Multi-head scaled dot-product self-attention (the part before the output projection).

    h: (N, T, H), bias: (N, 1, 1, T) additive or None -> context (N, T, H) and the attention
    probabilities (N, heads, T, T).
    """

    def __init__(self, config: BertConfig):
        super().__init__()
        H = config.hidden_size
        self.num_heads, self.head_size = config.num_attention_heads, config.head_size
        self.query = nn.Linear(H, H)
        self.key = nn.Linear(H, H)
        self.value = nn.Linear(H, H)
        self.dropout = nn.Dropout(config.attention_probs_dropout_prob)

    def _heads(self, x: Tensor) -> Tensor:
        """(N, T, H) -> (N, heads, T, d)."""
        N, T, _ = x.shape
        return x.reshape(N, T, self.num_heads, self.head_size).transpose(1, 2)

    def forward(self, h: Tensor, bias: Tensor | None = None):
        N, T, H = h.shape
        q, k, v = self._heads(self.query(h)), self._heads(self.key(h)), self._heads(self.value(h))
        scores = (q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(self.head_size))  # (N, heads, T, T)
        if bias is not None:
            scores = scores + bias  # padded keys get min_float: exp(...) underflows to exactly 0
        probs = scores.softmax(-1)
        context = self.dropout(probs) @ v  # (N, heads, T, d)
        return context.transpose(1, 2).reshape(N, T, H), probs


class BertSelfOutput(nn.Module):
    """Output projection, dropout, residual and LayerNorm: (N, T, H), (N, T, H) -> (N, T, H)."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, x: Tensor, residual: Tensor) -> Tensor:
        return self.LayerNorm(self.dropout(self.dense(x)) + residual)


class BertAttention(nn.Module):
    """Self-attention block: ``self`` (q/k/v and softmax) then ``output`` (projection, add & norm).

    h: (N, T, H) -> (N, T, H) and the attention probabilities (N, heads, T, T).
    """

    def __init__(self, config: BertConfig):
        super().__init__()
        self.self = BertSelfAttention(config)  # the checkpoint's name: attention.self.query...
        self.output = BertSelfOutput(config)

    def forward(self, h: Tensor, bias: Tensor | None = None):
        context, probs = self.self(h, bias)
        return self.output(context, h), probs


class BertIntermediate(nn.Module):
    """The feed-forward expansion: act(dense(x)), (N, T, H) -> (N, T, intermediate_size)."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)
        self.hidden_act = config.hidden_act

    def forward(self, x: Tensor) -> Tensor:
        return _ACTIVATIONS[self.hidden_act](self.dense(x))

    def extra_repr(self) -> str:
        return f"act={self.hidden_act!r}"


class BertOutput(nn.Module):
    """The feed-forward contraction with residual and LayerNorm: (N, T, I), (N, T, H) -> (N, T, H)."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.intermediate_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, x: Tensor, residual: Tensor) -> Tensor:
        return self.LayerNorm(self.dropout(self.dense(x)) + residual)


class BertLayer(nn.Module):
    """One encoder layer (attention block, then feed-forward block), post-LayerNorm.

    h: (N, T, H), bias: (N, 1, 1, T) or None -> (N, T, H) and probabilities (N, heads, T, T).
    """

    def __init__(self, config: BertConfig):
        super().__init__()
        self.attention = BertAttention(config)
        self.intermediate = BertIntermediate(config)
        self.output = BertOutput(config)

    def forward(self, h: Tensor, bias: Tensor | None = None):
        a, probs = self.attention(h, bias)
        return self.output(self.intermediate(a), a), probs


class BertEncoder(nn.Module):
    """``num_hidden_layers`` BertLayers in a ModuleList named ``layer`` (the checkpoint's name)."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.layer = nn.ModuleList([BertLayer(config) for _ in range(config.num_hidden_layers)])

    def forward(self, h: Tensor, bias: Tensor | None = None, output_hidden_states: bool = False,
                output_attentions: bool = False):
        """-> (last (N, T, H), hidden states tuple or None, attentions tuple or None)."""
        states = [h] if output_hidden_states else None
        attentions = [] if output_attentions else None
        for layer in self.layer:
            h, probs = layer(h, bias)
            if states is not None:
                states.append(h)
            if attentions is not None:
                attentions.append(probs)
        return h, (tuple(states) if states is not None else None), (
            tuple(attentions) if attentions is not None else None)


class BertPooler(nn.Module):
    """tanh(dense(h[:, 0])): the [CLS] position's vector, (N, T, H) -> (N, H)."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)

    def forward(self, h: Tensor) -> Tensor:
        return self.dense(h[:, 0]).tanh()
