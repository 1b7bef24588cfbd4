"""Input checks shared by the functions of nn.functional: each raises a TypeError/ValueError
naming the shapes, dtypes and devices involved, before any kernel runs."""
from __future__ import annotations

import numpy as np

from ...device import is_cupy_array
from ...tensor import Tensor


def _tensor(x, name: str, op: str, device=None) -> Tensor:
    """``x`` as a Tensor; arrays, lists and numbers are put on ``device`` (default: the CPU)."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (np.ndarray, list, tuple, float, int)) or is_cupy_array(x):
        return Tensor(x, device=device)
    raise TypeError(f"{op}: {name} must be a Tensor, got {type(x).__name__}")


def _float(x, name: str, op: str) -> Tensor:
    x = _tensor(x, name, op)
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: {name} must be float32 or float64, got {x.dtype} with shape {x.shape}")
    return x


def _same_device(op: str, **tensors) -> None:
    """ValueError naming each tensor's device unless all given tensors share one device."""
    items = [(k, t) for k, t in tensors.items() if t is not None]
    if len({t.device for _, t in items}) > 1:
        desc = ", ".join(f"{k} {t.shape} on {t.device}" for k, t in items)
        raise ValueError(f"{op}: inputs are on different devices: {desc}; move them with .to()")


def _same_dtype(op: str, **tensors) -> None:
    arrays = [t.data for t in tensors.values() if t is not None]
    if arrays:  # the common case, checked without building sets: one dtype, all on the CPU
        dtype = arrays[0].dtype
        if all(type(a) is np.ndarray and a.dtype == dtype for a in arrays):
            return
    items = [(k, t) for k, t in tensors.items() if t is not None]
    dtypes = {t.dtype for _, t in items}
    if len(dtypes) > 1:
        desc = ", ".join(f"{k} {t.dtype} {t.shape}" for k, t in items)
        raise TypeError(f"{op}: inputs must share one dtype, got {desc}")
    devices = {t.device for _, t in items}
    if len(devices) > 1:
        desc = ", ".join(f"{k} on {t.device}" for k, t in items)
        raise ValueError(f"{op}: inputs are on different devices: {desc}")


