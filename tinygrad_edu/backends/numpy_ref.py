"""The NumPy reference kernels: what every kernel table computes, written for reading.

Each function here has the exact signature of its C twin in :mod:`.c`, takes and
returns NumPy arrays, and refuses the same inputs with the same exceptions (the ``check_*``
helpers below are shared by both tables).  The tests compare the C kernels against these,
and these against PyTorch.

Shapes use PyTorch's names: ``x (N, C, H, W)``, ``weight (O, C, KH, KW)``, output
``(N, O, OH, OW)`` with ``OH = (H + 2*ph - KH) // sh + 1`` (``OW`` likewise).
Arrays are float32 or float64 (both operands of one call the same); results are new
C-contiguous arrays of that dtype.
"""
import math

import numpy as np

from ..limits import check_allocation

_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


# ------------------------------------------------------------------------------------
# Checks shared with the C table: they raise TypeError / ValueError naming the shapes.
# ------------------------------------------------------------------------------------

def _describe(arr) -> str:
    return f"{arr.dtype} {tuple(arr.shape)}"


def check_arrays(op: str, **arrays) -> np.dtype:
    """Every named array is a float32/float64 ndarray and they share one dtype; return it."""
    dtype = None
    for name, arr in arrays.items():
        if not isinstance(arr, np.ndarray):
            raise TypeError(f"{op}: {name} must be a NumPy array, got {type(arr).__name__}")
        if arr.dtype not in _FLOAT_DTYPES:
            raise TypeError(f"{op}: {name} has dtype {arr.dtype} (shape {tuple(arr.shape)}); "
                            "only float32 and float64 are supported")
        if dtype is None:
            dtype = arr.dtype
        elif arr.dtype != dtype:
            described = ", ".join(f"{n} {_describe(a)}" for n, a in arrays.items())
            raise TypeError(f"{op}: dtypes differ ({described}); cast them to one dtype")
    return dtype


def _pair(op: str, name: str, value, minimum: int) -> tuple:
    """A 2-tuple of Python ints >= minimum (the ops layer passes tuples already)."""
    try:
        pair = tuple(value)
    except TypeError:
        pair = None
    if (pair is None or len(pair) != 2
            or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                       for v in pair)):
        raise TypeError(f"{op}: {name} must be a pair of ints, got {value!r}")
    pair = (int(pair[0]), int(pair[1]))
    if min(pair) < minimum:
        raise ValueError(f"{op}: {name} must be >= {minimum}, got {pair}")
    return pair


def _shape4(op: str, name: str, shape) -> tuple:
    try:
        shape = tuple(int(s) for s in shape)
    except TypeError:
        raise TypeError(f"{op}: {name} must be a shape (N, C, H, W), got {shape!r}") from None
    if len(shape) != 4 or min(shape) < 0:
        raise ValueError(f"{op}: {name} must be a shape (N, C, H, W) of sizes >= 0, "
                         f"got {shape}")
    return shape


def _out_size(size: int, k: int, s: int, p: int) -> int:
    return (size + 2 * p - k) // s + 1


def check_matmul(a, b, trans_a, trans_b) -> tuple:
    """Validate a matmul call; return (batch or None, m, n, k)."""
    check_arrays("matmul", a=a, b=b)
    for name, flag in (("trans_a", trans_a), ("trans_b", trans_b)):
        if not isinstance(flag, (bool, np.bool_)) and flag not in (0, 1):
            raise TypeError(f"matmul: {name} must be a bool, got {flag!r}")
    if a.ndim != b.ndim or a.ndim not in (2, 3):
        raise ValueError(f"matmul: a {tuple(a.shape)} and b {tuple(b.shape)}: both must be "
                         "2-D, or both 3-D with the same batch size")
    batch = None
    if a.ndim == 3:
        if a.shape[0] != b.shape[0]:
            raise ValueError(f"matmul: a {tuple(a.shape)} and b {tuple(b.shape)}: batch "
                             f"sizes {a.shape[0]} and {b.shape[0]} differ")
        batch = a.shape[0]
    m, ka = (a.shape[-1], a.shape[-2]) if trans_a else (a.shape[-2], a.shape[-1])
    kb, n = (b.shape[-1], b.shape[-2]) if trans_b else (b.shape[-2], b.shape[-1])
    if ka != kb:
        lead = () if batch is None else (batch,)
        transposed = [name for name, t in (("a", trans_a), ("b", trans_b)) if t]
        note = f" ({' and '.join(transposed)} transposed)" if transposed else ""
        raise ValueError(f"matmul: {lead + (m, ka)} @ {lead + (kb, n)}{note}: inner sizes "
                         f"{ka} and {kb} differ")
    check_allocation((m, n) if batch is None else (batch, m, n), a.dtype,
                     f"matmul: the output of a {tuple(a.shape)} @ b {tuple(b.shape)}")
    return batch, m, n, ka


