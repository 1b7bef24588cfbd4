"""A stand-in for CuPy that runs on the CPU, for testing tinygrad_edu's GPU path without a GPU.

Only for tests (tests/gpu/test_gpu_suite_on_fake_cupy.py puts this folder first on sys.path in
a subprocess and runs the ``cuda`` tests there). Its arrays wrap NumPy arrays in a class that
is NOT a NumPy array and, like CuPy's, refuses to be mixed with one or converted to one
implicitly, so any NumPy call that slips into the device code path (``np.where`` on GPU data,
``np.asarray(gpu_array)``, a host array combined with a device one) fails here as it would on
a GPU. What it cannot tell is whether real CuPy computes each function as NumPy does.
"""
import collections
import sys
import types

import numpy as _np

#: device -> host copies so far, by kind ("get", "bool", "int", "float", "item", "tolist",
#: "asnumpy", "index"): each one waits for the GPU on a real device (tests count them)
host_transfers = collections.Counter()

__version__ = "0.0-fake"


def _unwrap(obj):
    """Fake arrays -> their NumPy data (recursing into lists, tuples, dicts); NumPy arrays
    are refused, as CuPy refuses them."""
    if isinstance(obj, ndarray):
        return obj._a
    if isinstance(obj, _np.ndarray):
        raise TypeError(f"Unsupported type {type(obj)} (a NumPy array given to the fake CuPy)")
    if isinstance(obj, (list, tuple)):
        return type(obj)(_unwrap(o) for o in obj)
    if isinstance(obj, dict):
        return {k: _unwrap(v) for k, v in obj.items()}
    return obj


def _unwrap_index(obj):
    """Indices may hold NumPy arrays (CuPy copies them to the device)."""
    if isinstance(obj, tuple):
        return tuple(_unwrap_index(o) for o in obj)
    if isinstance(obj, ndarray):
        return obj._a
    return obj


def _wrap(obj):
    if isinstance(obj, _np.ndarray):
        return ndarray(obj)
    if isinstance(obj, _np.generic):  # CuPy returns 0-d arrays, never NumPy scalars
        return ndarray(_np.asarray(obj))
    if isinstance(obj, tuple):
        return tuple(_wrap(o) for o in obj)
    if isinstance(obj, list):
        return [_wrap(o) for o in obj]
    return obj


def _call(fn, args, kwargs):
    return _wrap(fn(*_unwrap(args), **_unwrap(kwargs)))


class _Flags:
    def __init__(self, a):
        self.c_contiguous = a.flags.c_contiguous
        self.f_contiguous = a.flags.f_contiguous
        self.owndata = a.flags.owndata


class ndarray:
    """A 'device' array: a NumPy array behind CuPy's rules for mixing and conversion."""

    __array_priority__ = 1000
    __slots__ = ("_a",)

    def __init__(self, a):
        self._a = a

    # CuPy refuses implicit conversion to NumPy
    def __array__(self, *args, **kwargs):
        raise TypeError("Implicit conversion to a NumPy array is not allowed. "
                        "Please use `.get()` to construct a NumPy array explicitly.")

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return _call(getattr(ufunc, method), inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        return _call(func, args, kwargs)

    def get(self):
        host_transfers["get"] += 1
        return self._a.copy()

    @property
    def flags(self):
        return _Flags(self._a)

    @property
    def T(self):
        return ndarray(self._a.T)

    def __getattr__(self, name):
        attr = getattr(self._a, name)
        if name in ("item", "tolist"):
            host_transfers[name] += 1
        if callable(attr):
            return lambda *args, **kwargs: _call(attr, args, kwargs)
        return _wrap(attr) if name not in ("shape", "dtype", "strides", "ndim", "size", "itemsize",
                                           "nbytes") else attr

    def __getitem__(self, index):
        return _wrap(self._a[_unwrap_index(index)])

    def __setitem__(self, index, value):
        self._a[_unwrap_index(index)] = _unwrap(value)

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        return (ndarray(_np.asarray(v)) for v in self._a)

    def __repr__(self):
        return "fake_cupy." + repr(self._a)

    def __bool__(self):
        host_transfers["bool"] += 1
        return bool(self._a)

    def __int__(self):
        host_transfers["int"] += 1
        return int(self._a)

    def __float__(self):
        host_transfers["float"] += 1
        return float(self._a)

    def __index__(self):
        host_transfers["index"] += 1
        return self._a.__index__()

    def __dlpack__(self, stream=None, **kwargs):
        return self._a.__dlpack__()

    def __dlpack_device__(self):
        return (2, 0)  # pretend: kDLCUDA, device 0

    __hash__ = None


def _binary(name):
    def op(self, other):
        return _call(getattr(self._a, name), (other,), {})
    op.__name__ = name
    return op


def _inplace(name):
    def op(self, other):
        getattr(self._a, name)(_unwrap(other))
        return self
    op.__name__ = name
    return op


for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and", "or",
              "xor", "lt", "le", "gt", "ge", "eq", "ne"):
    setattr(ndarray, f"__{_name}__", _binary(f"__{_name}__"))
    if _name not in ("lt", "le", "gt", "ge", "eq", "ne"):
        setattr(ndarray, f"__r{_name}__", _binary(f"__r{_name}__"))
        setattr(ndarray, f"__i{_name}__", _inplace(f"__i{_name}__"))
