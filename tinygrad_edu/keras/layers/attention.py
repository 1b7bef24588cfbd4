"""MultiHeadAttention with Keras's weights and call signature."""
from __future__ import annotations

import math

import numpy as np

from ...nn import functional as F
from ...tensor import Tensor
from .base import Layer, _as_float, _as_tensor, _positive_int

__all__ = ["MultiHeadAttention"]


class MultiHeadAttention(Layer):
    """Attention of ``query`` over ``value`` (and ``key``), in ``num_heads`` heads.

    MultiHeadAttention(num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True,
                       output_shape=None)
    call(query, value, key=None, attention_mask=None, return_attention_scores=False,
         training=False, use_causal_mask=False)
        query: (N, L, Eq), value: (N, S, Ev), key: (N, S, Ek) (defaults to value) ->
        (N, L, Eq) (or output_shape's size); with return_attention_scores also the weights
        (N, heads, L, S). attention_mask: (N, L, S) bool, True where attention is allowed.
    Weights (Keras's layout): query/key/value kernels (E, heads, key_dim) with biases
    (heads, key_dim), attention_output kernel (heads, value_dim, Eq) and bias (Eq,).
    The heads run through ``F.scaled_dot_product_attention`` (scale 1/sqrt(key_dim)).
    Masks from ``Embedding(mask_zero=True)`` are not turned into attention masks here: pass
    ``attention_mask``.
    """

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True, output_shape=None,
                 attention_axes=None, kernel_initializer="glorot_uniform", bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        self.num_heads = _positive_int(num_heads, "num_heads", "MultiHeadAttention")
        self.key_dim = _positive_int(key_dim, "key_dim", "MultiHeadAttention")
        self.value_dim = self.key_dim if value_dim is None else _positive_int(value_dim, "value_dim",
                                                                              "MultiHeadAttention")
        if attention_axes is not None:
            raise NotImplementedError("MultiHeadAttention: attention_axes is not supported (attention over axis 1)")
        self.dropout, self.use_bias = float(dropout), bool(use_bias)
        self.out_dim = None if output_shape is None else int(output_shape if np.isscalar(output_shape)
                                                             else output_shape[-1])
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer

    def _symbolic_input_shapes(self, args, kwargs):
        query = args[0]
        value = args[1] if len(args) > 1 else kwargs.get("value")
        key = args[2] if len(args) > 2 else kwargs.get("key")
        if value is None:
            raise TypeError(f'layer "{self.name}" (MultiHeadAttention) needs query and value')
        return [query.shape, value.shape, (key if key is not None else value).shape]

    def build(self, input_shape):
        q_shape, v_shape, k_shape = input_shape
        for what, shape in (("query", q_shape), ("value", v_shape), ("key", k_shape)):
            if len(shape) != 3 or shape[-1] is None:
                raise ValueError(f'layer "{self.name}" (MultiHeadAttention): {what} must be (batch, steps, features) '
                                 f'with known features, got shapes query {q_shape}, value {v_shape}, key {k_shape}')
        h = self.num_heads
        for name, shape, dim in (("query", q_shape, self.key_dim), ("key", k_shape, self.key_dim),
                                 ("value", v_shape, self.value_dim)):
            self.add_weight(f"{name}_kernel", (shape[-1], h, dim), self.kernel_initializer)
            if self.use_bias:
                self.add_weight(f"{name}_bias", (h, dim), self.bias_initializer)
        out = self.out_dim or q_shape[-1]
        self.add_weight("output_kernel", (h, self.value_dim, out), self.kernel_initializer)
        if self.use_bias:
            self.add_weight("output_bias", (out,), self.bias_initializer)

    def compute_output_shape(self, input_shape):
        q_shape = input_shape[0]
        return q_shape[:-1] + (self.out_dim or q_shape[-1],)

    def _check_input_shape(self, shapes):
        for got, want in zip(shapes, self.input_shape):
            if len(got) != 3 or got[-1] != want[-1]:
                raise self._incompatible(self.input_shape, list(shapes))

    def _project(self, x, name, dim):
        """(N, T, E) -> (N, heads, T, dim)."""
        n, t, e = x.shape
        kernel = getattr(self, f"{name}_kernel").reshape(e, self.num_heads * dim)
        bias = getattr(self, f"{name}_bias").reshape(-1) if self.use_bias else None
        y = F.linear(x, kernel.T, bias)
        return y.reshape(n, t, self.num_heads, dim).permute(0, 2, 1, 3)

    def forward(self, query, value=None, key=None, attention_mask=None, return_attention_scores=False,
                training=False, use_causal_mask=False, mask=None):
        if value is None:
            raise TypeError(f'layer "{self.name}" (MultiHeadAttention): call it as mha(query, value[, key])')
        query, value = _as_float(_as_tensor(query)), _as_float(_as_tensor(value))
        key = value if key is None else _as_float(_as_tensor(key))
        shapes = [(None,) + t.shape[1:] for t in (query, value, key)]
        if not self.built:
            self.build_for(shapes)
        else:
            self._check_input_shape(shapes)
        n, length = query.shape[0], query.shape[1]
        steps = value.shape[1]
        if key.shape[:2] != value.shape[:2] or query.shape[0] != value.shape[0]:
            raise ValueError(f'layer "{self.name}" (MultiHeadAttention): query {query.shape}, value {value.shape} '
                             f'and key {key.shape} disagree on the batch or key/value steps')
        q = self._project(query, "query", self.key_dim)
        k = self._project(key, "key", self.key_dim)
        v = self._project(value, "value", self.value_dim)
        mask_t = None
        if attention_mask is not None:
            m = attention_mask.numpy() if isinstance(attention_mask, Tensor) else np.asarray(attention_mask)
            mask_t = m.astype(bool)
            if mask_t.ndim == 3:
                mask_t = mask_t[:, None]
        if use_causal_mask:
            causal = np.tril(np.ones((length, steps), dtype=bool))
            mask_t = causal if mask_t is None else (mask_t & causal)
        drop = self.dropout > 0 and training
        if return_attention_scores or drop:
            scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(self.key_dim))
            if mask_t is not None:
                scores = scores + Tensor(np.where(mask_t, 0.0, -1e9).astype(np.float32))
            weights = scores.softmax(axis=-1)
            if drop:
                weights = F.dropout(weights, self.dropout, True)
            heads = weights @ v
        else:
            heads = F.scaled_dot_product_attention(q, k, v, attn_mask=None if mask_t is None else Tensor(mask_t))
            weights = None
        merged = heads.permute(0, 2, 1, 3).reshape(n, length, self.num_heads * self.value_dim)
        out_kernel = self.output_kernel.reshape(self.num_heads * self.value_dim, -1)
        out = F.linear(merged, out_kernel.T, self.output_bias if self.use_bias else None)
        if return_attention_scores:
            return out, weights
        return out
