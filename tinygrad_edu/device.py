"""Devices: "cpu" arrays are NumPy arrays, "cuda" arrays are CuPy arrays.

Array code that must run on both is written against ``xp = array_module(x)`` (NumPy or CuPy,
whichever holds ``x``), the idiom that keeps one implementation for both devices. CuPy is
imported only when a tensor is actually moved to "cuda".
"""
from __future__ import annotations

import numpy as np

_cupy = None  # the cupy module once it has been imported successfully


def _import_cupy():
    """Import CuPy on first use and check that a GPU is there; clear errors otherwise."""
    global _cupy
    if _cupy is not None:
        return _cupy
    try:
        import cupy
    except ImportError as exc:
        raise RuntimeError(
            "device 'cuda' needs CuPy, which is not installed: "
            "pip install 'tinygrad_edu[gpu]' (or the cupy-cudaXXx wheel matching your CUDA)"
        ) from exc
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # CUDA driver missing, no device, ...
        raise RuntimeError(f"device 'cuda': CuPy is installed but no GPU is usable ({exc})") from exc
    if count < 1:
        raise RuntimeError("device 'cuda': CuPy is installed but found no GPU")
    _cupy = cupy
    return cupy


def cuda_is_available() -> bool:
    """True when CuPy imports and sees at least one GPU (never raises)."""
    try:
        _import_cupy()
        return True
    except RuntimeError:
        return False


def normalize_device(device) -> str:
    """'cpu' / 'cuda' / 'cuda:0' (only GPU 0 is supported) / None -> 'cpu' or 'cuda'."""
    if device is None:
        return "cpu"
    name = str(device)
    if name == "cpu":
        return "cpu"
    if name in ("cuda", "cuda:0", "gpu"):
        return "cuda"
    raise ValueError(f"unknown device {device!r}: expected 'cpu' or 'cuda'")


def array_module(array):
    """``numpy`` for a NumPy array, ``cupy`` for a CuPy array."""
    if _cupy is None or isinstance(array, (np.ndarray, np.generic)):
        return np
    return _cupy.get_array_module(array)


def device_of(array) -> str:
    if type(array) is np.ndarray or _cupy is None or not isinstance(array, _cupy.ndarray):
        return "cpu"
    return "cuda"


def move(array, device: str):
    """Copy ``array`` to ``device`` ('cpu' or 'cuda'); returns it unchanged if already there."""
    if device == "cpu":
        if _cupy is not None and isinstance(array, _cupy.ndarray):
            return _cupy.asnumpy(array)
        return array
    cupy = _import_cupy()
    if isinstance(array, cupy.ndarray):
        return array
    return cupy.asarray(array)