for _name in ("neg", "pos", "abs", "invert"):
    setattr(ndarray, f"__{_name}__", lambda self, _n=_name: _wrap(getattr(self._a, f"__{_n}__")()))


class ufunc:
    """A NumPy ufunc behind CuPy's rules, with ``at`` (as CuPy >= 12)."""

    def __init__(self, np_ufunc):
        self._u = np_ufunc
        self.__name__ = np_ufunc.__name__

    def __call__(self, *args, **kwargs):
        out = kwargs.get("out")
        result = _call(self._u, args, kwargs)
        return out if out is not None else result

    def at(self, a, indices, b=None):
        args = (_unwrap(a), _unwrap_index(indices)) + (() if b is None else (_unwrap(b),))
        self._u.at(*args)

    def reduce(self, *args, **kwargs):
        return _call(self._u.reduce, args, kwargs)


def __getattr__(name):
    attr = getattr(_np, name)
    if isinstance(attr, _np.ufunc):
        return ufunc(attr)
    if callable(attr) and not isinstance(attr, type):
        return lambda *args, **kwargs: _call(attr, args, kwargs)
    return attr


def asarray(a, dtype=None, order=None):
    if isinstance(a, ndarray):
        return a if dtype is None or a.dtype == dtype else a.astype(dtype)
    return ndarray(_np.array(a, dtype=dtype, copy=True, order=order or "K"))


def array(a, dtype=None, copy=True, order="K", ndmin=0):
    data = a._a if isinstance(a, ndarray) else a
    return ndarray(_np.array(data, dtype=dtype, copy=copy, order=order, ndmin=ndmin))


def asnumpy(a):
    if isinstance(a, ndarray):
        host_transfers["asnumpy"] += 1
        return a._a.copy()
    return _np.asarray(a)


def get_array_module(*args):
    return sys.modules[__name__] if any(isinstance(a, ndarray) for a in args) else _np


def from_dlpack(obj):
    if isinstance(obj, ndarray):
        return obj
    if hasattr(obj, "data") and isinstance(getattr(obj, "data"), ndarray):  # a tinygrad_edu Tensor
        return obj.data
    return ndarray(_np.from_dlpack(obj))


# submodules: cuda.runtime, random, lib.stride_tricks
class _Device:
    id = 0

    def __init__(self, device=0):
        pass

    def synchronize(self):
        pass


cuda = types.SimpleNamespace(
    Device=_Device,
    runtime=types.SimpleNamespace(getDeviceCount=lambda: 1,
                                  getDeviceProperties=lambda i: {"name": b"fake GPU (NumPy on the CPU)"}))


class RandomState:
    def __init__(self, seed=None):
        self._g = _np.random.default_rng(seed)

    def random_sample(self, size=None, dtype=float):
        return ndarray(_np.asarray(self._g.random(size, dtype=_np.dtype(dtype).type)))


random = types.SimpleNamespace(RandomState=RandomState)
lib = types.SimpleNamespace(stride_tricks=types.SimpleNamespace(
    as_strided=lambda x, shape=None, strides=None: ndarray(
        _np.lib.stride_tricks.as_strided(x._a, shape=shape, strides=strides))))
