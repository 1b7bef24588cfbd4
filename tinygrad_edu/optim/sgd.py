"""SGD: stochastic gradient descent with optional momentum, dampening, Nesterov and L2 decay.

The update of one parameter p with gradient g (PyTorch's rule, step t = 1, 2, ...)::

    g   <- -g                    if maximize
    g   <- g + wd * p            L2 weight decay, if wd != 0
    b_1 <- g                     momentum buffer, first step (no dampening)
    b_t <- mu * b_{t-1} + (1 - dampening) * g
    g   <- g + mu * b_t          if nesterov, else g <- b_t   (only when mu != 0)
    p   <- p - lr * g
"""
from __future__ import annotations

from ._fused import sgd_step_group
from .optimizer import Optimizer, check_number


class SGD(Optimizer):
    """Stochastic gradient descent (plain when ``momentum == 0``).

    SGD(params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False,
        maximize=False)
        params: iterable of Tensors (float32/float64, any shape) or of parameter-group dicts.
        lr >= 0, momentum >= 0, weight_decay >= 0; nesterov needs momentum > 0 and
        dampening == 0. Invalid values raise ValueError naming the value.

    State per parameter (only when momentum != 0): "momentum_buffer", shaped like the parameter.
    """

    _state_names = ("momentum_buffer",)

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0,
                 nesterov=False, maximize=False):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults)

    @staticmethod
    def _check_hyperparameters(hp):
        check_number("learning rate", hp["lr"], low=0.0)
        check_number("momentum value", hp["momentum"], low=0.0)
        check_number("dampening value", hp["dampening"])
        check_number("weight_decay value", hp["weight_decay"], low=0.0)
        if hp["nesterov"] and (hp["momentum"] <= 0 or hp["dampening"] != 0):
            raise ValueError(
                f"Nesterov momentum requires a momentum and zero dampening, got "
                f"momentum={hp['momentum']}, dampening={hp['dampening']}"
            )

    def _step_group(self, group, params, grads):
        """All parameters of the group in one C call (optim/_fused.py, csrc/optim.c) when
        the C backend runs them; else the reference loop over :meth:`_update`."""
        if not sgd_step_group(self, group, params, grads):
            super()._step_group(group, params, grads)

    def _update(self, p, g, state, group):
        """p: parameter array, updated in place; g: its gradient (not modified); same shape."""
        lr = float(group["lr"])
        mu = float(group["momentum"])
        dampening = float(group["dampening"])
        wd = float(group["weight_decay"])

        if group["maximize"]:
            g = -g                                    # ascend: g <- -g
        if wd != 0:
            g = g + wd * p                            # g <- g + wd * p
        if mu != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                # b_1 = g, in an array of p's shape: for a 0-d parameter g is a NumPy
                # scalar here (-g and g + wd*p give scalars), and a scalar buffer is not
                # changed by the in-place updates below (it stayed at b_1 forever)
                buf = p.copy()
                buf[...] = g                          # b_1 = g
                state["momentum_buffer"] = buf
            else:
                buf *= mu                             # b_t = mu * b_{t-1}
                buf += (1 - dampening) * g            #       + (1 - dampening) * g
            if group["nesterov"]:
                g = g + mu * buf                      # g <- g + mu * b_t
            else:
                g = buf                               # g <- b_t
        p -= lr * g                                   # p <- p - lr * g
