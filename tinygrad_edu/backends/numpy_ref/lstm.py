"""One LSTM layer over a whole sequence, the fused recurrent kernel (C twin: csrc/lstm.c).

Written against ``xp``: the same functions run the GPU's LSTM (its matmuls through cuBLAS).
"""
from ...device import array_module
from ..contract import check_arrays, describe, kernel


def _lstm_sizes(op: str, xw, w_hh, h0, c0) -> tuple:
    """xw (S, N, 4H), w_hh (4H, H), h0 and c0 (N, H), one float dtype; returns (S, N, H)."""
    check_arrays(op, xw=xw, w_hh=w_hh, h0=h0, c0=c0)
    if xw.ndim != 3 or w_hh.ndim != 2 or h0.ndim != 2 or c0.ndim != 2:
        raise ValueError(f"{op}: expected xw (S, N, 4H), w_hh (4H, H), h0 and c0 (N, H), got "
                         f"{xw.shape}, {w_hh.shape}, {h0.shape}, {c0.shape}")
    s, n, g4 = xw.shape
    h = w_hh.shape[1]
    if w_hh.shape[0] != 4 * h or g4 != 4 * h or h0.shape != (n, h) or c0.shape != (n, h):
        raise ValueError(f"{op}: xw {xw.shape}, w_hh {w_hh.shape}, h0 {h0.shape}, c0 {c0.shape}: "
                         f"need xw (S, N, 4H), w_hh (4H, H), h0 and c0 (N, H)")
    return s, n, h


def check_lstm_forward(xw, w_hh, h0, c0, reverse=False) -> tuple:
    _lstm_sizes("lstm_forward", xw, w_hh, h0, c0)
    return xw, w_hh, h0, c0, bool(reverse)


def check_lstm_backward(w_hh, h0, c0, out, c_all, gates, g_out, g_cn=None, reverse=False):
    """forward's arguments (gates in place of xw) plus out, c_all, g_out (S, N, H) and g_cn
    None or (N, H), all of one dtype."""
    op = "lstm_backward"
    s, n, h = _lstm_sizes(op, gates, w_hh, h0, c0)
    named = dict(out=out, c_all=c_all, g_out=g_out)
    if g_cn is not None:
        named["g_cn"] = g_cn
    check_arrays(op, gates=gates, **named)
    for name, arr in named.items():
        want = (n, h) if name == "g_cn" else (s, n, h)
        if arr.shape != want:
            raise ValueError(f"{op}: {name} {describe(arr)} should have shape {want} for "
                             f"gates {tuple(gates.shape)}")
    return w_hh, h0, c0, out, c_all, gates, g_out, g_cn, bool(reverse)


def _sigmoid(xp, z):
    return 1 / (1 + xp.exp(-z))


@kernel(check_lstm_forward)
def lstm_forward(xw, w_hh, h0, c0, reverse=False):
    """One LSTM layer (gate order i, f, g, o) from its input projection.

    xw: (S, N, 4H) = x @ W_ih^T + b_ih + b_hh;  w_hh: (4H, H);  h0, c0: (N, H).
    Returns (out, c_all, gates): out (S, N, H) the hidden state at every position (out[t] is
    position t also when ``reverse`` reads the sequence from the end), c_all (S, N, H) the
    cell states, gates (S, N, 4H) the activated gates i, f, g, o (what backward needs).
    """
    xp = array_module(xw)
    s, n, _ = xw.shape
    hid = w_hh.shape[1]
    out = xp.empty((s, n, hid), xw.dtype)
    c_all = xp.empty((s, n, hid), xw.dtype)
    gates = xp.empty(xw.shape, xw.dtype)
    h, c = h0, c0
    for t in (range(s - 1, -1, -1) if reverse else range(s)):
        z = xw[t] + h @ w_hh.T                                  # (N, 4H)
        i, f = _sigmoid(xp, z[:, :hid]), _sigmoid(xp, z[:, hid:2 * hid])
        g, o = xp.tanh(z[:, 2 * hid:3 * hid]), _sigmoid(xp, z[:, 3 * hid:])
        c = f * c + i * g
        h = o * xp.tanh(c)
        out[t], c_all[t] = h, c
        gates[t] = xp.concatenate([i, f, g, o], axis=1)
    return out, c_all, gates


@kernel(check_lstm_backward)
def lstm_backward(w_hh, h0, c0, out, c_all, gates, g_out, g_cn=None, reverse=False):
    """Gradients of :func:`lstm_forward` (backpropagation through time).

    g_out: dL/d out (S, N, H); g_cn: dL/d c_n (N, H) or None.  The other arguments are
    forward's inputs and results.  Returns (g_xw (S, N, 4H), g_h0, g_c0 (N, H),
    g_w_hh (4H, H)).
    """
    xp = array_module(gates)
    s, n, hid = out.shape
    order = list(range(s - 1, -1, -1) if reverse else range(s))
    g_xw = xp.empty(gates.shape, gates.dtype)
    g_w_hh = xp.zeros(w_hh.shape, w_hh.dtype)
    dh = xp.zeros((n, hid), gates.dtype)
    dc = xp.zeros((n, hid), gates.dtype) if g_cn is None else g_cn.astype(gates.dtype)
    for k in range(s - 1, -1, -1):                              # forward's order, backwards
        t = order[k]
        h_prev = h0 if k == 0 else out[order[k - 1]]
        c_prev = c0 if k == 0 else c_all[order[k - 1]]
        i, f = gates[t][:, :hid], gates[t][:, hid:2 * hid]
        g, o = gates[t][:, 2 * hid:3 * hid], gates[t][:, 3 * hid:]
        dh = dh + g_out[t]
        tc = xp.tanh(c_all[t])
        d_o = dh * tc
        dc = dc + dh * o * (1 - tc * tc)
        dz = xp.concatenate([dc * g * i * (1 - i), dc * c_prev * f * (1 - f),
                             dc * i * (1 - g * g), d_o * o * (1 - o)], axis=1)
        dc = dc * f
        g_xw[t] = dz
        g_w_hh += dz.T @ h_prev
        dh = dz @ w_hh
    return g_xw, dh, dc, g_w_hh
