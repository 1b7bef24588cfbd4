"""Functions that make tensors: from a shape (zeros, ones, full, rand, randn, arange, eye),
from another library's array (from_numpy, from_dlpack), and from other tensors (cat, stack,
where).

    tge.zeros(2, 3)                  # float32 unless dtype= says otherwise; also tge.zeros((2, 3))
    tge.arange(5)                    # int64 0..4; float arguments give float32
    tge.cat([a, b], dim=0)           # differentiable, as are stack and where

The shape-based and library-based constructors are class methods of :class:`TensorFactories`,
a base class of ``Tensor``: ``Tensor.zeros(2, 3)`` and ``tge.zeros(2, 3)`` are the same call,
and this module needs no import of the Tensor class (it sits below ``tensor.py``). Every size
is checked before anything is allocated (:mod:`tinygrad_edu.limits`): an overflowing shape is
a ValueError, more bytes than the machine has a MemoryError.
"""
from __future__ import annotations

import math

import numpy as np

from . import rng
from .device import is_cupy_array, move, normalize_device
from .dtypes import FLOATS, as_array, promote_types, to_dtype
from .limits import check_allocation
from .ops import elementwise as E
from .ops import movement as M
from .ops.reduce import normalize_axes
from .shaping import shape_arg

__all__ = ["TensorFactories", "cat", "stack", "where"]


class TensorFactories:
    """The class-level constructors of Tensor (``Tensor.zeros(2, 3)``, ``Tensor.arange(5)``).

    Each takes ``requires_grad=``, ``dtype=`` (float32 unless given) and ``device=``.
    """

    __slots__ = ()

    @classmethod
    def _factory(cls, make, shape, requires_grad, dtype, device):
        """``make(shape, dtype=...)`` (a NumPy array) as a tensor, after the size checks."""
        shape = shape_arg(shape)
        if any(s < 0 for s in shape):
            raise ValueError(f"negative size in shape {shape}")
        dtype = to_dtype(dtype) if dtype is not None else np.dtype(np.float32)
        check_allocation(shape, dtype, "creating a tensor")
        t = cls._from_array(make(shape, dtype=dtype))
        if device is not None and normalize_device(device) != "cpu":
            t.data = move(t.data, "cuda")
        if requires_grad:
            t.requires_grad_(True)
        return t

    @classmethod
    def zeros(cls, *shape, requires_grad=False, dtype=None, device=None):
        """A tensor of the given shape filled with 0 (float32 unless ``dtype`` says otherwise)."""
        return cls._factory(np.zeros, shape, requires_grad, dtype, device)

    @classmethod
    def ones(cls, *shape, requires_grad=False, dtype=None, device=None):
        """A tensor of the given shape filled with 1 (float32 unless ``dtype`` says otherwise)."""
        return cls._factory(np.ones, shape, requires_grad, dtype, device)

    @classmethod
    def full(cls, shape, value, requires_grad=False, dtype=None, device=None):
        """A tensor of ``shape`` filled with ``value``."""
        return cls._factory(lambda s, dtype: np.full(s, value, dtype=dtype), (shape,), requires_grad, dtype, device)

    @classmethod
    def rand(cls, *shape, requires_grad=False, dtype=None, device=None):
        """Uniform on [0, 1), from the package's generator (:func:`tinygrad_edu.manual_seed`)."""
        return cls._factory(lambda s, dtype: rng.generator().random(s).astype(dtype),
                            shape, requires_grad, dtype, device)

    @classmethod
    def randn(cls, *shape, requires_grad=False, dtype=None, device=None):
        """Standard normal, from the package's generator (:func:`tinygrad_edu.manual_seed`)."""
        return cls._factory(lambda s, dtype: rng.generator().standard_normal(s).astype(dtype),
                            shape, requires_grad, dtype, device)

    @classmethod
    def arange(cls, start, stop=None, step=1, requires_grad=False, dtype=None, device=None):
        """Like np.arange: shape (ceil((stop - start) / step),); int arguments give int64, float
        ones float32."""
        lo, hi = (0, start) if stop is None else (start, stop)
        if isinstance(step, (int, float, np.integer, np.floating)) and step == 0:
            raise ValueError(f"arange: step must be nonzero, got {step!r} (start {lo!r}, stop {hi!r})")
        try:
            count = max(0, math.ceil((hi - lo) / step))
        except (TypeError, ValueError, ZeroDivisionError, OverflowError):
            count = 0  # np.arange reports it
        check_allocation((count,), np.int64, "arange")
        values = np.arange(start, stop, step) if stop is not None else np.arange(start)
        if dtype is None:
            dtype = np.int64 if values.dtype.kind in "iu" else np.float32
        return _finish(cls._from_array(as_array(values, dtype)), requires_grad, device)

    @classmethod
    def eye(cls, n, m=None, requires_grad=False, dtype=None, device=None):
        """The (n, m) identity matrix (m defaults to n), float32 unless ``dtype`` says otherwise."""
        dtype = to_dtype(dtype or np.float32)
        check_allocation((n, n if m is None else m), dtype, "eye")
        return _finish(cls._from_array(np.eye(n, m, dtype=dtype)), requires_grad, device)

    @classmethod
    def zeros_like(cls, t, requires_grad=False, dtype=None):
        """Zeros of ``t``'s shape, dtype (unless given) and device."""
        return cls.zeros(*t.shape, requires_grad=requires_grad, dtype=dtype or t.dtype, device=t.device)

    @classmethod
    def ones_like(cls, t, requires_grad=False, dtype=None):
        """Ones of ``t``'s shape, dtype (unless given) and device."""
        return cls.ones(*t.shape, requires_grad=requires_grad, dtype=dtype or t.dtype, device=t.device)

    @classmethod
    def from_numpy(cls, array, requires_grad=False, dtype=None, device=None):
        """A tensor from a NumPy array (float32/float64 kept, integers as int64), same shape (a copy)."""
        return _finish(cls._from_array(as_array(np.asarray(array), dtype)), requires_grad, device)

    @classmethod
    def from_dlpack(cls, obj):
        """Wrap an array from another library (PyTorch, CuPy, JAX...) sharing memory when it can."""
        if not hasattr(obj, "__dlpack__"):
            raise TypeError(f"from_dlpack: expected an object with __dlpack__ (a PyTorch, CuPy or JAX array), "
                            f"got {type(obj).__name__}")
        device_type = obj.__dlpack_device__()[0] if hasattr(obj, "__dlpack_device__") else 1
        if device_type == 2:  # kDLCUDA
            from .device import _import_cupy

            array = _import_cupy().from_dlpack(obj)
        else:
            array = np.from_dlpack(obj)
        if array.dtype not in FLOATS and array.dtype.kind == "f":
            array = array.astype(np.float32)
        return cls._from_array(array)


