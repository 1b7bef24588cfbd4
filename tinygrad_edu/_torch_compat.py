"""PyTorch's free functions that the articles' training loops call as ``torch.<name>``.

``import tinygrad_edu as torch`` then makes ``torch.randint(0, 5000, (64, 20))`` and
``_, predicted = torch.max(outputs, 1)`` work as they do in PyTorch. The functions are thin:
they build on Tensor methods and on the library's generator (``manual_seed`` applies).
"""
from __future__ import annotations

import builtins
from collections import namedtuple

import numpy as np

from . import rng
from .tensor import Tensor, to_dtype

__all__ = ["randint", "randperm", "max", "min", "argmax", "argmin"]

#: what ``torch.max(x, dim)`` / ``torch.min(x, dim)`` return: ``values`` and ``indices`` (int64)
ValuesIndices = namedtuple("ValuesIndices", ["values", "indices"])


def randint(low=0, high=None, size=None, *, dtype=None, requires_grad=False, device=None) -> Tensor:
    """Integers drawn uniformly from [low, high), int64 by default.

    ``randint(high, size)`` and ``randint(low, high, size)``, as PyTorch; size is a tuple.
    """
    if size is None and isinstance(high, (tuple, list)):
        low, high, size = 0, low, high            # randint(high, size)
    if high is None or size is None:
        raise TypeError("randint: expected randint(high, size) or randint(low, high, size) with size a tuple")
    size = (int(size),) if isinstance(size, (int, np.integer)) else tuple(int(s) for s in size)
    if int(high) <= int(low):
        raise ValueError(f"randint: need low < high, got low={low}, high={high}")
    values = rng.generator().integers(int(low), int(high), size=size, dtype=np.int64)
    target = to_dtype(dtype) if dtype is not None else np.dtype(np.int64)
    return Tensor(values, dtype=target, requires_grad=requires_grad, device=device)


def randperm(n, *, dtype=None, device=None) -> Tensor:
    """A random permutation of 0 .. n-1 (int64)."""
    return Tensor(rng.generator().permutation(int(n)), dtype=dtype or np.int64, device=device)


def _reduce_with_index(name, input, dim, keepdim, other):
    if isinstance(dim, Tensor) and other is None:     # torch.max(a, b): elementwise
        dim, other = None, dim
    if other is not None:
        return input.maximum(other) if name == "max" else input.minimum(other)
    if dim is None:
        return input.max() if name == "max" else input.min()
    if isinstance(dim, builtins.bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{name}: dim must be an int, got {dim!r}")
    values = input.max(axis=int(dim), keepdims=keepdim) if name == "max" else input.min(axis=int(dim), keepdims=keepdim)
    indices = (input.argmax(axis=int(dim), keepdims=keepdim) if name == "max"
               else input.argmin(axis=int(dim), keepdims=keepdim))
    return ValuesIndices(values, indices)


def max(input: Tensor, dim=None, keepdim: bool = False, *, other=None):
    """``max(x)``: the largest value; ``max(x, dim)``: (values, indices) along ``dim``;
    ``max(a, b)``: the elementwise maximum."""
    return _reduce_with_index("max", input, dim, keepdim, other)


def min(input: Tensor, dim=None, keepdim: bool = False, *, other=None):
    """``min(x)``, ``min(x, dim)`` -> (values, indices), ``min(a, b)``: as :func:`max`."""
    return _reduce_with_index("min", input, dim, keepdim, other)


def argmax(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    return input.argmax(axis=dim, keepdims=keepdim)


def argmin(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    return input.argmin(axis=dim, keepdims=keepdim)
