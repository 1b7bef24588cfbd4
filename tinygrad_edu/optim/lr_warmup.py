"""LinearLR and MultiplicativeLR: the warm-up ramp and the per-epoch factor of
``torch.optim.lr_scheduler`` (reached as ``optim.lr_scheduler.LinearLR`` / ``.MultiplicativeLR``).

    lr_t (LinearLR)         = base_lr * (s + (e - s) * min(t, total_iters) / total_iters)
    lr_t (MultiplicativeLR) = lr_{t-1} * lr_lambda(t)

Both are chainable as PyTorch's: each step scales the current ``group["lr"]``.
"""
from __future__ import annotations

import numbers

from .lr_scheduler import LRScheduler

__all__ = ["LinearLR", "MultiplicativeLR"]


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
        groups = len(optimizer.param_groups)
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != groups:
                raise ValueError(f"MultiplicativeLR: expected {groups} lr_lambdas, got {len(lr_lambda)}")
            self.lr_lambdas = list(lr_lambda)
        else:
            self.lr_lambdas = [lr_lambda] * groups
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
