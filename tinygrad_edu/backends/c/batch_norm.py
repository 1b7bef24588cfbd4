"""C wrappers of BatchNorm over (N, C, L) (csrc/batch_norm.c)."""
import numpy as np

from .. import c as C


def batch_norm_forward(x, mean, var, weight, bias, eps):
    """y; see numpy_ref.batch_norm_forward."""
    C._require()
    n, c, l = x.shape
    x, mean, var, weight, bias = (C._contiguous(a) for a in (x, mean, var, weight, bias))
    y = np.empty(x.shape, x.dtype)
    ctype, fn = C._kernel("batch_norm_forward", x.dtype)
    args = [n, c, l]
    for a in (x, mean, var, weight, bias):
        args += [C._ptr(a, ctype), a.size]
    rc = fn(*args, eps, C._ptr(y, ctype), y.size)
    C._check_rc(rc, "batch_norm_forward", f"x {x.shape}")
    return y


def batch_norm_backward(g, x, mean, var, weight, eps, batch_stats):
    """(gx, gw, gb); see numpy_ref.batch_norm_backward."""
    C._require()
    n, c, l = x.shape
    g, x, mean, var, weight = (C._contiguous(a) for a in (g, x, mean, var, weight))
    gx, gw, gb = np.empty(x.shape, x.dtype), np.empty(c, x.dtype), np.empty(c, x.dtype)
    ctype, fn = C._kernel("batch_norm_backward", x.dtype)
    args = [n, c, l, 1 if batch_stats else 0]
    for a in (g, x, mean, var, weight):
        args += [C._ptr(a, ctype), a.size]
    args.append(eps)
    for a in (gx, gw, gb):
        args += [C._ptr(a, ctype), a.size]
    C._check_rc(fn(*args), "batch_norm_backward", f"g {g.shape}, x {x.shape}")
    return gx, gw, gb
