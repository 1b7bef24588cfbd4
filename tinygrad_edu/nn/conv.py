"""Convolution layers: Conv2d (NCHW, cross-correlation as in every deep learning library)."""
from __future__ import annotations

import numpy as np

from ..ops.conv import pair
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter

__all__ = ["Conv2d"]


class Conv2d(Module):
    """2-D convolution.

    x: (N, C_in, H, W) or (C_in, H, W) float32/float64 -> (N, C_out, OH, OW) with
    OH = (H + 2 * padding - KH) // stride + 1 (likewise OW).
    Parameters: ``weight`` (C_out, C_in, KH, KW), ``bias`` (C_out,) or None.
    padding: an int, a pair, "valid" (no padding) or "same" (output as large as the input;
    stride 1 only, the extra cell of an even kernel goes after, as PyTorch).
    Initialisation (PyTorch's): weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
    fan_in = C_in * KH * KW. dilation, groups other than 1 and padding modes other than
    "zeros" are refused with NotImplementedError.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros"):
        super().__init__()
        if pair(dilation, "dilation", "Conv2d") != (1, 1) or groups != 1 or padding_mode != "zeros":
            raise NotImplementedError(
                f"Conv2d: only dilation=1, groups=1, padding_mode='zeros' are supported, got "
                f"dilation={dilation}, groups={groups}, padding_mode={padding_mode!r}"
            )
        if in_channels <= 0 or out_channels <= 0:
            raise ValueError(f"Conv2d: channel counts must be positive, got {in_channels} and {out_channels}")
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = pair(kernel_size, "kernel_size", "Conv2d")
        self.stride = pair(stride, "stride", "Conv2d")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Conv2d: padding must be an int, a pair, 'same' or 'valid', got {padding!r}")
            if padding == "same" and self.stride != (1, 1):
                raise ValueError(f"Conv2d: padding='same' needs stride 1, got stride {self.stride}")
            self.padding = padding
        else:
            self.padding = pair(padding, "padding", "Conv2d")
        self.weight = Parameter(np.empty((out_channels, in_channels) + self.kernel_size, dtype=np.float32))
        if bias:
            self.bias = Parameter(np.empty(out_channels, dtype=np.float32))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.default_weight_(self.weight)
        if self.bias is not None:
            init.default_bias_(self.bias, self.weight)

    def forward(self, x):
        if self.padding == "valid":
            return F.conv2d(x, self.weight, self.bias, self.stride, 0)
        if self.padding == "same":
            kh, kw = self.kernel_size
            # total padding k - 1 per axis: (k - 1) // 2 before, the rest after
            x = F.pad(x, ((kw - 1) // 2, kw // 2, (kh - 1) // 2, kh // 2))
            return F.conv2d(x, self.weight, self.bias, self.stride, 0)
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding)

    def extra_repr(self) -> str:
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0, 0):
            text += f", padding={self.padding!r}" if isinstance(self.padding, str) else f", padding={self.padding}"
        if self.bias is None:
            text += ", bias=False"
        return text
