"""The GPU kernel table: the functions of :mod:`.numpy_ref` and :mod:`.c`, on CuPy arrays.

Same names, same signatures, same results (to rounding) and the same refusals with the same
messages; ``ops/kernel_table.kernels_for`` hands this module every op whose input is a CuPy
array. How each kernel runs on the GPU:

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
* pooling: whole-array operations per window offset (KH*KW steps of a few elementwise
  kernels each), exactly the loops of the NumPy reference, so ties and NaNs are resolved
  the same way; average pooling's forward pass is one reduction over a window view; max
  pooling's backward pass is one ``bincount`` with weights (a scatter-add on the GPU).

Everything is written against ``xp = array_module(x)``, never against ``cupy`` by name, and
this file does not import CuPy: given NumPy arrays, every function here runs on the CPU with
NumPy. The tests use that to check these kernels' logic against the NumPy reference on
machines without a GPU (tests/gpu/test_cupy_kernels_on_cpu.py); only CuPy's own behaviour on
a GPU is left to the GPU tests.

Fused kernels added to the CPU tables later (an LSTM step, softmax + cross-entropy, an
optimizer update, ...) are looked up by the ops with ``hasattr`` and fall back to the
composition of ordinary ops when a table lacks them; :data:`NOT_PROVIDED` names those this
table leaves to that fallback (tests/gpu checks that every reference kernel is either here
or listed there).
"""
from __future__ import annotations

import math

import numpy as np

from .. import device
from ..device import array_module
from . import numpy_ref as ref

__all__ = ["matmul", "conv2d_forward", "conv2d_backward_input", "conv2d_backward_weight",
           "max_pool2d_forward", "max_pool2d_backward", "avg_pool2d_forward",
           "avg_pool2d_backward", "gelu_forward", "gelu_backward", "im2col", "col2im",
           "NOT_PROVIDED"]

#: Reference kernels this table does not provide: name -> how the GPU path does without it.
NOT_PROVIDED: dict = {
    "lstm_forward": "nn.LSTM takes the fused layer (ops/rnn.LSTMLayer) only with the C backend on "
                    "the CPU (nn/rnn._fused_lstm_wanted); on the GPU it runs nn.rnn.lstm_layer, "
                    "the same recurrence as ordinary ops (matmuls through cuBLAS)",
    "lstm_backward": "see lstm_forward: autograd differentiates nn.rnn.lstm_layer on the GPU",
    "relu_forward": "ops/elementwise.ReLU uses a table's relu kernels only when it has them; "
                    "on the GPU it computes x * (x > 0) with CuPy (two elementwise kernels)",
    "relu_backward": "see relu_forward: g * (x > 0) with CuPy",
    "softmax_xent_forward": "ops/nn.CrossEntropy uses the fused loss only from a table that has "
                            "it; on the GPU it runs the log-softmax formula with CuPy",
    "softmax_xent_backward": "see softmax_xent_forward",
}


# ------------------------------------------------------------------------------------
# Checks: the NumPy reference's own, run on zero-stride host stand-ins
# ------------------------------------------------------------------------------------

def _is_array(arr) -> bool:
    return isinstance(arr, np.ndarray) or (device._cupy is not None
                                           and isinstance(arr, device._cupy.ndarray))


def _module(op: str, **arrays):
    """The array module (CuPy, or NumPy in the CPU tests) that holds every named array.

    TypeError for a non-array (naming its type) and ValueError for arrays on two devices;
    dtype and shape problems are left to the reference checks (see :func:`_stand_in`).
    """
    modules = set()
    for name, arr in arrays.items():
        if not _is_array(arr):
            raise TypeError(f"{op}: {name} must be a CuPy array, got {type(arr).__name__}")
        modules.add(array_module(arr))
    if len(modules) > 1:
        described = ", ".join(f"{n} on {device.device_of(a)}" for n, a in arrays.items())
        raise ValueError(f"{op}: arrays on different devices ({described}); move them with .to()")
    return modules.pop()


