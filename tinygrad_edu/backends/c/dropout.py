"""C wrapper of dropout with a counter-based mask (csrc/dropout.c)."""
import numpy as np

from .. import c as C
from ..numpy_ref.dropout import dropout_constants


def dropout(x, seed, p):
    """x * mask / (1 - p), the mask drawn from (seed, index); see numpy_ref.dropout."""
    C._require()
    x = C._contiguous(x)
    y = np.empty(x.shape, x.dtype)
    if y.size == 0:
        return y
    threshold, scale = dropout_constants(p, x.dtype)
    ctype, fn = C._kernel("dropout", x.dtype)
    rc = fn(x.size, C._ptr(x, ctype), x.size, seed, threshold, float(scale), C._ptr(y, ctype),
            y.size)
    C._check_rc(rc, "dropout", f"x {x.shape}, p {p}")
    return y
