"""Dropout with a counter-based mask (C twin: csrc/dropout.c).

    y[i] = x[i] * (bits(seed, i) >= threshold ? scale : 0),  threshold = round(p * 2^32),
    scale = 1 / (1 - p)  (0 when p == 1)

bits(seed, i): for the pair k = i // 2, z = splitmix64(seed + (k + 1) * 0x9E3779B97F4A7C15);
the low 32 bits of z belong to element 2k, the high 32 bits to element 2k + 1.  The mask
depends only on (seed, i), so the backward pass is the same call on the gradient with the
same seed, and nothing is saved in between.  Written against ``xp`` (uint64 arithmetic
wraps around, as C's does): the same function is the GPU table's.
"""
import numpy as np

from ...device import array_module
from ..contract import check_arrays, kernel

_GOLDEN, _M1, _M2 = 0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB


def dropout_constants(p: float, dtype):
    """(threshold, scale) for drop probability p: keep when the 32 bits are >= threshold."""
    threshold = min(int(round(p * 2.0 ** 32)), 2 ** 32 - 1)
    scale = np.dtype(dtype).type(0.0 if p >= 1 else 1.0 / (1.0 - p))
    return threshold, scale


def check_dropout(x, seed, p) -> tuple:
    op = "dropout"
    check_arrays(op, x=x)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2 ** 63:
        raise ValueError(f"{op}: seed must be an int in [0, 2**63), got {seed!r}")
    if isinstance(p, bool) or not isinstance(p, (int, float, np.floating, np.integer)) or not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}: probability p must be in [0, 1], got {p!r}")
    return x, int(seed), float(p)


def keep_bits(xp, n: int, seed: int):
    """The 32-bit draws of elements 0 .. n-1 for ``seed`` (uint32, length n)."""
    k = xp.arange(1, (n + 1) // 2 + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = np.uint64(seed) + k * np.uint64(_GOLDEN)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(_M1)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(_M2)
    z = z ^ (z >> np.uint64(31))
    lo = (z & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    hi = (z >> np.uint64(32)).astype(np.uint32)
    return xp.stack((lo, hi), axis=1).reshape(-1)[:n]


@kernel(check_dropout)
def dropout(x, seed, p):
    """x: float array of any shape; seed: int in [0, 2**63); p: drop probability in [0, 1].

    Returns x * mask * 1 / (1 - p) (zeros when p == 1), the mask drawn from (seed, index).
    Calling it on the gradient with the same seed is the backward pass.
    """
    xp = array_module(x)
    threshold, scale = dropout_constants(p, x.dtype)
    keep = keep_bits(xp, x.size, seed).reshape(x.shape) >= np.uint32(threshold)
    with np.errstate(invalid="ignore"):  # inf * 0 is NaN, as in C and PyTorch
        return x * xp.where(keep, scale, x.dtype.type(0))