def _stand_in(arr) -> np.ndarray:
    """A host array with ``arr``'s shape and dtype backed by ONE element (all strides 0).

    The reference checks read only shapes and dtypes, so running them on stand-ins refuses
    exactly the calls that the NumPy and C tables refuse, with the same messages, without
    copying anything from the GPU.
    """
    return np.lib.stride_tricks.as_strided(np.zeros(1, dtype=arr.dtype), shape=arr.shape,
                                           strides=(0,) * arr.ndim, writeable=False)


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
    xp = _module("matmul", a=a, b=b)
    ref.check_matmul(_stand_in(a), _stand_in(b), trans_a, trans_b)
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
            canvas[:, :, ref._window_slice(p, sh, oh), ref._window_slice(q, sw, ow)] += slabs[:, :, p, q]
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
    xp = _module("conv2d", x=x, weight=w, **({} if b is None else {"bias": b}))
    stride, padding, (n, o, oh, ow) = ref.check_conv2d_forward(
        _stand_in(x), _stand_in(w), None if b is None else _stand_in(b), stride, padding)
    cols = im2col(x, w.shape[2:], stride, padding)                    # (N*OH*OW, C*KH*KW)
    y = _gemm(xp, cols, _weight_matrix(w).T)                         # (N*OH*OW, O)
    if b is not None:
        y += b
    return xp.ascontiguousarray(y.reshape(n, oh, ow, o).transpose(0, 3, 1, 2))


def conv2d_backward_input(gy, w, x_shape, stride, padding):
    """dL/dx: gy's rows times the weight matrix, then :func:`col2im`.

    gy: (N, O, OH, OW); w: (O, C, KH, KW); x_shape: (N, C, H, W). Returns gx of x_shape.
    """
    xp = _module("conv2d_backward_input", gy=gy, weight=w)
    x_shape, stride, padding, (n, o, oh, ow) = ref.check_conv2d_backward_input(
        _stand_in(gy), _stand_in(w), x_shape, stride, padding)
    gcols = _gemm(xp, _rows_of(gy), _weight_matrix(w))               # (N*OH*OW, C*KH*KW)
    return col2im(gcols, x_shape, w.shape[2:], stride, padding)


def conv2d_backward_weight(gy, x, w_shape, stride, padding):
    """dL/dw: gy's rows (transposed) times im2col(x), one GEMM.

    gy: (N, O, OH, OW); x: (N, C, H, W); w_shape: (O, C, KH, KW). Returns gw of w_shape.
    """
    xp = _module("conv2d_backward_weight", gy=gy, x=x)
    w_shape, stride, padding, _ = ref.check_conv2d_backward_weight(
        _stand_in(gy), _stand_in(x), w_shape, stride, padding)
    cols = im2col(x, w_shape[2:], stride, padding)                    # (N*OH*OW, C*KH*KW)
    gw = _gemm(xp, _rows_of(gy).T, cols)                              # (O, C*KH*KW)
    return xp.ascontiguousarray(gw.reshape(w_shape))


# ------------------------------------------------------------------------------------
# Pooling
# ------------------------------------------------------------------------------------

def _valid_cells(xp, offset, stride, pad, count, size):
    """As the reference's: the input coordinate each output reads at this window offset
    (before padding is removed), and whether it lies inside the input."""
    coords = xp.arange(count, dtype=np.int64) * stride - pad + offset
    return coords, (coords >= 0) & (coords < size)


def max_pool2d_forward(x, kernel_size, stride, padding):
    """Max pooling; returns (y, indices) exactly as :func:`.numpy_ref.max_pool2d_forward`
    (indices int64: flat h*W + w in the (H, W) plane; first maximum wins; a NaN wins)."""
    xp = _module("max_pool2d", x=x)
    (kh, kw), (sh, sw), (ph, pw), (n, c, oh, ow) = ref.check_pool2d_forward(
        "max_pool2d", _stand_in(x), kernel_size, stride, padding)
    h, wd = x.shape[2], x.shape[3]
    padded = _pad_hw(xp, x, ph, pw)
    best = xp.zeros((n, c, oh, ow), dtype=x.dtype)
    indices = xp.full((n, c, oh, ow), -1, dtype=np.int64)
    for i in range(kh):
        rows, rows_ok = _valid_cells(xp, i, sh, ph, oh, h)
        for j in range(kw):
            cols, cols_ok = _valid_cells(xp, j, sw, pw, ow, wd)
            v = padded[:, :, ref._window_slice(i, sh, oh), ref._window_slice(j, sw, ow)]
            valid = rows_ok[:, None] & cols_ok[None, :]                  # (OH, OW)
            take = valid & ((indices < 0) | (v > best) | (xp.isnan(v) & ~xp.isnan(best)))
            best = xp.where(take, v, best)
            indices = xp.where(take, rows[:, None] * wd + cols[None, :], indices)
    return best, indices


