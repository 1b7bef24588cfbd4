"""The GPU kernel table: the kernels of the contract on CuPy arrays.

Same names, same signatures, same results (to rounding) and the same refusals with the same
messages (the contract's checks run first, :mod:`.contract`); ``backends.kernels_for`` hands
this table every op whose input is a CuPy array.  Most entries are the NumPy twins
themselves, written against ``xp = array_module(x)`` (pooling, the LSTM layer, ReLU, the
softmax cross-entropy, the optimizer steps): CuPy runs each of their lines as a GPU kernel.
This file holds only the kernels that need a different method on the GPU:

* ``matmul``: one ``xp.matmul`` call, i.e. cuBLAS GEMM (strided-batched GEMM for 3-D
  operands). The transposes are views (``swapaxes``), which cuBLAS reads through its
  transpose flags instead of copying.
* ``conv2d_*``: im2col + GEMM. :func:`im2col` gathers every output cell's input window into
  one row of a matrix (N*OH*OW, C*KH*KW) through a strided view of the padded input (no
  Python loop), so the convolution is one GEMM against the weight seen as (O, C*KH*KW);
  the weight gradient is one GEMM too, and the input gradient is a GEMM followed by
  :func:`col2im`, which adds each kernel offset's slab back into a zero canvas.
* ``gelu_*``: the exact GELU as a few elementwise kernels around ``cupyx.scipy.special.erf``,
  in the input's dtype (the CPU tables compute in float64 and round).

Nothing here imports CuPy: given NumPy arrays, every function runs on the CPU with NumPy.
The tests use that to check this table against the NumPy reference on machines without a
GPU (tests/gpu/test_cupy_kernels_on_cpu.py).  A kernel whose twin is not written against
``xp`` (``device_generic=False`` in the contract) must have its entry here:
tests/backends/test_contract.py fails otherwise.
"""
from __future__ import annotations

import math

import numpy as np

from ..device import array_module
from . import numpy_ref  # noqa: F401 - registers every kernel of the contract
from .contract import KERNELS
from .numpy_ref._shapes import window_slice
from .numpy_ref.conv import conv2d_output_shape


def _gemm(xp, a, b):
    """``a @ b`` for 2-D or 3-D operands (views are fine); zero sizes give zeros."""
    shape = np.broadcast_shapes(a.shape[:-2], b.shape[:-2]) + (a.shape[-2], b.shape[-1])
    if a.shape[-1] == 0 or 0 in shape:
        return xp.zeros(shape, dtype=a.dtype)
    return xp.matmul(a, b)


# ------------------------------------------------------------------------------------
# Matrix product
# ------------------------------------------------------------------------------------

def matmul(a, b, trans_a=False, trans_b=False):
    """``op(a) @ op(b)`` through cuBLAS; see :func:`.numpy_ref.matmul` for shapes and rules.

    a, b: both 2-D or both 3-D (same batch); returns a new C-contiguous array of their dtype.
    """
    xp = array_module(a)
    A = a.swapaxes(-1, -2) if trans_a else a   # views: cuBLAS reads them transposed
    B = b.swapaxes(-1, -2) if trans_b else b
    return xp.ascontiguousarray(_gemm(xp, A, B))


# ------------------------------------------------------------------------------------
# Convolution: im2col + GEMM
# ------------------------------------------------------------------------------------

def _pad_hw(xp, x, ph, pw):
    return xp.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw))) if ph or pw else x


def im2col(x, kernel, stride, padding):
    """Every window of x, one per row: x (N, C, H, W) -> cols (N*OH*OW, C*KH*KW).

    Row ``(n*OH + i)*OW + j`` holds, in (c, p, q) order, the padded input cells
    ``x[n, c, i*sh + p - ph, j*sw + q - pw]`` that output cell (n, :, i, j) reads, so that
    ``cols @ w.reshape(O, -1).T`` is the convolution. The windows are first a strided VIEW
    of the padded input (N, OH, OW, C, KH, KW) (nothing is copied: the window axes step by
    the stride through the same memory); the reshape to a matrix is the one copy.
    kernel, stride, padding: (int, int) pairs.
    """
    xp = array_module(x)
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    n, c, h, w = x.shape
    oh, ow = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    padded = _pad_hw(xp, x, ph, pw)
    s_n, s_c, s_h, s_w = padded.strides
    windows = xp.lib.stride_tricks.as_strided(
        padded, shape=(n, oh, ow, c, kh, kw),
        strides=(s_n, s_h * sh, s_w * sw, s_c, s_h, s_w))
    return windows.reshape(n * oh * ow, c * kh * kw)


def col2im(cols, x_shape, kernel, stride, padding):
    """The adjoint of :func:`im2col`: add every row of cols back onto the cells it came from.

    cols: (N*OH*OW, C*KH*KW) -> (N, C, H, W). One step per kernel offset (p, q): the slab
    ``cols[..., p, q]`` (N, C, OH, OW) lands on the padded-input cells (i*sh + p, j*sw + q),
    a strided slice, so one offset never adds twice to a cell and no atomic adds are needed.
    The padding border is cut off at the end.
    """
    xp = array_module(cols)
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    n, c, h, w = x_shape
    oh, ow = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    slabs = cols.reshape(n, oh, ow, c, kh, kw).transpose(0, 3, 4, 5, 1, 2)  # (N, C, KH, KW, OH, OW)
    canvas = xp.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=cols.dtype)
    for p in range(kh):
        for q in range(kw):
            canvas[:, :, window_slice(p, sh, oh), window_slice(q, sw, ow)] += slabs[:, :, p, q]
    return xp.ascontiguousarray(canvas[:, :, ph:ph + h, pw:pw + w])


