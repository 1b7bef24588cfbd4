"""2-D convolution, forward and both gradients (C twin: csrc/conv.c).

One term per kernel offset (i, j): for offset (i, j) the output cell (oh, ow) meets the
padded input cell (oh*sh + i, ow*sw + j), so the whole term is a strided slice of the padded
input contracted with weight[:, :, i, j] over channels.  Shapes use PyTorch's names:
x (N, C, H, W), weight (O, C, KH, KW), y (N, O, OH, OW), OH = (H + 2*ph - KH) // sh + 1.
"""
import numpy as np

from ...limits import check_allocation
from ..contract import check_arrays, kernel
from ._shapes import check_4d, out_size, pair, shape4, window_slice


def conv2d_geometry(op: str, x_shape, w_shape, stride, padding) -> tuple:
    """Validate conv2d geometry; return (stride, padding, (N, O, OH, OW))."""
    stride = pair(op, "stride", stride, 1)
    padding = pair(op, "padding", padding, 0)
    n, c, h, w = x_shape
    o, cw, kh, kw = w_shape
    if cw != c:
        raise ValueError(f"{op}: input (N, C, H, W) = {tuple(x_shape)} has {c} channels but "
                         f"weight (O, C, KH, KW) = {tuple(w_shape)} expects {cw}")
    if kh < 1 or kw < 1:
        raise ValueError(f"{op}: weight {tuple(w_shape)} has an empty kernel")
    if h < 1 or w < 1:
        raise ValueError(f"{op}: input {tuple(x_shape)} has an empty spatial size")
    oh = out_size(h, kh, stride[0], padding[0])
    ow = out_size(w, kw, stride[1], padding[1])
    if h + 2 * padding[0] < kh or w + 2 * padding[1] < kw or oh < 1 or ow < 1:
        raise ValueError(f"{op}: input {tuple(x_shape)} with padding {padding} is smaller "
                         f"than the kernel of weight {tuple(w_shape)}")
    return stride, padding, (n, o, oh, ow)


def conv2d_output_shape(x_shape, w_shape, stride, padding) -> tuple:
    """(N, O, OH, OW) of a checked call."""
    return (x_shape[0], w_shape[0], out_size(x_shape[2], w_shape[2], stride[0], padding[0]),
            out_size(x_shape[3], w_shape[3], stride[1], padding[1]))


def check_conv2d_forward(x, w, b, stride, padding) -> tuple:
    op = "conv2d"
    check_arrays(op, x=x, weight=w)
    check_4d(op, x=x, weight=w)
    if b is not None:
        check_arrays(op, weight=w, bias=b)
        if b.shape != (w.shape[0],):
            raise ValueError(f"{op}: bias has shape {tuple(b.shape)}, expected ({w.shape[0]},) "
                             f"for weight {tuple(w.shape)}")
    stride, padding, y_shape = conv2d_geometry(op, x.shape, w.shape, stride, padding)
    check_allocation(y_shape, x.dtype, f"{op}: the output")
    return x, w, b, stride, padding


def check_conv2d_backward_input(gy, w, x_shape, stride, padding) -> tuple:
    op = "conv2d_backward_input"
    check_arrays(op, gy=gy, weight=w)
    check_4d(op, gy=gy, weight=w)
    x_shape = shape4(op, "x_shape", x_shape)
    stride, padding, y_shape = conv2d_geometry(op, x_shape, w.shape, stride, padding)
    if tuple(gy.shape) != y_shape:
        raise ValueError(f"{op}: gy has shape {tuple(gy.shape)}, expected {y_shape} for input "
                         f"{x_shape} and weight {tuple(w.shape)}")
    check_allocation(x_shape, gy.dtype, f"{op}: the gradient gx")
    return gy, w, x_shape, stride, padding


def check_conv2d_backward_weight(gy, x, w_shape, stride, padding) -> tuple:
    op = "conv2d_backward_weight"
    check_arrays(op, gy=gy, x=x)
    check_4d(op, gy=gy, x=x)
    w_shape = shape4(op, "w_shape", w_shape)
    stride, padding, y_shape = conv2d_geometry(op, x.shape, w_shape, stride, padding)
    if tuple(gy.shape) != y_shape:
        raise ValueError(f"{op}: gy has shape {tuple(gy.shape)}, expected {y_shape} for input "
                         f"{tuple(x.shape)} and weight {w_shape}")
    check_allocation(w_shape, gy.dtype, f"{op}: the gradient gw")
    return gy, x, w_shape, stride, padding


@kernel(check_conv2d_forward, device_generic=False)
def conv2d_forward(x, w, b, stride, padding):
    """2-D cross-correlation (PyTorch's conv2d), zero padding.

    x: (N, C, H, W); w: (O, C, KH, KW); b: None or (O,); stride, padding: (int, int).
    Returns y: (N, O, OH, OW).  ValueError if OH or OW would be < 1.
    """
    (sh, sw), (ph, pw) = stride, padding
    n, o, oh, ow = conv2d_output_shape(x.shape, w.shape, stride, padding)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    y = np.zeros((n, o, oh, ow), dtype=x.dtype)
    for i in range(w.shape[2]):
        for j in range(w.shape[3]):
            patch = xp[:, :, window_slice(i, sh, oh), window_slice(j, sw, ow)]
            y += np.einsum("nchw,oc->nohw", patch, w[:, :, i, j])
    if b is not None:
        y += b.reshape(1, o, 1, 1)
    return y


@kernel(check_conv2d_backward_input, device_generic=False)
def conv2d_backward_input(gy, w, x_shape, stride, padding):
    """Gradient of conv2d with respect to x.

    gy: (N, O, OH, OW); w: (O, C, KH, KW); x_shape: (N, C, H, W).  Returns gx of x_shape:
    every offset's term sends gy back through weight[:, :, i, j] to the input cells it
    read, and the padding border is cut off at the end.
    """
    (sh, sw), (ph, pw) = stride, padding
    n, c, h, wd = x_shape
    oh, ow = gy.shape[2], gy.shape[3]
    gxp = np.zeros((n, c, h + 2 * ph, wd + 2 * pw), dtype=gy.dtype)
    for i in range(w.shape[2]):
        for j in range(w.shape[3]):
            gxp[:, :, window_slice(i, sh, oh), window_slice(j, sw, ow)] += np.einsum(
                "nohw,oc->nchw", gy, w[:, :, i, j])
    return np.ascontiguousarray(gxp[:, :, ph:ph + h, pw:pw + wd])


@kernel(check_conv2d_backward_weight, device_generic=False)
def conv2d_backward_weight(gy, x, w_shape, stride, padding):
    """Gradient of conv2d with respect to the weight.

    gy: (N, O, OH, OW); x: (N, C, H, W); w_shape: (O, C, KH, KW).  Returns gw of w_shape:
    gw[:, :, i, j] = sum over n, oh, ow of gy times the input slice offset (i, j) reads.
    """
    (sh, sw), (ph, pw) = stride, padding
    oh, ow = gy.shape[2], gy.shape[3]
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    gw = np.zeros(w_shape, dtype=gy.dtype)
    for i in range(w_shape[2]):
        for j in range(w_shape[3]):
            patch = xp[:, :, window_slice(i, sh, oh), window_slice(j, sw, ow)]
            gw[:, :, i, j] = np.einsum("nohw,nchw->oc", gy, patch)
    return gw
