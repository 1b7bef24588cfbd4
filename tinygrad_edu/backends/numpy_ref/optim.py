"""The optimizer steps over all parameters of a group (C twin: csrc/optim.c).

The rules are PyTorch's, operation by operation in the parameters' dtype; optim/adam.py and
optim/sgd.py state them as formulas.  Every array is updated IN PLACE.  Written against
``xp``: the same functions step parameters on the GPU.
"""
import threading

import numpy as np

from ...device import array_module
from ..contract import describe, is_array, kernel

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))

# The persistent arrays (parameters and state) of an optimizer come back every step: they
# are checked the first time a set of them is seen (keyed by their ids; the entry holds the
# arrays, so no id is reused by another array while it lives).  Gradients are checked always.
_SEEN = {}
_SEEN_MAX = 16
_SEEN_LOCK = threading.Lock()


def _check_lists(op, named_lists):
    """Every list has one array per parameter: a C-contiguous writeable float array of the
    parameters' dtype, shaped like its parameter."""
    key = (op,) + tuple([id(a) for _, arrays in named_lists for a in arrays])
    with _SEEN_LOCK:
        if key in _SEEN:
            return
    params = named_lists[0][1]
    dtype = params[0].dtype if is_array(params[0]) else None
    if dtype not in _FLOATS:
        raise TypeError(f"{op}: parameters must be float32 or float64 arrays, got "
                        f"{describe(params[0]) if is_array(params[0]) else type(params[0]).__name__}")
    for name, arrays in named_lists:
        if len(arrays) != len(params):
            raise ValueError(f"{op}: {len(arrays)} {name} for {len(params)} parameters")
        for i, a in enumerate(arrays):
            if not is_array(a) or a.dtype != dtype or not a.flags.c_contiguous \
                    or a.shape != params[i].shape or not getattr(a.flags, "writeable", True):  # CuPy: none
                raise ValueError(f"{op}: {name}[{i}] must be a C-contiguous writeable {dtype} "
                                 f"array shaped {params[i].shape}, got "
                                 f"{describe(a) if is_array(a) else type(a).__name__}")
    with _SEEN_LOCK:
        if len(_SEEN) >= _SEEN_MAX:
            _SEEN.pop(next(iter(_SEEN)))
        _SEEN[key] = [list(arrays) for _, arrays in named_lists]


def _check_grads(op, params, grads):
    if len(grads) != len(params):
        raise ValueError(f"{op}: {len(grads)} grads for {len(params)} parameters")
    for i, g in enumerate(grads):
        p = params[i]
        if type(g) is not type(p) or g.dtype != p.dtype or not g.flags.c_contiguous \
                or g.shape != p.shape:
            raise ValueError(f"{op}: grads[{i}] must be a C-contiguous {p.dtype} array shaped "
                             f"{p.shape}, got {describe(g) if is_array(g) else type(g).__name__}")


def _flags(op, name, values, count, minimum):
    """One int per parameter, each >= minimum (C reads ``count`` of them)."""
    try:
        values = [int(v) for v in values]
    except TypeError:
        raise TypeError(f"{op}: {name} must be a list of ints, got {values!r}") from None
    if len(values) != count:
        raise ValueError(f"{op}: {len(values)} {name} for {count} parameters")
    if values and min(values) < minimum:
        raise ValueError(f"{op}: every entry of {name} must be >= {minimum}, got {values}")
    return values


def check_adam_step(hp, params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps):
    op = "adam_step"
    params = list(params)
    if params:
        lists = [("params", params), ("exp_avgs", exp_avgs), ("exp_avg_sqs", exp_avg_sqs)]
        if hp["amsgrad"]:
            lists.append(("max_exp_avg_sqs", max_exp_avg_sqs))
        _check_lists(op, lists)
        _check_grads(op, params, grads)
        steps = _flags(op, "steps", steps, len(params), minimum=1)
    return hp, params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps


def check_sgd_step(hp, params, grads, momentum_buffers, first):
    op = "sgd_step"
    params = list(params)
    if params:
        momentum = float(hp["momentum"]) != 0
        _check_lists(op, [("params", params)]
                     + ([("momentum_buffers", momentum_buffers)] if momentum else []))
        _check_grads(op, params, grads)
        if momentum:
            first = _flags(op, "first", first, len(params), minimum=0)
    return hp, params, grads, momentum_buffers, first


@kernel(check_adam_step)
def adam_step(hp, params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps):
    """Adam / AdamW on every array of ``params``, in place.

    hp: dict with lr, betas, eps, weight_decay, amsgrad, maximize and decoupled (AdamW);
    params, grads, exp_avgs, exp_avg_sqs (and max_exp_avg_sqs when amsgrad, else None):
    lists of C-contiguous arrays of one float dtype, entry i shaped like params[i];
    steps[i]: the step number t >= 1 of parameter i after this update.
    """
    lr, eps, wd = float(hp["lr"]), float(hp["eps"]), float(hp["weight_decay"])
    beta1, beta2 = (float(b) for b in hp["betas"])
    for i, p in enumerate(params):
        xp = array_module(p)
        g, m, v, t = grads[i], exp_avgs[i], exp_avg_sqs[i], steps[i]
        if hp["maximize"]:
            g = -g                                    # ascend: g <- -g
        if wd != 0:
            if hp["decoupled"]:
                p *= 1 - lr * wd                      # AdamW: p <- p (1 - lr wd)
            else:
                g = g + wd * p                        # Adam:  g <- g + wd p
        m += (1 - beta1) * (g - m)                    # m <- beta1 m + (1 - beta1) g (a lerp)
        v *= beta2                                    # v <- beta2 v
        v += (1 - beta2) * g * g                      #      + (1 - beta2) g^2
        step_size = lr / (1 - beta1 ** t)             # lr / (1 - beta1^t)
        if hp["amsgrad"]:
            vmax = max_exp_avg_sqs[i]
            xp.maximum(vmax, v, out=vmax)             # vmax <- max(vmax, v)
            v = vmax
        denom = xp.sqrt(v) / (1 - beta2 ** t) ** 0.5 + eps  # sqrt(v) / sqrt(1 - beta2^t) + eps
        p += (-step_size) * m / denom                 # p <- p - step_size * m / denom


@kernel(check_sgd_step)
def sgd_step(hp, params, grads, momentum_buffers, first):
    """SGD (momentum, dampening, Nesterov, weight decay) on every array of ``params``, in
    place.  momentum_buffers: list of arrays (None when momentum is 0); first[i]: buffer i is
    new and is set to the gradient (PyTorch's first step)."""
    lr, mu = float(hp["lr"]), float(hp["momentum"])
    dampening, wd = float(hp["dampening"]), float(hp["weight_decay"])
    for i, p in enumerate(params):
        g = grads[i]
        if hp["maximize"]:
            g = -g                                    # ascend: g <- -g
        if wd != 0:
            g = g + wd * p                            # g <- g + wd * p
        if mu != 0:
            buf = momentum_buffers[i]
            if first[i]:
                buf[...] = g                          # b_1 = g
            else:
                buf *= mu                             # b_t = mu * b_{t-1}
                buf += (1 - dampening) * g            #       + (1 - dampening) * g
            g = g + mu * buf if hp["nesterov"] else buf  # Nesterov: g + mu b_t, else b_t
        p -= lr * g                                   # p <- p - lr * g
