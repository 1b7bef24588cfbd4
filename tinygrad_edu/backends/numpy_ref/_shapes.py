"""Argument helpers shared by the convolution and pooling checks: pairs, 4-D shapes, and the
output size of a sliding window."""
import numpy as np


def pair(op: str, name: str, value, minimum: int) -> tuple:
    """A 2-tuple of Python ints >= minimum (the ops layer passes tuples already)."""
    try:
        out = tuple(value)
    except TypeError:
        out = None
    if (out is None or len(out) != 2
            or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                       for v in out)):
        raise TypeError(f"{op}: {name} must be a pair of ints, got {value!r}")
    out = (int(out[0]), int(out[1]))
    if min(out) < minimum:
        raise ValueError(f"{op}: {name} must be >= {minimum}, got {out}")
    return out


def shape4(op: str, name: str, shape) -> tuple:
    """A shape (N, C, H, W) of ints >= 0."""
    try:
        shape = tuple(int(s) for s in shape)
    except TypeError:
        raise TypeError(f"{op}: {name} must be a shape (N, C, H, W), got {shape!r}") from None
    if len(shape) != 4 or min(shape) < 0:
        raise ValueError(f"{op}: {name} must be a shape (N, C, H, W) of sizes >= 0, "
                         f"got {shape}")
    return shape


def check_4d(op: str, **arrays) -> None:
    for name, arr in arrays.items():
        if arr.ndim != 4:
            raise ValueError(f"{op}: {name} must be 4-D, got shape {tuple(arr.shape)}")


def out_size(size: int, k: int, s: int, p: int) -> int:
    """Output positions of a window of k cells moved by s over size cells padded by p."""
    return (size + 2 * p - k) // s + 1


def window_slice(offset: int, stride: int, count: int) -> slice:
    """Padded-input rows offset, offset + stride, ... (count of them)."""
    return slice(offset, offset + stride * (count - 1) + 1, stride)
