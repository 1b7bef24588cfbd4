"""One GRU layer over a whole sequence, the fused recurrent kernel (C twin: csrc/gru.c).

Gate order r, z, n (PyTorch's). The input projection xw = x @ W_ih^T + b_ih is done by the
caller; the recurrent bias b_hh stays here, because b_hn sits inside the reset product:

    b   = h_prev @ W_hh^T + b_hh                       (N, 3H)
    r   = sigmoid(xw_r + b_r),  z = sigmoid(xw_z + b_z)
    n   = tanh(xw_n + r * b_n)
    h   = (1 - z) * n + z * h_prev

Written against ``xp``: the same functions run on the GPU.
"""
from ...device import array_module
from ..contract import check_arrays, describe, kernel


def _gru_sizes(op: str, xw, w_hh, b_hh, h0) -> tuple:
    """xw (S, N, 3H), w_hh (3H, H), b_hh (3H,), h0 (N, H), one float dtype; returns (S, N, H)."""
    check_arrays(op, xw=xw, w_hh=w_hh, b_hh=b_hh, h0=h0)
    if xw.ndim != 3 or w_hh.ndim != 2 or b_hh.ndim != 1 or h0.ndim != 2:
        raise ValueError(f"{op}: expected xw (S, N, 3H), w_hh (3H, H), b_hh (3H,), h0 (N, H), got "
                         f"{xw.shape}, {w_hh.shape}, {b_hh.shape}, {h0.shape}")
    s, n, g3 = xw.shape
    h = w_hh.shape[1]
    if w_hh.shape[0] != 3 * h or g3 != 3 * h or b_hh.shape != (3 * h,) or h0.shape != (n, h):
        raise ValueError(f"{op}: xw {xw.shape}, w_hh {w_hh.shape}, b_hh {b_hh.shape}, h0 {h0.shape}: "
                         f"need xw (S, N, 3H), w_hh (3H, H), b_hh (3H,), h0 (N, H)")
    return s, n, h


def check_gru_forward(xw, w_hh, b_hh, h0, reverse=False) -> tuple:
    _gru_sizes("gru_forward", xw, w_hh, b_hh, h0)
    return xw, w_hh, b_hh, h0, bool(reverse)


def check_gru_backward(w_hh, b_hh, h0, out, gates, g_out, reverse=False) -> tuple:
    """gates (S, N, 4H) (r, z, n and the recurrent n term, from forward), out and g_out (S, N, H)."""
    op = "gru_backward"
    check_arrays(op, w_hh=w_hh, b_hh=b_hh, h0=h0, out=out, gates=gates, g_out=g_out)
    if gates.ndim != 3 or gates.shape[2] % 4:
        raise ValueError(f"{op}: gates {describe(gates)} should be (S, N, 4H)")
    s, n, h4 = gates.shape
    _gru_sizes(op, gates[:, :, : 3 * (h4 // 4)], w_hh, b_hh, h0)
    for name, arr in (("out", out), ("g_out", g_out)):
        if arr.shape != (s, n, h4 // 4):
            raise ValueError(f"{op}: {name} {describe(arr)} should have shape {(s, n, h4 // 4)} for gates "
                             f"{tuple(gates.shape)}")
    return w_hh, b_hh, h0, out, gates, g_out, bool(reverse)


def _sigmoid(xp, z):
    return 1 / (1 + xp.exp(-z))


@kernel(check_gru_forward)
def gru_forward(xw, w_hh, b_hh, h0, reverse=False):
    """One GRU layer from its input projection (see the module docstring).

    xw: (S, N, 3H) = x @ W_ih^T + b_ih;  w_hh: (3H, H);  b_hh: (3H,);  h0: (N, H).
    Returns (out, gates): out (S, N, H) the hidden state at every position (out[t] is
    position t also when ``reverse``), gates (S, N, 4H) = r, z, n and b_n = (h_prev W_hn^T +
    b_hn), what backward needs.
    """
    xp = array_module(xw)
    s, n, _ = xw.shape
    hid = w_hh.shape[1]
    out = xp.empty((s, n, hid), xw.dtype)
    gates = xp.empty((s, n, 4 * hid), xw.dtype)
    h = h0
    for t in (range(s - 1, -1, -1) if reverse else range(s)):
        a, b = xw[t], h @ w_hh.T + b_hh                           # (N, 3H) each
        r = _sigmoid(xp, a[:, :hid] + b[:, :hid])
        z = _sigmoid(xp, a[:, hid:2 * hid] + b[:, hid:2 * hid])
        bn = b[:, 2 * hid:]
        cand = xp.tanh(a[:, 2 * hid:] + r * bn)
        h = cand + z * (h - cand)
        out[t] = h
        gates[t] = xp.concatenate([r, z, cand, bn], axis=1)
    return out, gates


@kernel(check_gru_backward)
def gru_backward(w_hh, b_hh, h0, out, gates, g_out, reverse=False):
    """Gradients of :func:`gru_forward` (backpropagation through time).

    g_out: dL/d out (S, N, H). Returns (g_xw (S, N, 3H), g_h0 (N, H), g_w_hh (3H, H),
    g_b_hh (3H,)). Per step, from dh = dL/dh_t:
        dn = dh (1 - z),  dz = dh (h_prev - n),  dh_prev = dh z + db @ W_hh
        da_n = dn (1 - n^2),  da_r = da_n b_n r (1 - r),  da_z = dz z (1 - z)
        g_xw[t] = (da_r, da_z, da_n);  db = (da_r, da_z, da_n r)
        g_w_hh += db^T h_prev,  g_b_hh += sum over the batch of db
    """
    xp = array_module(gates)
    s, n, hid = out.shape
    order = list(range(s - 1, -1, -1) if reverse else range(s))
    g_xw = xp.empty((s, n, 3 * hid), gates.dtype)
    g_w_hh = xp.zeros(w_hh.shape, w_hh.dtype)
    g_b_hh = xp.zeros(b_hh.shape, b_hh.dtype)
    dh = xp.zeros((n, hid), gates.dtype)
    for k in range(s - 1, -1, -1):                                # forward's order, backwards
        t = order[k]
        h_prev = h0 if k == 0 else out[order[k - 1]]
        r, z = gates[t][:, :hid], gates[t][:, hid:2 * hid]
        cand, bn = gates[t][:, 2 * hid:3 * hid], gates[t][:, 3 * hid:]
        dh = dh + g_out[t]
        dn = dh * (1 - z) * (1 - cand * cand)
        dr = dn * bn * r * (1 - r)
        dz = dh * (h_prev - cand) * z * (1 - z)
        g_xw[t] = xp.concatenate([dr, dz, dn], axis=1)
        db = xp.concatenate([dr, dz, dn * r], axis=1)
        g_w_hh += db.T @ h_prev
        g_b_hh += db.sum(axis=0)
        dh = dh * z + db @ w_hh
    return g_xw, dh, g_w_hh, g_b_hh
