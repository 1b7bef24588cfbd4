"""The maths of a Tensor as methods: operators, comparisons, unary functions, reductions and
shapes. Each method checks its arguments (shapes in the messages) and calls one Function of
:mod:`tinygrad_edu.ops`; the maths (forward and backward) lives there.

:class:`TensorMaths` is a base class of ``Tensor`` (tensor.py), so ``t.exp()``, ``t + u`` and
``t.reshape(2, 3)`` are found here while tensor.py keeps what a tensor *is* (its data, its
gradient, its place in the graph, in-place changes). Nothing here imports the Tensor class:
new tensors come from ``self._from_array``.
"""
from __future__ import annotations

import numbers

import numpy as np

from . import shaping as S
from .device import array_module, move
from .dtypes import as_array, promote_types
from .ops import elementwise as E
from .ops import reduce as R
from .ops.matmul import MatMul, check_matmul_shapes
from .ops.reduce import normalize_axes


def _axis(axis, dim):
    """PyTorch's ``dim=`` and NumPy's ``axis=`` are the same argument."""
    return dim if dim is not None else axis


def _keep(keepdims, keepdim) -> bool:
    """NumPy's ``keepdims=`` or PyTorch's ``keepdim=`` (whichever was given)."""
    return bool(keepdims if keepdim is None else keepdim)


def _promote(a, b):
    """Bring two tensors to one dtype (:func:`tinygrad_edu.dtypes.promote_types`)."""
    target = promote_types(a.dtype, b.dtype)
    return a.astype(target), b.astype(target)


