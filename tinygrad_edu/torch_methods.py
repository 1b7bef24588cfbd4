"""Tensor methods under PyTorch's names, for code written against ``torch.Tensor``.

The Tensor class takes these in as a base class (``class Tensor(..., TorchMethods)``), so
``x.sin()``, ``x.gather(1, idx)``, ``x.sort(descending=True)``, ``x.view_as(y)`` work as in
PyTorch. Each method checks its arguments (messages name the shapes), then either calls one
Function of :mod:`tinygrad_edu.ops` (sin/cos, gather, scatter_add, cumsum, prod) or composes
differentiable methods the core already has (repeat, chunk, logsumexp, topk).
``sort``/``topk``/``max(dim)``/``min(dim)`` return a named tuple ``(values, indices)``, whose
values are differentiable: the gradient goes to the entry each index names, as PyTorch.
"""
from __future__ import annotations

import math
import operator
from collections import namedtuple

import numpy as np

from .device import array_module
from .ops import indexing as I
from .ops import scan as S
from .ops import trig as Trig
from .ops.reduce import normalize_axes

__all__ = ["TorchMethods", "ValuesIndices", "dim_arg"]

#: what ``max(dim)``, ``min(dim)``, ``sort``, ``topk`` return: ``values`` and ``indices`` (int64)
ValuesIndices = namedtuple("ValuesIndices", ["values", "indices"])


def dim_arg(dim, ndim: int, op: str) -> int:
    """One axis, checked and made non-negative (a 0-d tensor accepts 0 and -1)."""
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{op}: dim must be an int, got {dim!r}")
    return normalize_axes(int(dim), ndim, op)[0]


def _index_array(self, index, op: str):
    """An int64 index (Tensor, array or list) as an array on self's device, checked."""
    data = index.data if hasattr(index, "data") and hasattr(index, "shape") else np.asarray(index)
    if data.dtype.kind not in "iu":
        raise TypeError(f"{op}: index must hold integers (int64), got {data.dtype}")
    if data.ndim != self.ndim:
        raise ValueError(f"{op}: index {tuple(data.shape)} must have as many axes as the tensor {self.shape}")
    return data


