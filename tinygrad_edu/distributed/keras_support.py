"""Data-parallel ``fit`` for tinygrad_edu.keras models (used by ``Model.fit`` when a process
group of several ranks is initialised): each rank trains on its share of every global batch,
gradients are averaged over the ranks before the optimizer step, the logs are global.
"""
from __future__ import annotations

import numpy as np

from . import process_group as pg
from .ddp import GradientReducer
from .training import DataParallel

__all__ = ["KerasDataParallel", "for_fit"]


class KerasDataParallel(DataParallel):
    """Rank 0's weights on every rank at the start, then one share and one averaged step per batch."""

    def __init__(self, model, bucket_cap_mb: float = 1.0):
        super().__init__()
        from ..autograd import no_grad

        params = list(model.parameters())
        with no_grad():
            for t in params + list(model.buffers()):
                pg.broadcast(t, src=0)
        self.reducer = GradientReducer(params, bucket_cap_mb=bucket_cap_mb)
        self.weight, self.counts = 1.0, True

    def begin_batch(self, idx: np.ndarray) -> np.ndarray:
        """This rank's share of the global batch ``idx`` (global batch split across ranks).

        A rank left without items (a last batch smaller than the world size) trains on one
        placeholder item with loss weight 0, so that it still joins the gradient average."""
        local, self.weight = self.share(idx)
        if len(local) == 0:
            local, self.weight = np.asarray(idx)[:1], 0.0
        self.counts = self.weight > 0
        self.reducer.prepare_for_backward()
        return local

    def backward(self, loss) -> None:
        """Backward of the weighted loss, then the gradient average over the ranks."""
        (loss * self.weight if self.weight != 1.0 else loss).backward()
        self.reducer.synchronize()

    def means(self, accumulator) -> dict:
        """The accumulator's running means over every rank's samples (one small all-reduce)."""
        names = list(accumulator.sums)
        totals = self.sum(*[accumulator.sums[k] for k in names], accumulator.count)
        count = max(totals[-1], 1.0)
        return {k: v / count for k, v in zip(names, totals[:-1])}


def for_fit(model):
    """A KerasDataParallel when a process group of two or more ranks is initialised, else None."""
    if not pg.is_initialized() or pg.get_world_size() < 2:
        return None
    return KerasDataParallel(model)
