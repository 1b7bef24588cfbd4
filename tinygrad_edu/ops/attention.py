"""Causal multi-head self-attention as one Function (GPT's attention, forward and backward).

The input is the packed projection ``qkv`` of a decoder layer, (B, T, 3E): for each token
the query, key and value of all heads side by side ([q | k | v], each E = H * D wide, head
h in columns h*D .. h*D+D-1 of its third). The output is the heads' results merged back
into (B, T, E), ready for the output projection. Taking and giving the token-major layout
means the model never splits, transposes and merges heads itself: the kernel reads the
columns of each head where they are.

For each batch b, head h and query row i (at absolute position p_i):

    s_j  = (q_i . k_j) * scale            for keys j = 0 .. p_i  (the causal mask: j <= p_i)
    P_ij = exp(s_j - m_i) / l_i           m_i = max_j s_j,  l_i = sum_j exp(s_j - m_i)
    o_i  = sum_j P_ij v_j

Backward, with dO the gradient of the output and D_i = dO_i . o_i:

    dP_ij = dO_i . v_j
    dS_ij = P_ij (dP_ij - D_i)            (the softmax's Jacobian applied to dP)
    dq_i  = scale * sum_j dS_ij k_j
    dk_j  = scale * sum_i dS_ij q_i
    dv_j  = sum_i P_ij dO_i

The forward keeps only lse_i = m_i + log l_i per row (B, H, T); the backward recomputes P
from it, so no (B, H, T, T) array lives between the passes.

Key/value cache (generation): ``cache=(buffer, start)`` with ``buffer`` (B, S_max, 3E)
holding the projections of the tokens already seen in rows 0 .. start-1. The new rows are
written at start .. start+T-1 and the T queries attend to all start+T keys (query i sits at
position start + i). Inference only: it refuses to record a graph.

The kernels are ``causal_attention_forward`` / ``causal_attention_backward`` of the kernel
table (csrc/attention.c; the NumPy twin, backends/numpy_ref/attention.py, is the formula).
"""
from __future__ import annotations

import numpy as np

from .. import rng
from ..autograd import Function, is_grad_enabled
from ..backends import kernels_for
from ..device import array_module

__all__ = ["CausalSelfAttention", "causal_self_attention", "SelfAttention"]


class CausalSelfAttention(Function):
    """out = causal multi-head attention of the packed qkv (see the module docstring).

    qkv: (B, T, 3E) float32/float64 -> (B, T, E). n_head divides E; scale defaults to
    1/sqrt(E / n_head). cache=(buffer (B, S_max, 3E), start): generation mode.
    """

    def forward(self, qkv, n_head=1, scale=None, cache=None):
        B, T, E3 = qkv.shape
        self.n_head, self.scale = n_head, float(scale)
        self.table = kernels_for(qkv)
        if cache is not None:
            buffer, start = cache
            buffer[:, start:start + T] = qkv
            source, q_len, kv_len = buffer, T, start + T
        else:
            source, q_len, kv_len = qkv, T, T
        out, lse = self.table.causal_attention_forward(source, n_head, q_len, kv_len, self.scale)
        if cache is None and is_grad_enabled():
            self.qkv, self.out, self.lse = qkv, out, lse
        return out

    def backward(self, g):
        g = g.astype(self.qkv.dtype, copy=False)
        return (self.table.causal_attention_backward(self.qkv, self.out, self.lse, g, self.n_head, self.scale),)


class SelfAttention(Function):
    """Multi-head self-attention of a packed projection, with an additive mask and dropout on
    the attention weights: the core of ``nn.MultiheadAttention`` (PyTorch's layout).

    qkv: (N, L, 3E), each row [q | k | v], head h in columns h*D .. h*D+D-1 of each third
    (D = E / n_head) -> out (N, L, E), the heads' results side by side.
    mask: None or an array broadcastable to (N, n_head, L, L), added to the scores (-inf
    forbids); it carries no gradient.  dropout: probability of dropping a weight (0: none).

        S = (q * scale) k^T + mask,   P = softmax(S),   Pd = dropout(P),   out = Pd v
    Backward (g = dL/d out):
        dv = Pd^T g,  dPd = g v^T,  dP = dropout(dPd) (the same mask),
        dS = P * (dP - sum_j dP * P),  dq = scale * dS k,  dk = dS^T (q * scale)

    One Function instead of the ~12 graph nodes of the composed version (slices of qkv, head
    splits, scaling, the two products, mask, softmax, dropout, head merge): the three
    gradients land in one (N, L, 3E) array, with no zero-filled slice gradients to add up.
    The products are the kernel table's batched ``matmul`` with transpose flags; dropout is
    its ``dropout`` kernel (the mask is regenerated from the seed in backward).
    """

    def forward(self, qkv, n_head=1, mask=None, dropout=0.0):
        xp = array_module(qkv)
        N, L, E3 = qkv.shape
        E = E3 // 3
        D = E // n_head
        self.shape, self.n_head, self.scale = (N, L, E, D), n_head, 1.0 / float(np.sqrt(D))
        self.table = kernels_for(qkv)
        # one copy to head-major (3, N, H, L, D): every head's q, k, v contiguous
        heads = xp.ascontiguousarray(qkv.reshape(N, L, 3, n_head, D).transpose(2, 0, 3, 1, 4))
        heads[0] *= qkv.dtype.type(self.scale)            # q * scale, as PyTorch orders it
        q, k, v = (heads[i].reshape(N * n_head, L, D) for i in range(3))
        s = self.table.matmul(q, k, trans_b=True).reshape(N, n_head, L, L)
        if mask is not None:
            s += mask
        s -= s.max(axis=-1, keepdims=True)                # softmax in place
        xp.exp(s, out=s)
        s /= s.sum(axis=-1, keepdims=True)
        p = s.reshape(N * n_head, L, L)
        self.dropout = float(dropout)
        if self.dropout > 0.0:
            self.seed = int(rng.generator().integers(0, 2 ** 63))
            pd = self.table.dropout(p, self.seed, self.dropout)
        else:
            pd = p
        out = self.table.matmul(pd, v)                    # (N*H, L, D)
        self.heads, self.p, self.pd = heads, p, pd
        return xp.ascontiguousarray(out.reshape(N, n_head, L, D).transpose(0, 2, 1, 3)).reshape(N, L, E)

    def backward(self, g):
        xp = array_module(g)
        N, L, E, D = self.shape
        H, t = self.n_head, self.table
        q, k, v = (self.heads[i].reshape(N * H, L, D) for i in range(3))
        go = xp.ascontiguousarray(g.astype(q.dtype, copy=False).reshape(N, L, H, D)
                                  .transpose(0, 2, 1, 3)).reshape(N * H, L, D)
        grads = xp.empty((3, N * H, L, D), q.dtype)
        grads[2] = t.matmul(self.pd, go, trans_a=True)    # dv = Pd^T g
        dp = t.matmul(go, v, trans_b=True)                # dPd = g v^T
        if self.dropout > 0.0:
            dp = t.dropout(dp, self.seed, self.dropout)
        p = self.p
        dp -= (dp * p).sum(axis=-1, keepdims=True)
        dp *= p                                           # dS
        grads[0] = t.matmul(dp, k)
        grads[0] *= q.dtype.type(self.scale)              # dq = scale * dS k
        grads[1] = t.matmul(dp, q, trans_a=True)          # dk = dS^T (q * scale)
        gqkv = grads.reshape(3, N, H, L, D).transpose(1, 3, 0, 2, 4)
        return (xp.ascontiguousarray(gqkv).reshape(N, L, 3 * E),)
