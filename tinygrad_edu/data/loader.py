"""Datasets and the DataLoader that cuts them into shuffled mini-batches of Tensors.

A dataset is anything with ``len(ds)`` and ``ds[i]`` (a tuple of arrays/numbers, or one
array). ``TensorDataset(x, y)`` wraps equally long arrays; the DataLoader fetches a whole
batch from it with one fancy-indexing per array instead of one ``ds[i]`` per item.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from tinygrad_edu import rng

__all__ = ["Dataset", "TensorDataset", "Subset", "random_split", "DataLoader"]


def _to_numpy(a):
    """NumPy view of an array-like (NumPy array, Tensor, list, number)."""
    if isinstance(a, np.ndarray):
        return a
    numpy_method = getattr(a, "numpy", None)          # tinygrad_edu.Tensor (and torch CPU tensors)
    if callable(numpy_method):
        return np.asarray(numpy_method())
    return np.asarray(a)


class Dataset:
    """Base class of map-style datasets: subclasses define ``__len__`` and ``__getitem__``.

    A dataset may also define ``get_batch(indices)`` returning a tuple of arrays (one per
    field, each with ``len(indices)`` rows) to let the DataLoader fetch batches at once.
    """

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")


class TensorDataset(Dataset):
    """Equally long arrays seen as one dataset of tuples: item i is ``(a[i], b[i], ...)``.

    arrays: NumPy arrays, Tensors or nested lists, all with the same first size n (the
    items); stored as NumPy arrays (``.arrays``). Mismatched lengths, 0-d arrays or no
    arrays at all raise ValueError.
    """

    def __init__(self, *arrays):
        if not arrays:
            raise ValueError("TensorDataset needs at least one array")
        arrs = tuple(_to_numpy(a) for a in arrays)
        for i, a in enumerate(arrs):
            if a.ndim == 0:
                raise ValueError(f"TensorDataset: array {i} is a scalar (0-d); each array needs a first axis of items")
        lengths = [a.shape[0] for a in arrs]
        if len(set(lengths)) != 1:
            raise ValueError(f"TensorDataset: arrays have different lengths {lengths} along axis 0")
        self.arrays = arrs

    def __len__(self):
        return self.arrays[0].shape[0]

    def __getitem__(self, index):
        return tuple(a[index] for a in self.arrays)

    def get_batch(self, indices):
        """Tuple of arrays ``(a[indices], b[indices], ...)``; indices: int array or slice."""
        return tuple(a[indices] for a in self.arrays)

    def __repr__(self):
        shapes = ", ".join(f"{a.shape} {a.dtype}" for a in self.arrays)
        return f"{type(self).__name__}({len(self)} items: {shapes})"


class Subset(Dataset):
    """The items ``indices`` of ``dataset`` (a view: nothing is copied)."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        n = len(dataset)
        if self.indices.size and (self.indices.min() < -n or self.indices.max() >= n):
            raise IndexError(f"Subset: indices out of range for a dataset of {n} items")

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, index):
        return self.dataset[int(self.indices[index])]

    def get_batch(self, indices):
        if hasattr(self.dataset, "get_batch"):
            return self.dataset.get_batch(self.indices[indices])
        return _collate([self.dataset[int(i)] for i in self.indices[indices]])


