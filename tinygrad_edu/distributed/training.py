"""Bookkeeping shared by the training loops that run data-parallel under mpirun (the
``train`` command and Keras ``fit``): each rank's share of a global batch, the loss weight
that makes the averaged gradient the whole batch's gradient, and summed figures for logs.
"""
from __future__ import annotations

import os

import numpy as np

from . import process_group as pg

__all__ = ["DataParallel", "from_environment"]


class DataParallel:
    """The current process group seen by a training loop (``init_process_group`` first)."""

    def __init__(self):
        group = pg._require("DataParallel")
        self.rank, self.world_size = group.rank, group.size
        self.is_main = self.rank == 0

    def share(self, idx: np.ndarray):
        """This rank's share of the global batch ``idx`` and its loss weight.

        idx: (B,) item indices, the same on every rank. Returns (local indices, weight): the
        batch cut into world-size nearly equal contiguous parts; weight = local size x world
        size / B, so that the average over the ranks of ``weight x (mean loss of the share)``
        is exactly the mean loss of the whole batch, even when B does not divide evenly.
        A share may be empty when B < world size (weight 0).
        """
        parts = np.array_split(np.asarray(idx), self.world_size)
        local = parts[self.rank]
        return local, len(local) * self.world_size / max(len(idx), 1)

    def split(self, *arrays):
        """This rank's contiguous part of equally long arrays (for evaluation)."""
        n = len(arrays[0])
        bounds = np.linspace(0, n, self.world_size + 1).astype(int)
        lo, hi = bounds[self.rank], bounds[self.rank + 1]
        return tuple(a[lo:hi] for a in arrays)

    def same_order(self, order: np.ndarray) -> np.ndarray:
        """Rank 0's permutation on every rank (so that the shares never overlap)."""
        return pg.broadcast_array(np.asarray(order, dtype=np.int64), src=0)

    def sum(self, *values) -> tuple:
        """Sum numbers over the ranks; every rank gets the totals (floats)."""
        return tuple(float(v) for v in pg.all_reduce_array(np.array(values, dtype=np.float64)))

    def main_only(self, log):
        """``log`` on rank 0, a function that does nothing elsewhere."""
        return log if self.is_main else (lambda *args, **kwargs: None)

    def wrap(self, model, **options):
        """``DistributedDataParallel(model, **options)``."""
        from .ddp import DistributedDataParallel
        return DistributedDataParallel(model, **options)


def default_threads() -> int:
    """C-kernel threads per rank when the user set none: the cores shared by the ranks of a host."""
    return max(1, (os.cpu_count() or 1) // pg.get_local_size())


def from_environment():
    """A DataParallel when this process was started by mpirun with more than one rank (the
    process group is initialised here if needed), else None."""
    if not pg.is_initialized():
        if not pg.launched_with_mpirun():
            return None
        pg.init_process_group(backend="mpi")
    if pg.get_world_size() < 2:
        return None
    return DataParallel()
