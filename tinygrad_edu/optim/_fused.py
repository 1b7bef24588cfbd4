"""The Adam and SGD steps: one kernel call updates every parameter of a group.

``Optimizer._step_group`` is the hook (see optimizer.py): Adam and SGD override it with the
functions below, which keep the per-parameter state (same names, arrays, step counts as
PyTorch's) and hand all the arrays of the group to ``adam_step`` / ``sgd_step`` of the kernel
table of the parameters' device (``backends.kernels_for``: csrc/optim.c, its NumPy twin
backends/numpy_ref/optim.py, or that twin on CuPy arrays).  Arrays the tables refuse (a
float16 model, a strided or read-only parameter: the check refuses them before anything
changes) are stepped by the twin itself, unchecked: the same formula, never a second one.
"""
from __future__ import annotations

from ..backends import contract, kernels_for
from ..device import array_module


def _c_order(g):
    """g as a C-contiguous array of its own shape (ascontiguousarray would turn a 0-d
    gradient into shape (1,))."""
    return g if g.flags.c_contiguous else g.copy()


def _step(name, hp, params, grads, rest):
    """``<name>(hp, parameter arrays, grads, *rest)`` from the table of the parameters'
    device; arrays the table's check refuses (it refuses before changing anything) go to
    the twin, which takes any float arrays."""
    arrays = [p.data for p in params]
    try:
        getattr(kernels_for(arrays[0]), name)(hp, arrays, [_c_order(g) for g in grads], *rest)
    except (TypeError, ValueError):
        contract.KERNELS[name].twin(hp, arrays, grads, *rest)


def adam_step_group(opt, group, params, grads) -> None:
    """Adam/AdamW over the group in one kernel call."""
    amsgrad = bool(group["amsgrad"])
    exp_avgs, exp_avg_sqs, maxes, steps = [], [], [], []
    for p in params:
        state = opt.state.get(p)
        xp = array_module(p.data)
        if not state:  # first step of this parameter: m_0 = v_0 = 0
            state = opt.state[p] = {"step": 0, "exp_avg": xp.zeros_like(p.data),
                                    "exp_avg_sq": xp.zeros_like(p.data)}
        if amsgrad and "max_exp_avg_sq" not in state:  # also when switched on mid-training
            state["max_exp_avg_sq"] = xp.zeros_like(p.data)
        state["step"] += 1
        exp_avgs.append(state["exp_avg"])
        exp_avg_sqs.append(state["exp_avg_sq"])
        maxes.append(state.get("max_exp_avg_sq"))
        steps.append(state["step"])
    hp = dict(group, decoupled=opt._decoupled_weight_decay)
    _step("adam_step", hp, params, grads,
          (exp_avgs, exp_avg_sqs, maxes if amsgrad else None, steps))


def sgd_step_group(opt, group, params, grads) -> None:
    """SGD over the group in one kernel call."""
    momentum = float(group["momentum"]) != 0
    buffers, first = [], []
    if momentum:
        for p in params:
            state = opt.state.setdefault(p, {})
            buf = state.get("momentum_buffer")
            first.append(buf is None)
            if buf is None:  # b_1 = g: the kernel fills it
                buf = state["momentum_buffer"] = array_module(p.data).empty_like(p.data)
            buffers.append(buf)
    _step("sgd_step", group, params, grads, (buffers if momentum else None, first))
