"""Metrics for ``compile(metrics=[...])``, computed on NumPy arrays (they need no gradient).

Each metric function takes ``(y_true, y_pred)`` arrays and returns one value per sample; the
model averages them over every sample of an epoch (so the figure is exact, not a mean of
batch means).

``"accuracy"`` (or ``"acc"``) is resolved as Keras does, from the loss and the shapes:

    binary_crossentropy, or y_pred of shape (..., 1)          -> binary_accuracy
    sparse_categorical_crossentropy, or y_true with one axis
    fewer than y_pred (or a trailing axis of 1)               -> sparse_categorical_accuracy
    otherwise                                                  -> categorical_accuracy
"""
from __future__ import annotations

import numpy as np

from . import losses as losses_module

__all__ = ["binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
           "mean_squared_error", "mean_absolute_error", "resolve"]


def _per_sample(values: np.ndarray) -> np.ndarray:
    """Mean over every axis but the first: one number per sample."""
    values = np.asarray(values, dtype=np.float64)
    return values.reshape(values.shape[0], -1).mean(axis=1) if values.ndim > 1 else values


def _match(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """y_true reshaped to y_pred's shape when only the layout differs ((N,) vs (N, 1))."""
    if y_true.shape != y_pred.shape and y_true.size == y_pred.size:
        return y_true.reshape(y_pred.shape)
    return y_true


def binary_accuracy(y_true, y_pred, threshold=0.5) -> np.ndarray:
    """Fraction of outputs on the right side of ``threshold``, per sample."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    y_true = _match(y_true, y_pred)
    return _per_sample((y_pred > threshold) == (y_true > 0.5))


def categorical_accuracy(y_true, y_pred) -> np.ndarray:
    """1 where argmax(y_pred) == argmax(y_true) (one-hot targets)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    return _per_sample(np.argmax(y_pred, axis=-1) == np.argmax(y_true, axis=-1))


def sparse_categorical_accuracy(y_true, y_pred) -> np.ndarray:
    """1 where argmax(y_pred) equals the integer class id y_true."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    want = y_pred.shape[:-1]
    if y_true.shape != want:
        y_true = y_true.reshape(want)
    return _per_sample(np.argmax(y_pred, axis=-1) == y_true.astype(np.int64))


def mean_squared_error(y_true, y_pred) -> np.ndarray:
    y_true, y_pred = np.asarray(y_true, dtype=np.float64), np.asarray(y_pred, dtype=np.float64)
    return _per_sample((y_pred - _match(y_true, y_pred)) ** 2)


def mean_absolute_error(y_true, y_pred) -> np.ndarray:
    y_true, y_pred = np.asarray(y_true, dtype=np.float64), np.asarray(y_pred, dtype=np.float64)
    return _per_sample(np.abs(y_pred - _match(y_true, y_pred)))


_BY_NAME = {
    "binary_accuracy": binary_accuracy,
    "categorical_accuracy": categorical_accuracy,
    "sparse_categorical_accuracy": sparse_categorical_accuracy,
    "mse": mean_squared_error, "mean_squared_error": mean_squared_error,
    "mae": mean_absolute_error, "mean_absolute_error": mean_absolute_error,
}


def resolve(metric, loss, y_true_shape: tuple, y_pred_shape: tuple):
    """One entry of ``compile(metrics=...)`` -> (name for the logs, function).

    metric: "accuracy"/"acc", another name from this module, or a function
    ``(y_true, y_pred) -> per-sample values`` (NumPy in, NumPy out). loss: the compiled Loss.
    """
    if isinstance(metric, str):
        if metric in ("accuracy", "acc"):
            pred_last = y_pred_shape[-1] if y_pred_shape else 1
            true_last = y_true_shape[-1] if y_true_shape else 1
            if isinstance(loss, losses_module.BinaryCrossentropy) or pred_last == 1:
                return metric, binary_accuracy
            if (isinstance(loss, losses_module.SparseCategoricalCrossentropy)
                    or len(y_true_shape) < len(y_pred_shape) or true_last == 1):
                return metric, sparse_categorical_accuracy
            return metric, categorical_accuracy
        if metric in _BY_NAME:
            return metric, _BY_NAME[metric]
        raise ValueError(f"unknown metric {metric!r}; expected 'accuracy' or one of {sorted(_BY_NAME)}")
    if callable(metric):
        return getattr(metric, "__name__", "metric"), metric
    raise TypeError(f"a metric must be a name or a function, got {type(metric).__name__}")
