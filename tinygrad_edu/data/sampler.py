"""Samplers: the order in which a DataLoader visits a dataset's items.

``DistributedSampler`` gives each rank of a data-parallel job its own equally long share
of the items, with the same shuffled order on every rank (a shared seed plus the epoch).
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from tinygrad_edu import process_world, rng

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "DistributedSampler"]


class Sampler:
    """Base class: an iterable of item indices with a length (``len(sampler)``)."""

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __len__")


class SequentialSampler(Sampler):
    """0, 1, ..., len(dataset) - 1."""

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    """A new random order at each ``iter()``, drawn from ``tinygrad_edu.rng.generator()``."""

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(rng.generator().permutation(len(self.data_source)).tolist())

    def __len__(self):
        return len(self.data_source)


def _check_int(value, name, low):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"DistributedSampler: {name} must be an int >= {low}, got {value!r}")
    return int(value)


class DistributedSampler(Sampler):
    """The share of ``dataset`` that rank ``rank`` of ``num_replicas`` visits (PyTorch's semantics).

    DistributedSampler(dataset, num_replicas=None, rank=None, shuffle=True, seed=0, drop_last=False)

    The item indices are put in one order shared by all ranks (a permutation drawn from
    ``seed + epoch`` when ``shuffle``, else 0..n-1), made a multiple of ``num_replicas`` long,
    and dealt out: rank r takes positions r, r + num_replicas, ... So every rank has
    ``len(sampler)`` items and, within an epoch, no item goes to two ranks except padding.
    drop_last=False pads by repeating indices from the start of the order (a few items are seen
    twice); drop_last=True cuts the tail instead (a few items are not seen this epoch).
    num_replicas / rank default to the process group's world size and rank
    (``tinygrad_edu.distributed``); call ``set_epoch(epoch)`` at the start of every epoch so
    that each epoch gets a new order (the same on every rank).
    Raises ValueError for a rank outside [0, num_replicas) or bad numbers, RuntimeError when
    num_replicas/rank are omitted and no process group is initialised.
    """

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0, drop_last=False):
        if num_replicas is None or rank is None:
            group = process_world.group
            if group is None:
                raise RuntimeError("DistributedSampler: give num_replicas and rank, or call "
                                   "tinygrad_edu.distributed.init_process_group() first")
            num_replicas = group.size if num_replicas is None else num_replicas
            rank = group.rank if rank is None else rank
        self.num_replicas = _check_int(num_replicas, "num_replicas", 1)
        self.rank = _check_int(rank, "rank", 0)
        if self.rank >= self.num_replicas:
            raise ValueError(f"DistributedSampler: rank {self.rank} is outside [0, {self.num_replicas})")
        self.dataset = dataset
        self.shuffle = bool(shuffle)
        self.seed = _check_int(seed, "seed", 0)
        self.drop_last = bool(drop_last)
        self.epoch = 0
        n = len(dataset)
        if self.drop_last and n % self.num_replicas:
            self.num_samples = math.ceil((n - self.num_replicas) / self.num_replicas)
        else:
            self.num_samples = math.ceil(n / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def set_epoch(self, epoch: int) -> None:
        """Use the order of epoch ``epoch`` (every rank must pass the same number)."""
        self.epoch = _check_int(epoch, "epoch", 0)

    def indices(self) -> np.ndarray:
        """This rank's item indices for the current epoch: int64 array (len(self),)."""
        n = len(self.dataset)
        if self.shuffle:
            order = np.random.default_rng(self.seed + self.epoch).permutation(n)
        else:
            order = np.arange(n)
        if self.total_size > n:                       # pad by repeating the order from its start
            reps = math.ceil((self.total_size - n) / max(n, 1))
            order = np.concatenate([order] + [order] * reps)[:self.total_size]
        else:
            order = order[:self.total_size]
        return order[self.rank:self.total_size:self.num_replicas].astype(np.int64)

    def __iter__(self):
        return iter(self.indices().tolist())

    def __len__(self):
        return self.num_samples

    def __repr__(self):
        return (f"DistributedSampler(rank {self.rank} of {self.num_replicas}, {self.num_samples} items, "
                f"shuffle={self.shuffle}, seed={self.seed}, epoch={self.epoch}, drop_last={self.drop_last})")