def random_split(dataset, lengths):
    """Split ``dataset`` into non-overlapping random Subsets of the given lengths.

    lengths: ints summing to ``len(dataset)``, or fractions summing to 1 (rounded down,
    the remainder handed out one by one from the first part on, as PyTorch does).
    Draws the permutation from ``rng.generator()`` (reproducible under ``manual_seed``).
    """
    n = len(dataset)
    lengths = list(lengths)
    if lengths and all(isinstance(x, float) for x in lengths) and math.isclose(sum(lengths), 1.0):
        counts = [int(math.floor(n * f)) for f in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        lengths = counts
    if any(int(x) != x or x < 0 for x in lengths) or sum(lengths) != n:
        raise ValueError(f"random_split: lengths {lengths} must be non-negative ints summing to "
                         f"the dataset's length {n} (or fractions summing to 1)")
    perm = rng.generator().permutation(n)
    out, start = [], 0
    for length in lengths:
        out.append(Subset(dataset, perm[start:start + int(length)]))
        start += int(length)
    return out


def _collate(items):
    """Stack a list of dataset items into arrays: tuple items -> tuple of stacked fields,
    a single array/number per item -> one stacked array."""
    first = items[0]
    if isinstance(first, (tuple, list)):
        width = len(first)
        for it in items:
            if not isinstance(it, (tuple, list)) or len(it) != width:
                raise ValueError(f"DataLoader: dataset items differ in structure: {type(first).__name__} "
                                 f"of {width} fields vs {type(it).__name__}"
                                 f"{' of ' + str(len(it)) + ' fields' if isinstance(it, (tuple, list)) else ''}")
        return tuple(_stack([it[k] for it in items], k) for k in range(width))
    return _stack(items, None)


def _stack(values, field):
    arrays = [_to_numpy(v) for v in values]
    try:
        return np.stack(arrays)
    except ValueError:
        shapes = sorted({a.shape for a in arrays})
        where = f"field {field}" if field is not None else "items"
        raise ValueError(f"DataLoader: cannot stack {where} of different shapes {shapes[:4]}") from None


class DataLoader:
    """Iterate over a dataset in mini-batches of Tensors.

    dataset: a Dataset / TensorDataset / any object with ``len`` and ``[i]``.
    batch_size: int >= 1. shuffle: draw a new order at the start of every epoch (every
    ``iter(loader)``) from ``tinygrad_edu.rng.generator()``, so ``tge.manual_seed(n)``
    makes the order reproducible. drop_last: skip the final batch when it is smaller than
    ``batch_size``. sampler: an iterable of item indices with a length (e.g.
    ``data.DistributedSampler``) that fixes the order instead; it excludes ``shuffle=True``.

    Each batch is a tuple of Tensors when items are tuples (``(x, y)`` -> ``(X, Y)`` with
    ``X.shape == (B, *x.shape)``), or one Tensor when items are single arrays (as PyTorch
    does). Fields are stacked NumPy arrays wrapped once in ``Tensor``, which keeps float32
    and float64 and turns integers (uint8 images included) into int64: scale images to
    float32 before building the dataset (``MNIST(normalize=True)`` does).
    ``len(loader)`` is the number of batches per epoch.
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, sampler=None):
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive int, got {batch_size!r}")
        if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
            raise TypeError(f"DataLoader: dataset must support len() and indexing, got {type(dataset).__name__}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        if sampler is not None and self.shuffle:
            raise ValueError("DataLoader: sampler and shuffle=True exclude each other (the sampler sets the order)")
        if sampler is not None and not (hasattr(sampler, "__iter__") and hasattr(sampler, "__len__")):
            raise TypeError(f"DataLoader: sampler must be iterable with a length, got {type(sampler).__name__}")
        self.sampler = sampler

    def __len__(self):
        n = len(self.dataset) if self.sampler is None else len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _indices(self):
        if self.sampler is not None:
            return np.fromiter(iter(self.sampler), dtype=np.int64, count=len(self.sampler))
        n = len(self.dataset)
        if self.shuffle:
            return rng.generator().permutation(n)
        return np.arange(n)

    def __iter__(self):
        from tinygrad_edu.tensor import Tensor     # imported here: the data package loads without it
        order = self._indices()
        batched = hasattr(self.dataset, "get_batch")
        for b in range(len(self)):
            idx = order[b * self.batch_size:(b + 1) * self.batch_size]
            if batched:
                if not self.shuffle and self.sampler is None:   # contiguous: a slice is a view
                    idx = slice(int(idx[0]), int(idx[-1]) + 1)
                fields = self.dataset.get_batch(idx)
            else:
                fields = _collate([self.dataset[int(i)] for i in idx])
            if isinstance(fields, tuple):
                yield tuple(Tensor(np.ascontiguousarray(f)) for f in fields)
            else:
                yield Tensor(np.ascontiguousarray(fields))

    def __repr__(self):
        return (f"DataLoader({len(self.dataset)} items, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last}: {len(self)} batches)")
