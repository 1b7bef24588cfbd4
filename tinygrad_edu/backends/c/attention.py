"""C wrappers of the causal attention over a packed qkv (csrc/attention.c)."""
import numpy as np

from .. import c as C


def causal_attention_forward(qkv, n_head, q_len, kv_len, scale):
    """(out, lse); see numpy_ref.causal_attention_forward."""
    C._require()
    B, rows, E3 = qkv.shape
    E = E3 // 3
    qkv = C._contiguous(qkv)
    out = np.empty((B, q_len, E), qkv.dtype)
    lse = np.empty((B, n_head, q_len), qkv.dtype)
    ctype, fn = C._kernel("causal_attention_forward", qkv.dtype)
    rc = fn(B, rows, q_len, kv_len, n_head, E // n_head, scale, C._ptr(qkv, ctype), qkv.size,
            C._ptr(out, ctype), out.size, C._ptr(lse, ctype), lse.size)
    C._check_rc(rc, "causal_attention_forward", f"qkv {qkv.shape}, q_len {q_len}, kv_len {kv_len}")
    return out, lse


def causal_attention_backward(qkv, out, lse, gout, n_head, scale):
    """gqkv; see numpy_ref.causal_attention_backward."""
    C._require()
    B, T, E3 = qkv.shape
    qkv, out, lse, gout = (C._contiguous(a) for a in (qkv, out, lse, gout))
    gqkv = np.empty(qkv.shape, qkv.dtype)
    ctype, fn = C._kernel("causal_attention_backward", qkv.dtype)
    rc = fn(B, T, n_head, E3 // 3 // n_head, scale, C._ptr(qkv, ctype), qkv.size, C._ptr(out, ctype), out.size,
            C._ptr(lse, ctype), lse.size, C._ptr(gout, ctype), gout.size, C._ptr(gqkv, ctype), gqkv.size)
    C._check_rc(rc, "causal_attention_backward", f"qkv {qkv.shape}")
    return gqkv
