"""Keras's small helpers: ``to_categorical`` (one-hot labels)."""
from __future__ import annotations

import numpy as np

__all__ = ["to_categorical"]


def to_categorical(y, num_classes=None, dtype="float32") -> np.ndarray:
    """Integer class ids (any shape, a trailing axis of 1 is dropped) -> one-hot rows.

    y: ints in [0, num_classes); num_classes defaults to max(y) + 1.
    Returns an array of shape y.shape + (num_classes,) (float32 by default).
    """
    y = np.asarray(y)
    if y.dtype.kind == "f":
        if not np.all(y == np.round(y)):
            raise ValueError("to_categorical: y must hold whole numbers (class ids)")
    elif y.dtype.kind not in "iub":
        raise TypeError(f"to_categorical: y must hold integer class ids, got dtype {y.dtype}")
    y = y.astype(np.int64)
    if y.ndim > 1 and y.shape[-1] == 1:
        y = y.reshape(y.shape[:-1])
    if num_classes is None:
        num_classes = int(y.max()) + 1 if y.size else 0
    num_classes = int(num_classes)
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(f"to_categorical: class ids must lie in [0, {num_classes}), got values in "
                         f"[{int(y.min())}, {int(y.max())}]")
    out = np.zeros(y.shape + (num_classes,), dtype=dtype)
    np.put_along_axis(out, y[..., None], 1, axis=-1)
    return out
