"""Element types: the names a user may write, the constructor's rules and type promotion.

Tensors hold NumPy dtypes (``t.dtype == np.float32``). Only float32 and float64 tensors can
require gradients. The rules, as in PyTorch where the two libraries agree:

* ``Tensor(data)`` without ``dtype``: Python floats -> float32, Python ints -> int64,
  bools -> bool; NumPy float32/float64 arrays keep their dtype, other floats -> float32,
  NumPy integers -> int64.
* a binary op on two dtypes (:func:`promote_types`): a float wins over an int or bool, the
  wider float wins; two integer types give int64, two bools stay bool.

"""
from __future__ import annotations

import numpy as np

from .device import array_module, is_cupy_array

__all__ = ["FLOATS", "DTYPE_NAMES", "to_dtype", "default_dtype", "promote_types", "as_array",
           "float32", "float64", "double", "float16", "half", "int64", "long", "int32", "uint8", "bool_"]

#: the dtypes that can require gradients
FLOATS = (np.dtype(np.float32), np.dtype(np.float64))

#: dtype names accepted wherever a dtype is (``t.to("float64")``, ``dtype="long"``)
DTYPE_NAMES = {
    "float32": np.float32, "float": np.float32, "float64": np.float64, "double": np.float64,
    "int64": np.int64, "long": np.int64, "int32": np.int32, "int": np.int64,
    "bool": np.bool_, "uint8": np.uint8, "float16": np.float16, "half": np.float16,
}

# PyTorch's spellings, so that ``torch.float32`` and ``torch.long`` read the same here
float32 = np.float32
float64 = double = np.float64
float16 = half = np.float16
int64 = long = np.int64
int32 = np.int32
uint8 = np.uint8
bool_ = np.bool_


def to_dtype(dtype) -> np.dtype:
    """A dtype given as a name ("float32"), a NumPy type or dtype -> a NumPy dtype."""
    if isinstance(dtype, str):
        if dtype not in DTYPE_NAMES:
            raise TypeError(f"unknown dtype {dtype!r}; expected one of {sorted(DTYPE_NAMES)}")
        return np.dtype(DTYPE_NAMES[dtype])
    try:
        return np.dtype(dtype)
    except TypeError:
        raise TypeError(f"unknown dtype {dtype!r}") from None


def default_dtype(array, from_python: bool) -> np.dtype:
    """The dtype ``Tensor(data)`` gives ``array`` when no ``dtype`` is passed (module docstring)."""
    kind = array.dtype.kind
    if kind == "f":
        if array.dtype in FLOATS and not from_python:
            return array.dtype
        return np.dtype(np.float32)
    if kind in "iu":
        return np.dtype(np.int64)
    if kind == "b":
        return np.dtype(np.bool_)
    raise TypeError(f"Tensor: unsupported data of dtype {array.dtype} (use float, int or bool data)")


def promote_types(da: np.dtype, db: np.dtype) -> np.dtype:
    """The one dtype two operands are brought to: floats win over ints, the wider float wins."""
    da, db = np.dtype(da), np.dtype(db)
    if da.kind == "f" and db.kind == "f":
        return np.result_type(da, db)
    if da.kind == "f":
        return da
    if db.kind == "f":
        return db
    target = np.result_type(da, db)
    if target.kind == "b":
        return np.dtype(np.bool_)
    return np.dtype(np.int64)


def as_array(data, dtype=None):
    """Constructor ``data`` (a number, nested list, NumPy or CuPy array) as an owned array
    (always a copy) of ``dtype``, or of :func:`default_dtype` when ``dtype`` is None."""
    if isinstance(data, np.ndarray) or is_cupy_array(data):
        array, from_python = data, False
    elif isinstance(data, np.generic):
        array, from_python = np.asarray(data), False
    else:
        array = np.asarray(data)
        from_python = True
        if array.dtype == object:
            raise TypeError(f"Tensor: cannot make a tensor from {type(data).__name__} data")
    target = to_dtype(dtype) if dtype is not None else default_dtype(array, from_python)
    if array.dtype.kind in "iu" and target.kind in "iu" and array.size and not np.can_cast(array.dtype, target):
        # uint64 values above 2**63 - 1 would wrap to negative int64 (PyTorch raises too)
        info = np.iinfo(target)
        lo, hi = int(array.min()), int(array.max())
        if lo < info.min or hi > info.max:
            raise OverflowError(f"Tensor: integer values in [{lo}, {hi}] do not fit {target} "
                                f"[{info.min}, {info.max}] (from {array.dtype} data)")
    return array_module(array).array(array, dtype=target, copy=True)
