"""Adadelta, Adagrad and RMSprop: per-coordinate step sizes from running averages of g^2.

Each rule below is PyTorch's single-tensor implementation, written on arrays (NumPy or CuPy)
and updating the parameter array in place. ``g`` is the gradient after ``maximize``
(g <- -g) and L2 weight decay (g <- g + wd * p) have been applied.

Adadelta (Zeiler 2012; state "square_avg" = E[g^2], "acc_delta" = E[dx^2])::

    E[g^2]  <- rho * E[g^2] + (1 - rho) * g^2
    dx       = sqrt(E[dx^2] + eps) / sqrt(E[g^2] + eps) * g
    E[dx^2] <- rho * E[dx^2] + (1 - rho) * dx^2
    p       <- p - lr * dx

Adagrad (Duchi et al. 2011; state "sum" = the sum of every g^2 so far)::

    clr  = lr / (1 + (t - 1) * lr_decay)
    sum <- sum + g^2
    p   <- p - clr * g / (sqrt(sum) + eps)

RMSprop (Hinton's lecture 6e; state "square_avg", with centered "grad_avg", with momentum
"momentum_buffer")::

    v   <- alpha * v + (1 - alpha) * g^2
    avg  = sqrt(v - mean_g^2) + eps   centered (mean_g <- alpha * mean_g + (1 - alpha) * g)
    avg  = sqrt(v) + eps              otherwise
    b   <- momentum * b + g / avg;  p <- p - lr * b     when momentum > 0
    p   <- p - lr * g / avg                             otherwise
"""
from __future__ import annotations

from ..device import array_module
from .optimizer import Optimizer, check_number


def _prepare_gradient(p, g, group):
    """g after ``maximize`` and L2 weight decay: a new array (the caller's g is not changed)."""
    if group["maximize"]:
        g = -g                                        # ascend: g <- -g
    wd = float(group["weight_decay"])
    if wd != 0:
        g = g + wd * p                                # g <- g + wd * p
    return g


class Adadelta(Optimizer):
    """Adadelta: the step is the ratio of two running RMS values, so ``lr`` defaults to 1.

    Adadelta(params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, maximize=False)
        lr >= 0, 0 <= rho <= 1, eps >= 0, weight_decay >= 0 (ValueError otherwise).

    State per parameter: "step" (int), "square_avg", "acc_delta" (arrays like the parameter).
    """

    _state_names = ("step", "square_avg", "acc_delta")

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, maximize=False):
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize))

    @staticmethod
    def _check_hyperparameters(hp):
        check_number("learning rate", hp["lr"], low=0.0)
        check_number("rho value", hp["rho"], low=0.0, high=1.0)
        check_number("epsilon value", hp["eps"], low=0.0)
        check_number("weight_decay value", hp["weight_decay"], low=0.0)

    def _update(self, p, g, state, group):
        """p: parameter array, updated in place; g: its gradient (not modified); same shape."""
        xp = array_module(p)
        lr, rho, eps = float(group["lr"]), float(group["rho"]), float(group["eps"])
        if not state:
            state["step"] = 0
            state["square_avg"] = xp.zeros_like(p)
            state["acc_delta"] = xp.zeros_like(p)
        state["step"] += 1
        g = _prepare_gradient(p, g, group)
        square_avg, acc_delta = state["square_avg"], state["acc_delta"]
        square_avg *= rho                             # E[g^2] <- rho E[g^2]
        square_avg += (1 - rho) * g * g               #          + (1 - rho) g^2
        delta = xp.sqrt(acc_delta + eps) / xp.sqrt(square_avg + eps) * g
        acc_delta *= rho                              # E[dx^2] <- rho E[dx^2]
        acc_delta += (1 - rho) * delta * delta        #           + (1 - rho) dx^2
        p -= lr * delta                               # p <- p - lr dx


