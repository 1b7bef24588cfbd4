"""Devices: "cpu" arrays are NumPy arrays, "cuda" arrays are CuPy arrays.

Array code that must run on both is written against ``xp = array_module(x)`` (NumPy or CuPy,
whichever holds ``x``), the idiom that keeps one implementation for both devices. CuPy is
imported only when a tensor is actually moved to "cuda" (or ``cuda_is_available()`` is asked),
so ``import tinygrad_edu`` and every CPU code path work without it and never load it.

While CuPy has not been imported, :func:`array_module` and :func:`device_of` answer "NumPy" /
"cpu" after one ``is None`` test: the CPU hot path pays nothing for the GPU backend.
"""
from __future__ import annotations

import sys

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
            "pip install 'tinygrad_edu[gpu]' (CUDA 12; for CUDA 11 pip install cupy-cuda11x, "
            "see docs/gpu.md)"
        ) from exc
    except Exception as exc:  # a broken install: CUDA libraries missing or mismatched
        raise RuntimeError(f"device 'cuda': CuPy is installed but failed to import ({exc!r}); "
                           "see docs/gpu.md for the wheel that matches your CUDA") from exc
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
    """'cpu' / 'cuda' / 'cuda:0' (only GPU 0 is supported) / None -> 'cpu' or 'cuda'.

    Also accepts anything whose ``str()`` is one of those (a ``torch.device``, for instance).
    Raises ValueError for any other name, naming it.
    """
    if device is None:
        return "cpu"
    name = str(device)
    if name == "cpu":
        return "cpu"
    if name in ("cuda", "cuda:0", "gpu"):
        return "cuda"
    if name.startswith("cuda:"):
        raise ValueError(f"device {device!r}: only one GPU is supported, use 'cuda' (or 'cuda:0')")
    raise ValueError(f"unknown device {device!r}: expected 'cpu' or 'cuda'")


def array_module(array):
    """``numpy`` for a NumPy array, ``cupy`` for a CuPy array."""
    if _cupy is None or isinstance(array, (np.ndarray, np.generic)):
        return np
    return _cupy.get_array_module(array)


def device_of(array) -> str:
    """'cuda' for a CuPy array, 'cpu' for anything else."""
    if type(array) is np.ndarray or _cupy is None or not isinstance(array, _cupy.ndarray):
        return "cpu"
    return "cuda"


def is_cupy_array(obj) -> bool:
    """True for a CuPy array, even one made before tinygrad_edu imported CuPy itself.

    Never imports CuPy: if the user's program has not imported it, ``obj`` cannot be a CuPy
    array. When it is one, CuPy is registered as in use here (and the GPU checked), so that
    ``device_of`` and ``array_module`` recognise it from then on.
    """
    if _cupy is not None:
        return isinstance(obj, _cupy.ndarray)
    cupy = sys.modules.get("cupy")
    ndarray = getattr(cupy, "ndarray", None)
    if ndarray is None or not isinstance(obj, ndarray):
        return False
    _import_cupy()
    return True


def scatter_add(target, index, values) -> None:
    """``target[index] += values`` in place, where repeated positions in ``index`` all add up.

    NumPy's ``np.add.at``; on CuPy its ``add.at`` (CuPy >= 12) or ``cupyx.scatter_add``
    (older releases), both atomic adds on the GPU.
    """
    xp = array_module(target)
    if xp is np:
        np.add.at(target, index, values)
        return
    at = getattr(xp.add, "at", None)
    if at is not None:
        at(target, index, values)
    else:  # pragma: no cover - only with an old CuPy on a GPU
        import cupyx

        cupyx.scatter_add(target, index, values)


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
