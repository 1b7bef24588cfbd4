"""C wrappers of one LSTM layer over a whole sequence (csrc/lstm.c)."""
import numpy as np

from .. import c as C


def _params(s, n, h, reverse):
    return C.ffi.new("tge_lstm_params *", {"steps": s, "batch": n, "hidden": h,
                                           "reverse": 1 if reverse else 0})


def lstm_forward(xw, w_hh, h0, c0, reverse):
    """One LSTM layer -> (out, c_all, gates); see numpy_ref.lstm_forward."""
    C._require()
    s, n, _ = xw.shape
    h = w_hh.shape[1]
    xw, w_hh, h0, c0 = (C._contiguous(a) for a in (xw, w_hh, h0, c0))
    out = np.empty((s, n, h), xw.dtype)
    c_all = np.empty((s, n, h), xw.dtype)
    gates = np.empty(xw.shape, xw.dtype)
    ctype, fn = C._kernel("lstm_forward", xw.dtype)
    args = [_params(s, n, h, reverse)]
    for a in (xw, w_hh, h0, c0, out, c_all, gates):
        args += [C._ptr(a, ctype), a.size]
    C._check_rc(fn(*args), "lstm_forward", f"xw {xw.shape}, w_hh {w_hh.shape}")
    return out, c_all, gates


def lstm_backward(w_hh, h0, c0, out, c_all, gates, g_out, g_cn, reverse):
    """Gradients of lstm_forward; see numpy_ref.lstm_backward."""
    C._require()
    s, n, h = out.shape
    arrays = [C._contiguous(a) for a in (w_hh, h0, c0, out, c_all, gates, g_out)]
    g_xw = np.empty(gates.shape, gates.dtype)
    g_h0 = np.empty((n, h), gates.dtype)
    g_c0 = np.empty((n, h), gates.dtype)
    g_w_hh = np.empty(w_hh.shape, gates.dtype)
    ctype, fn = C._kernel("lstm_backward", gates.dtype)
    args = [_params(s, n, h, reverse)]
    for a in arrays:
        args += [C._ptr(a, ctype), a.size]
    if g_cn is None:
        args += [C.ffi.NULL, 0]
    else:
        g_cn = C._contiguous(g_cn)
        args += [C._ptr(g_cn, ctype), g_cn.size]
    for a in (g_xw, g_h0, g_c0, g_w_hh):
        args += [C._ptr(a, ctype), a.size]
    C._check_rc(fn(*args), "lstm_backward", f"gates {gates.shape}, w_hh {w_hh.shape}")
    return g_xw, g_h0, g_c0, g_w_hh
