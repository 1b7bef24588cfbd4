"""Learning-rate schedulers: change ``group["lr"]`` of an optimizer once per ``step()``.

Same semantics as ``torch.optim.lr_scheduler``: creating a scheduler records each group's
``initial_lr`` (the base learning rate) and performs step 0; each later ``scheduler.step()``
(called after ``optimizer.step()``, once per epoch) advances ``last_epoch`` by one and sets the
new rates. StepLR, ExponentialLR and CosineAnnealingLR are *chainable*, as in PyTorch: they
compute the new rate from the current ``group["lr"]``, so they compose with a rate changed by
hand. ``step(epoch)`` jumps to ``epoch`` with the closed-form formula instead.

    lr_t (StepLR)            = base_lr * gamma ** (t // step_size)
    lr_t (ExponentialLR)     = base_lr * gamma ** t
    lr_t (CosineAnnealingLR) = eta_min + (base_lr - eta_min) * (1 + cos(pi * t / T_max)) / 2
    lr_t (LambdaLR)          = base_lr * lr_lambda(t)
"""
from __future__ import annotations

import math
import numbers

from .optimizer import Optimizer


class LRScheduler:
    """Base class. LRScheduler(optimizer, last_epoch=-1).

    last_epoch=-1 starts a schedule (sets ``initial_lr`` in every group); a value >= 0 resumes
    one and needs ``initial_lr`` in the groups already (KeyError otherwise).
    Attributes: ``base_lrs`` (one per group), ``last_epoch`` (the epoch of the current rates).
    """

    def __init__(self, optimizer, last_epoch: int = -1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        if not isinstance(last_epoch, numbers.Integral) or last_epoch < -1:
            raise ValueError(f"last_epoch must be an integer >= -1, got {last_epoch!r}")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(
                        f"param 'initial_lr' is not specified in param_groups[{i}] when resuming a "
                        f"scheduler with last_epoch={last_epoch} (load the optimizer's state first)"
                    )
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = int(last_epoch)
        self._is_initial = True  # the constructor's own step: keep the current rates
        self.step()
        self._is_initial = False

    def get_lr(self) -> list:  # pragma: no cover - abstract
        """The rates for ``self.last_epoch``, one per group (subclasses implement)."""
        raise NotImplementedError

    def _closed_form_lr(self) -> list:
        """The rates at ``self.last_epoch`` from ``base_lrs`` alone (for ``step(epoch)``)."""
        return self.get_lr()

    def step(self, epoch=None) -> None:
        """Advance one epoch (or jump to ``epoch``) and write the new rates into the groups."""
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:
            self.last_epoch = int(epoch)
            values = self._closed_form_lr()
        for group, lr in zip(self.optimizer.param_groups, values):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list:
        """The rates set by the last ``step()``, one float per parameter group."""
        return list(self._last_lr)

    def state_dict(self) -> dict:
        """Every attribute except the optimizer (numbers and lists: plain data)."""
        return {key: value for key, value in self.__dict__.items() if key != "optimizer"}

    def load_state_dict(self, state_dict: dict) -> None:
        self.__dict__.update(state_dict)

    def _current_lrs(self) -> list:
        return [group["lr"] for group in self.optimizer.param_groups]


class StepLR(LRScheduler):
    """Multiply the rate by ``gamma`` every ``step_size`` epochs.

    StepLR(optimizer, step_size, gamma=0.1, last_epoch=-1); step_size: int >= 1.
    """

    def __init__(self, optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1):
        if isinstance(step_size, bool) or not isinstance(step_size, numbers.Integral) or step_size < 1:
            raise ValueError(f"StepLR: step_size must be an integer >= 1, got {step_size!r}")
        self.step_size = int(step_size)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]         # lr <- gamma * lr

    def _closed_form_lr(self):
        return [base * self.gamma ** (self.last_epoch // self.step_size) for base in self.base_lrs]


class ExponentialLR(LRScheduler):
    """Multiply the rate by ``gamma`` every epoch. ExponentialLR(optimizer, gamma, last_epoch=-1)."""

    def __init__(self, optimizer, gamma: float, last_epoch: int = -1):
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._is_initial:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]         # lr <- gamma * lr

    def _closed_form_lr(self):
        return [base * self.gamma ** self.last_epoch for base in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """Cosine from the base rate down to ``eta_min`` over ``T_max`` epochs (no restarts).

    CosineAnnealingLR(optimizer, T_max, eta_min=0.0, last_epoch=-1); T_max > 0.
    Past T_max the rate follows the cosine back up, as PyTorch's does.
    """

    def __init__(self, optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1):
        if isinstance(T_max, bool) or not isinstance(T_max, numbers.Real) or T_max <= 0:
            raise ValueError(f"CosineAnnealingLR: T_max must be > 0, got {T_max!r}")
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        t, T, eta_min = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return self._current_lrs()
        if (t - 1 - T) % (2 * T) == 0:
            # At the bottom of the cosine the ratio below would divide by 1 + cos(pi) = 0;
            # step up from eta_min by the first increment instead.
            return [lr + (base - eta_min) * (1 - math.cos(math.pi / T)) / 2
                    for lr, base in zip(self._current_lrs(), self.base_lrs)]
        # Recursive form of the closed formula: lr_t - eta_min = (lr_{t-1} - eta_min) * ratio,
        # ratio = (1 + cos(pi t / T)) / (1 + cos(pi (t - 1) / T)).
        ratio = (1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T))
        return [ratio * (lr - eta_min) + eta_min for lr in self._current_lrs()]

    def _closed_form_lr(self):
        return [self.eta_min + (base - self.eta_min) * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
                for base in self.base_lrs]


class LambdaLR(LRScheduler):
    """Rate = base rate * ``lr_lambda(epoch)``.

    LambdaLR(optimizer, lr_lambda, last_epoch=-1): lr_lambda is a function of the epoch (int)
    returning a factor, or a list of such functions, one per parameter group.
    ``state_dict()`` leaves the functions out (they are code, not data).
    """

    def __init__(self, optimizer, lr_lambda, last_epoch: int = -1):
        n_groups = len(optimizer.param_groups) if isinstance(optimizer, Optimizer) else 0
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != n_groups:
                raise ValueError(f"LambdaLR: expected {n_groups} lr_lambdas (one per group), got {len(lr_lambda)}")
            self.lr_lambdas = list(lr_lambda)
        else:
            self.lr_lambdas = [lr_lambda] * n_groups
        for fn in self.lr_lambdas:
            if not callable(fn):
                raise TypeError(f"LambdaLR: lr_lambda must be callable, got {type(fn).__name__}")
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [base * fn(self.last_epoch) for fn, base in zip(self.lr_lambdas, self.base_lrs)]

    def state_dict(self):
        state = super().state_dict()
        state.pop("lr_lambdas", None)
        return state
