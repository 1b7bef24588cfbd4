"""Matrix product (C twin: csrc/gemm.c, ``tge_matmul_f32`` / ``_f64``)."""
import numpy as np

from ...device import array_module
from ...limits import check_allocation
from ..contract import check_arrays, kernel

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
#: outputs up to this many bytes skip the allocation-limit check (no machine that runs this
#: has less memory): the small products of a training step pay no more than needed
_SMALL_OUTPUT_BYTES = 1 << 26


def matmul_shape(a, b, trans_a, trans_b) -> tuple:
    """(batch or None, m, n, k) of a checked call."""
    batch = a.shape[0] if a.ndim == 3 else None
    m, k = (a.shape[-1], a.shape[-2]) if trans_a else (a.shape[-2], a.shape[-1])
    n = b.shape[-2] if trans_b else b.shape[-1]
    return batch, m, n, k


def check_matmul(a, b, trans_a=False, trans_b=False) -> tuple:
    """a, b: both 2-D, or both 3-D with one batch size; one float dtype; inner sizes equal.
    Returns (a, b, trans_a, trans_b) with the flags as bools."""
    if type(a) is np.ndarray and type(b) is np.ndarray and a.ndim == 2 == b.ndim \
            and a.dtype is b.dtype and a.dtype in _FLOATS \
            and type(trans_a) is bool and type(trans_b) is bool:  # the common call, fast
        m, k = (a.shape[1], a.shape[0]) if trans_a else a.shape
        kb, n = (b.shape[1], b.shape[0]) if trans_b else b.shape
        if k == kb and m * n * a.itemsize <= _SMALL_OUTPUT_BYTES:
            return a, b, trans_a, trans_b
    check_arrays("matmul", a=a, b=b)
    for name, flag in (("trans_a", trans_a), ("trans_b", trans_b)):
        if not isinstance(flag, (bool, np.bool_)) and flag not in (0, 1):
            raise TypeError(f"matmul: {name} must be a bool, got {flag!r}")
    if a.ndim != b.ndim or a.ndim not in (2, 3):
        raise ValueError(f"matmul: a {tuple(a.shape)} and b {tuple(b.shape)}: both must be "
                         "2-D, or both 3-D with the same batch size")
    if a.ndim == 3 and a.shape[0] != b.shape[0]:
        raise ValueError(f"matmul: a {tuple(a.shape)} and b {tuple(b.shape)}: batch "
                         f"sizes {a.shape[0]} and {b.shape[0]} differ")
    batch, m, n, ka = matmul_shape(a, b, trans_a, trans_b)
    kb = b.shape[-1] if trans_b else b.shape[-2]
    if ka != kb:
        lead = () if batch is None else (batch,)
        transposed = [name for name, t in (("a", trans_a), ("b", trans_b)) if t]
        note = f" ({' and '.join(transposed)} transposed)" if transposed else ""
        raise ValueError(f"matmul: {lead + (m, ka)} @ {lead + (kb, n)}{note}: inner sizes "
                         f"{ka} and {kb} differ")
    check_allocation((m, n) if batch is None else (batch, m, n), a.dtype,
                     f"matmul: the output of a {tuple(a.shape)} @ b {tuple(b.shape)}")
    return a, b, bool(trans_a), bool(trans_b)


@kernel(check_matmul, device_generic=False)
def matmul(a, b, trans_a=False, trans_b=False):
    """``op(a) @ op(b)``, ``op(x) = x.swapaxes(-1, -2) if trans else x``.

    a, b: both 2-D or both 3-D with the same batch size B, one float dtype.
    op(a) is (M, K) or (B, M, K), op(b) is (K, N) or (B, K, N).
    Returns (M, N) or (B, M, N), C-contiguous, the inputs' dtype.
    """
    A = a.swapaxes(-1, -2) if trans_a else a
    B = b.swapaxes(-1, -2) if trans_b else b
    return np.ascontiguousarray(np.matmul(A, B))


def check_linear_forward(x, w, bias) -> tuple:
    """x: (M, K), w: (N, K), bias: (N,); one float dtype, one device.  Returns (x, w, bias)."""
    if type(x) is np.ndarray and type(w) is np.ndarray and type(bias) is np.ndarray \
            and x.ndim == 2 == w.ndim and bias.ndim == 1 and x.dtype is w.dtype is bias.dtype \
            and x.dtype in _FLOATS and x.shape[1] == w.shape[1] and bias.shape[0] == w.shape[0] \
            and x.shape[0] * w.shape[0] * x.itemsize <= _SMALL_OUTPUT_BYTES:  # the common call, fast
        return x, w, bias
    check_arrays("linear_forward", x=x, w=w, bias=bias)
    if x.ndim != 2 or w.ndim != 2 or bias.ndim != 1:
        raise ValueError(f"linear_forward: x {tuple(x.shape)}, w {tuple(w.shape)} and bias "
                         f"{tuple(bias.shape)} must be 2-D (M, K), 2-D (N, K) and 1-D (N,)")
    if x.shape[1] != w.shape[1] or bias.shape[0] != w.shape[0]:
        raise ValueError(f"linear_forward: x {tuple(x.shape)} @ w {tuple(w.shape)}^T + bias "
                         f"{tuple(bias.shape)}: x and w need the same K, bias w's N")
    check_allocation((x.shape[0], w.shape[0]), x.dtype,
                     f"linear_forward: the output of x {tuple(x.shape)} @ w {tuple(w.shape)}^T")
    return x, w, bias


@kernel(check_linear_forward)
def linear_forward(x, w, bias):
    """``x @ w^T + bias``: a linear layer's forward in one kernel.

    x: (M, K), w: (N, K) (nn.Linear's weight), bias: (N,), one float dtype.
    Returns (M, N), C-contiguous: the numbers of ``matmul(x, w, trans_b=True)`` with bias
    then added to every row (the C kernel adds it to each tile of y as the product leaves
    it, instead of in a second pass).
    """
    xp = array_module(x)
    y = xp.ascontiguousarray(xp.matmul(x, w.T))
    y += bias
    return y
