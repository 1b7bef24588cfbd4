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
        """All parameters of the group in one kernel call (optim/_fused.py): ``sgd_step``
        of the kernel table, csrc/optim.c or its twin backends/numpy_ref/optim.py."""
        sgd_step_group(self, group, params, grads)
