"""tinygrad_edu: a small reverse-mode autograd library with C kernels, built to be read.

    import tinygrad_edu as tge
    from tinygrad_edu import Tensor, nn, optim
    import tinygrad_edu.nn.functional as F
"""
import numpy as _np

from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .backends import backend, get_num_threads, set_backend, set_num_threads
from .device import cuda_is_available
from .rng import manual_seed
from .tensor import Tensor, cat, stack, where
# PyTorch's free functions used by the articles' loops (torch.randint, torch.max(x, 1), ...)
from ._torch_compat import argmax, argmin, max, min, randint, randperm

__version__ = "0.1.0"

# dtype names, so that code written for PyTorch (``torch.float32``, ``torch.long``) reads the same
float32 = _np.float32
float64 = _np.float64
double = _np.float64
int64 = _np.int64
long = _np.int64
bool_ = _np.bool_

tensor = Tensor  # ``tge.tensor([1, 2, 3])`` like ``torch.tensor``
zeros = Tensor.zeros
ones = Tensor.ones
full = Tensor.full
rand = Tensor.rand
randn = Tensor.randn
arange = Tensor.arange
eye = Tensor.eye
from_numpy = Tensor.from_numpy
from_dlpack = Tensor.from_dlpack
zeros_like = Tensor.zeros_like
ones_like = Tensor.ones_like


def __getattr__(name):
    # Subpackages load on first use, so that ``import tinygrad_edu`` stays light.
    import importlib

    if name in ("nn", "optim", "models", "keras", "data", "utils"):
        return importlib.import_module(f".{name}", __name__)
    if name in ("save", "load"):
        from .utils import serialization

        return getattr(serialization, name)
    if name == "detect_anomaly":
        from .utils.anomaly import detect_anomaly

        return detect_anomaly
    raise AttributeError(f"module 'tinygrad_edu' has no attribute {name!r}")
