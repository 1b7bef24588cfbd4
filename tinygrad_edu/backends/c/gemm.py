"""C wrappers of the matrix product and the linear layer's forward (csrc/gemm.c,
``tge_matmul_f32`` / ``_f64``, ``tge_linear_forward_f32`` / ``_f64``)."""
import numpy as np

from .. import c as C
from ..numpy_ref.gemm import matmul_shape


def _operand(arr, trans):
    """A C-contiguous array holding `arr` and the transpose flag to pass with it: a
    transposed view of a contiguous array is passed as that array plus the flag."""
    if arr.flags.c_contiguous and arr.flags.aligned:
        return arr, trans
    swapped = arr.swapaxes(-1, -2)
    if swapped.flags.c_contiguous and swapped.flags.aligned:
        return swapped, not trans
    return C._contiguous(arr), trans


def matmul(a, b, trans_a, trans_b):
    """``op(a) @ op(b)`` (checked by the contract); see numpy_ref.matmul."""
    C._require()
    if a.ndim == 2:  # the common case, inline (see numpy_ref.gemm.matmul_shape)
        batch, (m, k), n = None, (a.shape[::-1] if trans_a else a.shape), b.shape[trans_b ^ 1]
    else:
        batch, m, n, k = matmul_shape(a, b, trans_a, trans_b)
    c = np.empty((m, n) if batch is None else (batch, m, n), dtype=a.dtype)
    if c.size == 0:
        return c
    a, trans_a = _operand(a, trans_a)
    b, trans_b = _operand(b, trans_b)
    ctype, fn = C._kernel("matmul", a.dtype)
    ptr = C._ptr
    rc = fn(1 if batch is None else batch, m, n, k, ptr(a, ctype), a.size, int(trans_a),
            ptr(b, ctype), b.size, int(trans_b), ptr(c, ctype), c.size)
    C._check_rc(rc, "matmul", f"a {a.shape} @ b {b.shape}")
    return c


def linear_forward(x, w, bias):
    """``x @ w^T + bias`` with the bias added in the product's epilogue (checked by the
    contract); see numpy_ref.linear_forward."""
    C._require()
    (m, k), n = x.shape, w.shape[0]
    y = np.empty((m, n), dtype=x.dtype)
    if y.size == 0:
        return y
    x, bias = C._contiguous(x), C._contiguous(bias)
    w, trans_w = _operand(w, True)  # a Keras kernel's transposed view: as it is, flag 0
    ctype, fn = C._kernel("linear_forward", x.dtype)
    ptr = C._ptr
    rc = fn(m, n, k, ptr(x, ctype), x.size, ptr(w, ctype), w.size, int(trans_w), ptr(bias, ctype),
            bias.size, ptr(y, ctype), y.size)
    C._check_rc(rc, "linear_forward", f"x {x.shape} @ w {w.shape}^T + bias {bias.shape}")
    return y
