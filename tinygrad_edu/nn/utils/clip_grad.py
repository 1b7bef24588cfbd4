"""Gradient clipping, in place on the ``.grad`` of parameters (as torch.nn.utils)."""
from __future__ import annotations

import math

import numpy as np

from ...device import array_module
from ...tensor import Tensor


def _with_grads(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p for p in parameters if p.grad is not None]


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False,
                    foreach=None) -> Tensor:
    """Scale all gradients together so that their joint ``norm_type``-norm is at most max_norm.

    The norm is taken over every gradient as if concatenated into one vector (``inf``: the
    largest absolute entry). Each gradient is multiplied by min(1, max_norm / (norm + 1e-6)),
    as PyTorch. Returns the norm before clipping as a 0-d tensor (float32 unless the
    gradients are float64). RuntimeError if the norm is nan/inf and ``error_if_nonfinite``.
    """
    params = _with_grads(parameters)
    norm_type = float(norm_type)
    if not params:
        return Tensor(np.array(0.0, dtype=np.float32))
    grads = [p.grad.data for p in params]
    xp = array_module(grads[0])
    dtype = np.result_type(*[g.dtype for g in grads])
    if math.isinf(norm_type):
        total = max(float(xp.abs(g).max()) if g.size else 0.0 for g in grads)
    else:
        total = sum(float((xp.abs(g.astype(np.float64)) ** norm_type).sum()) for g in grads) ** (1.0 / norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is "
                           f"{total}, so they cannot be clipped (error_if_nonfinite=True)")
    coef = min(float(max_norm) / (total + 1e-6), 1.0)
    for p in params:
        p.grad.data = p.grad.data * p.grad.dtype.type(coef)
    return Tensor(np.array(total, dtype=dtype))


def clip_grad_value_(parameters, clip_value: float, foreach=None) -> None:
    """Clamp every gradient entry into [-clip_value, clip_value], in place."""
    for p in _with_grads(parameters):
        xp = array_module(p.grad.data)
        p.grad.data = xp.clip(p.grad.data, -float(clip_value), float(clip_value))