class Adagrad(Optimizer):
    """Adagrad: divide by the root of the sum of all squared gradients seen so far.

    Adagrad(params, lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0,
            eps=1e-10, maximize=False)
        lr >= 0, lr_decay >= 0, weight_decay >= 0, initial_accumulator_value >= 0, eps >= 0.

    State per parameter: "step" (int) and "sum" (array like the parameter, starting at
    ``initial_accumulator_value``). As in PyTorch the state exists from construction on, so
    ``state_dict()`` lists every parameter before the first step.
    """

    _state_names = ("step", "sum")

    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0,
                 eps=1e-10, maximize=False):
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      eps=eps, maximize=maximize))
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p] = self._fresh_state(p.data, group)

    @staticmethod
    def _check_hyperparameters(hp):
        check_number("learning rate", hp["lr"], low=0.0)
        check_number("lr_decay value", hp["lr_decay"], low=0.0)
        check_number("weight_decay value", hp["weight_decay"], low=0.0)
        check_number("initial_accumulator_value", hp["initial_accumulator_value"], low=0.0)
        check_number("epsilon value", hp["eps"], low=0.0)

    @staticmethod
    def _fresh_state(p, group):
        xp = array_module(p)
        return {"step": 0, "sum": xp.full_like(p, float(group["initial_accumulator_value"]))}

    def _update(self, p, g, state, group):
        """p: parameter array, updated in place; g: its gradient (not modified); same shape."""
        xp = array_module(p)
        if not state:  # a parameter group added after construction
            state.update(self._fresh_state(p, group))
        state["step"] += 1
        g = _prepare_gradient(p, g, group)
        clr = float(group["lr"]) / (1 + (state["step"] - 1) * float(group["lr_decay"]))
        state["sum"] += g * g                         # sum <- sum + g^2
        std = xp.sqrt(state["sum"]) + float(group["eps"])
        p -= clr * g / std                            # p <- p - clr g / (sqrt(sum) + eps)


class RMSprop(Optimizer):
    """RMSprop: divide by a running RMS of the gradient; optionally centered and with momentum.

    RMSprop(params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
            centered=False, maximize=False)
        lr >= 0, alpha >= 0, eps >= 0, weight_decay >= 0, momentum >= 0.

    State per parameter: "step", "square_avg", "momentum_buffer" (momentum > 0), "grad_avg"
    (centered), arrays like the parameter (PyTorch's names).
    """

    _state_names = ("step", "square_avg", "momentum_buffer", "grad_avg")

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 centered=False, maximize=False):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered, maximize=maximize))

    @staticmethod
    def _check_hyperparameters(hp):
        check_number("learning rate", hp["lr"], low=0.0)
        check_number("alpha value", hp["alpha"], low=0.0)
        check_number("epsilon value", hp["eps"], low=0.0)
        check_number("weight_decay value", hp["weight_decay"], low=0.0)
        check_number("momentum value", hp["momentum"], low=0.0)

    def _update(self, p, g, state, group):
        """p: parameter array, updated in place; g: its gradient (not modified); same shape."""
        xp = array_module(p)
        lr, alpha, eps = float(group["lr"]), float(group["alpha"]), float(group["eps"])
        momentum = float(group["momentum"])
        if not state:
            state["step"] = 0
            state["square_avg"] = xp.zeros_like(p)
        if momentum > 0 and "momentum_buffer" not in state:
            state["momentum_buffer"] = xp.zeros_like(p)
        if group["centered"] and "grad_avg" not in state:
            state["grad_avg"] = xp.zeros_like(p)
        state["step"] += 1
        g = _prepare_gradient(p, g, group)
        v = state["square_avg"]
        v *= alpha                                    # v <- alpha v
        v += (1 - alpha) * g * g                      #      + (1 - alpha) g^2
        if group["centered"]:
            mean_g = state["grad_avg"]
            mean_g += (1 - alpha) * (g - mean_g)      # mean_g <- lerp(mean_g, g, 1 - alpha)
            avg = xp.sqrt(v - mean_g * mean_g) + eps
        else:
            avg = xp.sqrt(v) + eps
        if momentum > 0:
            buf = state["momentum_buffer"]
            buf *= momentum                           # b <- momentum b + g / avg
            buf += g / avg
            p -= lr * buf                             # p <- p - lr b
        else:
            p -= lr * g / avg                         # p <- p - lr g / avg
