"""tinygrad_edu: a small reverse-mode autograd library with C kernels, built to be read.

    import tinygrad_edu as tge
    from tinygrad_edu import Tensor, nn, optim
    import tinygrad_edu.nn.functional as F
"""
import os as _os

import numpy as _np

from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .backends import backend, get_num_threads, set_backend, set_num_threads
from .device import cuda_is_available
from .rng import manual_seed
from .tensor import Tensor, cat, stack, where
# PyTorch's free functions used by the articles' loops (torch.randint, torch.max(x, 1), ...)
from ._torch_compat import argmax, argmin, max, min, randint, randperm
from ._torch_compat import (BoolTensor, DoubleTensor, FloatTensor, LongTensor, abs, add, all, any,  # noqa: A004
                            argsort, bmm, chunk, clamp, clip, cos, cumsum, div, einsum, eq, exp,
                            flatten, full_like, gather, ge, gt, is_tensor, le, linspace, log, log_softmax,
                            logsumexp, lt, masked_fill, matmul, maximum, mean, minimum, mm, mul, ne, neg,
                            numel, permute, pow, prod, rand_like, randn_like, relu, reshape, scatter_add,
                            sigmoid, sin, softmax, sort, split, sqrt, square, squeeze, std, sub, sum, t,
                            tanh, topk, transpose, unsqueeze, var)
from ._torch_compat import ceil, dot, flip, floor, isfinite, isinf, isnan, outer, round, sign, tril, triu  # noqa: A004
# torch.device, torch.cuda.is_available(), torch.accelerator.is_available() / current_accelerator()
from .torch_device import accelerator, cuda, device

__version__ = "0.1.0"

if _os.environ.get("TGE_DETECT_ANOMALY", "0") not in ("", "0"):  # anomaly mode for a whole run
    from .utils.anomaly import set_anomaly_enabled as _set_anomaly_enabled

    _set_anomaly_enabled(True)

# dtype names, so that code written for PyTorch (``torch.float32``, ``torch.long``) reads the same
float32 = _np.float32
float64 = _np.float64
double = _np.float64
int64 = _np.int64
long = _np.int64
int32 = _np.int32
int = _np.int64  # noqa: A001 - torch.int is int32 in PyTorch; integer tensors here are int64
uint8 = _np.uint8
float = _np.float32  # noqa: A001 - ``torch.float`` is float32
bool = _np.bool_  # noqa: A001 - ``torch.bool``
bool_ = _np.bool_


def get_default_dtype():
    """The dtype of tensors made from Python floats: float32."""
    return _np.dtype(_np.float32)


inference_mode = no_grad  # ``with torch.inference_mode():`` turns gradients off, as no_grad

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
empty = Tensor.zeros  # ``torch.empty(shape)``: uninitialised in PyTorch, zeros here
ones_like = Tensor.ones_like


def __getattr__(name):
    # Subpackages load on first use, so that ``import tinygrad_edu`` stays light.
    import importlib

    if name in ("nn", "optim", "models", "keras", "data", "utils", "distributed"):
        return importlib.import_module(f".{name}", __name__)
    if name in ("save", "load"):
        from .utils import serialization

        return getattr(serialization, name)
    if name == "detect_anomaly":
        from .utils.anomaly import detect_anomaly

        return detect_anomaly
    raise AttributeError(f"module 'tinygrad_edu' has no attribute {name!r}")
