"""PyTorch's free functions that the articles' training loops call as ``torch.<name>``.

``import tinygrad_edu as torch`` then makes ``torch.randint(0, 5000, (64, 20))`` and
``_, predicted = torch.max(outputs, 1)`` work as they do in PyTorch. The functions are thin:
they build on Tensor methods and on the library's generator (``manual_seed`` applies).
"""
from __future__ import annotations

import builtins

import numpy as np

from . import rng
from .ops import einsum as _einsum
from .tensor import Tensor, to_dtype
from .torch_methods import ValuesIndices  # noqa: F401 - what max(x, dim) returns; importable from here as before

__all__ = ["randint", "randperm", "max", "min", "argmax", "argmin", "linspace", "einsum",
           "LongTensor", "FloatTensor", "DoubleTensor", "BoolTensor", "is_tensor", "numel",
           "full_like", "rand_like", "randn_like"] + [
    # thin wrappers of the Tensor methods of the same name
    "sin", "cos", "exp", "log", "sqrt", "abs", "tanh", "sigmoid", "relu", "pow", "neg", "add", "sub",
    "mul", "div", "maximum", "minimum", "clamp", "clip", "flatten", "sum", "mean", "std", "var", "prod",
    "cumsum", "logsumexp", "any", "all", "gather", "scatter_add", "masked_fill", "eq", "ne", "lt", "le",
    "gt", "ge", "sort", "argsort", "topk", "squeeze", "unsqueeze", "permute", "reshape", "transpose",
    "chunk", "split", "matmul", "mm", "bmm", "softmax", "log_softmax", "square", "t", "flip", "tril",
    "triu", "floor", "ceil", "round", "sign", "isnan", "isinf", "isfinite", "dot", "outer"]


def randint(low=0, high=None, size=None, *, dtype=None, requires_grad=False, device=None) -> Tensor:
    """Integers drawn uniformly from [low, high), int64 by default.

    ``randint(high, size)`` and ``randint(low, high, size)``, as PyTorch; size is a tuple.
    """
    if size is None and isinstance(high, (tuple, list)):
        low, high, size = 0, low, high            # randint(high, size)
    if high is None or size is None:
        raise TypeError("randint: expected randint(high, size) or randint(low, high, size) with size a tuple")
    size = (int(size),) if isinstance(size, (int, np.integer)) else tuple(int(s) for s in size)
    if int(high) <= int(low):
        raise ValueError(f"randint: need low < high, got low={low}, high={high}")
    values = rng.generator().integers(int(low), int(high), size=size, dtype=np.int64)
    target = to_dtype(dtype) if dtype is not None else np.dtype(np.int64)
    return Tensor(values, dtype=target, requires_grad=requires_grad, device=device)


def randperm(n, *, dtype=None, device=None) -> Tensor:
    """A random permutation of 0 .. n-1 (int64); n must be an int >= 0, as in PyTorch."""
    if isinstance(n, builtins.bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"randperm: n must be an int, got {type(n).__name__}")
    if n < 0:
        raise ValueError(f"randperm: n must be non-negative, got {n}")
    return Tensor(rng.generator().permutation(int(n)), dtype=dtype or np.int64, device=device)


