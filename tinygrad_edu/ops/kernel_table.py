"""Which kernel table runs an op: the active CPU backend for NumPy arrays, CuPy's on the GPU."""
import numpy as np

from .. import backends


def kernels_for(array):
    """The kernel table (C, NumPy reference or CuPy) for the device holding ``array``."""
    if isinstance(array, (np.ndarray, np.generic)):
        return backends.kernels()
    from ..backends import cupy_kernels

    return cupy_kernels


def is_float(array) -> bool:
    return array.dtype == np.float32 or array.dtype == np.float64
