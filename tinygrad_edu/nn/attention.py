"""MultiheadAttention, with PyTorch's parameters, shapes and mask conventions.

For queries Q (L, E), keys K (S, Ek) and values V (S, Ev) of one sample, with h heads of size
d = E / h:

    q, k, v = Q Wq^T + bq,  K Wk^T + bk,  V Wv^T + bv        (Wq, Wk, Wv: rows of in_proj_weight)
    split each into h heads of width d:  q_j (L, d), k_j (S, d), v_j (S, d)
    A_j = softmax(q_j k_j^T / sqrt(d) + mask)                 (L, S) attention weights
    out = concat_j(A_j v_j) Wo^T + bo                         (L, E)

Masks follow PyTorch's ``nn.MultiheadAttention`` (the opposite of ``scaled_dot_product_attention``
for booleans): a boolean ``attn_mask`` or ``key_padding_mask`` is True where attention is NOT
allowed; a float mask is added to the scores (use -inf to forbid).
"""
from __future__ import annotations

import math

import numpy as np

from ..creation import where
from ..ops.attention import SelfAttention
from ..tensor import Tensor
from . import functional as F
from . import init
from .linear import Linear
from .module import Module
from .parameter import Parameter

__all__ = ["MultiheadAttention"]


def _additive_mask(mask, name: str, dtype, device) -> Tensor:
    """A boolean mask (True = masked out) -> float Tensor with -inf there and 0 elsewhere;
    a float mask -> itself in ``dtype`` (it may carry a gradient)."""
    if not isinstance(mask, Tensor):
        mask = Tensor(np.asarray(mask), device=device)
    if mask.dtype == np.bool_:
        return where(mask, -np.inf, 0.0).astype(dtype)   # on the mask's device: no host round trip
    if mask.dtype.kind != "f":
        raise TypeError(f"MultiheadAttention: {name} must be bool or float, got {mask.dtype} with shape {mask.shape}")
    return mask.astype(dtype)


