"""C wrappers of LayerNorm over the last axis (csrc/layer_norm.c)."""
import numpy as np

from .. import c as C


def _opt(arr, ctype):
    """(pointer, length) of an optional contiguous array: (NULL, 0) for None."""
    return (C.ffi.NULL, 0) if arr is None else (C._ptr(arr, ctype), arr.size)


def layer_norm_forward(x, weight, bias, eps):
    """(y, mean, rstd); see numpy_ref.layer_norm_forward."""
    C._require()
    rows, d = x.shape
    x = C._contiguous(x)
    weight = None if weight is None else C._contiguous(weight)
    bias = None if bias is None else C._contiguous(bias)
    y = np.empty((rows, d), x.dtype)
    mean, rstd = np.empty(rows, x.dtype), np.empty(rows, x.dtype)
    ctype, fn = C._kernel("layer_norm_forward", x.dtype)
    rc = fn(rows, d, C._ptr(x, ctype), x.size, *_opt(weight, ctype), *_opt(bias, ctype), eps,
            C._ptr(y, ctype), y.size, C._ptr(mean, ctype), rows, C._ptr(rstd, ctype), rows)
    C._check_rc(rc, "layer_norm_forward", f"x {x.shape}")
    return y, mean, rstd


def layer_norm_backward(g, x, weight, mean, rstd, needs):
    """(gx, gweight, gbias), None where not needed; see numpy_ref.layer_norm_backward."""
    C._require()
    rows, d = x.shape
    g, x = C._contiguous(g), C._contiguous(x)
    weight = None if weight is None else C._contiguous(weight)
    mean, rstd = C._contiguous(mean), C._contiguous(rstd)
    gx = np.empty((rows, d), x.dtype) if needs[0] else None
    gw = np.empty(d, x.dtype) if needs[1] and weight is not None else None
    gb = np.empty(d, x.dtype) if needs[2] else None
    ctype, fn = C._kernel("layer_norm_backward", x.dtype)
    rc = fn(rows, d, C._ptr(g, ctype), g.size, C._ptr(x, ctype), x.size, *_opt(weight, ctype),
            C._ptr(mean, ctype), rows, C._ptr(rstd, ctype), rows, *_opt(gx, ctype),
            *_opt(gw, ctype), *_opt(gb, ctype))
    C._check_rc(rc, "layer_norm_backward", f"g {g.shape}, x {x.shape}")
    return gx, gw, gb
