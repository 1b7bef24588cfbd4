"""Turning the x / y / sample weights given to fit, evaluate and predict into NumPy arrays.

x may be one array, a list of arrays (one per model input) or a dict by input name; y one
array or a list (one per output). Floats become float32, integers stay integers (token
ids), strings stay strings (for TextVectorization).
"""
from __future__ import annotations

import numpy as np

from ...tensor import Tensor


def to_array(data, what: str) -> np.ndarray:
    """One array (floats as float32, integers kept); refuses ragged data."""
    if isinstance(data, Tensor):
        array = data.numpy()
    else:
        try:
            array = np.asarray(data)
        except ValueError as exc:
            raise ValueError(f"{what}: could not make an array ({exc}); pad sequences to one length first") from None
    if array.dtype == object and not (array.size and isinstance(array.flat[0], (str, bytes))):
        raise ValueError(f"{what}: got ragged or non-numeric data (an object array of shape {array.shape}); "
                         f"pad sequences to one length first (keras.preprocessing.sequence.pad_sequences)")
    if array.ndim == 0:
        raise ValueError(f"{what}: expected an array with a batch axis, got a scalar")
    if array.dtype.kind == "f" and array.dtype != np.float32:
        array = array.astype(np.float32)
    elif array.dtype.kind == "b":
        array = array.astype(np.float32)
    return array


def to_arrays(data, what: str, names=None, count: int = 1) -> list:
    """x or y as a list of ``count`` arrays (one per model input or output; dicts are
    ordered by ``names``)."""
    if isinstance(data, dict):
        if names is None or set(data) != set(names):
            raise ValueError(f"{what}: dict keys {sorted(data)} do not match the model's names {names}")
        data = [data[n] for n in names]
    if count > 1:
        if not isinstance(data, (list, tuple)) or len(data) != count:
            raise ValueError(f"{what}: the model has {count} of these, give a list of {count} arrays")
        arrays = [to_array(d, f"{what}[{i}]") for i, d in enumerate(data)]
    else:
        if isinstance(data, (list, tuple)) and len(data) == 1 and isinstance(data[0], (np.ndarray, Tensor)):
            data = data[0]
        arrays = [to_array(data, what)]
    n = len(arrays[0])
    if any(len(a) != n for a in arrays):
        raise ValueError(f"{what}: the arrays hold different numbers of samples: "
                         f"{[tuple(a.shape) for a in arrays]}")
    return arrays


def check_pair(xs: list, ys: list, where: str) -> None:
    if len(xs[0]) != len(ys[0]):
        raise ValueError(f"{where}: x and y hold different numbers of samples: x has shape {xs[0].shape}, "
                         f"y has shape {ys[0].shape}")
    if len(xs[0]) == 0:
        raise ValueError(f"{where}: x is empty (shape {xs[0].shape})")


def take(arrays: list, index) -> list:
    return [a[index] for a in arrays]


def take_inputs(arrays: list, index: np.ndarray) -> list:
    """The rows ``index`` (an integer array) of every input array, as the model takes them.
    Indexing by an array makes a fresh copy, which the Tensor then owns as it is
    (``Tensor(rows)`` would copy it again); float32 and int64 rows are what the model takes
    as they are, others (ints of other widths, strings) stay arrays for it to convert."""
    batch = []
    for a in arrays:
        rows = a[index]
        batch.append(Tensor._from_array(rows) if rows.dtype in (np.float32, np.int64) else rows)
    return batch


def batch_size(value, where: str) -> int:
    if value is None:
        return 32
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{where}: batch_size must be a positive int, got {value!r}")
    return int(value)


def verbosity(verbose) -> int:
    if verbose == "auto":
        return 1
    if verbose not in (0, 1, 2):
        raise ValueError(f"verbose must be 0, 1, 2 or 'auto', got {verbose!r}")
    return int(verbose)


def class_weights(y: np.ndarray, class_weight: dict) -> np.ndarray:
    """One weight per sample from ``{class id: weight}``; y holds ids (N,) / (N, 1) or one-hot (N, C)."""
    if y.ndim == 2 and y.shape[1] > 1:
        ids = y.argmax(axis=1)
    else:
        ids = y.reshape(len(y), -1)[:, 0]
        if y.dtype.kind == "f":
            ids = np.round(ids)
    ids = ids.astype(np.int64)
    unknown = sorted(set(np.unique(ids).tolist()) - set(int(k) for k in class_weight))
    if unknown:
        raise ValueError(f"fit: class_weight {class_weight} has no weight for the classes {unknown} found in y")
    table = {int(k): float(v) for k, v in class_weight.items()}
    return np.array([table[i] for i in ids], dtype=np.float32)


class Accumulator:
    """Sample-weighted running means of the loss and the metrics over one pass."""

    def __init__(self, names):
        self.names = list(names)
        self.sums = dict.fromkeys(self.names, 0.0)
        self.count = 0

    def add(self, losses: dict, n: int, metric_values: dict) -> None:
        for name, value in losses.items():
            self.sums[name] += value * n
        for name, values in metric_values.items():
            values = np.asarray(values, dtype=np.float64)
            # one value per sample, or (from a user's function) one mean for the batch
            self.sums[name] += float(values.sum()) if values.ndim else float(values) * n
        self.count += n

    def means(self, prefix="") -> dict:
        return {prefix + k: v / max(self.count, 1) for k, v in self.sums.items()}