class TorchMethods:
    """PyTorch-named methods of Tensor (see the module docstring)."""

    __slots__ = ()

    # ------------------------------------------------------------------ elementwise
    def sin(self):
        """sin x, elementwise (float)."""
        return Trig.Sin.apply(self._float_self("sin"))

    def cos(self):
        """cos x, elementwise (float)."""
        return Trig.Cos.apply(self._float_self("cos"))

    def __abs__(self):
        """abs(x): |x| elementwise."""
        return self.abs()

    def pow(self, exponent):
        """self ** exponent (a number or a tensor)."""
        return self ** exponent

    def square(self):
        """self * self."""
        return self * self

    def neg(self):
        """-self."""
        return -self

    def add(self, other, *, alpha=1):
        """self + alpha * other."""
        return self + (other if alpha == 1 else other * alpha)

    def sub(self, other, *, alpha=1):
        """self - alpha * other."""
        return self - (other if alpha == 1 else other * alpha)

    def mul(self, other):
        """self * other (broadcast)."""
        return self * other

    def div(self, other, *, rounding_mode=None):
        """self / other; rounding_mode "trunc" or "floor" rounds the quotient (not differentiable)."""
        if rounding_mode is None:
            return self / other
        if rounding_mode not in ("trunc", "floor"):
            raise ValueError(f"div: rounding_mode must be None, 'trunc' or 'floor', got {rounding_mode!r}")
        q = (self / other).detach()
        xp = array_module(q.data)
        rounded = xp.trunc(q.data) if rounding_mode == "trunc" else xp.floor(q.data)
        out_dtype = np.result_type(self.dtype, getattr(other, "dtype", np.asarray(other).dtype))
        if self.dtype.kind in "iu" and out_dtype.kind in "iu":
            rounded = rounded.astype(out_dtype)
        return type(self)(rounded, device=self.device)

    def eq(self, other):
        """self == other, elementwise (a bool tensor; not differentiable)."""
        return self == other

    def ne(self, other):
        """self != other, elementwise (bool)."""
        return self != other

    def lt(self, other):
        """self < other, elementwise (bool)."""
        return self < other

    def le(self, other):
        """self <= other, elementwise (bool)."""
        return self <= other

    def gt(self, other):
        """self > other, elementwise (bool)."""
        return self > other

    def ge(self, other):
        """self >= other, elementwise (bool)."""
        return self >= other

    # ------------------------------------------------------------------ shapes
    def view_as(self, other):
        """self reshaped to other's shape."""
        return self.reshape(other.shape)

    def reshape_as(self, other):
        """self reshaped to other's shape."""
        return self.reshape(other.shape)

    def expand_as(self, other):
        """self broadcast to other's shape (size-1 axes stretched)."""
        return self.expand(*other.shape)

    def type_as(self, other):
        """self converted to other's dtype."""
        return self.astype(other.dtype)

    def contiguous(self, memory_format=None):
        """Self (the arrays here are always usable as they are)."""
        return self

    def t(self):
        if self.ndim > 2:
            raise ValueError(f"t: expects a tensor with at most 2 axes, got {self.shape}")
        return self if self.ndim < 2 else self.transpose(0, 1)

    def repeat(self, *sizes):
        """Tile the tensor: repeat(2, 3) on (a, b) gives (2a, 3b); extra leading sizes add axes."""
        if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
            sizes = tuple(sizes[0])
        sizes = tuple(operator.index(s) for s in sizes)
        if len(sizes) < self.ndim:
            raise ValueError(f"repeat: give at least one size per axis of {self.shape}, got {sizes}")
        if any(s < 0 for s in sizes):
            raise ValueError(f"repeat: sizes must be >= 0, got {sizes}")
        shape = (1,) * (len(sizes) - self.ndim) + self.shape
        x = self.reshape(*[d for s in shape for d in (1, s)])          # (1, d0, 1, d1, ...)
        x = x.expand(*[d for r, s in zip(sizes, shape) for d in (r, s)])  # (r0, d0, r1, d1, ...)
        return x.reshape(*[r * s for r, s in zip(sizes, shape)])

    def split(self, split_size_or_sections, dim=0):
        """Pieces along ``dim``: of split_size each (the last may be shorter), or of the listed sizes."""
        dim = dim_arg(dim, self.ndim, "split")
        n = self.shape[dim]
        if isinstance(split_size_or_sections, (list, tuple)):
            sizes = [int(s) for s in split_size_or_sections]
            if sum(sizes) != n or any(s < 0 for s in sizes):
                raise ValueError(f"split: sections {sizes} must be >= 0 and sum to {n} (axis {dim} of {self.shape})")
        else:
            step = int(split_size_or_sections)
            if step <= 0:
                raise ValueError(f"split: split_size must be positive, got {step}")
            sizes = [min(step, n - start) for start in range(0, n, step)] or [0]
        pieces, start = [], 0
        for size in sizes:
            index = (slice(None),) * dim + (slice(start, start + size),)
            pieces.append(self[index])
            start += size
        return tuple(pieces)

    def chunk(self, chunks: int, dim=0):
        """Up to ``chunks`` pieces of ceil(n / chunks) along ``dim`` (as PyTorch)."""
        if int(chunks) <= 0:
            raise ValueError(f"chunk: chunks must be positive, got {chunks}")
        n = self.shape[dim_arg(dim, self.ndim, "chunk")]
        return self.split(max(1, math.ceil(n / int(chunks))), dim)

    def flip(self, *dims):
        """The entries in reverse order along each of ``dims`` (differentiable)."""
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = tuple(dims[0])
        axes = normalize_axes(dims, self.ndim, "flip") if dims else ()
        return self[tuple(slice(None, None, -1) if a in axes else slice(None) for a in range(self.ndim))]

    def tril(self, diagonal: int = 0):
        """The lower triangle of the last two axes (entries above ``diagonal`` set to 0)."""
        return self._triangle(diagonal, lower=True)

    def triu(self, diagonal: int = 0):
        """The upper triangle of the last two axes (entries below ``diagonal`` set to 0)."""
        return self._triangle(diagonal, lower=False)

    def _triangle(self, diagonal, lower):
        from .creation import where

        if self.ndim < 2:
            raise ValueError(f"{'tril' if lower else 'triu'}: needs at least 2 axes, got shape {self.shape}")
        rows, cols = self.shape[-2:]
        keep = (np.tril if lower else np.triu)(np.ones((rows, cols), dtype=bool), int(diagonal))
        return where(keep, self, self._operand(0))

    def _rounded(self, name):
        """A non-differentiable elementwise rounding (the result carries no graph)."""
        xp = array_module(self.data)
        return type(self)(getattr(xp, name)(self.data).astype(self.dtype, copy=False), device=self.device)

    def floor(self):
        """Largest integer <= x, elementwise (same dtype; not differentiable)."""
        return self._rounded("floor")

    def ceil(self):
        """Smallest integer >= x, elementwise (same dtype; not differentiable)."""
        return self._rounded("ceil")

    def round(self):
        """Nearest integer, halves to even as PyTorch (same dtype; not differentiable)."""
        return self._rounded("round")

    def sign(self):
        """-1, 0 or 1 by the sign of x (same dtype; not differentiable)."""
        return self._rounded("sign")

    def isnan(self):
        """True where x is NaN (bool)."""
        return type(self)(array_module(self.data).isnan(self.data), device=self.device)

    def isinf(self):
        """True where x is +-inf (bool)."""
        return type(self)(array_module(self.data).isinf(self.data), device=self.device)

    def isfinite(self):
        """True where x is neither NaN nor +-inf (bool)."""
        return type(self)(array_module(self.data).isfinite(self.data), device=self.device)

    def dot(self, other):
        """The inner product of two 1-D tensors of one length (a 0-d tensor)."""
        if self.ndim != 1 or getattr(other, "ndim", 0) != 1 or self.shape != other.shape:
            raise ValueError(f"dot: expects two 1-D tensors of one length, got {self.shape} and "
                             f"{getattr(other, 'shape', None)}")
        return (self * other).sum()

    def outer(self, other):
        """The outer product of two 1-D tensors: (n,) and (m,) -> (n, m)."""
        if self.ndim != 1 or getattr(other, "ndim", 0) != 1:
            raise ValueError(f"outer: expects two 1-D tensors, got {self.shape} and {getattr(other, 'shape', None)}")
        return self.reshape(-1, 1) * other.reshape(1, -1)

    # ------------------------------------------------------------------ indexing
    def gather(self, dim, index):
        """out[i][j] = self[index[i][j]][j] (dim=0); out has index's shape (torch.gather)."""
        dim = dim_arg(dim, self.ndim, "gather")
        index = _index_array(self, index, "gather")
        for d, (a, b) in enumerate(zip(index.shape, self.shape)):
            if d != dim and a > b:
                raise ValueError(f"gather: index {tuple(index.shape)} is larger than input {self.shape} on axis {d}")
        if index.size and (int(index.min()) < -self.shape[dim] or int(index.max()) >= self.shape[dim]):
            raise IndexError(f"gather: index values must lie in [0, {self.shape[dim]}) for axis {dim} of {self.shape}")
        return I.Gather.apply(self, index=index % max(self.shape[dim], 1), dim=dim)

    def scatter_add(self, dim, index, src):
        """A copy of self with src[i][j] added at [index[i][j]][j] (dim=0), repeats adding up."""
        dim = dim_arg(dim, self.ndim, "scatter_add")
        index = _index_array(self, index, "scatter_add")
        src = self._operand(src)
        if src.ndim != self.ndim:
            raise ValueError(f"scatter_add: src {src.shape} must have as many axes as self {self.shape}")
        for d, a in enumerate(index.shape):
            if a > src.shape[d] or (d != dim and a > self.shape[d]):
                raise ValueError(f"scatter_add: index {tuple(index.shape)} does not fit src {src.shape} "
                                 f"and self {self.shape} on axis {d}")
        if index.size and (int(index.min()) < 0 or int(index.max()) >= self.shape[dim]):
            raise IndexError(f"scatter_add: index values must lie in [0, {self.shape[dim]}) for axis {dim}")
        return I.ScatterAdd.apply(self, src.astype(self.dtype), index=index, dim=dim)

    # ------------------------------------------------------------------ scans and sorting
    def cumsum(self, dim, *, dtype=None):
        """Running sum along ``dim`` (same shape)."""
        x = self if dtype is None else self.astype(dtype)
        return S.Cumsum.apply(x, axis=dim_arg(dim, self.ndim, "cumsum"))

    def prod(self, dim=None, keepdim=False, *, dtype=None):
        """Product of all entries, or along ``dim`` (keepdim keeps it as size 1)."""
        x = self if dtype is None else self.astype(dtype)
        axis = None if dim is None else dim_arg(dim, self.ndim, "prod")
        return S.Prod.apply(x, axis=axis, keepdims=bool(keepdim))

    def argsort(self, dim=-1, descending=False, stable=False):
        """Indices (int64) that sort ``dim``; ties keep their order."""
        dim = dim_arg(dim, max(self.ndim, 1), "argsort")
        data = self.data if self.ndim else self.data.reshape(1)
        xp = array_module(data)
        key = -data if descending and data.dtype != np.bool_ else (~data if descending else data)
        order = xp.argsort(key, axis=dim, kind="stable") if xp is np else xp.argsort(key, axis=dim)
        order = order if self.ndim else order.reshape(())
        return type(self)(order.astype(np.int64), device=self.device)

    def sort(self, dim=-1, descending=False, stable=False):
        """(values, indices) with ``dim`` sorted (ascending unless descending=True)."""
        indices = self.argsort(dim, descending)
        values = self.gather(dim, indices) if self.ndim else self
        return ValuesIndices(values, indices)

    def topk(self, k, dim=-1, largest=True, sorted=True):
        """(values, indices) of the k largest (or smallest) entries along ``dim``, best first."""
        d = dim_arg(dim, max(self.ndim, 1), "topk")
        n = self.shape[d] if self.ndim else 1
        if not 0 <= int(k) <= n:
            raise ValueError(f"topk: k={k} is out of range for axis {d} of size {n}")
        indices = self.argsort(d, descending=largest)
        if self.ndim:
            indices = indices[(slice(None),) * d + (slice(0, int(k)),)]
            return ValuesIndices(self.gather(d, indices), indices)
        return ValuesIndices(self, indices)

    # ------------------------------------------------------------------ reductions
    def _values_indices(self, dim, keepdim, largest):
        """max(dim)/min(dim): the values through gather (the gradient goes to the entry the index
        names, as PyTorch) and the indices (int64)."""
        d = dim_arg(dim, max(self.ndim, 1), "max" if largest else "min")
        if self.ndim == 0:
            return ValuesIndices(self * 1, type(self)(np.array(0, dtype=np.int64), device=self.device))
        indices = self.argmax(axis=d, keepdims=True) if largest else self.argmin(axis=d, keepdims=True)
        values = self.gather(d, indices)
        if not keepdim:
            values, indices = values.squeeze(d), indices.squeeze(d)
        return ValuesIndices(values, indices)

    def logsumexp(self, dim, keepdim=False):
        """log(sum(exp(x))) along ``dim``, shifted by the max so that it never overflows."""
        axes = normalize_axes(dim, self.ndim, "logsumexp")
        m = self.detach().max(axis=axes, keepdims=True)
        m = m.clip(-3e38, 3e38)  # an all -inf row stays -inf, not nan
        out = (self - m).exp().sum(axis=axes, keepdims=True).log() + m
        return out if keepdim else out.reshape(*[s for i, s in enumerate(out.shape) if i not in axes])

    def any(self, dim=None, keepdim=False):
        """True where any entry (along ``dim``) is non-zero (a bool tensor; not differentiable)."""
        axis = None if dim is None else normalize_axes(dim, self.ndim, "any")
        return type(self)(self.data.astype(bool).any(axis=axis, keepdims=bool(keepdim)), device=self.device)

    def all(self, dim=None, keepdim=False):
        """True where every entry (along ``dim``) is non-zero (a bool tensor; not differentiable)."""
        axis = None if dim is None else normalize_axes(dim, self.ndim, "all")
        return type(self)(self.data.astype(bool).all(axis=axis, keepdims=bool(keepdim)), device=self.device)

    # ------------------------------------------------------------------ conversions
    def int(self):
        """A copy as int32 (not differentiable)."""
        return self.astype(np.int32)

    def bool(self):
        """A copy as bool (not differentiable)."""
        return self.astype(np.bool_)

    def mm(self, other):
        """The matrix product of two 2-D tensors: (n, k) @ (k, m) -> (n, m)."""
        if self.ndim != 2 or getattr(other, "ndim", 0) != 2:
            raise ValueError(f"mm: expects two 2-D tensors, got {self.shape} and {getattr(other, 'shape', None)}")
        return self @ other

    def bmm(self, other):
        """The batched matrix product: (b, n, k) @ (b, k, m) -> (b, n, m)."""
        if self.ndim != 3 or getattr(other, "ndim", 0) != 3:
            raise ValueError(f"bmm: expects two 3-D tensors, got {self.shape} and {getattr(other, 'shape', None)}")
        return self @ other
