"""Causal multi-head attention over a packed qkv, forward and backward (C twin: csrc/attention.c).

The layout is GPT's: ``qkv`` (B, rows, 3E) holds for each token [q | k | v], each E = H * D
wide, head h in columns h*D .. h*D+D-1 of its third. The forward attends with the last
``q_len`` of the first ``kv_len`` rows as queries (query i at position kv_len - q_len + i)
to keys 0 .. that position: the whole sequence in training (q_len == kv_len == rows), the
new tokens against a key/value cache in generation (rows is the cache's capacity).

    s_ij = scale * q_i . k_j   (j <= position of i),   P = softmax_j(s),   o_i = sum_j P_ij v_j
    lse_i = log sum_j exp(s_ij)                          (kept for the backward pass)

Backward (q_len == kv_len == T), with dO the output's gradient and D_i = dO_i . o_i:

    P_ij = exp(s_ij - lse_i),  dS_ij = P_ij (dO_i . v_j - D_i),
    dq_i = scale sum_j dS_ij k_j,  dk_j = scale sum_i dS_ij q_i,  dv_j = sum_i P_ij dO_i

Written against ``xp``: the same functions are the GPU table's.
"""
import numpy as np

from ...device import array_module
from ..contract import check_arrays, describe, kernel


def _sizes(op, qkv, n_head):
    if isinstance(n_head, bool) or not isinstance(n_head, (int, np.integer)) or n_head < 1:
        raise ValueError(f"{op}: n_head must be a positive int, got {n_head!r}")
    if qkv.ndim != 3 or qkv.shape[2] % (3 * n_head):
        raise ValueError(f"{op}: qkv must be (B, rows, 3E) with E a multiple of n_head={n_head}, "
                         f"got {describe(qkv)}")
    return qkv.shape[0], qkv.shape[1], qkv.shape[2] // 3


def check_causal_attention_forward(qkv, n_head, q_len, kv_len, scale) -> tuple:
    check_arrays("causal_attention_forward", qkv=qkv)
    _, rows, _ = _sizes("causal_attention_forward", qkv, n_head)
    q_len, kv_len = int(q_len), int(kv_len)
    if not 0 <= q_len <= kv_len <= rows:
        raise ValueError(f"causal_attention_forward: need 0 <= q_len <= kv_len <= rows, got q_len {q_len}, "
                         f"kv_len {kv_len} for qkv {describe(qkv)}")
    return qkv, int(n_head), q_len, kv_len, float(scale)


def check_causal_attention_backward(qkv, out, lse, gout, n_head, scale) -> tuple:
    check_arrays("causal_attention_backward", qkv=qkv, out=out, lse=lse, gout=gout)
    B, T, E = _sizes("causal_attention_backward", qkv, n_head)
    if out.shape != (B, T, E) or gout.shape != (B, T, E) or lse.shape != (B, int(n_head), T):
        raise ValueError(f"causal_attention_backward: for qkv {describe(qkv)} expected out and gout "
                         f"{(B, T, E)}, lse {(B, int(n_head), T)}; got out {describe(out)}, "
                         f"gout {describe(gout)}, lse {describe(lse)}")
    return qkv, out, lse, gout, int(n_head), float(scale)


def _heads(block, n_head):
    """(B, S, E) -> (B, H, S, D)."""
    B, S, E = block.shape
    return block.reshape(B, S, n_head, E // n_head).transpose(0, 2, 1, 3)


def _merge(t):
    """(B, H, S, D) -> (B, S, H * D)."""
    B, H, S, D = t.shape
    return t.transpose(0, 2, 1, 3).reshape(B, S, H * D)


@kernel(check_causal_attention_forward)
def causal_attention_forward(qkv, n_head, q_len, kv_len, scale):
    """qkv: (B, rows, 3E) float32/float64 -> (out (B, q_len, E), lse (B, n_head, q_len)).

    The queries are rows kv_len - q_len .. kv_len - 1, the keys and values rows 0 .. kv_len - 1
    (ValueError unless 0 <= q_len <= kv_len <= rows); query i sees keys j <= kv_len - q_len + i.
    """
    xp = array_module(qkv)
    B, _, E3 = qkv.shape
    E = E3 // 3
    H = n_head
    if q_len == 0:
        return xp.zeros((B, 0, E), qkv.dtype), xp.zeros((B, H, 0), qkv.dtype)
    rows = qkv[:, :kv_len]
    q = _heads(rows[:, kv_len - q_len:, :E], H)
    k, v = _heads(rows[:, :, E:2 * E], H), _heads(rows[:, :, 2 * E:], H)
    s = (q @ k.transpose(0, 1, 3, 2)) * qkv.dtype.type(scale)                   # (B, H, L, S)
    future = xp.arange(kv_len)[None, :] > (xp.arange(q_len) + kv_len - q_len)[:, None]
    s = xp.where(future, -xp.inf, s)
    m = s.max(axis=-1, keepdims=True)
    e = xp.exp(s - m)
    total = e.sum(axis=-1, keepdims=True)
    out = (e / total) @ v                                                       # (B, H, L, D)
    lse = (m + xp.log(total))[..., 0]
    return _merge(out), lse.astype(qkv.dtype, copy=False)


@kernel(check_causal_attention_backward)
def causal_attention_backward(qkv, out, lse, gout, n_head, scale):
    """The gradient of the forward pass over a whole sequence (q_len == kv_len == T).

    qkv: (B, T, 3E); out, gout: (B, T, E); lse: (B, n_head, T) from the forward -> gqkv
    (B, T, 3E) (the q, k and v thirds in qkv's layout).
    """
    xp = array_module(qkv)
    B, T, E3 = qkv.shape
    E = E3 // 3
    sc = qkv.dtype.type(scale)
    q, k, v = (_heads(qkv[:, :, i * E:(i + 1) * E], n_head) for i in range(3))
    o, go = _heads(out, n_head), _heads(gout, n_head)
    s = (q @ k.transpose(0, 1, 3, 2)) * sc
    future = xp.triu(xp.ones((T, T), dtype=bool), 1)
    p = xp.where(future, 0, xp.exp(s - lse[..., None]))                         # (B, H, T, T)
    ds = p * (go @ v.transpose(0, 1, 3, 2) - (go * o).sum(axis=-1, keepdims=True))
    gq = (ds @ k) * sc
    gk = (ds.transpose(0, 1, 3, 2) @ q) * sc
    gv = p.transpose(0, 1, 3, 2) @ go
    return xp.concatenate([_merge(gq), _merge(gk), _merge(gv)], axis=-1).astype(qkv.dtype, copy=False)