def check_conv2d(op: str, x_shape, w_shape, stride, padding) -> tuple:
    """Validate conv2d geometry; return (stride, padding, (N, O, OH, OW))."""
    stride = _pair(op, "stride", stride, 1)
    padding = _pair(op, "padding", padding, 0)
    n, c, h, w = x_shape
    o, cw, kh, kw = w_shape
    if cw != c:
        raise ValueError(f"{op}: input (N, C, H, W) = {tuple(x_shape)} has {c} channels but "
                         f"weight (O, C, KH, KW) = {tuple(w_shape)} expects {cw}")
    if kh < 1 or kw < 1:
        raise ValueError(f"{op}: weight {tuple(w_shape)} has an empty kernel")
    if h < 1 or w < 1:
        raise ValueError(f"{op}: input {tuple(x_shape)} has an empty spatial size")
    oh = _out_size(h, kh, stride[0], padding[0])
    ow = _out_size(w, kw, stride[1], padding[1])
    if h + 2 * padding[0] < kh or w + 2 * padding[1] < kw or oh < 1 or ow < 1:
        raise ValueError(f"{op}: input {tuple(x_shape)} with padding {padding} is smaller "
                         f"than the kernel of weight {tuple(w_shape)}")
    return stride, padding, (n, o, oh, ow)


def _check_conv_bias(op: str, b, w):
    if b is None:
        return
    check_arrays(op, weight=w, bias=b)
    if b.shape != (w.shape[0],):
        raise ValueError(f"{op}: bias has shape {tuple(b.shape)}, expected ({w.shape[0]},) "
                         f"for weight {tuple(w.shape)}")


def _check_4d(op: str, **arrays):
    for name, arr in arrays.items():
        if arr.ndim != 4:
            raise ValueError(f"{op}: {name} must be 4-D, got shape {tuple(arr.shape)}")


def check_conv2d_forward(x, w, b, stride, padding) -> tuple:
    op = "conv2d"
    check_arrays(op, x=x, weight=w)
    _check_4d(op, x=x, weight=w)
    _check_conv_bias(op, b, w)
    stride, padding, y_shape = check_conv2d(op, x.shape, w.shape, stride, padding)
    check_allocation(y_shape, x.dtype, f"{op}: the output")
    return stride, padding, y_shape


def check_conv2d_backward_input(gy, w, x_shape, stride, padding) -> tuple:
    op = "conv2d_backward_input"
    check_arrays(op, gy=gy, weight=w)
    _check_4d(op, gy=gy, weight=w)
    x_shape = _shape4(op, "x_shape", x_shape)
    stride, padding, y_shape = check_conv2d(op, x_shape, w.shape, stride, padding)
    if tuple(gy.shape) != y_shape:
        raise ValueError(f"{op}: gy has shape {tuple(gy.shape)}, expected {y_shape} for input "
                         f"{x_shape} and weight {tuple(w.shape)}")
    check_allocation(x_shape, gy.dtype, f"{op}: the gradient gx")
    return x_shape, stride, padding, y_shape


def check_conv2d_backward_weight(gy, x, w_shape, stride, padding) -> tuple:
    op = "conv2d_backward_weight"
    check_arrays(op, gy=gy, x=x)
    _check_4d(op, gy=gy, x=x)
    w_shape = _shape4(op, "w_shape", w_shape)
    stride, padding, y_shape = check_conv2d(op, x.shape, w_shape, stride, padding)
    if tuple(gy.shape) != y_shape:
        raise ValueError(f"{op}: gy has shape {tuple(gy.shape)}, expected {y_shape} for input "
                         f"{tuple(x.shape)} and weight {w_shape}")
    check_allocation(w_shape, gy.dtype, f"{op}: the gradient gw")
    return w_shape, stride, padding, y_shape


