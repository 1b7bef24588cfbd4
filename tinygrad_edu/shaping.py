"""The shape methods of Tensor, as functions: argument checks, then one movement Function.

``t.reshape(2, 3)`` is ``reshape(t, 2, 3)`` here. Each function accepts PyTorch's and NumPy's
spellings (``f(2, 3)`` and ``f((2, 3))``, ``dim=`` and ``axis=``), checks the arguments with a
message naming the shape, and calls a Function of :mod:`tinygrad_edu.ops.movement` (all of them
differentiable). Nothing here needs the Tensor class: a tensor is anything with ``shape``,
``ndim``, ``device`` and ``data``.
"""
from __future__ import annotations

import math
import operator

import numpy as np

from . import device as _device
from .device import device_of, move
from .limits import MAX_BYTES
from .ops import movement as M
from .ops.reduce import normalize_axes

__all__ = ["shape_arg", "resolve_shape", "reshape", "permute", "transpose", "flatten", "squeeze",
           "unsqueeze", "expand", "getitem", "pad"]


def shape_arg(shape: tuple) -> tuple:
    """Accept both f(2, 3) and f((2, 3)); every entry an int (an int tensor counts)."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    out = []
    for s in shape:
        if isinstance(s, (bool, np.bool_)):
            raise TypeError(f"shape entries must be ints, got {shape!r}")
        try:
            out.append(operator.index(s))
        except TypeError:
            raise TypeError(f"shape entries must be ints, got {shape!r}") from None
    return tuple(out)


def resolve_shape(shape: tuple, old: tuple) -> tuple:
    """Fill in a -1 entry of ``shape`` and check that the element count is unchanged."""
    size = math.prod(old)  # Python ints: np.prod would wrap around on huge shapes
    unknown = [i for i, s in enumerate(shape) if s == -1]
    known = math.prod(s for s in shape if s != -1)
    if len(unknown) > 1 or any(s < -1 for s in shape):
        raise ValueError(f"reshape: invalid target shape {shape}")
    if math.prod(s for s in shape if s > 0) > MAX_BYTES:  # even with a 0 size, NumPy refuses
        raise ValueError(f"reshape: target shape {shape} is too large (sizes multiply past 2**63)")
    if unknown:
        if known == 0 or size % known:
            raise ValueError(f"reshape: cannot reshape a tensor of shape {old} into {shape}")
        shape = shape[: unknown[0]] + (size // known,) + shape[unknown[0] + 1 :]
    elif known != size:
        raise ValueError(f"reshape: cannot reshape a tensor of shape {old} ({size} elements) into {shape}")
    return shape


def reshape(t, *shape):
    """New shape with the same number of elements; one entry may be -1."""
    target = resolve_shape(shape_arg(shape), t.shape)
    if target == t.shape:
        return t
    return M.Reshape.apply(t, shape=target)


def permute(t, *dims):
    """Reorder the axes: ``permute(t, 0, 2, 1)`` turns (N, T, D) into (N, D, T)."""
    dims = shape_arg(dims)
    if len(dims) != t.ndim or sorted(d % max(t.ndim, 1) for d in dims) != list(range(t.ndim)):
        raise ValueError(f"permute: {dims} is not a permutation of the {t.ndim} axes of a tensor of shape {t.shape}")
    return M.Permute.apply(t, dims=tuple(d % t.ndim for d in dims))


def transpose(t, a=None, b=None):
    """Swap axes ``a`` and ``b`` (without arguments: reverse all axes, as NumPy)."""
    if a is None and b is None:
        return M.Permute.apply(t, dims=tuple(reversed(range(t.ndim))))
    dims = list(range(t.ndim))
    a, b = normalize_axes(a, t.ndim, "transpose")[0], normalize_axes(b, t.ndim, "transpose")[0]
    dims[a], dims[b] = dims[b], dims[a]
    return M.Permute.apply(t, dims=tuple(dims))


def flatten(t, start=0, end=-1):
    """Merge axes ``start`` .. ``end`` (inclusive) into one; a 0-d tensor becomes shape (1,)."""
    if t.ndim == 0:
        return reshape(t, 1)
    start = normalize_axes(start, t.ndim, "flatten")[0]
    end = normalize_axes(end, t.ndim, "flatten")[0]
    if start > end:  # PyTorch refuses it; silently giving back the tensor would hide the mistake
        raise ValueError(f"flatten: start axis {start} comes after end axis {end} for a tensor of shape {t.shape}")
    middle = math.prod(t.shape[start : end + 1])
    return reshape(t, t.shape[:start] + (middle,) + t.shape[end + 1 :])


def squeeze(t, axis=None):
    """Remove size-1 axes (all of them, or ``axis`` if it has size 1, as PyTorch)."""
    if axis is None:
        return reshape(t, tuple(s for s in t.shape if s != 1))
    axes = normalize_axes(axis, t.ndim, "squeeze")
    return reshape(t, tuple(s for i, s in enumerate(t.shape) if not (i in axes and s == 1)))


def unsqueeze(t, axis):
    """Insert a size-1 axis at ``axis``: (N, D) with axis=1 -> (N, 1, D)."""
    axis = normalize_axes(axis, t.ndim + 1, "unsqueeze")[0]
    return reshape(t, t.shape[:axis] + (1,) + t.shape[axis:])


def expand(t, *shape):
    """Broadcast to ``shape`` without copying (-1 keeps a size), as PyTorch."""
    shape = shape_arg(shape)
    extra = len(shape) - t.ndim
    if extra < 0:
        raise ValueError(f"expand: cannot expand shape {t.shape} to fewer dimensions {shape}")
    full = tuple(t.shape[i - extra] if s == -1 and i >= extra else s for i, s in enumerate(shape))
    try:
        if np.broadcast_shapes(t.shape, full) != full:
            raise ValueError
    except ValueError:
        raise ValueError(f"expand: shape {t.shape} cannot be broadcast to {shape}") from None
    return M.Expand.apply(t, shape=full)


def _index_arg(index):
    """Replace tensors and lists inside an index by arrays."""
    if isinstance(index, tuple):
        return tuple(_index_arg(i) for i in index)
    if isinstance(index, list):
        return np.asarray(index)
    if hasattr(index, "_ctx") and hasattr(index, "data"):  # a Tensor
        return index.data
    return index


def _index_to_device(index, device):
    """Move the arrays inside an index (from ``_index_arg``) to ``device``."""
    if isinstance(index, tuple):
        return tuple(_index_to_device(i, device) for i in index)
    if isinstance(index, np.ndarray) or device_of(index) == "cuda":
        return move(index, device)
    return index


def getitem(t, index):
    """Indexing as NumPy: ints, slices, None, Ellipsis, integer arrays (a gather); differentiable."""
    index = _index_arg(index)
    if _device._cupy is not None:  # index arrays go to the tensor's device (as PyTorch allows)
        index = _index_to_device(index, t.device)
    try:
        return M.GetItem.apply(t, index=index)
    except IndexError as exc:
        raise IndexError(f"index {index!r} into a tensor of shape {t.shape}: {exc}") from None


def pad(t, pad_width, value=0.0):
    """Constant padding, NumPy-style: one (before, after) pair per axis (or one pair for all)."""
    widths = np.broadcast_to(np.asarray(pad_width, dtype=np.int64).reshape(-1, 2), (t.ndim, 2))
    if (widths < 0).any():
        raise ValueError(f"pad: negative widths {pad_width!r}")
    return M.Pad.apply(t, pad_width=tuple(map(tuple, widths.tolist())), value=value)
