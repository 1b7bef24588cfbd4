"""The fused optimizer steps: one C call updates every parameter of a group.

``Optimizer._step_group`` is the hook (see optimizer.py): Adam and SGD override it with
the functions below, which keep the per-parameter state exactly as the reference
``_update`` does (same names, arrays, step counts) and hand all the arrays of the group to
``adam_step`` / ``sgd_step`` of the C backend (csrc/optim.c).  They apply when the C
backend is active and every parameter, gradient and state array is a C-contiguous host
array of one float dtype; anything else (the NumPy backend, the GPU, a float16 model, a
read-only or strided array) returns False and the caller runs the reference loop.  The
tests compare the two paths step by step.
"""
from __future__ import annotations

import numpy as np

from .. import backends

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _c_table(params, grads):
    """backends.c when the fused step applies to these arrays, else None."""
    if backends.backend() != "c":
        return None
    dtype = None
    for p, g in zip(params, grads):
        a = p.data
        if type(a) is not np.ndarray or type(g) is not np.ndarray:
            return None
        if dtype is None:
            dtype = a.dtype
            if dtype not in _FLOATS:
                return None
        if a.dtype != dtype or g.dtype != dtype or not a.flags.c_contiguous \
                or not a.flags.writeable:
            return None
    return backends.c


def _c_order(g):
    """g as a C-contiguous array of its own shape (np.ascontiguousarray would turn a 0-d
    gradient into shape (1,), which the kernel's shape check refuses)."""
    return g if g.flags.c_contiguous else g.copy()


def _state_array_ok(arr, p) -> bool:
    return (type(arr) is np.ndarray and arr.dtype == p.data.dtype and arr.shape == p.shape
            and arr.flags.c_contiguous and arr.flags.writeable)


def adam_step_group(opt, group, params, grads) -> bool:
    """Adam/AdamW over the group in one call; False when it does not apply."""
    table = _c_table(params, grads)
    if table is None:
        return False
    amsgrad = bool(group["amsgrad"])
    names = ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if amsgrad else ())
    for p in params:  # the state must be usable before anything changes
        state = opt.state.get(p)
        if state and not all(_state_array_ok(state[n], p) for n in names if n in state):
            return False
    exp_avgs, exp_avg_sqs, maxes, steps = [], [], [], []
    for p in params:
        state = opt.state.get(p)
        if not state:  # first step of this parameter: m_0 = v_0 = 0 (as _update)
            state = {"step": 0, "exp_avg": np.zeros_like(p.data),
                     "exp_avg_sq": np.zeros_like(p.data)}
            if amsgrad:
                state["max_exp_avg_sq"] = np.zeros_like(p.data)
            opt.state[p] = state
        elif amsgrad and "max_exp_avg_sq" not in state:  # amsgrad switched on mid-training
            state["max_exp_avg_sq"] = np.zeros_like(p.data)
        state["step"] += 1
        exp_avgs.append(state["exp_avg"])
        exp_avg_sqs.append(state["exp_avg_sq"])
        maxes.append(state.get("max_exp_avg_sq"))
        steps.append(state["step"])
    grads = [_c_order(g) for g in grads]
    hp = dict(group, decoupled=opt._decoupled_weight_decay)
    table.adam_step(hp, [p.data for p in params], grads, exp_avgs, exp_avg_sqs,
                    maxes if amsgrad else None, steps)
    return True


def sgd_step_group(opt, group, params, grads) -> bool:
    """SGD over the group in one call; False when it does not apply."""
    table = _c_table(params, grads)
    if table is None:
        return False
    momentum = float(group["momentum"]) != 0
    buffers, first = [], []
    if momentum:
        for p in params:
            state = opt.state.get(p)
            buf = state.get("momentum_buffer") if state else None
            if buf is not None and not _state_array_ok(buf, p):
                return False
        for p in params:
            state = opt.state.setdefault(p, {})
            buf = state.get("momentum_buffer")
            first.append(buf is None)
            if buf is None:  # b_1 = g: the kernel fills it
                buf = state["momentum_buffer"] = np.empty_like(p.data)
            buffers.append(buf)
    grads = [_c_order(g) for g in grads]
    table.sgd_step(group, [p.data for p in params], grads, buffers if momentum else None, first)
    return True
