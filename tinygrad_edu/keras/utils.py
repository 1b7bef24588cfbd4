"""Keras's small helpers: ``to_categorical`` (one-hot labels), ``set_random_seed``, ``plot_model`` (as text)."""
from __future__ import annotations

import numpy as np

__all__ = ["to_categorical", "set_random_seed", "plot_model"]


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


def set_random_seed(seed: int) -> None:
    """Seed every random source the Keras front end uses (weight initialisers, dropout,
    shuffling in fit: tinygrad_edu's generator) and NumPy's and Python's global ones, as
    ``keras.utils.set_random_seed`` does."""
    import random

    from .. import manual_seed

    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed)
    manual_seed(seed)


def plot_model(model, to_file=None, show_shapes=True, **kwargs) -> str:
    """The layer graph as text (boxes and arrows; see Model.to_text); written to ``to_file``
    when given (plot_model draws a picture with pydot; this draws text, with no dependency)."""
    from .models.summary import plot_text

    text = plot_text(model, show_shapes=show_shapes)
    if to_file is not None:
        with open(to_file, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    return text
