"""Tensor: an array, the gradient that flows into it, and the Function that made it.

A Tensor holds

* ``data``  – the array (NumPy on the CPU, CuPy on the GPU); use ``.numpy()`` from outside;
* ``requires_grad`` – whether gradients should flow to it;
* ``grad``  – after ``backward()``, dL/d(this tensor) for leaves that require grad;
* ``_ctx``  – the :class:`~tinygrad_edu.autograd.Function` that produced it (None for leaves).

Every method here is thin sugar: it checks its arguments (shapes in the messages) and calls
``SomeFunction.apply``; the maths lives in ``tinygrad_edu/ops``.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from . import autograd, rng
from .autograd import Function, is_grad_enabled
from . import device as _device
from .device import array_module, device_of, is_cupy_array, move, normalize_device
from .limits import MAX_BYTES, check_allocation
from .ops import elementwise as E
from .ops import movement as M
from .ops import reduce as R
from .ops.matmul import MatMul
from .ops.reduce import normalize_axes

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_DTYPE_NAMES = {
    "float32": np.float32, "float": np.float32, "float64": np.float64, "double": np.float64,
    "int64": np.int64, "long": np.int64, "int32": np.int32, "int": np.int64,
    "bool": np.bool_, "uint8": np.uint8, "float16": np.float16, "half": np.float16,
}


def to_dtype(dtype) -> np.dtype:
    """A dtype given as a name ("float32"), a NumPy type or dtype -> a NumPy dtype."""
    if isinstance(dtype, str):
        if dtype not in _DTYPE_NAMES:
            raise TypeError(f"unknown dtype {dtype!r}; expected one of {sorted(_DTYPE_NAMES)}")
        return np.dtype(_DTYPE_NAMES[dtype])
    try:
        return np.dtype(dtype)
    except TypeError:
        raise TypeError(f"unknown dtype {dtype!r}") from None


def _default_dtype(array: np.ndarray, from_python: bool) -> np.dtype:
    """The dtype rules of the Tensor constructor (see API.md)."""
    kind = array.dtype.kind
    if kind == "f":
        if array.dtype in _FLOATS and not from_python:
            return array.dtype
        return np.dtype(np.float32)
    if kind in "iu":
        return np.dtype(np.int64)
    if kind == "b":
        return np.dtype(np.bool_)
    raise TypeError(f"Tensor: unsupported data of dtype {array.dtype} (use float, int or bool data)")


def _as_array(data, dtype=None):
    """Convert constructor ``data`` to an owned array following the dtype rules."""
    if isinstance(data, Tensor):
        array, from_python = data.data, False
    elif isinstance(data, np.ndarray) or is_cupy_array(data):
        array, from_python = data, False
    elif isinstance(data, np.generic):
        array, from_python = np.asarray(data), False
    else:
        array = np.asarray(data)
        from_python = True
        if array.dtype == object:
            raise TypeError(f"Tensor: cannot make a tensor from {type(data).__name__} data")
    target = to_dtype(dtype) if dtype is not None else _default_dtype(array, from_python)
    xp = array_module(array)
    return xp.array(array, dtype=target, copy=True)


class Tensor:
    """An n-dimensional array that records the operations made on it for backward.

    Tensor(data, requires_grad=False, dtype=None, device=None)
        data: scalar, nested list, NumPy array or Tensor (copied). Python floats become
        float32; NumPy float32/float64 arrays keep their dtype; integers become int64.
    """

    __slots__ = ("data", "requires_grad", "grad", "_ctx", "__weakref__")
    # Make NumPy hand ``ndarray op Tensor`` to our reflected operators.
    __array_ufunc__ = None

    def __init__(self, data, requires_grad=False, dtype=None, device=None):
        array = _as_array(data, dtype)
        if device is not None:
            array = move(array, normalize_device(device))
        self.data = array
        self.grad = None
        self._ctx = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _from_array(cls, array, requires_grad=False):
        """Wrap an array without copying or checking (used by Function.apply)."""
        t = object.__new__(Tensor)
        t.data = array
        t.requires_grad = requires_grad
        t.grad = None
        t._ctx = None
        return t

    def requires_grad_(self, flag: bool = True) -> "Tensor":
        if flag and self.data.dtype not in _FLOATS:
            raise TypeError(
                f"only float32/float64 tensors can require gradients, got dtype {self.data.dtype}"
            )
        self.requires_grad = bool(flag)
        return self

    # ------------------------------------------------------------------ properties
    @property
    def shape(self) -> tuple:
        """The size of each axis, as a tuple: ``(N, C, H, W)`` for a batch of images."""
        return self.data.shape

    @property
    def ndim(self) -> int:
        """The number of axes (``len(self.shape)``)."""
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        """The element type, a NumPy dtype (``t.dtype == np.float32``)."""
        return self.data.dtype

    @property
    def device(self) -> str:
        """Where the data lives: "cpu" (NumPy) or "cuda" (CuPy)."""
        return device_of(self.data)

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    def size(self, axis=None):
        """The shape (as PyTorch's ``size()``), or the size of one axis."""
        return self.shape if axis is None else self.shape[axis]

    def numel(self) -> int:
        return int(self.data.size)

    def dim(self) -> int:
        return self.data.ndim

    # ------------------------------------------------------------------ conversion
    def numpy(self) -> np.ndarray:
        """The values as a NumPy array on the host (a view of the data on the CPU)."""
        return move(self.data, "cpu")

    def item(self):
        """The value of a one-element tensor (any shape with one element) as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item(): only a one-element tensor converts to a number, shape is {self.shape}")
        return self.numpy().reshape(()).item()

    def tolist(self):
        return self.numpy().tolist()

    def __array__(self, dtype=None, copy=None):
        """``np.asarray(t)``: the values as a NumPy array on the host."""
        array = self.numpy()
        if dtype is not None:
            array = array.astype(dtype, copy=False)
        return array.copy() if copy else array

    def __dlpack__(self, stream=None, **kwargs):
        """DLPack export of the data, so that other libraries can share it without a copy."""
        return self.data.__dlpack__(**({"stream": stream} if stream is not None else {}), **kwargs)

    def __dlpack_device__(self):
        """The DLPack (device type, device id) of the data."""
        return self.data.__dlpack_device__()

    @staticmethod
    def from_dlpack(obj) -> "Tensor":
        """Wrap an array from another library (PyTorch, CuPy, JAX...) sharing memory when it can."""
        device_type = obj.__dlpack_device__()[0] if hasattr(obj, "__dlpack_device__") else 1
        if device_type == 2:  # kDLCUDA
            from .device import _import_cupy

            array = _import_cupy().from_dlpack(obj)
        else:
            array = np.from_dlpack(obj)
        if array.dtype not in _FLOATS and array.dtype.kind == "f":
            array = array.astype(np.float32)
        return Tensor._from_array(array)

    @staticmethod
    def from_numpy(array, requires_grad=False, dtype=None, device=None) -> "Tensor":
        """A tensor from a NumPy array (float32/float64 kept, integers as int64), same shape."""
        return Tensor(np.asarray(array), requires_grad=requires_grad, dtype=dtype, device=device)

    def to(self, target) -> "Tensor":
        """``to("cuda")`` / ``to("cpu")`` moves; ``to(dtype)`` converts (as ``astype``)."""
        if not isinstance(target, str) or target in _DTYPE_NAMES:
            return self.astype(target)
        device = normalize_device(target)
        if device == self.device:
            return self
        return _ToDevice.apply(self, device=device)

    def cuda(self) -> "Tensor":
        """A copy on the GPU (``to("cuda")``); the gradient flows back to this tensor."""
        return self.to("cuda")

    def cpu(self) -> "Tensor":
        """A copy on the CPU (``to("cpu")``); the gradient flows back to this tensor."""
        return self.to("cpu")

    def astype(self, dtype) -> "Tensor":
        """Convert the dtype; float->float conversions pass gradients back."""
        target = to_dtype(dtype)
        if target == self.dtype:
            return self
        if self.dtype in _FLOATS and target in _FLOATS:
            return E.Cast.apply(self, dtype=target)
        return Tensor._from_array(self.data.astype(target))

    def float(self) -> "Tensor":
        return self.astype(np.float32)

    def double(self) -> "Tensor":
        return self.astype(np.float64)

    def long(self) -> "Tensor":
        return self.astype(np.int64)

    def detach(self) -> "Tensor":
        """A tensor sharing this one's data, cut from the graph (needs no grad)."""
        return Tensor._from_array(self.data)

    def clone(self) -> "Tensor":
        return self + 0 if self.requires_grad else Tensor._from_array(self.data.copy())

    # ------------------------------------------------------------------ autograd
    def backward(self, grad=None) -> None:
        """Accumulate d(self)/d(leaf) * grad into ``.grad`` of every leaf that requires grad.

        grad: same shape as self; may be omitted for a one-element tensor (taken as 1).
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward(): this tensor does not require grad and has no graph "
                "(did you create it under no_grad, or from inputs without requires_grad=True?)"
            )
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward(): grad can be omitted only for a one-element output, "
                    f"this one has shape {self.shape}; pass grad= of that shape"
                )
            grad_array = array_module(self.data).ones(self.shape, dtype=self.dtype)
        else:
            if isinstance(grad, Tensor):
                if grad.device != self.device:
                    raise ValueError(
                        f"backward(): grad is on {grad.device} but the output {self.shape} is on "
                        f"{self.device}; move it with .to()"
                    )
                grad_array = grad.data
            else:
                grad_array = move(np.asarray(grad), self.device)
            if grad_array.shape != self.shape:
                raise ValueError(
                    f"backward(): grad of shape {grad_array.shape} does not match "
                    f"the output's shape {self.shape}"
                )
            grad_array = grad_array.astype(self.dtype, copy=False)
        autograd.backward(self, grad_array)

    def _accumulate_grad(self, grad, private: bool = False) -> None:
        """Add ``grad`` into ``.grad``; ``private``: no one else holds this array (the
        backward walk says so), so it may become ``.grad`` without a copy."""
        if grad.dtype != self.dtype:
            grad = grad.astype(self.dtype)
            private = True
        if self.grad is None:
            # Copy unless private: the same array may have been handed to several tensors by
            # the backward pass, or belong to the caller.
            self.grad = Tensor._from_array(grad if private else array_module(grad).array(grad, copy=True))
        else:
            self.grad.data = self.grad.data + grad

    def zero_grad(self) -> None:
        """Forget the accumulated gradient (``.grad = None``)."""
        self.grad = None

    # ------------------------------------------------------------------ operand handling
    def _operand(self, other) -> "Tensor":
        """``other`` as a Tensor on this device; Python/NumPy scalars take this tensor's dtype."""
        if isinstance(other, Tensor):
            if other.device != self.device:
                raise ValueError(
                    f"tensors on different devices: {self.device} {self.shape} and "
                    f"{other.device} {other.shape}; move one with .to()"
                )
            return other
        if isinstance(other, (numbers.Number, np.generic)) and not isinstance(other, complex):
            dtype = self.dtype
            if dtype.kind != "f" and isinstance(other, (float, np.floating)):
                dtype = np.dtype(np.float32)
            elif dtype.kind == "b" and not isinstance(other, (bool, np.bool_)):
                dtype = np.dtype(np.int64)
            return Tensor._from_array(array_module(self.data).asarray(other, dtype=dtype))
        return Tensor(other, device=self.device)

    def _binary(self, other, fn, reverse=False):
        b = self._operand(other)
        a = self
        if a.dtype != b.dtype:
            a, b = _promote(a, b)
        return fn.apply(b, a) if reverse else fn.apply(a, b)

    # ------------------------------------------------------------------ arithmetic
    def __add__(self, other):
        return self._binary(other, E.Add)

    def __radd__(self, other):
        return self._binary(other, E.Add, reverse=True)

    def __sub__(self, other):
        return self._binary(other, E.Sub)

    def __rsub__(self, other):
        return self._binary(other, E.Sub, reverse=True)

    def __mul__(self, other):
        return self._binary(other, E.Mul)

    def __rmul__(self, other):
        return self._binary(other, E.Mul, reverse=True)

    def __truediv__(self, other):
        if self.dtype.kind != "f" and not (isinstance(other, Tensor) and other.dtype.kind == "f"):
            return self.astype(np.float32)._binary(other, E.Div)
        return self._binary(other, E.Div)

    def __rtruediv__(self, other):
        if self.dtype.kind != "f":
            return self.astype(np.float32)._binary(other, E.Div, reverse=True)
        return self._binary(other, E.Div, reverse=True)

    def __pow__(self, other):
        return self._binary(other, E.Pow)

    def __rpow__(self, other):
        return self._binary(other, E.Pow, reverse=True)

    def __neg__(self):
        return E.Neg.apply(self)

    def __matmul__(self, other):
        return self.matmul(other)

    def __rmatmul__(self, other):
        return self._operand(other).matmul(self)

    def matmul(self, other) -> "Tensor":
        """Matrix product with ``torch.matmul``'s rules (1-D, 2-D, batched with broadcasting)."""
        other = self._operand(other) if not isinstance(other, Tensor) else other
        a, b = self, other
        if a.device != b.device:
            a._operand(b)  # raises the device error
        from .ops.matmul import check_matmul_shapes

        check_matmul_shapes(a.shape, b.shape)
        if a.dtype != b.dtype:
            a, b = _promote(a, b)
        return MatMul.apply(a, b)

    def maximum(self, other) -> "Tensor":
        """Elementwise larger of the two (broadcasting); ties share the gradient."""
        return self._binary(other, E.Maximum)

    def minimum(self, other) -> "Tensor":
        """Elementwise smaller of the two (broadcasting); ties share the gradient."""
        return self._binary(other, E.Minimum)

    # in place: only where no graph needs the old values
    def _inplace(self, other, ufunc, name):
        if self.requires_grad and is_grad_enabled():
            raise RuntimeError(
                f"in-place {name} on a tensor that requires grad; wrap it in `with tge.no_grad():`"
            )
        other = self._operand(other)
        xp = array_module(self.data)
        result_shape = np.broadcast_shapes(self.shape, other.shape)
        if result_shape != self.shape:
            raise ValueError(f"in-place {name}: {self.shape} {name} {other.shape} would give shape {result_shape}")
        if not getattr(self.data.flags, "writeable", True):  # CuPy arrays have no such flag
            self.data = self.data.copy()
        ufunc(xp)(self.data, other.data, out=self.data, casting="unsafe")
        return self

    def __iadd__(self, other):
        return self._inplace(other, lambda xp: xp.add, "+=")

    def __isub__(self, other):
        return self._inplace(other, lambda xp: xp.subtract, "-=")

    def __imul__(self, other):
        return self._inplace(other, lambda xp: xp.multiply, "*=")

    def __itruediv__(self, other):
        return self._inplace(other, lambda xp: xp.true_divide, "/=")

    # ------------------------------------------------------------------ comparisons (no grad)
    def _compare(self, other, op):
        other = self._operand(other)
        return Tensor._from_array(op(self.data, other.data))

    def __eq__(self, other):
        return self._compare(other, lambda a, b: a == b)

    def __ne__(self, other):
        return self._compare(other, lambda a, b: a != b)

    def __lt__(self, other):
        return self._compare(other, lambda a, b: a < b)

    def __le__(self, other):
        return self._compare(other, lambda a, b: a <= b)

    def __gt__(self, other):
        return self._compare(other, lambda a, b: a > b)

    def __ge__(self, other):
        return self._compare(other, lambda a, b: a >= b)

    __hash__ = object.__hash__

    def __bool__(self):
        if self.data.size != 1:
            raise ValueError(f"the truth value of a tensor of shape {self.shape} is ambiguous")
        return bool(self.item())

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self.dtype.kind not in "iu":
            raise TypeError(f"only integer tensors can be used as an index, not {self.dtype}")
        return int(self.item())

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    # ------------------------------------------------------------------ unary maths
    def exp(self):
        """e^x, elementwise (same shape)."""
        return E.Exp.apply(self._float_self("exp"))

    def log(self):
        """Natural logarithm, elementwise (same shape)."""
        return E.Log.apply(self._float_self("log"))

    def sqrt(self):
        """Square root, elementwise (same shape)."""
        return E.Sqrt.apply(self._float_self("sqrt"))

    def abs(self):
        """Absolute value, elementwise (same shape); gradient 0 at 0, as PyTorch."""
        return E.Abs.apply(self)

    def tanh(self):
        """Hyperbolic tangent, elementwise (same shape)."""
        return E.Tanh.apply(self._float_self("tanh"))

    def sigmoid(self):
        """1 / (1 + e^-x), elementwise and without overflow (same shape)."""
        return E.Sigmoid.apply(self._float_self("sigmoid"))

    def relu(self):
        """max(x, 0), elementwise (same shape)."""
        return E.ReLU.apply(self)

    def clip(self, lo=None, hi=None):
        """Clamp every element into [lo, hi] (either bound may be None)."""
        if lo is None and hi is None:
            raise ValueError("clip: give at least one of lo and hi")
        return E.Clip.apply(self, lo=lo, hi=hi)

    clamp = clip

    def _float_self(self, op):
        return self if self.dtype.kind == "f" else self.astype(np.float32)

    # ------------------------------------------------------------------ reductions
    def _reduce(self, fn, axis, keepdims, op, **options):
        axes = normalize_axes(axis, self.ndim, op)
        return fn.apply(self, axes=axes, keepdims=keepdims, **options)

    def sum(self, axis=None, keepdims=False, *, dim=None):
        """Sum over ``axis`` (int, tuple or None for all)."""
        return self._reduce(R.Sum, _axis(axis, dim), keepdims, "sum")

    def mean(self, axis=None, keepdims=False, *, dim=None):
        """Mean over ``axis`` (int, tuple or None for all)."""
        return self._reduce(R.Mean, _axis(axis, dim), keepdims, "mean")

    def max(self, axis=None, keepdims=False, *, dim=None):
        """Largest values over ``axis`` (values only); tied maxima share the gradient."""
        return self._reduce(R.Max, _axis(axis, dim), keepdims, "max")

    def min(self, axis=None, keepdims=False, *, dim=None):
        """Smallest values over ``axis`` (values only); tied minima share the gradient."""
        return self._reduce(R.Min, _axis(axis, dim), keepdims, "min")

    def var(self, axis=None, keepdims=False, correction=1, *, dim=None, unbiased=None):
        """Variance; ``correction=1`` (default, as PyTorch) divides by n - 1."""
        if unbiased is not None:
            correction = 1 if unbiased else 0
        return self._reduce(R.Var, _axis(axis, dim), keepdims, "var", correction=correction)

    def std(self, axis=None, keepdims=False, correction=1, *, dim=None):
        return self.var(axis, keepdims, correction, dim=dim).sqrt()

    def argmax(self, axis=None, keepdims=False, *, dim=None):
        """Index of the largest value over ``axis`` (int64, no gradient); the first one on ties."""
        axis = _axis(axis, dim)
        return Tensor._from_array(self.data.argmax(axis=axis, keepdims=keepdims).astype(np.int64))

    def argmin(self, axis=None, keepdims=False, *, dim=None):
        axis = _axis(axis, dim)
        return Tensor._from_array(self.data.argmin(axis=axis, keepdims=keepdims).astype(np.int64))

    def softmax(self, axis=-1, *, dim=None):
        """exp(x) / sum(exp(x)) along ``axis`` (shifted by the max, so it never overflows)."""
        axis = _axis(axis, dim)
        normalize_axes(axis, self.ndim, "softmax")
        return R.Softmax.apply(self._float_self("softmax"), axis=axis)

    def log_softmax(self, axis=-1, *, dim=None):
        """x - logsumexp(x) along ``axis``, computed stably."""
        axis = _axis(axis, dim)
        normalize_axes(axis, self.ndim, "log_softmax")
        return R.LogSoftmax.apply(self._float_self("log_softmax"), axis=axis)

    # ------------------------------------------------------------------ shape
    def reshape(self, *shape):
        """New shape with the same number of elements; one entry may be -1."""
        target = _resolve_shape(_shape_arg(shape), self.shape)
        if target == self.shape:
            return self
        return M.Reshape.apply(self, shape=target)

    view = reshape

    def permute(self, *dims):
        """Reorder the axes: ``permute(0, 2, 1)`` turns (N, T, D) into (N, D, T)."""
        dims = _shape_arg(dims)
        if sorted(int(d) % max(self.ndim, 1) for d in dims) != list(range(self.ndim)) or len(dims) != self.ndim:
            raise ValueError(f"permute: {dims} is not a permutation of the {self.ndim} axes of a tensor of shape {self.shape}")
        return M.Permute.apply(self, dims=tuple(int(d) % self.ndim for d in dims))

    def transpose(self, a=None, b=None):
        """Swap axes ``a`` and ``b`` (without arguments: reverse all axes, as NumPy)."""
        if a is None and b is None:
            return M.Permute.apply(self, dims=tuple(reversed(range(self.ndim))))
        dims = list(range(self.ndim))
        a, b = normalize_axes(a, self.ndim, "transpose")[0], normalize_axes(b, self.ndim, "transpose")[0]
        dims[a], dims[b] = dims[b], dims[a]
        return M.Permute.apply(self, dims=tuple(dims))

    @property
    def T(self):
        """The transpose of a 2-D tensor: (M, N) -> (N, M) (all axes reversed for other ranks)."""
        return self.transpose()

    def flatten(self, start=0, end=-1, *, start_dim=None, end_dim=None):
        """Merge axes ``start`` .. ``end`` (inclusive) into one."""
        start = start if start_dim is None else start_dim
        end = end if end_dim is None else end_dim
        if self.ndim == 0:
            return self.reshape(1)
        start = normalize_axes(start, self.ndim, "flatten")[0]
        end = normalize_axes(end, self.ndim, "flatten")[0]
        middle = int(np.prod(self.shape[start : end + 1]))
        return self.reshape(self.shape[:start] + (middle,) + self.shape[end + 1 :])

    def squeeze(self, axis=None, *, dim=None):
        """Remove size-1 axes (all of them, or ``axis`` if it has size 1, as PyTorch)."""
        axis = _axis(axis, dim)
        if axis is None:
            return self.reshape(tuple(s for s in self.shape if s != 1))
        axes = normalize_axes(axis, self.ndim, "squeeze")
        return self.reshape(tuple(s for i, s in enumerate(self.shape) if not (i in axes and s == 1)))

    def unsqueeze(self, axis, *, dim=None):
        """Insert a size-1 axis at ``axis``: (N, D) with axis=1 -> (N, 1, D)."""
        axis = _axis(axis, dim)
        axis = normalize_axes(axis, self.ndim + 1, "unsqueeze")[0]
        return self.reshape(self.shape[:axis] + (1,) + self.shape[axis:])

    def expand(self, *shape):
        """Broadcast to ``shape`` without copying (-1 keeps a size), as PyTorch."""
        shape = _shape_arg(shape)
        extra = len(shape) - self.ndim
        if extra < 0:
            raise ValueError(f"expand: cannot expand shape {self.shape} to fewer dimensions {shape}")
        full = tuple(self.shape[i - extra] if s == -1 and i >= extra else s for i, s in enumerate(shape))
        try:
            if np.broadcast_shapes(self.shape, full) != full:
                raise ValueError
        except ValueError:
            raise ValueError(f"expand: shape {self.shape} cannot be broadcast to {shape}") from None
        return M.Expand.apply(self, shape=full)

    def __getitem__(self, index):
        """Indexing as NumPy: ints, slices, None, Ellipsis, integer arrays (a gather); differentiable."""
        index = _index_arg(index)
        if _device._cupy is not None:  # index arrays go to this tensor's device (as PyTorch allows)
            index = _index_to_device(index, self.device)
        try:
            return M.GetItem.apply(self, index=index)
        except IndexError as exc:
            raise IndexError(f"index {index!r} into a tensor of shape {self.shape}: {exc}") from None

    def pad(self, pad_width, value=0.0):
        """Constant padding, NumPy-style: one (before, after) pair per axis (or one pair for all)."""
        widths = np.broadcast_to(np.asarray(pad_width, dtype=np.int64).reshape(-1, 2), (self.ndim, 2))
        if (widths < 0).any():
            raise ValueError(f"pad: negative widths {pad_width!r}")
        return M.Pad.apply(self, pad_width=tuple(map(tuple, widths.tolist())), value=value)

    # ------------------------------------------------------------------ representation
    def __repr__(self):
        body = np.array2string(self.numpy(), separator=", ", prefix="tensor(", precision=4)
        extras = ""
        if self.dtype != np.float32 and self.dtype != np.int64 and self.dtype != np.bool_:
            extras += f", dtype={self.dtype}"
        if self.device != "cpu":
            extras += f", device='{self.device}'"
        if self._ctx is not None:
            extras += f", grad_fn=<{self._ctx.name}>"
        elif self.requires_grad:
            extras += ", requires_grad=True"
        return f"tensor({body}{extras})"

    # ------------------------------------------------------------------ factories
    @staticmethod
    def zeros(*shape, requires_grad=False, dtype=None, device=None):
        """A tensor of the given shape filled with 0 (float32 unless ``dtype`` says otherwise)."""
        return _factory(np.zeros, shape, requires_grad, dtype, device)

    @staticmethod
    def ones(*shape, requires_grad=False, dtype=None, device=None):
        """A tensor of the given shape filled with 1 (float32 unless ``dtype`` says otherwise)."""
        return _factory(np.ones, shape, requires_grad, dtype, device)

    @staticmethod
    def full(shape, value, requires_grad=False, dtype=None, device=None):
        """A tensor of ``shape`` filled with ``value``."""
        return _factory(lambda s, dtype: np.full(s, value, dtype=dtype), (shape,), requires_grad, dtype, device)

    @staticmethod
    def rand(*shape, requires_grad=False, dtype=None, device=None):
        """Uniform on [0, 1)."""
        return _factory(lambda s, dtype: rng.generator().random(s).astype(dtype), shape, requires_grad, dtype, device)

    @staticmethod
    def randn(*shape, requires_grad=False, dtype=None, device=None):
        """Standard normal."""
        return _factory(
            lambda s, dtype: rng.generator().standard_normal(s).astype(dtype), shape, requires_grad, dtype, device
        )

    @staticmethod
    def arange(start, stop=None, step=1, requires_grad=False, dtype=None, device=None):
        """Like np.arange; int arguments give int64, float ones float32."""
        lo, hi = (0, start) if stop is None else (start, stop)
        try:
            count = max(0, math.ceil((hi - lo) / step))
        except (TypeError, ValueError, ZeroDivisionError, OverflowError):
            count = 0  # np.arange reports it
        check_allocation((count,), np.int64, "arange")
        values = np.arange(start, stop, step) if stop is not None else np.arange(start)
        if dtype is None:
            dtype = np.int64 if values.dtype.kind in "iu" else np.float32
        return Tensor(values, requires_grad=requires_grad, dtype=dtype, device=device)

    @staticmethod
    def eye(n, m=None, requires_grad=False, dtype=None, device=None):
        """The (n, m) identity matrix (m defaults to n), float32 unless ``dtype`` says otherwise."""
        check_allocation((n, n if m is None else m), to_dtype(dtype or np.float32), "eye")
        return Tensor(np.eye(n, m, dtype=to_dtype(dtype or np.float32)), requires_grad=requires_grad, device=device)

    @staticmethod
    def zeros_like(t, requires_grad=False, dtype=None):
        return Tensor.zeros(*t.shape, requires_grad=requires_grad, dtype=dtype or t.dtype, device=t.device)

    @staticmethod
    def ones_like(t, requires_grad=False, dtype=None):
        return Tensor.ones(*t.shape, requires_grad=requires_grad, dtype=dtype or t.dtype, device=t.device)


# ---------------------------------------------------------------------- helpers
class _ToDevice(Function):
    """Copy to another device; the gradient is copied back."""

    def forward(self, x, device="cpu"):
        self.source = device_of(x)
        return move(x, device)

    def backward(self, g):
        return (move(g, self.source),)


def _promote(a: Tensor, b: Tensor):
    """Bring two tensors to one dtype: floats win over ints, the wider float wins."""
    da, db = a.dtype, b.dtype
    if da.kind == "f" and db.kind == "f":
        target = np.result_type(da, db)
    elif da.kind == "f":
        target = da
    elif db.kind == "f":
        target = db
    else:
        target = np.result_type(da, db)
        if target.kind == "b":
            target = np.dtype(np.bool_)
        elif target.kind in "iu":
            target = np.dtype(np.int64)
    return a.astype(target), b.astype(target)


def _axis(axis, dim):
    return dim if dim is not None else axis


def _shape_arg(shape):
    """Accept both f(2, 3) and f((2, 3))."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    out = []
    for s in shape:
        if isinstance(s, Tensor):
            s = int(s)
        if not isinstance(s, (int, np.integer)) or isinstance(s, bool):
            raise TypeError(f"shape entries must be ints, got {shape!r}")
        out.append(int(s))
    return tuple(out)


def _resolve_shape(shape: tuple, old: tuple) -> tuple:
    """Fill in a -1 entry of ``shape`` and check that the element count is unchanged."""
    size = math.prod(old)  # Python ints: np.prod would wrap around on huge shapes
    unknown = [i for i, s in enumerate(shape) if s == -1]
    known = math.prod(s for s in shape if s != -1)
    if len(unknown) > 1 or any(s < -1 for s in shape):
        raise ValueError(f"reshape: invalid target shape {shape}")
    if math.prod(s for s in shape if s > 0) > MAX_BYTES:  # even with a 0 size, NumPy refuses
        raise ValueError(f"reshape: target shape {shape} is too large (sizes multiply past 2**63)")
    if unknown:
        if known == 0 or size % known:
            raise ValueError(f"reshape: cannot reshape a tensor of shape {old} into {shape}")
        shape = shape[: unknown[0]] + (size // known,) + shape[unknown[0] + 1 :]
    elif known != size:
        raise ValueError(f"reshape: cannot reshape a tensor of shape {old} ({size} elements) into {shape}")
    return shape


def _index_arg(index):
    """Replace Tensors and lists inside an index by arrays."""
    if isinstance(index, tuple):
        return tuple(_index_arg(i) for i in index)
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, list):
        return np.asarray(index)
    return index


def _index_to_device(index, device):
    """Move the arrays inside an index (from ``_index_arg``) to ``device``."""
    if isinstance(index, tuple):
        return tuple(_index_to_device(i, device) for i in index)
    if isinstance(index, np.ndarray) or device_of(index) == "cuda":
        return move(index, device)
    return index


def _factory(make, shape, requires_grad, dtype, device):
    shape = _shape_arg(shape)
    if any(s < 0 for s in shape):
        raise ValueError(f"negative size in shape {shape}")
    dtype = to_dtype(dtype) if dtype is not None else np.dtype(np.float32)
    # an overflowing shape is a ValueError, more bytes than the machine has a MemoryError,
    # both before NumPy allocates (or lazily maps) anything: see tinygrad_edu/limits.py
    check_allocation(shape, dtype, "creating a tensor")
    t = Tensor._from_array(make(shape, dtype=dtype))
    if device is not None and normalize_device(device) != "cpu":
        t.data = move(t.data, "cuda")
    if requires_grad:
        t.requires_grad_(True)
    return t


def _tensors(tensors, op):
    tensors = list(tensors)
    if not tensors:
        raise ValueError(f"{op}: expected a non-empty list of tensors")
    device = next((t.device for t in tensors if isinstance(t, Tensor)), None)
    tensors = [t if isinstance(t, Tensor) else Tensor(t, device=device) for t in tensors]
    devices = {t.device for t in tensors}
    if len(devices) > 1:
        raise ValueError(f"{op}: tensors on different devices {sorted(devices)}")
    dtype = tensors[0].dtype
    for t in tensors[1:]:
        if t.dtype != dtype:
            dtype = _promote(Tensor._from_array(np.zeros((), dtype)), Tensor._from_array(np.zeros((), t.dtype)))[0].dtype
    return [t.astype(dtype) for t in tensors]


def cat(tensors, axis=0, *, dim=None) -> Tensor:
    """Join tensors along an existing ``axis``; the other sizes must agree."""
    tensors = _tensors(tensors, "cat")
    axis = normalize_axes(_axis(axis, dim), tensors[0].ndim, "cat")[0]
    ref = tensors[0].shape
    for t in tensors[1:]:
        if t.ndim != len(ref) or any(a != b for i, (a, b) in enumerate(zip(t.shape, ref)) if i != axis):
            raise ValueError(f"cat: shapes {[t.shape for t in tensors]} differ outside axis {axis}")
    return M.Cat.apply(*tensors, axis=axis)


def stack(tensors, axis=0, *, dim=None) -> Tensor:
    """Join equally shaped tensors along a new ``axis``."""
    tensors = _tensors(tensors, "stack")
    if len({t.shape for t in tensors}) > 1:
        raise ValueError(f"stack: all tensors need the same shape, got {[t.shape for t in tensors]}")
    axis = normalize_axes(_axis(axis, dim), tensors[0].ndim + 1, "stack")[0]
    return M.Stack.apply(*tensors, axis=axis)


def where(cond, a, b) -> Tensor:
    """Elementwise ``a if cond else b`` (cond: bool tensor or array, broadcast with a and b).

    Tensors among cond, a and b must share one device; arrays and numbers go to that device.
    """
    given = [(name, t) for name, t in (("cond", cond), ("a", a), ("b", b)) if isinstance(t, Tensor)]
    device = given[0][1].device if given else "cpu"
    if any(t.device != device for _, t in given):
        desc = ", ".join(f"{name} {t.shape} on {t.device}" for name, t in given)
        raise ValueError(f"where: tensors on different devices: {desc}; move them with .to()")
    if isinstance(cond, Tensor):
        cond_array = cond.data
    else:
        cond_array = move(cond if is_cupy_array(cond) else np.asarray(cond), device)
    if cond_array.dtype != np.bool_:
        cond_array = cond_array.astype(bool)
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        a = Tensor(a, device=device)
    a_t = a if isinstance(a, Tensor) else b._operand(a)
    b_t = b if isinstance(b, Tensor) else a_t._operand(b)
    if a_t.dtype != b_t.dtype:
        a_t, b_t = _promote(a_t, b_t)
    try:
        np.broadcast_shapes(cond_array.shape, a_t.shape, b_t.shape)
    except ValueError:
        raise ValueError(f"where: shapes {cond_array.shape}, {a_t.shape}, {b_t.shape} do not broadcast") from None
    return E.Where.apply(a_t, b_t, cond=cond_array)


autograd._tensor_class = Tensor
