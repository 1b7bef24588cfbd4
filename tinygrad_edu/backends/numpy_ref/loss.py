"""Softmax cross-entropy with class targets, the fused loss (C twin: csrc/loss.c).

Written against ``xp``: the same functions are the GPU table's.
"""
import numpy as np

from ...device import array_module
from ..contract import check_arrays, describe, is_array, kernel


def _check_shapes(op: str, x, target, g=None) -> None:
    """x (N, C) float; target (N,) int64; g (N,) of x's dtype when given."""
    check_arrays(op, x=x) if g is None else check_arrays(op, x=x, g=g)
    if x.ndim != 2 or not is_array(target) or target.dtype != np.int64 \
            or target.shape != x.shape[:1] or (g is not None and g.shape != x.shape[:1]):
        raise ValueError(f"{op}: expected logits (N, C), int64 target (N,)"
                         f"{' and g (N,)' if g is not None else ''}, got {describe(x)}, "
                         f"{describe(target) if is_array(target) else repr(target)}"
                         f"{', ' + describe(g) if g is not None else ''}")


def check_targets(op: str, x, target, ignore_index) -> None:
    """Every target is a class in [0, C) or ignore_index (the C kernel refuses any other
    with TGE_EINDEX, and NumPy's indexing would wrap a negative one around)."""
    if target.size:
        bad = (target != ignore_index) & ((target < 0) | (target >= x.shape[1]))
        if bool(bad.any()):
            raise ValueError(f"{op}: target values must be classes in [0, {x.shape[1]}) or "
                             f"ignore_index={ignore_index}, got {target[bad][:5].tolist()}")


def check_cross_entropy_forward(logits, target, ignore_index=-100) -> tuple:
    _check_shapes("cross_entropy_forward", logits, target)
    return logits, target, int(ignore_index)


def check_cross_entropy_backward(logp, target, ignore_index, g) -> tuple:
    _check_shapes("cross_entropy_backward", logp, target, g)
    return logp, target, int(ignore_index), g


@kernel(check_cross_entropy_forward)
def cross_entropy_forward(logits, target, ignore_index=-100):
    """Log-softmax and per-row cross-entropy.

    logits: (N, C) float32/float64; target: (N,) int64 classes in [0, C) or ignore_index
    (ValueError otherwise).  Returns (logp (N, C), losses (N,)) with
    losses[i] = -logp[i, target[i]], 0 where target[i] == ignore_index.
    """
    xp = array_module(logits)
    check_targets("cross_entropy_forward", logits, target, ignore_index)
    if logits.shape[1] == 0:  # no class: every target is ignore_index (checked), loss 0
        return logits.copy(), xp.zeros(logits.shape[0], logits.dtype)
    shifted = logits - logits.max(axis=1, keepdims=True)
    logp = shifted - xp.log(xp.exp(shifted).sum(axis=1, keepdims=True))
    valid = target != ignore_index
    picked = xp.take_along_axis(logp, xp.where(valid, target, 0)[:, None], axis=1)[:, 0]
    return logp, xp.where(valid, -picked, logits.dtype.type(0))


@kernel(check_cross_entropy_backward)
def cross_entropy_backward(logp, target, ignore_index, g):
    """d(sum_i g[i] * losses[i]) / d logits = g[:, None] * (exp(logp) - onehot(target)),
    rows with target == ignore_index zero.  logp: (N, C) from forward; g: (N,)."""
    xp = array_module(logp)
    check_targets("cross_entropy_backward", logp, target, ignore_index)
    valid = target != ignore_index
    grad = xp.exp(logp)
    rows = xp.flatnonzero(valid)
    grad[rows, target[rows]] -= 1
    grad *= g[:, None]
    grad[~valid] = 0  # exactly 0, even where g or logp is not finite
    return grad