def _rows_of(gy):
    """gy (N, O, OH, OW) -> (N*OH*OW, O), the row order of :func:`im2col`."""
    n, o, oh, ow = gy.shape
    return gy.transpose(0, 2, 3, 1).reshape(n * oh * ow, o)


def _weight_matrix(w):
    """w (O, C, KH, KW) -> (O, C*KH*KW), the column order of :func:`im2col`."""
    o, c, kh, kw = w.shape
    return w.reshape(o, c * kh * kw)


def conv2d_forward(x, w, b, stride, padding):
    """2-D cross-correlation as im2col + one GEMM; see :func:`.numpy_ref.conv2d_forward`.

    x: (N, C, H, W); w: (O, C, KH, KW); b: None or (O,). Returns y (N, O, OH, OW).
    """
    xp = array_module(x)
    n, o, oh, ow = conv2d_output_shape(x.shape, w.shape, stride, padding)
    cols = im2col(x, w.shape[2:], stride, padding)                    # (N*OH*OW, C*KH*KW)
    y = _gemm(xp, cols, _weight_matrix(w).T)                         # (N*OH*OW, O)
    if b is not None:
        y += b
    return xp.ascontiguousarray(y.reshape(n, oh, ow, o).transpose(0, 3, 1, 2))


def conv2d_backward_input(gy, w, x_shape, stride, padding):
    """dL/dx: gy's rows times the weight matrix, then :func:`col2im`.

    gy: (N, O, OH, OW); w: (O, C, KH, KW); x_shape: (N, C, H, W). Returns gx of x_shape.
    """
    xp = array_module(gy)
    gcols = _gemm(xp, _rows_of(gy), _weight_matrix(w))               # (N*OH*OW, C*KH*KW)
    return col2im(gcols, x_shape, w.shape[2:], stride, padding)


def conv2d_backward_weight(gy, x, w_shape, stride, padding):
    """dL/dw: gy's rows (transposed) times im2col(x), one GEMM.

    gy: (N, O, OH, OW); x: (N, C, H, W); w_shape: (O, C, KH, KW). Returns gw of w_shape.
    """
    xp = array_module(gy)
    cols = im2col(x, w_shape[2:], stride, padding)                    # (N*OH*OW, C*KH*KW)
    gw = _gemm(xp, _rows_of(gy).T, cols)                              # (O, C*KH*KW)
    return xp.ascontiguousarray(gw.reshape(w_shape))


# ------------------------------------------------------------------------------------
# Activations: the exact GELU
# ------------------------------------------------------------------------------------

def _erf(xp, x):
    """erf elementwise: CuPy's special-function kernel; Python's math.erf when run on NumPy."""
    if xp is np:
        return np.vectorize(math.erf, otypes=[x.dtype])(x) if x.size else x.copy()
    import cupyx.scipy.special  # only on the GPU, where CuPy is loaded already

    return cupyx.scipy.special.erf(x)


def _normal_cdf(xp, x):
    """Phi(x) = (1 + erf(x / sqrt 2)) / 2, in x's dtype."""
    half = x.dtype.type(0.5)
    return half + half * _erf(xp, x * x.dtype.type(1 / math.sqrt(2.0)))


def gelu_forward(x):
    """y = x * Phi(x), elementwise; x: any shape, float32/float64; y: x's shape and dtype."""
    xp = array_module(x)
    return xp.ascontiguousarray(x * _normal_cdf(xp, x))


def gelu_backward(gy, x):
    """gx = gy * (Phi(x) + x * phi(x)), phi(x) = exp(-x^2 / 2) / sqrt(2 pi); gy, x: one shape
    and dtype. Returns gx of that shape and dtype."""
    xp = array_module(gy)
    pdf = xp.exp(x * x * x.dtype.type(-0.5)) * x.dtype.type(1 / math.sqrt(2 * math.pi))
    return xp.ascontiguousarray(gy * (_normal_cdf(xp, x) + x * pdf))


# ------------------------------------------------------------------------------------
# The table: this file's own kernels, the device-generic twins for the rest
# ------------------------------------------------------------------------------------

#: the kernels implemented in this file (the others are the contract's twins)
OWN = ("matmul", "conv2d_forward", "conv2d_backward_input", "conv2d_backward_weight",
       "gelu_forward", "gelu_backward")


def implementations() -> dict:
    """``{kernel name: unchecked implementation}`` for every kernel the GPU can run."""
    impls = {name: spec.twin for name, spec in KERNELS.items() if spec.device_generic}
    impls.update({name: globals()[f"_{name}"] for name in OWN})
    return impls


for _name in OWN:  # this file's functions become the checked entries of the same names
    globals()[f"_{_name}"] = globals()[_name]
globals().update({name: KERNELS[name].bind(fn) for name, fn in implementations().items()})