class TensorMaths:
    """Operators and maths methods of Tensor (see the module docstring)."""

    __slots__ = ()

    # ------------------------------------------------------------------ operand handling
    def _operand(self, other) -> "TensorMaths":
        """``other`` as a Tensor on this device; Python/NumPy scalars take this tensor's dtype."""
        if isinstance(other, TensorMaths):
            if type(other.data) is type(self.data) is np.ndarray:
                return other  # both on the CPU: the common case, without the device lookups
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
            return self._from_array(array_module(self.data).asarray(other, dtype=dtype))
        return self._from_array(move(as_array(other), self.device))

    def _binary(self, other, fn, reverse=False):
        b = self._operand(other)
        a = self
        if a.data.dtype is not b.data.dtype and a.dtype != b.dtype:
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
        if self.dtype.kind != "f" and not (isinstance(other, TensorMaths) and other.dtype.kind == "f"):
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

    def matmul(self, other) -> "TensorMaths":
        """Matrix product with ``torch.matmul``'s rules (1-D, 2-D, batched with broadcasting)."""
        a, b = self, self._operand(other)
        check_matmul_shapes(a.shape, b.shape)
        if a.dtype != b.dtype:
            a, b = _promote(a, b)
        return MatMul.apply(a, b)

    def maximum(self, other) -> "TensorMaths":
        """Elementwise larger of the two (broadcasting); ties share the gradient."""
        return self._binary(other, E.Maximum)

    def minimum(self, other) -> "TensorMaths":
        """Elementwise smaller of the two (broadcasting); ties share the gradient."""
        return self._binary(other, E.Minimum)

    # ------------------------------------------------------------------ comparisons (no grad)
    def _compare(self, other, op):
        other = self._operand(other)
        return self._from_array(op(self.data, other.data))

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

    def clip(self, lo=None, hi=None, *, min=None, max=None):
        """Clamp every element into [lo, hi] (either bound may be None); PyTorch's keywords
        ``min=``/``max=`` name the same bounds (``clamp(min=0)``)."""
        lo, hi = (min if lo is None else lo), (max if hi is None else hi)
        if lo is None and hi is None:
            raise ValueError("clip: give at least one of lo and hi (min= and max=)")
        return E.Clip.apply(self, lo=lo, hi=hi)

    clamp = clip

    def _float_self(self, op):
        return self if self.dtype.kind == "f" else self.astype(np.float32)

    # ------------------------------------------------------------------ reductions
    def _reduce(self, fn, axis, keepdims, op, **options):
        axes = normalize_axes(axis, self.ndim, op)
        return fn.apply(self, axes=axes, keepdims=keepdims, **options)

    # Every reduction takes NumPy's ``axis=``/``keepdims=`` and PyTorch's ``dim=``/``keepdim=``.
    def sum(self, axis=None, keepdims=False, *, dim=None, keepdim=None, dtype=None):
        """Sum over ``axis`` (int, tuple or None for all)."""
        if axis is None and dim is None and dtype is None and not keepdims and not keepdim:
            return R.Sum.apply(self, axes=tuple(range(self.data.ndim)))  # loss.sum(): the common call
        x = self if dtype is None else self.astype(dtype)
        return x._reduce(R.Sum, _axis(axis, dim), _keep(keepdims, keepdim), "sum")

    def mean(self, axis=None, keepdims=False, *, dim=None, keepdim=None, dtype=None):
        """Mean over ``axis`` (int, tuple or None for all)."""
        x = self if dtype is None else self.astype(dtype)
        return x._reduce(R.Mean, _axis(axis, dim), _keep(keepdims, keepdim), "mean")

    def max(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        """``x.max()``: the largest value (tied maxima share the gradient).
        ``x.max(dim)`` / ``x.max(dim=1, keepdim=True)`` (PyTorch): a named tuple
        ``(values, indices)`` along ``dim``; the gradient goes to the entry the index names.
        ``x.max(axis=..., keepdims=...)`` (NumPy, also for several axes): the values only.
        ``x.max(other_tensor)``: the elementwise maximum."""
        return self._max_min(dim, keepdim, axis, keepdims, R.Max, True)

    def min(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        """As :meth:`max`, for the smallest values."""
        return self._max_min(dim, keepdim, axis, keepdims, R.Min, False)

    def _max_min(self, dim, keepdim, axis, keepdims, fn, largest):
        op = "max" if largest else "min"
        if isinstance(dim, TensorMaths):
            return self.maximum(dim) if largest else self.minimum(dim)
        keep = bool(keepdims if keepdims is not None else keepdim)
        if axis is not None or isinstance(dim, (tuple, list)):
            return self._reduce(fn, axis if axis is not None else tuple(dim), keep, op)
        if dim is None:
            return self._reduce(fn, None, keep, op)
        return self._values_indices(dim, keep, largest)

    def amax(self, dim=None, keepdim=False):
        """Largest values over ``dim`` (int, tuple or None), values only; ties share the gradient."""
        return self._reduce(R.Max, dim, keepdim, "amax")

    def amin(self, dim=None, keepdim=False):
        """Smallest values over ``dim`` (int, tuple or None), values only."""
        return self._reduce(R.Min, dim, keepdim, "amin")

    def var(self, axis=None, keepdims=False, correction=1, *, dim=None, unbiased=None, keepdim=None):
        """Variance; ``correction=1`` (default, as PyTorch) divides by n - 1."""
        if unbiased is not None:
            correction = 1 if unbiased else 0
        return self._reduce(R.Var, _axis(axis, dim), _keep(keepdims, keepdim), "var", correction=correction)

    def std(self, axis=None, keepdims=False, correction=1, *, dim=None, unbiased=None, keepdim=None):
        """Standard deviation (the square root of :meth:`var`, same arguments)."""
        return self.var(axis, keepdims, correction, dim=dim, unbiased=unbiased, keepdim=keepdim).sqrt()

    def argmax(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        """Index of the largest value over ``axis`` (int64, no gradient); the first one on ties."""
        axis = _axis(axis, dim)
        if axis is not None:
            normalize_axes(axis, self.ndim, "argmax")
        out = self.data.argmax(axis=axis, keepdims=_keep(keepdims, keepdim))
        return self._from_array(array_module(self.data).asarray(out).astype(np.int64))

    def argmin(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        """Index of the smallest value over ``axis`` (int64, no gradient); the first one on ties."""
        axis = _axis(axis, dim)
        if axis is not None:
            normalize_axes(axis, self.ndim, "argmin")
        out = self.data.argmin(axis=axis, keepdims=_keep(keepdims, keepdim))
        return self._from_array(array_module(self.data).asarray(out).astype(np.int64))

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

    # ------------------------------------------------------------------ shape (see shaping.py)
    def reshape(self, *shape):
        """New shape with the same number of elements; one entry may be -1."""
        return S.reshape(self, *shape)

    view = reshape

    def permute(self, *dims):
        """Reorder the axes: ``permute(0, 2, 1)`` turns (N, T, D) into (N, D, T)."""
        return S.permute(self, *dims)

    def transpose(self, a=None, b=None):
        """Swap axes ``a`` and ``b`` (without arguments: reverse all axes, as NumPy)."""
        return S.transpose(self, a, b)

    @property
    def T(self):
        """The transpose of a 2-D tensor: (M, N) -> (N, M) (all axes reversed for other ranks)."""
        return S.transpose(self)

    def flatten(self, start=0, end=-1, *, start_dim=None, end_dim=None):
        """Merge axes ``start`` .. ``end`` (inclusive) into one."""
        return S.flatten(self, _axis(start, start_dim), _axis(end, end_dim))

    def squeeze(self, axis=None, *, dim=None):
        """Remove size-1 axes (all of them, or ``axis`` if it has size 1, as PyTorch)."""
        return S.squeeze(self, _axis(axis, dim))

    def unsqueeze(self, axis, *, dim=None):
        """Insert a size-1 axis at ``axis``: (N, D) with axis=1 -> (N, 1, D)."""
        return S.unsqueeze(self, _axis(axis, dim))

    def expand(self, *shape):
        """Broadcast to ``shape`` without copying (-1 keeps a size), as PyTorch."""
        return S.expand(self, *shape)

    def __getitem__(self, index):
        """Indexing as NumPy: ints, slices, None, Ellipsis, integer arrays (a gather); differentiable."""
        return S.getitem(self, index)

    def pad(self, pad_width, value=0.0):
        """Constant padding, NumPy-style: one (before, after) pair per axis (or one pair for all)."""
        return S.pad(self, pad_width, value)
