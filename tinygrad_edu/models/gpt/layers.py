"""The layers of GPT-2, with Hugging Face's module tree and parameter names.

One block (pre-LayerNorm, as GPT-2):

    x = x + dropout(c_proj(attention(c_attn(ln_1(x)))))
    x = x + dropout(mlp.c_proj(gelu(mlp.c_fc(ln_2(x)))))

``c_attn`` makes the packed [q | k | v] (B, T, 3E) in one matrix product; the attention op
(``tinygrad_edu.ops.attention``) reads the heads out of it and returns them merged, (B, T, E).
The weights are ``nn.Linear``'s (out, in); Hugging Face's checkpoints store GPT-2's
projections as "Conv1D" (in, out), and the loader transposes them.
"""
from __future__ import annotations

import numpy as np

from ... import nn
from ...nn import functional as F
from ...tensor import Tensor
from .config import GPT2Config

__all__ = ["GPT2Attention", "GPT2MLP", "GPT2Block", "KVCache"]


class KVCache:
    """The keys and values of the tokens seen so far, one buffer per layer.

    buffers[layer]: (B, max_len, 3E) array of the layer's packed projections (the query
    third is kept too, so that the attention kernel reads one layout); ``length`` rows are
    filled. Appending T tokens writes T rows: the cost of a step grows with the number of
    tokens attended to, never with a copy of the whole cache.
    """

    def __init__(self, n_layer: int, batch: int, max_len: int, n_embd: int, dtype, xp=np):
        self.buffers = [xp.zeros((batch, max_len, 3 * n_embd), dtype=dtype) for _ in range(n_layer)]
        self.length = 0
        self.max_len = max_len

    def __repr__(self) -> str:
        b = self.buffers[0] if self.buffers else None
        return f"KVCache(layers={len(self.buffers)}, length={self.length}, max_len={self.max_len}, " \
               f"shape={None if b is None else b.shape})"


class GPT2Attention(nn.Module):
    """Causal multi-head self-attention with its projections: (B, T, E) -> (B, T, E).

    forward(x, cache=None, layer=0): with a KVCache, the T new tokens attend to the cached
    ones too (positions cache.length .. cache.length + T - 1).
    """

    def __init__(self, config: GPT2Config):
        super().__init__()
        E = config.n_embd
        self.n_head = config.n_head
        # scores are q.k / sqrt(head size), or q.k unscaled when the config says so
        self.scale = 1.0 / config.head_size ** 0.5 if config.scale_attn_weights else 1.0
        self.c_attn = nn.Linear(E, 3 * E)
        self.c_proj = nn.Linear(E, E)
        self.resid_dropout = nn.Dropout(config.resid_pdrop)
        self.attn_pdrop = float(config.attn_pdrop)

    def forward(self, x: Tensor, cache: KVCache | None = None, layer: int = 0) -> Tensor:
        qkv = self.c_attn(x)
        slot = None if cache is None else (cache.buffers[layer], cache.length)
        # attention-probability dropout is not applied (the fused op has none): the model
        # trains with attn_pdrop ignored, and in eval mode the results are exact
        return self.resid_dropout(self.c_proj(F.causal_self_attention(qkv, self.n_head, self.scale, cache=slot)))

    def extra_repr(self) -> str:
        return f"n_head={self.n_head}"


class GPT2MLP(nn.Module):
    """The feed-forward part: c_proj(gelu(c_fc(x))), (B, T, E) -> (B, T, E) through n_inner."""

    def __init__(self, config: GPT2Config):
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, config.inner_size)
        self.c_proj = nn.Linear(config.inner_size, config.n_embd)
        self.dropout = nn.Dropout(config.resid_pdrop)
        self.activation_function = config.activation_function

    def forward(self, x: Tensor) -> Tensor:
        h = self.c_fc(x)
        act = self.activation_function
        if act in ("gelu_new", "gelu_pytorch_tanh"):
            h = F.gelu(h, approximate="tanh")     # GPT-2's GELU: the tanh approximation
        elif act == "gelu":
            h = F.gelu(h)
        else:
            h = F.relu(h)
        return self.dropout(self.c_proj(h))

    def extra_repr(self) -> str:
        return f"act={self.activation_function!r}"


class GPT2Block(nn.Module):
    """One pre-LayerNorm decoder block: (B, T, E) -> (B, T, E)."""

    def __init__(self, config: GPT2Config):
        super().__init__()
        E, eps = config.n_embd, config.layer_norm_epsilon
        self.ln_1 = nn.LayerNorm(E, eps=eps)
        self.attn = GPT2Attention(config)
        self.ln_2 = nn.LayerNorm(E, eps=eps)
        self.mlp = GPT2MLP(config)

    def forward(self, x: Tensor, cache: KVCache | None = None, layer: int = 0) -> Tensor:
        x = x + self.attn(self.ln_1(x), cache, layer)
        return x + self.mlp(self.ln_2(x))
