"""The NumPy reference kernels: what every kernel table computes, written for reading.

One file per C family (gemm.py for csrc/gemm.c, conv.py for csrc/conv.c, ...).  Each kernel
is a plain function registered in the kernel contract (:mod:`..contract`) with the checks it
states; the names exported here run those checks first, exactly as the C and GPU tables do.
The tests compare the C kernels against these, and these against PyTorch.

Arrays are float32 or float64 (every array of one call the same); results are new arrays of
that dtype.  Every module of this folder whose name does not start with "_" is imported
(which registers its kernels), so a new family file needs no entry anywhere.
"""
import importlib as _importlib
import pkgutil as _pkgutil

from ..contract import KERNELS as _KERNELS
from ..contract import check_arrays, check_same_shape  # noqa: F401 - re-exported

for _info in sorted(_pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if not _info.name.startswith("_"):
        _importlib.import_module(f"{__name__}.{_info.name}")

globals().update({name: spec.bind(spec.twin) for name, spec in _KERNELS.items()})

__all__ = sorted(_KERNELS)