def check_pool2d(op: str, x_shape, kernel_size, stride, padding) -> tuple:
    """Validate pooling geometry; return (kernel_size, stride, padding, (N, C, OH, OW))."""
    kernel_size = _pair(op, "kernel_size", kernel_size, 1)
    stride = _pair(op, "stride", stride, 1)
    padding = _pair(op, "padding", padding, 0)
    if padding[0] > kernel_size[0] // 2 or padding[1] > kernel_size[1] // 2:
        raise ValueError(f"{op}: padding {padding} must be at most half the kernel size "
                         f"{kernel_size}")
    n, c, h, w = x_shape
    if h < 1 or w < 1:
        raise ValueError(f"{op}: input {tuple(x_shape)} has an empty spatial size")
    oh = _out_size(h, kernel_size[0], stride[0], padding[0])
    ow = _out_size(w, kernel_size[1], stride[1], padding[1])
    if h + 2 * padding[0] < kernel_size[0] or w + 2 * padding[1] < kernel_size[1] \
            or oh < 1 or ow < 1:
        raise ValueError(f"{op}: input {tuple(x_shape)} with padding {padding} is smaller "
                         f"than the kernel {kernel_size}")
    return kernel_size, stride, padding, (n, c, oh, ow)


def check_pool2d_forward(op: str, x, kernel_size, stride, padding) -> tuple:
    check_arrays(op, x=x)
    _check_4d(op, x=x)
    kernel_size, stride, padding, y_shape = check_pool2d(op, x.shape, kernel_size, stride,
                                                         padding)
    # max pooling also makes int64 indices of y's shape, at least as large as y itself
    check_allocation(y_shape, np.int64, f"{op}: the output")
    return kernel_size, stride, padding, y_shape


def check_max_pool2d_backward(gy, indices, x_shape) -> tuple:
    op = "max_pool2d_backward"
    check_arrays(op, gy=gy)
    _check_4d(op, gy=gy)
    x_shape = _shape4(op, "x_shape", x_shape)
    if not isinstance(indices, np.ndarray) or indices.dtype != np.int64:
        kind = indices.dtype if isinstance(indices, np.ndarray) else type(indices).__name__
        raise TypeError(f"{op}: indices must be an int64 array, got {kind}")
    if indices.shape != gy.shape:
        raise ValueError(f"{op}: indices {tuple(indices.shape)} and gy {tuple(gy.shape)} "
                         "must have the same shape")
    if gy.shape[:2] != x_shape[:2]:
        raise ValueError(f"{op}: gy {tuple(gy.shape)} and x_shape {x_shape} differ in "
                         "(N, C)")
    plane = x_shape[2] * x_shape[3]
    if indices.size and (indices.min() < 0 or indices.max() >= plane):
        raise ValueError(f"{op}: indices must lie in [0, H*W) = [0, {plane}) for x_shape "
                         f"{x_shape}, got values in [{indices.min()}, {indices.max()}]")
    check_allocation(x_shape, gy.dtype, f"{op}: the gradient gx")
    return x_shape


def check_avg_pool2d_backward(gy, x_shape, kernel_size, stride, padding) -> tuple:
    op = "avg_pool2d_backward"
    check_arrays(op, gy=gy)
    _check_4d(op, gy=gy)
    x_shape = _shape4(op, "x_shape", x_shape)
    kernel_size, stride, padding, y_shape = check_pool2d(op, x_shape, kernel_size, stride,
                                                         padding)
    if tuple(gy.shape) != y_shape:
        raise ValueError(f"{op}: gy has shape {tuple(gy.shape)}, expected {y_shape} for "
                         f"x_shape {x_shape}, kernel {kernel_size}, stride {stride}, "
                         f"padding {padding}")
    check_allocation(x_shape, gy.dtype, f"{op}: the gradient gx")
    return x_shape, kernel_size, stride, padding, y_shape


