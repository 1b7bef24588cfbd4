"""C wrappers of the softmax cross-entropy with class targets (csrc/loss.c)."""
import numpy as np

from .. import c as C
from ..numpy_ref.loss import check_targets

_EINDEX = 5  # TGE_EINDEX: a target outside [0, C) that is not ignore_index


def cross_entropy_forward(logits, target, ignore_index):
    """(logp, losses); see numpy_ref.cross_entropy_forward.  The targets are checked by the
    kernel (nothing written), and only when it refuses, for the message, in Python."""
    C._require()
    n, c = logits.shape
    logits, target = C._contiguous(logits), C._contiguous(target)
    logp = np.empty((n, c), logits.dtype)
    losses = np.empty(n, logits.dtype)
    ctype, fn = C._kernel("cross_entropy_forward", logits.dtype)
    rc = fn(n, c, C._ptr(logits, ctype), logits.size, C._ptr(target, "int64_t"), target.size,
            ignore_index, C._ptr(logp, ctype), logp.size, C._ptr(losses, ctype), losses.size)
    if rc == _EINDEX:
        check_targets("cross_entropy_forward", logits, target, ignore_index)
    C._check_rc(rc, "cross_entropy_forward", f"logits {logits.shape}, target values outside "
                                            f"[0, {c}) or ignore_index")
    return logp, losses


def cross_entropy_backward(logp, target, ignore_index, g):
    """glogits; see numpy_ref.cross_entropy_backward."""
    C._require()
    n, c = logp.shape
    logp, target, g = C._contiguous(logp), C._contiguous(target), C._contiguous(g)
    glogits = np.empty((n, c), logp.dtype)
    ctype, fn = C._kernel("cross_entropy_backward", logp.dtype)
    rc = fn(n, c, C._ptr(logp, ctype), logp.size, C._ptr(target, "int64_t"), target.size,
            ignore_index, C._ptr(g, ctype), g.size, C._ptr(glogits, ctype), glogits.size)
    if rc == _EINDEX:
        check_targets("cross_entropy_backward", logp, target, ignore_index)
    C._check_rc(rc, "cross_entropy_backward", f"logp {logp.shape}")
    return glogits
