"""C wrappers of one GRU layer over a whole sequence (csrc/gru.c)."""
import numpy as np

from .. import c as C


def _params(s, n, h, reverse):
    return C.ffi.new("tge_gru_params *", {"steps": s, "batch": n, "hidden": h, "reverse": 1 if reverse else 0})


def gru_forward(xw, w_hh, b_hh, h0, reverse):
    """One GRU layer -> (out, gates); see numpy_ref.gru_forward."""
    C._require()
    s, n, _ = xw.shape
    h = w_hh.shape[1]
    xw, w_hh, b_hh, h0 = (C._contiguous(a) for a in (xw, w_hh, b_hh, h0))
    out = np.empty((s, n, h), xw.dtype)
    gates = np.empty((s, n, 4 * h), xw.dtype)
    ctype, fn = C._kernel("gru_forward", xw.dtype)
    args = [_params(s, n, h, reverse)]
    for a in (xw, w_hh, b_hh, h0, out, gates):
        args += [C._ptr(a, ctype), a.size]
    C._check_rc(fn(*args), "gru_forward", f"xw {xw.shape}, w_hh {w_hh.shape}")
    return out, gates


def gru_backward(w_hh, b_hh, h0, out, gates, g_out, reverse):
    """Gradients of gru_forward; see numpy_ref.gru_backward."""
    C._require()
    s, n, h = out.shape
    arrays = [C._contiguous(a) for a in (w_hh, b_hh, h0, out, gates, g_out)]
    g_xw = np.empty((s, n, 3 * h), gates.dtype)
    g_h0 = np.empty((n, h), gates.dtype)
    g_w_hh = np.empty(w_hh.shape, gates.dtype)
    g_b_hh = np.empty(b_hh.shape, gates.dtype)
    ctype, fn = C._kernel("gru_backward", gates.dtype)
    args = [_params(s, n, h, reverse)]
    for a in arrays + [g_xw, g_h0, g_w_hh, g_b_hh]:
        args += [C._ptr(a, ctype), a.size]
    C._check_rc(fn(*args), "gru_backward", f"gates {gates.shape}, w_hh {w_hh.shape}")
    return g_xw, g_h0, g_w_hh, g_b_hh