def check_gelu_backward(gy, x) -> None:
    check_arrays("gelu_backward", gy=gy, x=x)
    if gy.shape != x.shape:
        raise ValueError(f"gelu_backward: gy {tuple(gy.shape)} and x {tuple(x.shape)} must "
                         "have the same shape")


# ------------------------------------------------------------------------------------
# Matrix product
# ------------------------------------------------------------------------------------

def matmul(a, b, trans_a=False, trans_b=False):
    """``op(a) @ op(b)``, ``op(x) = x.swapaxes(-1, -2) if trans else x``.

    a, b: both 2-D or both 3-D with the same batch size B, one float dtype.
    op(a) is (M, K) or (B, M, K), op(b) is (K, N) or (B, K, N).
    Returns (M, N) or (B, M, N), C-contiguous, the inputs' dtype.
    """
    check_matmul(a, b, trans_a, trans_b)
    A = a.swapaxes(-1, -2) if trans_a else a
    B = b.swapaxes(-1, -2) if trans_b else b
    return np.ascontiguousarray(np.matmul(A, B))


# ------------------------------------------------------------------------------------
# Convolution: one term per kernel offset (i, j).  For offset (i, j) the output cell
# (oh, ow) meets the padded input cell (oh*sh + i, ow*sw + j), so the whole term is a
# strided slice of the padded input contracted with weight[:, :, i, j] over channels.
# ------------------------------------------------------------------------------------

def _window_slice(offset: int, stride: int, count: int) -> slice:
    """Padded-input rows offset, offset + stride, ... (count of them)."""
    return slice(offset, offset + stride * (count - 1) + 1, stride)


def conv2d_forward(x, w, b, stride, padding):
    """2-D cross-correlation (PyTorch's conv2d), zero padding.

    x: (N, C, H, W); w: (O, C, KH, KW); b: None or (O,); stride, padding: (int, int).
    Returns y: (N, O, OH, OW).  ValueError if OH or OW would be < 1.
    """
    (sh, sw), (ph, pw), (n, o, oh, ow) = check_conv2d_forward(x, w, b, stride, padding)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    y = np.zeros((n, o, oh, ow), dtype=x.dtype)
    for i in range(w.shape[2]):
        for j in range(w.shape[3]):
            patch = xp[:, :, _window_slice(i, sh, oh), _window_slice(j, sw, ow)]
            y += np.einsum("nchw,oc->nohw", patch, w[:, :, i, j])
    if b is not None:
        y += b.reshape(1, o, 1, 1)
    return y


def conv2d_backward_input(gy, w, x_shape, stride, padding):
    """Gradient of conv2d with respect to x.

    gy: (N, O, OH, OW); w: (O, C, KH, KW); x_shape: (N, C, H, W).  Returns gx of x_shape:
    every offset's term sends gy back through weight[:, :, i, j] to the input cells it
    read, and the padding border is cut off at the end.
    """
    x_shape, (sh, sw), (ph, pw), (n, o, oh, ow) = check_conv2d_backward_input(
        gy, w, x_shape, stride, padding)
    _, c, h, wd = x_shape
    gxp = np.zeros((n, c, h + 2 * ph, wd + 2 * pw), dtype=gy.dtype)
    for i in range(w.shape[2]):
        for j in range(w.shape[3]):
            gxp[:, :, _window_slice(i, sh, oh), _window_slice(j, sw, ow)] += np.einsum(
                "nohw,oc->nchw", gy, w[:, :, i, j])
    return np.ascontiguousarray(gxp[:, :, ph:ph + h, pw:pw + wd])


def conv2d_backward_weight(gy, x, w_shape, stride, padding):
    """Gradient of conv2d with respect to the weight.

    gy: (N, O, OH, OW); x: (N, C, H, W); w_shape: (O, C, KH, KW).  Returns gw of w_shape:
    gw[:, :, i, j] = sum over n, oh, ow of gy times the input slice offset (i, j) reads.
    """
    w_shape, (sh, sw), (ph, pw), (n, o, oh, ow) = check_conv2d_backward_weight(
        gy, x, w_shape, stride, padding)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    gw = np.zeros(w_shape, dtype=gy.dtype)
    for i in range(w_shape[2]):
        for j in range(w_shape[3]):
            patch = xp[:, :, _window_slice(i, sh, oh), _window_slice(j, sw, ow)]
            gw[:, :, i, j] = np.einsum("nohw,nchw->oc", gy, patch)
    return gw


