"""Convolution layers: Conv1d, Conv2d and ConvTranspose2d (channels first, cross-correlation as
in every deep learning library). All three run on the conv2d kernels (csrc/conv.c): Conv1d as
a height-1 image, ConvTranspose2d through the kernel of conv2d's input gradient."""
from __future__ import annotations

import numpy as np

from ..ops.conv import pair
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter

__all__ = ["Conv1d", "Conv2d", "ConvTranspose2d"]


def _single(value, name: str, op: str) -> int:
    if isinstance(value, (tuple, list)) and len(value) == 1:
        value = value[0]
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{op}: {name} must be an int, got {value!r}")
    return int(value)


class _ConvNd(Module):
    """Parameters, checks and repr shared by the convolution layers."""

    _transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                 bias, padding_mode, tupler):
        super().__init__()
        name = type(self).__name__
        if padding_mode != "zeros":
            raise NotImplementedError(f"{name}: only padding_mode='zeros' is supported, got {padding_mode!r}")
        if in_channels <= 0 or out_channels <= 0:
            raise ValueError(f"{name}: channel counts must be positive, got {in_channels} and {out_channels}")
        if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
            raise ValueError(f"{name}: groups must be a positive int, got {groups!r}")
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"{name}: groups={groups} must divide in_channels={in_channels} and "
                             f"out_channels={out_channels}")
        self.in_channels, self.out_channels, self.groups = int(in_channels), int(out_channels), int(groups)
        self.kernel_size = tupler(kernel_size, "kernel_size")
        self.stride, self.dilation = tupler(stride, "stride"), tupler(dilation, "dilation")
        if isinstance(padding, str):
            if self._transposed or padding not in ("same", "valid"):
                raise ValueError(f"{name}: padding must be an int, a tuple, 'same' or 'valid', got {padding!r}")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError(f"{name}: padding='same' needs stride 1, got stride {self.stride}")
            self.padding = padding
        else:
            self.padding = tupler(padding, "padding")
        shape = ((in_channels, out_channels // groups) if self._transposed
                 else (out_channels, in_channels // groups)) + self.kernel_size
        self.weight = Parameter(np.empty(shape, dtype=np.float32))
        if bias:
            self.bias = Parameter(np.empty(out_channels, dtype=np.float32))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default: weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with
        fan_in = weight.shape[1] * prod(kernel_size)."""
        init.default_weight_(self.weight)
        if self.bias is not None:
            init.default_bias_(self.bias, self.weight)

    def extra_repr(self) -> str:
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        ones = (1,) * len(self.kernel_size)
        if self.padding != (0,) * len(self.kernel_size):
            text += f", padding={self.padding!r}" if isinstance(self.padding, str) else f", padding={self.padding}"
        if self.dilation != ones:
            text += f", dilation={self.dilation}"
        if getattr(self, "output_padding", (0,)) != (0,) * len(getattr(self, "output_padding", (0,))):
            text += f", output_padding={self.output_padding}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        return text


class Conv2d(_ConvNd):
    """2-D convolution.

    x: (N, C_in, H, W) or (C_in, H, W) float32/float64 -> (N, C_out, OH, OW) with
    OH = (H + 2 * padding - dilation * (KH - 1) - 1) // stride + 1 (likewise OW).
    Parameters: ``weight`` (C_out, C_in // groups, KH, KW), ``bias`` (C_out,) or None.
    padding: an int, a pair, "valid" (no padding) or "same" (output as large as the input;
    stride 1 only, the extra cell of an even kernel goes after, as PyTorch). groups=C_in is a
    depthwise convolution. Initialisation (PyTorch's): U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
    fan_in = C_in // groups * KH * KW. Padding modes other than "zeros" raise NotImplementedError.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros"):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, lambda v, name: pair(v, name, "Conv2d"))

    def forward(self, x):
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class Conv1d(_ConvNd):
    """1-D convolution over sequences (audio, text features), run on the conv2d kernel.

    x: (N, C_in, L) or (C_in, L) -> (N, C_out, OL), OL = (L + 2 * padding - dilation * (K - 1) - 1)
    // stride + 1. Parameters: ``weight`` (C_out, C_in // groups, K), ``bias`` (C_out,) or None;
    initialised as PyTorch (U(+-1/sqrt(C_in // groups * K))). padding: an int, "valid" or "same".
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros"):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, lambda v, name: (_single(v, name, "Conv1d"),))

    def forward(self, x):
        padding = self.padding if isinstance(self.padding, str) else self.padding[0]
        return F.conv1d(x, self.weight, self.bias, self.stride[0], padding, self.dilation[0], self.groups)


class ConvTranspose2d(_ConvNd):
    """Transposed 2-D convolution (the adjoint of Conv2d; upsamples by ``stride``).

    x: (N, C_in, H, W) or (C_in, H, W) -> (N, C_out, OH, OW) with
    OH = (H - 1) * stride - 2 * padding + dilation * (KH - 1) + output_padding + 1.
    Parameters (PyTorch's layout): ``weight`` (C_in, C_out // groups, KH, KW), ``bias`` (C_out,),
    initialised U(+-1/sqrt(C_out // groups * KH * KW)) as PyTorch.
    forward(x, output_size=None): output_size (H, W) (or the full shape) picks output_padding.
    """

    _transposed = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 output_padding=0, groups: int = 1, bias: bool = True, dilation=1, padding_mode: str = "zeros"):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, lambda v, name: pair(v, name, "ConvTranspose2d"))
        self.output_padding = pair(output_padding, "output_padding", "ConvTranspose2d")

    def _output_padding(self, x, output_size):
        if output_size is None:
            return self.output_padding
        want = tuple(int(s) for s in output_size)[-2:]
        extra = []
        for axis, size in enumerate(want):
            k = self.dilation[axis] * (self.kernel_size[axis] - 1) + 1
            smallest = (x.shape[-2 + axis] - 1) * self.stride[axis] - 2 * self.padding[axis] + k
            if not 0 <= size - smallest < max(self.stride[axis], self.dilation[axis]):
                raise ValueError(f"ConvTranspose2d: output_size {want} is not reachable from input {x.shape} "
                                 f"(axis {axis}: between {smallest} and "
                                 f"{smallest + max(self.stride[axis], self.dilation[axis]) - 1})")
            extra.append(size - smallest)
        return tuple(extra)

    def forward(self, x, output_size=None):
        return F.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding,
                                  self._output_padding(x, output_size), self.groups, self.dilation)
