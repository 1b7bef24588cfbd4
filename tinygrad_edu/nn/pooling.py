"""Pooling layers: MaxPool2d, AvgPool2d and AdaptiveAvgPool2d over NCHW tensors; MaxPool1d and
AvgPool1d over (N, C, L) sequences (on the 2-D kernels)."""
from __future__ import annotations

from . import functional as F
from .module import Module

__all__ = ["MaxPool1d", "AvgPool1d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d"]


class _Pool2d(Module):
    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool2d(_Pool2d):
    """Largest value of each window. x: (N, C, H, W) or (C, H, W) -> (N, C, OH, OW),
    OH = (H + 2 * padding - KH) // stride + 1; stride defaults to kernel_size."""

    def forward(self, x):
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding)


class AvgPool2d(_Pool2d):
    """Mean of each window, padding cells counted (PyTorch's default count_include_pad=True).
    x: (N, C, H, W) or (C, H, W) -> (N, C, OH, OW); stride defaults to kernel_size."""

    def forward(self, x):
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding)


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed output size. x: (N, C, H, W) or (C, H, W) -> (N, C, OH, OW);
    output_size: an int or a pair (None keeps that axis). Windows as PyTorch:
    [floor(i * H / OH), ceil((i + 1) * H / OH))."""

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, x):
        return F.adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class MaxPool1d(_Pool2d):
    """Largest value of each window along the last axis. x: (N, C, L) or (C, L) -> (N, C, OL),
    OL = (L + 2 * padding - kernel_size) // stride + 1; stride defaults to kernel_size."""

    def forward(self, x):
        return F.max_pool1d(x, self.kernel_size, self.stride, self.padding)


class AvgPool1d(_Pool2d):
    """Mean of each window along the last axis (padding counted). x: (N, C, L) -> (N, C, OL)."""

    def forward(self, x):
        return F.avg_pool1d(x, self.kernel_size, self.stride, self.padding)