# ------------------------------------------------------------------------------------
# Pooling: again one step per window offset (i, j), visited in row-major order.
# ------------------------------------------------------------------------------------

def _valid_cells(offset, stride, pad, count, size):
    """For window offset `offset` along one axis: the input coordinate each output
    position reads (before padding is removed) and whether it is inside the input."""
    coords = np.arange(count) * stride - pad + offset
    return coords, (coords >= 0) & (coords < size)


def max_pool2d_forward(x, kernel_size, stride, padding):
    """Max pooling; padding acts as -inf.

    x: (N, C, H, W); kernel_size, stride, padding: (int, int), padding <= kernel // 2.
    Returns (y, indices): y (N, C, OH, OW) in x's dtype; indices int64 of y's shape, the
    flat position h*W + w in the (H, W) plane of the chosen cell.  Ties go to the FIRST
    maximum in row-major window order; a NaN wins (the first NaN), as in PyTorch.
    """
    (kh, kw), (sh, sw), (ph, pw), (n, c, oh, ow) = check_pool2d_forward(
        "max_pool2d", x, kernel_size, stride, padding)
    h, wd = x.shape[2], x.shape[3]
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    best = np.zeros((n, c, oh, ow), dtype=x.dtype)
    indices = np.full((n, c, oh, ow), -1, dtype=np.int64)
    for i in range(kh):
        rows, rows_ok = _valid_cells(i, sh, ph, oh, h)
        for j in range(kw):
            cols, cols_ok = _valid_cells(j, sw, pw, ow, wd)
            v = xp[:, :, _window_slice(i, sh, oh), _window_slice(j, sw, ow)]
            valid = rows_ok[:, None] & cols_ok[None, :]          # (OH, OW)
            take = valid & ((indices < 0) | (v > best) | (np.isnan(v) & ~np.isnan(best)))
            best = np.where(take, v, best)
            flat = rows[:, None] * wd + cols[None, :]            # (OH, OW)
            indices = np.where(take, flat, indices)
    return best, indices


def max_pool2d_backward(gy, indices, x_shape):
    """Gradient of max pooling: gy (N, C, OH, OW) added into a zero gx of x_shape at the
    positions ``indices`` (int64, gy's shape) recorded by the forward pass."""
    n, c, h, w = check_max_pool2d_backward(gy, indices, x_shape)
    out_plane = gy.shape[2] * gy.shape[3]
    gx = np.zeros((n * c, h * w), dtype=gy.dtype)
    planes = np.arange(n * c)[:, None]
    np.add.at(gx, (planes, indices.reshape(n * c, out_plane)), gy.reshape(n * c, out_plane))
    return gx.reshape(n, c, h, w)


def _avg_divisor(kh, kw, sh, sw, ph, pw, oh, ow, h, w, dtype):
    """(OH, OW) divisors, PyTorch's count_include_pad=True rule: the window's cells that
    lie inside the zero-PADDED input (h0 = oh*sh - ph, h1 = min(h0 + KH, H + ph))."""
    h0 = np.arange(oh) * sh - ph
    w0 = np.arange(ow) * sw - pw
    rows = np.minimum(h0 + kh, h + ph) - h0
    cols = np.minimum(w0 + kw, w + pw) - w0
    return (rows[:, None] * cols[None, :]).astype(dtype)


