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


# ------------------------------------------------------------------------------------
# The same layer with its input projection (the Keras LSTM): x and the weights in
# Keras's layout, the projection done by the kernel (csrc/lstm_input_impl.inc).
# ------------------------------------------------------------------------------------

def _lstm_input_sizes(op: str, x, w_x, w_h, h0, c0, **more) -> tuple:
    """x (S, N, F), w_x (F, 4H), w_h (H, 4H), h0 and c0 (N, H) (and ``more`` arrays), one
    float dtype; returns (S, N, H, F)."""
    check_arrays(op, x=x, w_x=w_x, w_h=w_h, h0=h0, c0=c0, **more)
    if x.ndim != 3 or w_x.ndim != 2 or w_h.ndim != 2 or h0.ndim != 2 or c0.ndim != 2:
        raise ValueError(f"{op}: expected x (S, N, F), w_x (F, 4H), w_h (H, 4H), h0 and c0 "
                         f"(N, H), got {x.shape}, {w_x.shape}, {w_h.shape}, {h0.shape}, "
                         f"{c0.shape}")
    s, n, f = x.shape
    h = w_h.shape[0]
    if f < 1 or w_x.shape != (f, 4 * h) or w_h.shape != (h, 4 * h) or h0.shape != (n, h) \
            or c0.shape != (n, h):
        raise ValueError(f"{op}: x {x.shape}, w_x {w_x.shape}, w_h {w_h.shape}, h0 {h0.shape}, "
                         f"c0 {c0.shape}: need x (S, N, F >= 1), w_x (F, 4H), w_h (H, 4H), "
                         "h0 and c0 (N, H)")
    return s, n, h, f


def check_lstm_input_forward(x, w_x, w_h, bias, h0, c0, reverse=False) -> tuple:
    """bias: None or (4H,)."""
    op = "lstm_input_forward"
    more = {} if bias is None else {"bias": bias}
    _, _, h, _ = _lstm_input_sizes(op, x, w_x, w_h, h0, c0, **more)
    if bias is not None and bias.shape != (4 * h,):
        raise ValueError(f"{op}: bias {describe(bias)} should have shape ({4 * h},)")
    return x, w_x, w_h, bias, h0, c0, bool(reverse)


def check_lstm_input_backward(x, w_x, w_h, h0, c0, out, c_all, gates, g_out, g_cn=None,
                              reverse=False, with_bias=True) -> tuple:
    """forward's arguments (no bias) plus its results and g_out (S, N, H), g_cn None or (N, H)."""
    op = "lstm_input_backward"
    named = dict(out=out, c_all=c_all, gates=gates, g_out=g_out)
    if g_cn is not None:
        named["g_cn"] = g_cn
    s, n, h, _ = _lstm_input_sizes(op, x, w_x, w_h, h0, c0, **named)
    for name, arr in named.items():
        want = (n, h) if name == "g_cn" else (s, n, 4 * h) if name == "gates" else (s, n, h)
        if arr.shape != want:
            raise ValueError(f"{op}: {name} {describe(arr)} should have shape {want} for "
                             f"x {tuple(x.shape)} and w_h {tuple(w_h.shape)}")
    return x, w_x, w_h, h0, c0, out, c_all, gates, g_out, g_cn, bool(reverse), bool(with_bias)


@kernel(check_lstm_input_forward)
def lstm_input_forward(x, w_x, w_h, bias, h0, c0, reverse=False):
    """:func:`lstm_forward` of xw = x @ w_x + bias, the projection inside the kernel.

    x: (S, N, F); w_x: (F, 4H); w_h: (H, 4H) (= lstm_forward's w_hh^T); bias: (4H,) or
    None; h0, c0: (N, H).  Returns (out, c_all, gates) as lstm_forward.
    """
    xw = x @ w_x if bias is None else x @ w_x + bias
    return lstm_forward(xw, w_h.T, h0, c0, reverse)


@kernel(check_lstm_input_backward)
def lstm_input_backward(x, w_x, w_h, h0, c0, out, c_all, gates, g_out, g_cn=None,
                        reverse=False, with_bias=True):
    """Gradients of :func:`lstm_input_forward`: (g_x (S, N, F), g_w_x (F, 4H),
    g_w_h (H, 4H), g_bias (4H,) or None when not ``with_bias``, g_h0, g_c0 (N, H))."""
    g_xw, g_h0, g_c0, g_w_hh = lstm_backward(w_h.T, h0, c0, out, c_all, gates, g_out, g_cn,
                                             reverse)
    s, n, f = x.shape
    g2 = g_xw.reshape(s * n, g_xw.shape[2])
    g_x = (g2 @ w_x.T).reshape(x.shape)
    g_w_x = x.reshape(s * n, f).T @ g2
    g_bias = g2.sum(axis=0) if with_bias else None
    return g_x, g_w_x, g_w_hh.T.copy(), g_bias, g_h0, g_c0
