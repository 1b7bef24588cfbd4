"""Max and average pooling over (KH, KW) windows of NCHW tensors.

Max pooling keeps, for every window, the largest input; its backward sends each output's
gradient to exactly that one input (the first maximum on ties, as PyTorch), whose position the
forward kernel records in ``indices``. Average pooling divides each window's sum by the number
of cells it covers (padding counts, as PyTorch's default ``count_include_pad=True``); its
backward spreads each output gradient evenly back over its window.
"""
from __future__ import annotations

from ..autograd import Function
from ..backends import kernels_for


class MaxPool2d(Function):
    """y[n, c, i, j] = max of x over the window at (i*sh - ph, j*sw - pw). x: (N, C, H, W)."""

    def forward(self, x, kernel_size=(2, 2), stride=(2, 2), padding=(0, 0)):
        self.x_shape = x.shape
        y, self.indices = kernels_for(x).max_pool2d_forward(x, kernel_size, stride, padding)
        return y

    def backward(self, gy):
        return (kernels_for(gy).max_pool2d_backward(gy, self.indices, self.x_shape),)


class AvgPool2d(Function):
    """y[n, c, i, j] = mean of x over the window (padding counted). x: (N, C, H, W)."""

    def forward(self, x, kernel_size=(2, 2), stride=(2, 2), padding=(0, 0)):
        self.x_shape, self.args = x.shape, (kernel_size, stride, padding)
        return kernels_for(x).avg_pool2d_forward(x, kernel_size, stride, padding)

    def backward(self, gy):
        return (kernels_for(gy).avg_pool2d_backward(gy, self.x_shape, *self.args),)