class MultiheadAttention(Module):
    """Attention with ``num_heads`` heads over ``embed_dim`` features.

    MultiheadAttention(embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False,
                       add_zero_attn=False, kdim=None, vdim=None, batch_first=False)

    forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
            average_attn_weights=True, is_causal=False) -> (output, weights)
        query: (L, N, E) ((N, L, E) with batch_first, or unbatched (L, E)); key: (S, N, kdim);
        value: (S, N, vdim); float32/float64.
        key_padding_mask: (N, S) (unbatched (S,)), bool (True = ignore that key) or float (added).
        attn_mask: (L, S) or (N * num_heads, L, S), bool (True = not allowed) or float (added).
        is_causal: when attn_mask is None, forbid attention to later positions (PyTorch
        requires an explicit attn_mask together with this hint; here it builds one).
        output: like query; weights: (N, L, S) averaged over heads, (N, num_heads, L, S) with
        average_attn_weights=False, None with need_weights=False. A row with every key masked
        gives NaN, as in PyTorch.
    Parameters: ``in_proj_weight`` (3E, E) (when kdim == vdim == E; else ``q_proj_weight``
    (E, E), ``k_proj_weight`` (E, kdim), ``v_proj_weight`` (E, vdim)), ``in_proj_bias`` (3E,),
    ``out_proj.weight`` (E, E), ``out_proj.bias`` (E,). Initialisation as PyTorch: Xavier
    uniform projection weights, zero biases, out_proj.weight as any Linear.
    ``dropout`` drops attention weights in training mode. add_bias_kv and add_zero_attn are
    refused (NotImplementedError).
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim: int | None = None,
                 vdim: int | None = None, batch_first: bool = False):
        super().__init__()
        if add_bias_kv or add_zero_attn:
            raise NotImplementedError("MultiheadAttention: add_bias_kv and add_zero_attn are not supported")
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"MultiheadAttention: embed_dim and num_heads must be positive, got {embed_dim}, {num_heads}")
        if embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim {embed_dim} must be divisible by num_heads {num_heads}")
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"MultiheadAttention: dropout must be in [0, 1], got {dropout}")
        self.embed_dim, self.num_heads = int(embed_dim), int(num_heads)
        self.kdim = int(kdim) if kdim is not None else self.embed_dim
        self.vdim = int(vdim) if vdim is not None else self.embed_dim
        self._qkv_same_embed_dim = self.kdim == self.embed_dim and self.vdim == self.embed_dim
        self.head_dim = self.embed_dim // self.num_heads
        self.dropout, self.batch_first = float(dropout), bool(batch_first)
        E = self.embed_dim
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(np.empty((3 * E, E), np.float32))
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.q_proj_weight = Parameter(np.empty((E, E), np.float32))
            self.k_proj_weight = Parameter(np.empty((E, self.kdim), np.float32))
            self.v_proj_weight = Parameter(np.empty((E, self.vdim), np.float32))
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(np.empty(3 * E, np.float32))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(E, E, bias=bias)
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            for w in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(w)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)

    # ------------------------------------------------------------------ pieces
    def _projections(self, query, key, value):
        """(N, L, E), (N, S, kdim), (N, S, vdim) -> q, k, v of shapes (N, L, E), (N, S, E), (N, S, E)."""
        E, b = self.embed_dim, self.in_proj_bias
        bq, bk, bv = (None, None, None) if b is None else (b[:E], b[E : 2 * E], b[2 * E :])
        if self._qkv_same_embed_dim:
            w = self.in_proj_weight
            if query is key and key is value:  # self-attention: one product for all three
                qkv = F.linear(query, w, b)
                return qkv[..., :E], qkv[..., E : 2 * E], qkv[..., 2 * E :]
            wq, wk, wv = w[:E], w[E : 2 * E], w[2 * E :]
        else:
            wq, wk, wv = self.q_proj_weight, self.k_proj_weight, self.v_proj_weight
        return F.linear(query, wq, bq), F.linear(key, wk, bk), F.linear(value, wv, bv)

    def _split_heads(self, x):
        """(N, T, E) -> (N, heads, T, head_dim)."""
        n, t, _ = x.shape
        return x.reshape(n, t, self.num_heads, self.head_dim).permute(0, 2, 1, 3)

    def _mask(self, attn_mask, key_padding_mask, is_causal, n, L, S, dtype, device):
        """The additive mask, broadcastable to the scores (N, heads, L, S), or None."""
        if attn_mask is None and is_causal:
            attn_mask = Tensor(np.triu(np.ones((L, S), dtype=bool), k=1))
        total = None
        if attn_mask is not None:
            mask = _additive_mask(attn_mask, "attn_mask", dtype, device)
            if mask.shape == (L, S):
                pass
            elif mask.shape == (n * self.num_heads, L, S):
                mask = mask.reshape(n, self.num_heads, L, S)
            else:
                raise ValueError(
                    f"MultiheadAttention: attn_mask has shape {mask.shape}, expected {(L, S)} or "
                    f"{(n * self.num_heads, L, S)} (N * num_heads, L, S)"
                )
            total = mask
        if key_padding_mask is not None:
            mask = _additive_mask(key_padding_mask, "key_padding_mask", dtype, device)
            if mask.shape != (n, S):
                raise ValueError(f"MultiheadAttention: key_padding_mask has shape {mask.shape}, expected {(n, S)} (N, S)")
            mask = mask.reshape(n, 1, 1, S)
            total = mask if total is None else total + mask
        return total

    # ------------------------------------------------------------------ forward
    def forward(self, query, key, value, key_padding_mask=None, need_weights: bool = True, attn_mask=None,
                average_attn_weights: bool = True, is_causal: bool = False):
        for name, t in (("query", query), ("key", key), ("value", value)):
            if not isinstance(t, Tensor):
                raise TypeError(f"MultiheadAttention: {name} must be a Tensor, got {type(t).__name__}")
        batched = query.ndim == 3
        if query.ndim not in (2, 3) or key.ndim != query.ndim or value.ndim != query.ndim:
            raise ValueError(
                f"MultiheadAttention: query {query.shape}, key {key.shape}, value {value.shape} must all be 3-D "
                f"(batched) or all 2-D (unbatched)"
            )
        if query.shape[-1] != self.embed_dim or key.shape[-1] != self.kdim or value.shape[-1] != self.vdim:
            raise ValueError(
                f"MultiheadAttention: feature sizes of query {query.shape}, key {key.shape}, value {value.shape} "
                f"must be embed_dim={self.embed_dim}, kdim={self.kdim}, vdim={self.vdim}"
            )
        self_attention = query is key and key is value
        # bring everything to batch-major (N, T, features)
        if not batched:
            query, key, value = query.unsqueeze(0), key.unsqueeze(0), value.unsqueeze(0)
            if key_padding_mask is not None:
                key_padding_mask = (key_padding_mask if isinstance(key_padding_mask, Tensor)
                                    else Tensor(np.asarray(key_padding_mask))).unsqueeze(0)
        elif not self.batch_first:
            query, key, value = query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1)
        if self_attention:
            key = value = query
        n, L, S = query.shape[0], query.shape[1], key.shape[1]
        if key.shape[:2] != (n, S) or value.shape[:2] != (n, S):
            raise ValueError(
                f"MultiheadAttention: key {key.shape} and value {value.shape} must share batch size {n} "
                f"and sequence length"
            )
        mask = self._mask(attn_mask, key_padding_mask, is_causal, n, L, S, query.dtype, query.device)
        if self_attention and self._qkv_same_embed_dim and not need_weights and \
                (mask is None or not mask.requires_grad):
            # the fused core (ops/attention.py SelfAttention): one graph node from the packed
            # projection to the merged heads; same arithmetic as the composed path below
            qkv = F.linear(query, self.in_proj_weight, self.in_proj_bias)
            heads = SelfAttention.apply(qkv, n_head=self.num_heads,
                                        mask=None if mask is None else mask.data,
                                        dropout=self.dropout if self.training else 0.0)
            return self._finish(self.out_proj(heads), batched), None
        q, k, v = self._projections(query, key, value)
        q, k, v = self._split_heads(q), self._split_heads(k), self._split_heads(v)
        # scale q before the product, as PyTorch does: (N, h, L, d) @ (N, h, d, S) -> (N, h, L, S)
        scores = (q * (1.0 / math.sqrt(self.head_dim))) @ k.transpose(-2, -1)
        if mask is not None:
            scores = scores + mask
        weights = scores.softmax(-1)
        if self.dropout > 0.0 and self.training:
            weights = F.dropout(weights, self.dropout, True)
        heads = weights @ v                                                # (N, h, L, d)
        out = self._finish(self.out_proj(heads.permute(0, 2, 1, 3).reshape(n, L, self.embed_dim)), batched)
        if not need_weights:
            return out, None
        if average_attn_weights:
            weights = weights.mean(axis=1)
        return out, (weights if batched else weights[0])

    def _finish(self, out, batched):
        """(N, L, E) -> the caller's layout: unbatched (L, E), or (L, N, E) without batch_first."""
        if not batched:
            return out[0]
        return out if self.batch_first else out.transpose(0, 1)

    def extra_repr(self) -> str:
        text = f"embed_dim={self.embed_dim}, num_heads={self.num_heads}"
        if self.dropout:
            text += f", dropout={self.dropout}"
        if not self._qkv_same_embed_dim:
            text += f", kdim={self.kdim}, vdim={self.vdim}"
        if self.batch_first:
            text += ", batch_first=True"
        return text
