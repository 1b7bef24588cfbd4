"""``torch.utils.data`` under its PyTorch path: the datasets and the DataLoader of
:mod:`tinygrad_edu.data`, so that ``torch.utils.data.DataLoader(dataset, batch_size=64,
num_workers=1, pin_memory=True, shuffle=True)`` runs unchanged.

Batches are made in the calling thread: ``num_workers``, ``pin_memory``, ``persistent_workers``
and ``prefetch_factor`` are accepted and change nothing (the data is already in memory).
"""
from __future__ import annotations

from ..data import loader as _loader
from ..data import Dataset, Subset, TensorDataset, random_split

__all__ = ["DataLoader", "Dataset", "TensorDataset", "Subset", "random_split"]


class DataLoader(_loader.DataLoader):
    """:class:`tinygrad_edu.data.DataLoader` taking PyTorch's extra keywords (ignored)."""

    def __init__(self, dataset, batch_size=1, shuffle=False, sampler=None, num_workers=0, pin_memory=False,
                 drop_last=False, persistent_workers=False, prefetch_factor=None, **ignored):
        if int(num_workers) < 0:
            raise ValueError(f"DataLoader: num_workers must be >= 0, got {num_workers}")
        super().__init__(dataset, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last, sampler=sampler)