def _finish(t, requires_grad, device):
    """Move a fresh tensor to ``device`` and mark it as requiring grad when asked."""
    if device is not None and normalize_device(device) != t.device:
        t.data = move(t.data, normalize_device(device))
    return t.requires_grad_(True) if requires_grad else t


# ---------------------------------------------------------------------- from other tensors
def _axis(axis, dim):
    return dim if dim is not None else axis


def _is_tensor(x) -> bool:
    return isinstance(x, TensorFactories)


def _tensors(tensors, op) -> list:
    """A non-empty list of tensors on one device, brought to one dtype (arrays and numbers
    among them become tensors, as long as one of them is a tensor)."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError(f"{op}: expected a non-empty list of tensors")
    first = next((t for t in tensors if _is_tensor(t)), None)
    if first is None:
        raise TypeError(f"{op}: expected a list of tensors, got {type(tensors[0]).__name__}")
    tensors = [t if _is_tensor(t) else first._from_array(move(as_array(t), first.device)) for t in tensors]
    devices = {t.device for t in tensors}
    if len(devices) > 1:
        raise ValueError(f"{op}: tensors on different devices {sorted(devices)}")
    dtype = tensors[0].dtype
    for t in tensors[1:]:
        dtype = promote_types(dtype, t.dtype)
    return [t.astype(dtype) for t in tensors]


def cat(tensors, axis=0, *, dim=None):
    """Join tensors along an existing ``axis``; the other sizes must agree."""
    tensors = _tensors(tensors, "cat")
    if tensors[0].ndim == 0:
        raise ValueError("cat: zero-dimensional tensors cannot be concatenated (use stack)")
    axis = normalize_axes(_axis(axis, dim), tensors[0].ndim, "cat")[0]
    ref = tensors[0].shape
    for t in tensors[1:]:
        if t.ndim != len(ref) or any(a != b for i, (a, b) in enumerate(zip(t.shape, ref)) if i != axis):
            raise ValueError(f"cat: shapes {[t.shape for t in tensors]} differ outside axis {axis}")
    return M.Cat.apply(*tensors, axis=axis)


def stack(tensors, axis=0, *, dim=None):
    """Join equally shaped tensors along a new ``axis``."""
    tensors = _tensors(tensors, "stack")
    if len({t.shape for t in tensors}) > 1:
        raise ValueError(f"stack: all tensors need the same shape, got {[t.shape for t in tensors]}")
    axis = normalize_axes(_axis(axis, dim), tensors[0].ndim + 1, "stack")[0]
    return M.Stack.apply(*tensors, axis=axis)


def where(cond, a, b):
    """Elementwise ``a if cond else b`` (cond: bool tensor or array, broadcast with a and b).

    Tensors among cond, a and b must share one device; arrays and numbers go to that device.
    """
    given = [(name, t) for name, t in (("cond", cond), ("a", a), ("b", b)) if _is_tensor(t)]
    if not given:
        raise TypeError("where: at least one of cond, a and b must be a Tensor")
    device = given[0][1].device
    if any(t.device != device for _, t in given):
        desc = ", ".join(f"{name} {t.shape} on {t.device}" for name, t in given)
        raise ValueError(f"where: tensors on different devices: {desc}; move them with .to()")
    if _is_tensor(cond):
        cond_array = cond.data
    else:
        cond_array = move(cond if is_cupy_array(cond) else np.asarray(cond), device)
    if cond_array.dtype != np.bool_:
        cond_array = cond_array.astype(bool)
    if not _is_tensor(a) and not _is_tensor(b):
        a = cond._from_array(move(as_array(a), device))
    a_t = a if _is_tensor(a) else b._operand(a)
    b_t = b if _is_tensor(b) else a_t._operand(b)
    if a_t.dtype != b_t.dtype:
        target = promote_types(a_t.dtype, b_t.dtype)
        a_t, b_t = a_t.astype(target), b_t.astype(target)
    try:
        np.broadcast_shapes(cond_array.shape, a_t.shape, b_t.shape)
    except ValueError:
        raise ValueError(f"where: shapes {cond_array.shape}, {a_t.shape}, {b_t.shape} do not broadcast") from None
    return E.Where.apply(a_t, b_t, cond=cond_array)
