"""2-D max and average pooling, forward and backward (C twin: csrc/pool.c).

Written against ``xp = array_module(x)``, so the same functions are the GPU table's pooling
(CuPy runs each line as a kernel).  One step per window offset (i, j), visited in row-major
order, so ties and NaNs are resolved as the C kernels resolve them.
"""
import numpy as np

from ...device import array_module, scatter_add
from ...limits import check_allocation
from ..contract import check_arrays, is_array, kernel
from ._shapes import check_4d, out_size, pair, shape4, window_slice


def pool2d_geometry(op: str, x_shape, kernel_size, stride, padding) -> tuple:
    """Validate pooling geometry; return (kernel_size, stride, padding, (N, C, OH, OW))."""
    kernel_size = pair(op, "kernel_size", kernel_size, 1)
    stride = pair(op, "stride", stride, 1)
    padding = pair(op, "padding", padding, 0)
    if padding[0] > kernel_size[0] // 2 or padding[1] > kernel_size[1] // 2:
        raise ValueError(f"{op}: padding {padding} must be at most half the kernel size "
                         f"{kernel_size}")
    n, c, h, w = x_shape
    if h < 1 or w < 1:
        raise ValueError(f"{op}: input {tuple(x_shape)} has an empty spatial size")
    oh = out_size(h, kernel_size[0], stride[0], padding[0])
    ow = out_size(w, kernel_size[1], stride[1], padding[1])
    if h + 2 * padding[0] < kernel_size[0] or w + 2 * padding[1] < kernel_size[1] \
            or oh < 1 or ow < 1:
        raise ValueError(f"{op}: input {tuple(x_shape)} with padding {padding} is smaller "
                         f"than the kernel {kernel_size}")
    return kernel_size, stride, padding, (n, c, oh, ow)


def pool2d_output_shape(x_shape, kernel_size, stride, padding) -> tuple:
    """(N, C, OH, OW) of a checked call."""
    return (x_shape[0], x_shape[1], out_size(x_shape[2], kernel_size[0], stride[0], padding[0]),
            out_size(x_shape[3], kernel_size[1], stride[1], padding[1]))


def _check_pool2d_forward(op, x, kernel_size, stride, padding) -> tuple:
    check_arrays(op, x=x)
    check_4d(op, x=x)
    kernel_size, stride, padding, y_shape = pool2d_geometry(op, x.shape, kernel_size, stride,
                                                            padding)
    # max pooling also makes int64 indices of y's shape, at least as large as y itself
    check_allocation(y_shape, np.int64, f"{op}: the output")
    return x, kernel_size, stride, padding


def check_max_pool2d_forward(x, kernel_size, stride, padding) -> tuple:
    return _check_pool2d_forward("max_pool2d", x, kernel_size, stride, padding)


def check_avg_pool2d_forward(x, kernel_size, stride, padding) -> tuple:
    return _check_pool2d_forward("avg_pool2d", x, kernel_size, stride, padding)


def check_max_pool2d_backward(gy, indices, x_shape) -> tuple:
    op = "max_pool2d_backward"
    if not is_array(indices):
        raise TypeError(f"{op}: indices must be an array, got {type(indices).__name__}")
    check_arrays(op, gy=gy)
    check_4d(op, gy=gy)
    x_shape = shape4(op, "x_shape", x_shape)
    if indices.dtype != np.int64:
        raise TypeError(f"{op}: indices must be an int64 array, got {indices.dtype}")
    if isinstance(indices, np.ndarray) != isinstance(gy, np.ndarray):
        raise ValueError(f"{op}: gy and indices are on different devices; move them with .to()")
    if indices.shape != gy.shape:
        raise ValueError(f"{op}: indices {tuple(indices.shape)} and gy {tuple(gy.shape)} "
                         "must have the same shape")
    if gy.shape[:2] != x_shape[:2]:
        raise ValueError(f"{op}: gy {tuple(gy.shape)} and x_shape {x_shape} differ in "
                         "(N, C)")
    plane = x_shape[2] * x_shape[3]
    if indices.size and (int(indices.min()) < 0 or int(indices.max()) >= plane):
        raise ValueError(f"{op}: indices must lie in [0, H*W) = [0, {plane}) for x_shape "
                         f"{x_shape}, got values in [{int(indices.min())}, {int(indices.max())}]")
    check_allocation(x_shape, gy.dtype, f"{op}: the gradient gx")
    return gy, indices, x_shape


def check_avg_pool2d_backward(gy, x_shape, kernel_size, stride, padding) -> tuple:
    op = "avg_pool2d_backward"
    check_arrays(op, gy=gy)
    check_4d(op, gy=gy)
    x_shape = shape4(op, "x_shape", x_shape)
    kernel_size, stride, padding, y_shape = pool2d_geometry(op, x_shape, kernel_size, stride,
                                                            padding)
    if tuple(gy.shape) != y_shape:
        raise ValueError(f"{op}: gy has shape {tuple(gy.shape)}, expected {y_shape} for "
                         f"x_shape {x_shape}, kernel {kernel_size}, stride {stride}, "
                         f"padding {padding}")
    check_allocation(x_shape, gy.dtype, f"{op}: the gradient gx")
    return gy, x_shape, kernel_size, stride, padding


def _pad_hw(xp, x, ph, pw):
    return xp.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw))) if ph or pw else x


