"""C wrappers of one LSTM layer over a whole sequence (csrc/lstm.c)."""
import numpy as np

from .. import c as C


def _params(s, n, h, reverse):
    return C.ffi.new("tge_lstm_params *", {"steps": s, "batch": n, "hidden": h,
                                           "reverse": 1 if reverse else 0})


def _buffers(ctype, *arrays):
    """The (pointer, length) argument pairs of ``arrays`` in order; None gives (NULL, 0)
    (an optional input or an unwanted output).  Inputs must already be contiguous."""
    args = []
    for a in arrays:
        args += [C.ffi.NULL, 0] if a is None else [C._ptr(a, ctype), a.size]
    return args


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
    args = [_params(s, n, h, reverse)] + _buffers(ctype, xw, w_hh, h0, c0, out, c_all, gates)
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
    g_cn = None if g_cn is None else C._contiguous(g_cn)
    args = [_params(s, n, h, reverse)] + _buffers(ctype, *arrays, g_cn, g_xw, g_h0, g_c0, g_w_hh)
    C._check_rc(fn(*args), "lstm_backward", f"gates {gates.shape}, w_hh {w_hh.shape}")
    return g_xw, g_h0, g_c0, g_w_hh


def lstm_input_forward(x, w_x, w_h, bias, h0, c0, reverse):
    """One LSTM layer with its input projection -> (out, c_all, gates); see
    numpy_ref.lstm_input_forward."""
    C._require()
    s, n, f = x.shape
    h = w_h.shape[0]
    x, w_x, w_h, h0, c0 = (C._contiguous(a) for a in (x, w_x, w_h, h0, c0))
    out = np.empty((s, n, h), x.dtype)
    c_all = np.empty((s, n, h), x.dtype)
    gates = np.empty((s, n, 4 * h), x.dtype)
    ctype, fn = C._kernel("lstm_input_forward", x.dtype)
    bias = None if bias is None else C._contiguous(bias)
    args = [_params(s, n, h, reverse), f] + _buffers(ctype, x, w_x, w_h, bias, h0, c0, out,
                                                      c_all, gates)
    C._check_rc(fn(*args), "lstm_input_forward", f"x {x.shape}, w_x {w_x.shape}, w_h {w_h.shape}")
    return out, c_all, gates


def lstm_input_backward(x, w_x, w_h, h0, c0, out, c_all, gates, g_out, g_cn, reverse,
                        with_bias):
    """Gradients of lstm_input_forward; see numpy_ref.lstm_input_backward."""
    C._require()
    s, n, f = x.shape
    h = w_h.shape[0]
    arrays = [C._contiguous(a) for a in (x, w_x, w_h, h0, c0, out, c_all, gates, g_out)]
    dtype = gates.dtype
    g_x, g_w_x = np.empty(x.shape, dtype), np.empty(w_x.shape, dtype)
    g_w_h = np.empty(w_h.shape, dtype)
    g_bias = np.empty(4 * h, dtype) if with_bias else None
    g_h0, g_c0 = np.empty((n, h), dtype), np.empty((n, h), dtype)
    ctype, fn = C._kernel("lstm_input_backward", dtype)
    g_cn = None if g_cn is None else C._contiguous(g_cn)
    args = [_params(s, n, h, reverse), f] + _buffers(ctype, *arrays, g_cn, g_x, g_w_x, g_w_h,
                                                      g_bias, g_h0, g_c0)
    C._check_rc(fn(*args), "lstm_input_backward", f"x {x.shape}, gates {gates.shape}")
    return g_x, g_w_x, g_w_h, g_bias, g_h0, g_c0