def avg_pool2d_forward(x, kernel_size, stride, padding):
    """Average pooling, zero padding counted in the divisor (count_include_pad=True).

    x: (N, C, H, W); kernel_size, stride, padding: (int, int), padding <= kernel // 2.
    Returns y: (N, C, OH, OW) in x's dtype.
    """
    (kh, kw), (sh, sw), (ph, pw), (n, c, oh, ow) = check_pool2d_forward(
        "avg_pool2d", x, kernel_size, stride, padding)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    total = np.zeros((n, c, oh, ow), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            total += xp[:, :, _window_slice(i, sh, oh), _window_slice(j, sw, ow)]
    return total / _avg_divisor(kh, kw, sh, sw, ph, pw, oh, ow, x.shape[2], x.shape[3],
                                x.dtype)


def avg_pool2d_backward(gy, x_shape, kernel_size, stride, padding):
    """Gradient of average pooling: each gy (N, C, OH, OW) cell, divided by its window's
    divisor, is added to every input cell of the window.  Returns gx of x_shape."""
    x_shape, (kh, kw), (sh, sw), (ph, pw), (n, c, oh, ow) = check_avg_pool2d_backward(
        gy, x_shape, kernel_size, stride, padding)
    h, w = x_shape[2], x_shape[3]
    g = gy / _avg_divisor(kh, kw, sh, sw, ph, pw, oh, ow, h, w, gy.dtype)
    gxp = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=gy.dtype)
    for i in range(kh):
        for j in range(kw):
            gxp[:, :, _window_slice(i, sh, oh), _window_slice(j, sw, ow)] += g
    return np.ascontiguousarray(gxp[:, :, ph:ph + h, pw:pw + w])


# ------------------------------------------------------------------------------------
# Activations: the exact GELU (its C twin is csrc/activation.c)
# ------------------------------------------------------------------------------------

def _normal_cdf_and_pdf(x):
    """Phi(x) = (1 + erf(x / sqrt 2)) / 2 and phi(x) = exp(-x^2 / 2) / sqrt(2 pi), in float64.

    NumPy has no erf, so Python's math.erf is applied to one element at a time: slow, but
    correct to the last bit of float64 and easy to read.
    """
    x64 = x.astype(np.float64)
    erf = np.array([math.erf(v / math.sqrt(2.0)) for v in x64.ravel().tolist()],
                   dtype=np.float64).reshape(x.shape)
    cdf = 0.5 * (1.0 + erf)
    pdf = np.exp(-0.5 * x64 * x64) / math.sqrt(2.0 * math.pi)
    return x64, cdf, pdf


def gelu_forward(x):
    """The exact GELU, elementwise: y = x * Phi(x).

    x: any shape, float32 or float64.  Returns y of x's shape and dtype (computed in
    float64, then rounded).
    """
    check_arrays("gelu_forward", x=x)
    x64, cdf, _ = _normal_cdf_and_pdf(x)
    return np.array(x64 * cdf, dtype=x.dtype, order="C")


def gelu_backward(gy, x):
    """Gradient of the exact GELU: gx = gy * (Phi(x) + x * phi(x)).

    gy, x: the same shape and float dtype.  Returns gx of that shape and dtype.
    """
    check_gelu_backward(gy, x)
    x64, cdf, pdf = _normal_cdf_and_pdf(x)
    return np.array(gy.astype(np.float64) * (cdf + x64 * pdf), dtype=x.dtype, order="C")


# ------------------------------------------------------------------------------------
# One LSTM layer over a whole sequence (the fused recurrent kernel)
# ------------------------------------------------------------------------------------

def check_lstm(op: str, xw, w_hh, h0, c0) -> tuple:
    """xw (S, N, 4H), w_hh (4H, H), h0 and c0 (N, H), one float dtype; returns (S, N, H)."""
    check_arrays(op, xw=xw, w_hh=w_hh, h0=h0, c0=c0)
    if xw.ndim != 3 or w_hh.ndim != 2 or h0.ndim != 2 or c0.ndim != 2:
        raise ValueError(f"{op}: expected xw (S, N, 4H), w_hh (4H, H), h0 and c0 (N, H), got "
                         f"{xw.shape}, {w_hh.shape}, {h0.shape}, {c0.shape}")
    s, n, g4 = xw.shape
    h = w_hh.shape[1]
    if w_hh.shape[0] != 4 * h or g4 != 4 * h or h0.shape != (n, h) or c0.shape != (n, h):
        raise ValueError(f"{op}: xw {xw.shape}, w_hh {w_hh.shape}, h0 {h0.shape}, c0 {c0.shape}: "
                         f"need xw (S, N, 4H), w_hh (4H, H), h0 and c0 (N, H)")
    return s, n, h