def _valid_cells(xp, offset, stride, pad, count, size):
    """For window offset `offset` along one axis: the input coordinate each output
    position reads (before padding is removed) and whether it is inside the input."""
    coords = xp.arange(count, dtype=np.int64) * stride - pad + offset
    return coords, (coords >= 0) & (coords < size)


@kernel(check_max_pool2d_forward)
def max_pool2d_forward(x, kernel_size, stride, padding):
    """Max pooling; padding acts as -inf.

    x: (N, C, H, W); kernel_size, stride, padding: (int, int), padding <= kernel // 2.
    Returns (y, indices): y (N, C, OH, OW) in x's dtype; indices int64 of y's shape, the
    flat position h*W + w in the (H, W) plane of the chosen cell.  Ties go to the FIRST
    maximum in row-major window order; a NaN wins (the first NaN), as in PyTorch.
    """
    xp = array_module(x)
    (kh, kw), (sh, sw), (ph, pw) = kernel_size, stride, padding
    n, c, oh, ow = pool2d_output_shape(x.shape, kernel_size, stride, padding)
    h, wd = x.shape[2], x.shape[3]
    padded = _pad_hw(xp, x, ph, pw)
    best = xp.zeros((n, c, oh, ow), dtype=x.dtype)
    indices = xp.full((n, c, oh, ow), -1, dtype=np.int64)
    for i in range(kh):
        rows, rows_ok = _valid_cells(xp, i, sh, ph, oh, h)
        for j in range(kw):
            cols, cols_ok = _valid_cells(xp, j, sw, pw, ow, wd)
            v = padded[:, :, window_slice(i, sh, oh), window_slice(j, sw, ow)]
            valid = rows_ok[:, None] & cols_ok[None, :]          # (OH, OW)
            take = valid & ((indices < 0) | (v > best) | (xp.isnan(v) & ~xp.isnan(best)))
            best = xp.where(take, v, best)
            indices = xp.where(take, rows[:, None] * wd + cols[None, :], indices)
    return best, indices


@kernel(check_max_pool2d_backward)
def max_pool2d_backward(gy, indices, x_shape):
    """Gradient of max pooling: gy (N, C, OH, OW) added into a zero gx of x_shape at the
    positions ``indices`` (int64, gy's shape) recorded by the forward pass."""
    xp = array_module(gy)
    n, c, h, w = x_shape
    out_plane = gy.shape[2] * gy.shape[3]
    gx = xp.zeros((n * c, h * w), dtype=gy.dtype)
    planes = xp.arange(n * c)[:, None]
    scatter_add(gx, (planes, indices.reshape(n * c, out_plane)), gy.reshape(n * c, out_plane))
    return gx.reshape(n, c, h, w)


def _avg_divisor(xp, kernel_size, stride, padding, oh, ow, h, w, dtype):
    """(OH, OW) divisors, PyTorch's count_include_pad=True rule: the window's cells that
    lie inside the zero-PADDED input (h0 = oh*sh - ph, h1 = min(h0 + KH, H + ph))."""
    (kh, kw), (sh, sw), (ph, pw) = kernel_size, stride, padding
    h0 = xp.arange(oh, dtype=np.int64) * sh - ph
    w0 = xp.arange(ow, dtype=np.int64) * sw - pw
    rows = xp.minimum(h0 + kh, h + ph) - h0
    cols = xp.minimum(w0 + kw, w + pw) - w0
    # multiplied in float64, as the C kernel does: a huge window's int64 product could wrap
    return (rows.astype(np.float64)[:, None] * cols.astype(np.float64)[None, :]).astype(dtype)


@kernel(check_avg_pool2d_forward)
def avg_pool2d_forward(x, kernel_size, stride, padding):
    """Average pooling, zero padding counted in the divisor (count_include_pad=True).

    x: (N, C, H, W); kernel_size, stride, padding: (int, int), padding <= kernel // 2.
    Returns y: (N, C, OH, OW) in x's dtype.
    """
    xp = array_module(x)
    (kh, kw), (sh, sw), (ph, pw) = kernel_size, stride, padding
    n, c, oh, ow = pool2d_output_shape(x.shape, kernel_size, stride, padding)
    padded = _pad_hw(xp, x, ph, pw)
    total = xp.zeros((n, c, oh, ow), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            total += padded[:, :, window_slice(i, sh, oh), window_slice(j, sw, ow)]
    return total / _avg_divisor(xp, kernel_size, stride, padding, oh, ow, x.shape[2],
                                x.shape[3], x.dtype)


@kernel(check_avg_pool2d_backward)
def avg_pool2d_backward(gy, x_shape, kernel_size, stride, padding):
    """Gradient of average pooling: each gy (N, C, OH, OW) cell, divided by its window's
    divisor, is added to every input cell of the window.  Returns gx of x_shape."""
    xp = array_module(gy)
    (kh, kw), (sh, sw), (ph, pw) = kernel_size, stride, padding
    n, c, h, w = x_shape
    oh, ow = gy.shape[2], gy.shape[3]
    g = gy / _avg_divisor(xp, kernel_size, stride, padding, oh, ow, h, w, gy.dtype)
    gxp = xp.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=gy.dtype)
    for i in range(kh):
        for j in range(kw):
            gxp[:, :, window_slice(i, sh, oh), window_slice(j, sw, ow)] += g
    return xp.ascontiguousarray(gxp[:, :, ph:ph + h, pw:pw + w])
