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
    lr_t (MultiStepLR)       = base_lr * gamma ** (number of milestones <= t)
    lr_t (LinearLR)          = base_lr * (s + (e - s) * min(t, total_iters) / total_iters)
    lr_t (MultiplicativeLR)  = lr_{t-1} * lr_lambda(t)

OneCycleLR is stepped once per batch; ReduceLROnPlateau is stepped with a metric.
"""
from __future__ import annotations

import bisect
import math
import numbers

from .optimizer import Optimizer


def _one_per_group(owner: str, what: str, value, groups: int) -> list:
    """``value`` for every one of ``groups`` parameter groups: a list or tuple as given (it
    must have one entry per group), anything else repeated."""
    if isinstance(value, (list, tuple)):
        if len(value) != groups:
            raise ValueError(f"{owner}: expected {groups} {what} (one per group), got {len(value)}")
        return list(value)
    return [value] * groups


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
        self.lr_lambdas = _one_per_group("LambdaLR", "lr_lambdas", lr_lambda, n_groups)
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


class MultiStepLR(LRScheduler):
    """Multiply the rate by ``gamma`` at each epoch listed in ``milestones``.

    MultiStepLR(optimizer, milestones, gamma=0.1, last_epoch=-1); milestones: increasing ints
    (a milestone listed twice multiplies by gamma twice, as PyTorch's Counter does).
    """

    def __init__(self, optimizer, milestones, gamma: float = 0.1, last_epoch: int = -1):
        milestones = list(milestones)
        if any(isinstance(m, bool) or not isinstance(m, numbers.Integral) for m in milestones):
            raise TypeError(f"MultiStepLR: milestones must be integers, got {milestones!r}")
        self.milestones = sorted(int(m) for m in milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        hits = self.milestones.count(self.last_epoch)
        if self._is_initial or hits == 0:
            return self._current_lrs()
        return [lr * self.gamma ** hits for lr in self._current_lrs()]  # lr <- gamma^hits * lr

    def _closed_form_lr(self):
        passed = bisect.bisect_right(self.milestones, self.last_epoch)
        return [base * self.gamma ** passed for base in self.base_lrs]


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith 2018): warm up to ``max_lr``, then anneal far below the start.

    OneCycleLR(optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None,
               pct_start=0.3, anneal_strategy="cos", cycle_momentum=True, base_momentum=0.85,
               max_momentum=0.95, div_factor=25.0, final_div_factor=1e4, three_phase=False,
               last_epoch=-1)
        Called once per *batch*. The rate starts at max_lr / div_factor, reaches max_lr after
        pct_start * total_steps steps and ends at (max_lr / div_factor) / final_div_factor.
        With cycle_momentum the momentum (or Adam's beta1) moves the opposite way between
        max_momentum and base_momentum. total_steps = epochs * steps_per_epoch if not given.
    """

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None,
                 pct_start=0.3, anneal_strategy="cos", cycle_momentum=True, base_momentum=0.85,
                 max_momentum=0.95, div_factor=25.0, final_div_factor=1e4, three_phase=False,
                 last_epoch=-1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        if total_steps is None:
            if epochs is None or steps_per_epoch is None:
                raise ValueError("OneCycleLR: give total_steps, or epochs and steps_per_epoch")
            total_steps = int(epochs) * int(steps_per_epoch)
        if int(total_steps) <= 0:
            raise ValueError(f"OneCycleLR: total_steps must be a positive integer, got {total_steps!r}")
        if not 0 <= pct_start <= 1:
            raise ValueError(f"OneCycleLR: pct_start must be in [0, 1], got {pct_start!r}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"OneCycleLR: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        self.total_steps = int(total_steps)
        self.anneal_strategy = anneal_strategy
        self.cycle_momentum = bool(cycle_momentum)
        warm = float(pct_start * self.total_steps) - 1
        if three_phase:
            self._phases = [(warm, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                            (float(2 * pct_start * self.total_steps) - 2, "max_lr", "initial_lr",
                             "base_momentum", "max_momentum"),
                            (self.total_steps - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum")]
        else:
            self._phases = [(warm, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                            (self.total_steps - 1, "max_lr", "min_lr", "base_momentum", "max_momentum")]
        groups = optimizer.param_groups
        max_lrs = _one_per_group("OneCycleLR", "max_lr values", max_lr, len(groups))
        self._use_beta1 = "betas" in optimizer.defaults
        if self.cycle_momentum and not self._use_beta1 and "momentum" not in optimizer.defaults:
            raise ValueError("OneCycleLR: optimizer must support momentum or betas with cycle_momentum enabled")
        for group, top in zip(groups, max_lrs):
            if last_epoch == -1:
                group["initial_lr"] = top / div_factor
                group["max_lr"] = top
                group["min_lr"] = group["initial_lr"] / final_div_factor
            if self.cycle_momentum and last_epoch == -1:
                if self._use_beta1:
                    group["betas"] = (max_momentum, *group["betas"][1:])
                else:
                    group["momentum"] = max_momentum
                group["max_momentum"] = max_momentum
                group["base_momentum"] = base_momentum
        super().__init__(optimizer, last_epoch)

    def _anneal(self, start, end, pct):
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self):
        t = self.last_epoch
        if t > self.total_steps:
            raise ValueError(f"OneCycleLR: tried to step {t} times, the schedule has total_steps={self.total_steps}")
        lrs = []
        for group in self.optimizer.param_groups:
            start = 0.0
            for i, (end, lr0, lr1, m0, m1) in enumerate(self._phases):
                if t <= end or i == len(self._phases) - 1:
                    pct = (t - start) / (end - start)
                    lr = self._anneal(group[lr0], group[lr1], pct)
                    momentum = self._anneal(group[m0], group[m1], pct) if self.cycle_momentum else None
                    break
                start = end
            lrs.append(lr)
            if momentum is not None:
                if self._use_beta1:
                    group["betas"] = (momentum, *group["betas"][1:])
                else:
                    group["momentum"] = momentum
        return lrs


class ReduceLROnPlateau:
    """Divide the rate by 1 / ``factor`` when a metric has stopped improving.

    ReduceLROnPlateau(optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4,
                      threshold_mode="rel", cooldown=0, min_lr=0, eps=1e-8)
        ``step(metric)`` once per epoch with the validation loss (mode "min") or accuracy
        ("max"). After more than ``patience`` epochs without an improvement (by more than
        ``threshold``, relative or absolute), every rate becomes max(lr * factor, min_lr);
        then ``cooldown`` epochs pass before bad epochs are counted again. min_lr: a number or
        one per group. Changes smaller than ``eps`` are skipped.
    """

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4,
                 threshold_mode="rel", cooldown=0, min_lr=0, eps=1e-8):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau: factor should be < 1.0, got {factor!r}")
        if mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"ReduceLROnPlateau: threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}")
        self.min_lrs = _one_per_group("ReduceLROnPlateau", "min_lrs", min_lr,
                                      len(optimizer.param_groups))
        self.optimizer = optimizer
        self.mode, self.factor, self.patience = mode, factor, patience
        self.threshold, self.threshold_mode = threshold, threshold_mode
        self.cooldown, self.eps = cooldown, eps
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.last_epoch = 0
        self._last_lr = [group["lr"] for group in optimizer.param_groups]

    def is_better(self, a, best) -> bool:
        if self.mode == "min":
            return a < (best * (1 - self.threshold) if self.threshold_mode == "rel" else best - self.threshold)
        return a > (best * (1 + self.threshold) if self.threshold_mode == "rel" else best + self.threshold)

    def step(self, metrics) -> None:
        """One epoch with the metric ``metrics`` (a number or a 1-element tensor)."""
        current = float(metrics)
        self.last_epoch += 1
        if self.is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs):
                new_lr = max(group["lr"] * self.factor, min_lr)
                if group["lr"] - new_lr > self.eps:
                    group["lr"] = new_lr
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list:
        return list(self._last_lr)

    def state_dict(self) -> dict:
        return {key: value for key, value in self.__dict__.items() if key != "optimizer"}

    def load_state_dict(self, state_dict: dict) -> None:
        self.__dict__.update(state_dict)


class LinearLR(LRScheduler):
    """Scale the rate linearly from ``start_factor`` to ``end_factor`` of the base rate over
    ``total_iters`` steps, then keep it (a warm-up when start_factor < 1).

    LinearLR(optimizer, start_factor=1/3, end_factor=1.0, total_iters=5, last_epoch=-1);
    0 < start_factor <= 1, 0 <= end_factor <= 1.
    """

    def __init__(self, optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0, total_iters: int = 5,
                 last_epoch: int = -1):
        if not 0 < start_factor <= 1 or not 0 <= end_factor <= 1:
            raise ValueError(f"LinearLR: need 0 < start_factor <= 1 and 0 <= end_factor <= 1, got "
                             f"{start_factor} and {end_factor}")
        if isinstance(total_iters, bool) or not isinstance(total_iters, numbers.Integral) or total_iters < 1:
            raise ValueError(f"LinearLR: total_iters must be an integer >= 1, got {total_iters!r}")
        self.start_factor, self.end_factor, self.total_iters = float(start_factor), float(end_factor), int(total_iters)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        t, s, e, n = self.last_epoch, self.start_factor, self.end_factor, self.total_iters
        if t == 0:
            return [lr * s for lr in self._current_lrs()]
        if t > n:
            return self._current_lrs()
        # the ratio of consecutive points of the line, so that the update chains
        return [lr * (1.0 + (e - s) / (n * s + (t - 1) * (e - s))) for lr in self._current_lrs()]

    def _closed_form_lr(self):
        t, s, e, n = self.last_epoch, self.start_factor, self.end_factor, self.total_iters
        return [base * (s + (e - s) * min(n, t) / n) for base in self.base_lrs]


class MultiplicativeLR(LRScheduler):
    """Multiply the rate by ``lr_lambda(epoch)`` at every step after the first.

    MultiplicativeLR(optimizer, lr_lambda, last_epoch=-1); lr_lambda: a function of the epoch,
    or a list of such functions (one per parameter group).
    """

    def __init__(self, optimizer, lr_lambda, last_epoch: int = -1):
        self.lr_lambdas = _one_per_group("MultiplicativeLR", "lr_lambdas", lr_lambda,
                                         len(optimizer.param_groups))
        if not all(callable(f) for f in self.lr_lambdas):
            raise TypeError("MultiplicativeLR: lr_lambda must be a function of the epoch (or a list of them)")
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch > 0:
            return [lr * f(self.last_epoch) for lr, f in zip(self._current_lrs(), self.lr_lambdas)]
        return self._current_lrs()

    def state_dict(self) -> dict:
        """As LRScheduler's, without the functions (not plain data; PyTorch leaves them out too)."""
        return {k: v for k, v in super().state_dict().items() if k != "lr_lambdas"}