def check_lstm_backward(w_hh, h0, c0, out, c_all, gates, g_out, g_cn) -> tuple:
    """lstm_backward's arguments: forward's (see check_lstm) plus out, c_all, g_out
    (S, N, H) and g_cn None or (N, H), all of one dtype; returns (S, N, H)."""
    op = "lstm_backward"
    s, n, h = check_lstm(op, gates, w_hh, h0, c0)
    named = dict(out=out, c_all=c_all, g_out=g_out)
    if g_cn is not None:
        named["g_cn"] = g_cn
    check_arrays(op, gates=gates, **named)
    for name, arr in named.items():
        want = (n, h) if name == "g_cn" else (s, n, h)
        if arr.shape != want:
            raise ValueError(f"{op}: {name} {_describe(arr)} should have shape {want} for "
                             f"gates {tuple(gates.shape)}")
    return s, n, h


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def lstm_forward(xw, w_hh, h0, c0, reverse=False):
    """One LSTM layer (gate order i, f, g, o) from its input projection.

    xw: (S, N, 4H) = x @ W_ih^T + b_ih + b_hh;  w_hh: (4H, H);  h0, c0: (N, H).
    Returns (out, c_all, gates): out (S, N, H) the hidden state at every position (out[t] is
    position t also when ``reverse`` reads the sequence from the end), c_all (S, N, H) the
    cell states, gates (S, N, 4H) the activated gates i, f, g, o (what backward needs).
    """
    s, n, hid = check_lstm("lstm_forward", xw, w_hh, h0, c0)
    out = np.empty((s, n, hid), xw.dtype)
    c_all = np.empty((s, n, hid), xw.dtype)
    gates = np.empty(xw.shape, xw.dtype)
    h, c = h0, c0
    for t in (range(s - 1, -1, -1) if reverse else range(s)):
        z = xw[t] + h @ w_hh.T                                  # (N, 4H)
        i, f = _sigmoid(z[:, :hid]), _sigmoid(z[:, hid:2 * hid])
        g, o = np.tanh(z[:, 2 * hid:3 * hid]), _sigmoid(z[:, 3 * hid:])
        c = f * c + i * g
        h = o * np.tanh(c)
        out[t], c_all[t] = h, c
        gates[t] = np.concatenate([i, f, g, o], axis=1)
    return out, c_all, gates


def lstm_backward(w_hh, h0, c0, out, c_all, gates, g_out, g_cn=None, reverse=False):
    """Gradients of :func:`lstm_forward` (backpropagation through time).

    g_out: dL/d out (S, N, H); g_cn: dL/d c_n (N, H) or None.  The other arguments are
    forward's inputs and results.  Returns (g_xw (S, N, 4H), g_h0, g_c0 (N, H),
    g_w_hh (4H, H)).
    """
    s, n, hid = check_lstm_backward(w_hh, h0, c0, out, c_all, gates, g_out, g_cn)
    order = list(range(s - 1, -1, -1) if reverse else range(s))
    g_xw = np.empty(gates.shape, gates.dtype)
    g_w_hh = np.zeros(w_hh.shape, w_hh.dtype)
    dh = np.zeros((n, hid), gates.dtype)
    dc = np.zeros((n, hid), gates.dtype) if g_cn is None else g_cn.astype(gates.dtype)
    for k in range(s - 1, -1, -1):                              # forward's order, backwards
        t = order[k]
        h_prev = h0 if k == 0 else out[order[k - 1]]
        c_prev = c0 if k == 0 else c_all[order[k - 1]]
        i, f = gates[t][:, :hid], gates[t][:, hid:2 * hid]
        g, o = gates[t][:, 2 * hid:3 * hid], gates[t][:, 3 * hid:]
        dh = dh + g_out[t]
        tc = np.tanh(c_all[t])
        d_o = dh * tc
        dc = dc + dh * o * (1 - tc * tc)
        dz = np.concatenate([dc * g * i * (1 - i), dc * c_prev * f * (1 - f),
                             dc * i * (1 - g * g), d_o * o * (1 - o)], axis=1)
        dc = dc * f
        g_xw[t] = dz
        g_w_hh += dz.T @ h_prev
        dh = dz @ w_hh
    return g_xw, dh, dc, g_w_hh