def _reduce_with_index(name, input, dim, keepdim, other):
    if isinstance(dim, Tensor) and other is None:     # torch.max(a, b): elementwise
        dim, other = None, dim
    if other is not None:
        return input.maximum(other) if name == "max" else input.minimum(other)
    if dim is None:
        return input.max() if name == "max" else input.min()
    if isinstance(dim, builtins.bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{name}: dim must be an int, got {dim!r}")
    return input._values_indices(int(dim), keepdim, name == "max")


def max(input: Tensor, dim=None, keepdim: bool = False, *, other=None):
    """``max(x)``: the largest value; ``max(x, dim)``: (values, indices) along ``dim``;
    ``max(a, b)``: the elementwise maximum."""
    return _reduce_with_index("max", input, dim, keepdim, other)


def min(input: Tensor, dim=None, keepdim: bool = False, *, other=None):
    """``min(x)``, ``min(x, dim)`` -> (values, indices), ``min(a, b)``: as :func:`max`."""
    return _reduce_with_index("min", input, dim, keepdim, other)


def argmax(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    return input.argmax(axis=dim, keepdims=keepdim)


def argmin(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    return input.argmin(axis=dim, keepdims=keepdim)


# ------------------------------------------------------------------------------ creation
def linspace(start, end, steps: int, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """``steps`` evenly spaced values from start to end, both included (float32 by default)."""
    if int(steps) < 0:
        raise ValueError(f"linspace: steps must be >= 0, got {steps}")
    values = np.linspace(float(start), float(end), int(steps))
    return Tensor(values, dtype=to_dtype(dtype) if dtype is not None else np.float32,
                  requires_grad=requires_grad, device=device)


def _typed(dtype):
    def make(*data, device=None) -> Tensor:
        """A tensor of this constructor's dtype holding ``data`` (a list, array or tensor)."""
        if len(data) != 1:
            raise TypeError("this constructor takes the data (a list, array or tensor); "
                            "for a shape use torch.zeros/empty")
        values = data[0].numpy() if isinstance(data[0], Tensor) else np.asarray(data[0])
        return Tensor(values.astype(dtype), device=device)

    return make


#: the legacy typed constructors: ``torch.LongTensor([1, 2])`` is an int64 tensor
LongTensor = _typed(np.int64)
FloatTensor = _typed(np.float32)
DoubleTensor = _typed(np.float64)
BoolTensor = _typed(np.bool_)


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


def numel(input: Tensor) -> int:
    return input.numel()


def full_like(input: Tensor, fill_value, *, dtype=None, requires_grad=False, device=None) -> Tensor:
    return Tensor.full(input.shape, fill_value, dtype=dtype or input.dtype, requires_grad=requires_grad,
                       device=device or input.device)


def rand_like(input: Tensor, *, dtype=None, requires_grad=False, device=None) -> Tensor:
    return Tensor.rand(*input.shape, dtype=dtype or input.dtype, requires_grad=requires_grad,
                       device=device or input.device)


def randn_like(input: Tensor, *, dtype=None, requires_grad=False, device=None) -> Tensor:
    return Tensor.randn(*input.shape, dtype=dtype or input.dtype, requires_grad=requires_grad,
                        device=device or input.device)


# ------------------------------------------------------------------------------ einsum
def einsum(equation: str, *operands) -> Tensor:
    """Einstein summation, e.g. ``einsum("bij,bjk->bik", a, b)``; differentiable in every operand.
    Operands may also be given as one list. '...' stands for the leading axes."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands or not builtins.all(isinstance(o, Tensor) for o in operands):
        raise TypeError("einsum: operands must be Tensors")
    if not isinstance(equation, str):
        raise TypeError(f"einsum: the equation must be a string, got {type(equation).__name__}")
    _einsum.parse_equation(equation, [o.shape for o in operands])  # refuses a bad equation first
    if len({o.device for o in operands}) > 1:
        raise ValueError(f"einsum: operands on different devices {[o.device for o in operands]}")
    dtype = np.result_type(*[o.dtype for o in operands])
    return _einsum.Einsum.apply(*[o.astype(dtype) for o in operands], equation=equation)


# ------------------------------------------------------------------------------ method wrappers
def _method(name, doc=None):
    def call(input, *args, **kwargs):
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: input must be a Tensor, got {type(input).__name__}")
        return getattr(input, name)(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = doc or f"``torch.{name}(input, ...)``: the same as ``input.{name}(...)``."
    return call


sin, cos, exp, log, sqrt, abs = (_method(n) for n in ("sin", "cos", "exp", "log", "sqrt", "abs"))
tanh, sigmoid, relu, square, t = (_method(n) for n in ("tanh", "sigmoid", "relu", "square", "t"))
pow, neg, add, sub, mul, div = (_method(n) for n in ("pow", "neg", "add", "sub", "mul", "div"))
maximum, minimum, clamp, clip = (_method(n) for n in ("maximum", "minimum", "clamp", "clip"))
flatten, squeeze, unsqueeze, reshape = (_method(n) for n in ("flatten", "squeeze", "unsqueeze", "reshape"))
transpose, chunk, split, matmul, mm, bmm = (_method(n) for n in ("transpose", "chunk", "split", "matmul", "mm", "bmm"))
sum, mean, std, var, prod, cumsum = (_method(n) for n in ("sum", "mean", "std", "var", "prod", "cumsum"))
logsumexp, any, all = (_method(n) for n in ("logsumexp", "any", "all"))
gather, scatter_add, masked_fill = (_method(n) for n in ("gather", "scatter_add", "masked_fill"))
eq, ne, lt, le, gt, ge = (_method(n) for n in ("eq", "ne", "lt", "le", "gt", "ge"))
sort, argsort, topk = (_method(n) for n in ("sort", "argsort", "topk"))
softmax, log_softmax = _method("softmax"), _method("log_softmax")
tril, triu, floor, ceil, round, sign = (_method(n) for n in ("tril", "triu", "floor", "ceil", "round", "sign"))
isnan, isinf, isfinite, dot, outer = (_method(n) for n in ("isnan", "isinf", "isfinite", "dot", "outer"))


def flip(input: Tensor, dims) -> Tensor:
    """``torch.flip(x, dims)``: reverse the order along each axis in ``dims``."""
    return input.flip(*dims) if isinstance(dims, (tuple, list)) else input.flip(dims)


def permute(input: Tensor, dims) -> Tensor:
    """``torch.permute(x, (2, 0, 1))``."""
    return input.permute(*dims)