def max_pool2d_backward(gy, indices, x_shape):
    """Each gy cell added to the input cell its ``indices`` entry names (repeats add up).

    gy: (N, C, OH, OW); indices: int64, gy's shape, values in [0, H*W). Returns gx of x_shape.
    The scatter is one ``bincount`` over positions (plane * H*W + index), weighted by gy.
    """
    xp = _module("max_pool2d_backward", gy=gy, indices=indices)
    n, c, h, w = ref.check_max_pool2d_backward(_stand_in(gy), _stand_in(indices), x_shape)
    plane = h * w
    if indices.size and bool(((indices < 0) | (indices >= plane)).any()):
        raise ValueError(f"max_pool2d_backward: indices must lie in [0, H*W) = [0, {plane}) for "
                         f"x_shape {(n, c, h, w)}, got values in [{int(indices.min())}, "
                         f"{int(indices.max())}]")
    if gy.size == 0 or plane == 0:
        return xp.zeros((n, c, h, w), dtype=gy.dtype)
    out_plane = gy.shape[2] * gy.shape[3]
    base = xp.arange(n * c, dtype=np.int64)[:, None] * plane            # start of each plane
    positions = (base + indices.reshape(n * c, out_plane)).ravel()
    gx = xp.bincount(positions, weights=gy.ravel(), minlength=n * c * plane)
    return gx.astype(gy.dtype, copy=False).reshape(n, c, h, w)


def _avg_divisor(xp, kh, kw, sh, sw, ph, pw, oh, ow, h, w, dtype):
    """(OH, OW) divisors, count_include_pad=True, as the reference's ``_avg_divisor``."""
    h0 = xp.arange(oh, dtype=np.int64) * sh - ph
    w0 = xp.arange(ow, dtype=np.int64) * sw - pw
    rows = xp.minimum(h0 + kh, h + ph) - h0
    cols = xp.minimum(w0 + kw, w + pw) - w0
    return (rows[:, None] * cols[None, :]).astype(dtype)


def avg_pool2d_forward(x, kernel_size, stride, padding):
    """Average pooling (zero padding counted in the divisor): one sum over a window view.

    x: (N, C, H, W). Returns y (N, C, OH, OW) in x's dtype.
    """
    xp = _module("avg_pool2d", x=x)
    (kh, kw), (sh, sw), (ph, pw), (n, c, oh, ow) = ref.check_pool2d_forward(
        "avg_pool2d", _stand_in(x), kernel_size, stride, padding)
    padded = _pad_hw(xp, x, ph, pw)
    s_n, s_c, s_h, s_w = padded.strides
    windows = xp.lib.stride_tricks.as_strided(
        padded, shape=(n, c, oh, ow, kh, kw), strides=(s_n, s_c, s_h * sh, s_w * sw, s_h, s_w))
    total = windows.sum(axis=(4, 5))
    divisor = _avg_divisor(xp, kh, kw, sh, sw, ph, pw, oh, ow, x.shape[2], x.shape[3], x.dtype)
    return xp.ascontiguousarray(total / divisor)


def avg_pool2d_backward(gy, x_shape, kernel_size, stride, padding):
    """Each gy cell, divided by its window's divisor, added to every cell of the window
    (one strided-slice add per window offset). Returns gx of x_shape."""
    xp = _module("avg_pool2d_backward", gy=gy)
    x_shape, (kh, kw), (sh, sw), (ph, pw), (n, c, oh, ow) = ref.check_avg_pool2d_backward(
        _stand_in(gy), x_shape, kernel_size, stride, padding)
    h, w = x_shape[2], x_shape[3]
    g = gy / _avg_divisor(xp, kh, kw, sh, sw, ph, pw, oh, ow, h, w, gy.dtype)
    canvas = xp.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=gy.dtype)
    for i in range(kh):
        for j in range(kw):
            canvas[:, :, ref._window_slice(i, sh, oh), ref._window_slice(j, sw, ow)] += g
    return xp.ascontiguousarray(canvas[:, :, ph:ph + h, pw:pw + w])


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
    xp = _module("gelu_forward", x=x)
    ref.check_arrays("gelu_forward", x=_stand_in(x))
    return xp.ascontiguousarray(x * _normal_cdf(xp, x))


def gelu_backward(gy, x):
    """gx = gy * (Phi(x) + x * phi(x)), phi(x) = exp(-x^2 / 2) / sqrt(2 pi); gy, x: one shape
    and dtype. Returns gx of that shape and dtype."""
    xp = _module("gelu_backward", gy=gy, x=x)
    ref.check_arrays("gelu_backward", gy=_stand_in(gy), x=_stand_in(x))
    if gy.shape != x.shape:
        raise ValueError(f"gelu_backward: gy {tuple(gy.shape)} and x {tuple(x.shape)} must "
                         "have the same shape")
    pdf = xp.exp(x * x * x.dtype.type(-0.5)) * x.dtype.type(1 / math.sqrt(2 * math.pi))
    return xp.ascontiguousarray(gy * (_normal_cdf(xp, x) + x * pdf))