# ------------------------------------------------------------------------------------
# Rectifier
# ------------------------------------------------------------------------------------

def check_same_shape(op: str, **arrays) -> None:
    """Float arrays of one dtype and one shape (elementwise kernels with several inputs)."""
    check_arrays(op, **arrays)
    shapes = {tuple(a.shape) for a in arrays.values()}
    if len(shapes) > 1:
        described = ", ".join(f"{n} {_describe(a)}" for n, a in arrays.items())
        raise ValueError(f"{op}: shapes differ ({described})")


def relu_forward(x):
    """y = x * (x > 0): x where positive, else 0 (NaN stays NaN).  Any shape."""
    check_arrays("relu_forward", x=x)
    with np.errstate(invalid="ignore"):  # -inf * 0 is NaN, as in the C kernel
        return x * (x > 0)


def relu_backward(gy, x):
    """gx = gy * (x > 0), with x the forward input.  gy, x: one shape and float dtype."""
    check_same_shape("relu_backward", gy=gy, x=x)
    with np.errstate(invalid="ignore"):
        return gy * (x > 0)


# ------------------------------------------------------------------------------------
# Softmax cross-entropy with class targets (the fused loss)
# ------------------------------------------------------------------------------------

def check_softmax_xent(op: str, x, target, g=None, ignore_index=None) -> None:
    """x (N, C) float; target (N,) int64; g (N,) of x's dtype when given.  With
    ``ignore_index`` given, every target must be a class in [0, C) or ignore_index (the C
    kernel would refuse it, and NumPy's indexing would wrap a negative one around)."""
    check_arrays(op, x=x) if g is None else check_arrays(op, x=x, g=g)
    if x.ndim != 2 or not isinstance(target, np.ndarray) or target.dtype != np.int64 \
            or target.shape != x.shape[:1] or (g is not None and g.shape != x.shape[:1]):
        raise ValueError(f"{op}: expected logits (N, C), int64 target (N,)"
                         f"{' and g (N,)' if g is not None else ''}, got {_describe(x)}, "
                         f"{_describe(target) if isinstance(target, np.ndarray) else target!r}"
                         f"{', ' + _describe(g) if g is not None else ''}")
    if ignore_index is not None and target.size:
        bad = (target != ignore_index) & ((target < 0) | (target >= x.shape[1]))
        if bad.any():
            raise ValueError(f"{op}: target values must be classes in [0, {x.shape[1]}) or "
                             f"ignore_index={ignore_index}, got {target[bad][:5].tolist()}")


def softmax_xent_forward(logits, target, ignore_index=-100):
    """Log-softmax and per-row cross-entropy.

    logits: (N, C) float32/float64; target: (N,) int64 classes in [0, C) or ignore_index.
    Returns (logp (N, C), losses (N,)) with losses[i] = -logp[i, target[i]], 0 where
    target[i] == ignore_index.
    """
    check_softmax_xent("softmax_xent_forward", logits, target, ignore_index=ignore_index)
    if logits.shape[1] == 0:  # no class: every target is ignore_index (checked), loss 0
        return logits.copy(), np.zeros(logits.shape[0], logits.dtype)
    shifted = logits - logits.max(axis=1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    valid = target != ignore_index
    picked = np.take_along_axis(logp, np.where(valid, target, 0)[:, None], axis=1)[:, 0]
    return logp, np.where(valid, -picked, logits.dtype.type(0))


def softmax_xent_backward(logp, target, ignore_index, g):
    """d(sum_i g[i] * losses[i]) / d logits = g[:, None] * (exp(logp) - onehot(target)),
    rows with target == ignore_index zero.  logp: (N, C) from forward; g: (N,)."""
    check_softmax_xent("softmax_xent_backward", logp, target, g, ignore_index=ignore_index)
    valid = target != ignore_index
    grad = np.exp(logp)
    rows = np.flatnonzero(valid)
    grad[rows, target[rows]] -= 1
    grad *= g[:, None]
    grad[~valid] = 0  # exactly 0, even where g or logp is not finite
    return grad
