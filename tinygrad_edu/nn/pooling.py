"""Pooling layers: MaxPool2d and AvgPool2d over NCHW tensors."""
from __future__ import annotations

from . import functional as F
from .module import Module

__all__ = ["MaxPool2d", "AvgPool2d"]


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
