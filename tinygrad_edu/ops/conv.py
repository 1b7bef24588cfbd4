"""2-D convolution (cross-correlation, as in every deep learning library), NCHW layout.

    y[n, o, i, j] = b[o] + sum_{c, p, q} x[n, c, i*sh + p - ph, j*sw + q - pw] * w[o, c, p, q]

Backward, by the chain rule on that sum:
    dx[n, c, h, w] = sum over every (o, i, j, p, q) that read x[n, c, h, w] of gy[n, o, i, j] * w[o, c, p, q]
    dw[o, c, p, q] = sum_{n, i, j} gy[n, o, i, j] * x[n, c, i*sh + p - ph, j*sw + q - pw]
    db[o]          = sum_{n, i, j} gy[n, o, i, j]
The three loops are kernels (``conv2d_forward``, ``conv2d_backward_input``,
``conv2d_backward_weight``) in csrc/conv.c and, for reading, in backends/numpy_ref.py.
"""
from __future__ import annotations

from ..autograd import Function
from ..backends import kernels_for
from ..device import array_module


def pair(value, name: str, op: str) -> tuple:
    """An int or a pair of ints -> a pair of ints (checked)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return (value, value)
    try:
        a, b = value
        if all(isinstance(v, int) and not isinstance(v, bool) for v in (a, b)):
            return (int(a), int(b))
    except (TypeError, ValueError):
        pass
    raise TypeError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")


def conv_output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - kernel) // stride + 1


class Conv2d(Function):
    """y = conv2d(x, w) + b.  x: (N, C, H, W), w: (O, C, KH, KW), b: (O,) -> y: (N, O, OH, OW)."""

    def forward(self, x, w, b=None, stride=(1, 1), padding=(0, 0)):
        self.x, self.w, self.stride, self.padding = x, w, stride, padding
        return kernels_for(x).conv2d_forward(x, w, b, stride, padding)

    def backward(self, gy):
        kern = kernels_for(gy)
        gx = gw = gb = None
        if self.needs_input_grad[0]:
            gx = kern.conv2d_backward_input(gy, self.w, self.x.shape, self.stride, self.padding)
        if self.needs_input_grad[1]:
            gw = kern.conv2d_backward_weight(gy, self.x, self.w.shape, self.stride, self.padding)
        if len(self.needs_input_grad) == 3:
            gb = _bias_grad(gy) if self.needs_input_grad[2] else None
            return gx, gw, gb
        return gx, gw


def _bias_grad(gy):
    """db[o] = sum of gy (N, O, OH, OW) over n, i, j.  Large gradients in one pass, einsum
    over the (N, O, OH*OW) view: ~1.8x faster than the batch sum first (a plain add of N
    planes into a temporary, then each plane's sum), which reads gy and writes the (O, OH*OW)
    temporary (the Keras CNN's first layer, 5.5 MB of gy, out of cache as in a training step:
    0.30 -> 0.17 ms); a small one (the CNN's 3x3 planes) the latter way, which is faster
    there.  Both ~4x faster than one reduction over axes (0, 2, 3)."""
    n, o = gy.shape[:2]
    if gy.size >= 1 << 16:
        return array_module(gy).einsum("nop->o", gy.reshape(n, o, -1))
    return gy.sum(axis=0).reshape(o, -1).sum(axis=1)


class ConvTranspose2d(Function):
    """y = conv_transpose2d(x, w): the adjoint of conv2d, with the same three kernels.

    x: (N, C_in, H, W), w: (C_in, C_out, KH, KW) -> y: (N, C_out, OH, OW), out_hw = (OH, OW).
    Read w as a conv2d weight (O=C_in, C=C_out): y is conv2d's input gradient for "gy" = x,
        forward:  y  = conv2d_backward_input(x, w, (N, C_out, OH, OW))
        backward: dx = conv2d_forward(gy, w)                 (the adjoint of the adjoint)
                  dw = conv2d_backward_weight(x, gy, w.shape) (x plays gy, gy plays the input)
    """

    def forward(self, x, w, out_hw=(1, 1), stride=(1, 1), padding=(0, 0)):
        self.x, self.w, self.stride, self.padding = x, w, stride, padding
        out_shape = (x.shape[0], w.shape[1]) + tuple(out_hw)
        return kernels_for(x).conv2d_backward_input(x, w, out_shape, stride, padding)

    def backward(self, gy):
        kern = kernels_for(gy)
        gx = gw = None
        if self.needs_input_grad[0]:
            gx = kern.conv2d_forward(gy, self.w, None, self.stride, self.padding)
        if self.needs_input_grad[1]:
            gw = kern.conv2d_backward_weight(self.x, gy, self.w.shape, self.stride, self.padding)
        return gx, gw
