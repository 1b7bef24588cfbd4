"""Linear, convolution, pooling and padding in nn.functional (NCHW / NCL layouts)."""
from __future__ import annotations

import numpy as np

from ...ops import nn as NNOps
from ...ops.conv import Conv2d, ConvTranspose2d, conv_output_size, pair
from ...ops.pool import AvgPool2d, MaxPool2d
from ...tensor import Tensor, cat, stack
from ._checks import _float, _same_dtype, _tensor

def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x @ weight.T + bias.  x: (*, in), weight: (out, in), bias: (out,) -> (*, out)."""
    x, weight = _linear_inputs(x, weight, bias)
    if bias is None:
        return NNOps.Linear.apply(x, weight)
    return NNOps.Linear.apply(x, weight, bias)


def linear_relu(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """relu(x @ weight.T + bias) as one graph node (ops/nn.py LinearReLU): what nn.Sequential
    runs for a Linear followed by a ReLU.  Shapes and checks as :func:`linear`."""
    x, weight = _linear_inputs(x, weight, bias)
    if bias is None:
        return NNOps.LinearReLU.apply(x, weight)
    return NNOps.LinearReLU.apply(x, weight, bias)


def _linear_inputs(x, weight, bias):
    """The checks of linear(): x and weight as float Tensors, shapes and dtypes consistent."""
    x, weight = _float(x, "x", "linear"), _float(weight, "weight", "linear")
    if weight.ndim != 2:
        raise ValueError(f"linear: weight must be 2-D (out, in), got shape {weight.shape}")
    if x.ndim < 1 or x.shape[-1] != weight.shape[1]:
        raise ValueError(
            f"linear: input {x.shape} has {x.shape[-1] if x.ndim else 0} features, "
            f"weight {weight.shape} expects {weight.shape[1]}"
        )
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ValueError(f"linear: bias shape {bias.shape} should be ({weight.shape[0]},) for weight {weight.shape}")
    _same_dtype("linear", x=x, weight=weight, bias=bias)
    return x, weight


def dilate_weight(weight: Tensor, dilation) -> Tensor:
    """Spread a (O, C, KH, KW) kernel with ``dilation - 1`` zeros between its taps:
    (O, C, (KH - 1) * dh + 1, (KW - 1) * dw + 1). A dilated convolution is an ordinary one with
    this kernel; the gradient flows back through the reshape/pad/slice to the real taps."""
    dh, dw = dilation
    if (dh, dw) == (1, 1):
        return weight
    o, c, kh, kw = weight.shape
    spread = weight.reshape(o, c, kh, 1, kw, 1).pad(((0, 0), (0, 0), (0, 0), (0, dh - 1), (0, 0), (0, dw - 1)))
    return spread.reshape(o, c, kh * dh, kw * dw)[:, :, : (kh - 1) * dh + 1, : (kw - 1) * dw + 1]


def _same_padding(x: Tensor, kernel, dilation) -> Tensor:
    """Zero-pad x so that a stride-1 convolution keeps H and W: total d * (k - 1) per axis,
    half before and the rest after (PyTorch's choice for padding='same')."""
    th, tw = dilation[0] * (kernel[0] - 1), dilation[1] * (kernel[1] - 1)
    return x.pad(((0, 0), (0, 0), (th // 2, th - th // 2), (tw // 2, tw - tw // 2)))


def _groups(groups, channels_in, channels_out, op) -> int:
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    if channels_in % groups or channels_out % groups:
        raise ValueError(f"{op}: groups={groups} must divide both the {channels_in} input and "
                         f"{channels_out} output channels")
    return int(groups)


def conv2d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """2-D cross-correlation.

    x: (N, C, H, W) (or (C, H, W)), weight: (O, C // groups, KH, KW), bias: (O,) ->
    (N, O, OH, OW) with OH = (H + 2 * padding - dilation * (KH - 1) - 1) // stride + 1.
    padding: an int, a pair, "valid" or "same" (stride 1). ``groups`` splits the channels into
    independent convolutions (groups == C is the depthwise convolution); ``dilation`` spaces
    the kernel taps.
    """
    x, weight = _float(x, "x", "conv2d"), _float(weight, "weight", "conv2d")
    if x.ndim == 3:
        return conv2d(x.unsqueeze(0), weight, bias, stride, padding, dilation, groups)[0]
    if x.ndim != 4 or weight.ndim != 4:
        raise ValueError(f"conv2d: expected x (N, C, H, W) and weight (O, C, KH, KW), got {x.shape} and {weight.shape}")
    stride, dilation = pair(stride, "stride", "conv2d"), pair(dilation, "dilation", "conv2d")
    if min(dilation) < 1:
        raise ValueError(f"conv2d: dilation {dilation} must be >= 1")
    groups = _groups(groups, x.shape[1], weight.shape[0], "conv2d")
    if x.shape[1] != weight.shape[1] * groups:
        raise ValueError(
            f"conv2d: x {x.shape} has {x.shape[1]} channels but weight {weight.shape} with groups={groups} "
            f"expects {weight.shape[1] * groups}"
        )
    if isinstance(padding, str):
        if padding not in ("same", "valid"):
            raise ValueError(f"conv2d: padding must be an int, a pair, 'same' or 'valid', got {padding!r}")
        if padding == "same":
            if stride != (1, 1):
                raise ValueError(f"conv2d: padding='same' needs stride 1, got stride {stride}")
            x = _same_padding(x, weight.shape[2:], dilation)
        padding = (0, 0)
    padding = pair(padding, "padding", "conv2d")
    if min(stride) < 1 or min(padding) < 0:
        raise ValueError(f"conv2d: stride {stride} must be >= 1 and padding {padding} >= 0")
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ValueError(f"conv2d: bias shape {bias.shape} should be ({weight.shape[0]},)")
    _same_dtype("conv2d", x=x, weight=weight, bias=bias)
    weight = dilate_weight(weight, dilation)
    kh, kw = weight.shape[2:]
    oh = conv_output_size(x.shape[2], kh, stride[0], padding[0])
    ow = conv_output_size(x.shape[3], kw, stride[1], padding[1])
    if oh < 1 or ow < 1 or kh < 1 or kw < 1:
        raise ValueError(
            f"conv2d: kernel {(kh, kw)} (dilation {dilation}) with padding {padding} does not fit input "
            f"{x.shape} (output would be {oh}x{ow})"
        )
    if groups > 1:  # one ordinary convolution per group of channels, joined along the channels
        ci, co = x.shape[1] // groups, weight.shape[0] // groups
        outs = [conv2d(x[:, g * ci:(g + 1) * ci], weight[g * co:(g + 1) * co],
                       None if bias is None else bias[g * co:(g + 1) * co], stride, padding)
                for g in range(groups)]
        return cat(outs, axis=1)
    if bias is None:
        return Conv2d.apply(x, weight, stride=stride, padding=padding)
    return Conv2d.apply(x, weight, bias, stride=stride, padding=padding)


def conv1d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """1-D cross-correlation, run as conv2d over a height-1 image (the same C kernel).

    x: (N, C, L) (or (C, L)), weight: (O, C // groups, K), bias: (O,) -> (N, O, OL) with
    OL = (L + 2 * padding - dilation * (K - 1) - 1) // stride + 1. padding: an int, "valid"
    or "same".
    """
    x, weight = _float(x, "x", "conv1d"), _float(weight, "weight", "conv1d")
    if x.ndim == 2:
        return conv1d(x.unsqueeze(0), weight, bias, stride, padding, dilation, groups)[0]
    if x.ndim != 3 or weight.ndim != 3:
        raise ValueError(f"conv1d: expected x (N, C, L) and weight (O, C, K), got {x.shape} and {weight.shape}")
    stride, dilation, padding = (v[0] if isinstance(v, (tuple, list)) and len(v) == 1 else v
                                 for v in (stride, dilation, padding))
    for name, v in (("stride", stride), ("dilation", dilation), ("padding", padding)):
        if not isinstance(v, (int, np.integer)) and not (name == "padding" and isinstance(v, str)):
            raise TypeError(f"conv1d: {name} must be an int, got {v!r}")
    pad2 = padding if isinstance(padding, str) else (0, int(padding))
    y = conv2d(x.unsqueeze(2), weight.unsqueeze(2), bias, (1, int(stride)), pad2, (1, int(dilation)), groups)
    return y.squeeze(2)


def conv_transpose2d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
                     output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """The transpose (adjoint) of conv2d, often called a "deconvolution": every input cell
    scatters weight * value into a (KH, KW) patch of the output.

    x: (N, C_in, H, W) (or (C_in, H, W)), weight: (C_in, C_out // groups, KH, KW) (PyTorch's
    layout), bias: (C_out,) -> (N, C_out, OH, OW) with
    OH = (H - 1) * stride - 2 * padding + dilation * (KH - 1) + output_padding + 1.
    output_padding (< stride or < dilation) adds cells at the bottom/right.
    """
    op = "conv_transpose2d"
    x, weight = _float(x, "x", op), _float(weight, "weight", op)
    if x.ndim == 3:
        return conv_transpose2d(x.unsqueeze(0), weight, bias, stride, padding, output_padding, groups, dilation)[0]
    if x.ndim != 4 or weight.ndim != 4:
        raise ValueError(f"{op}: expected x (N, C_in, H, W) and weight (C_in, C_out, KH, KW), got {x.shape} and {weight.shape}")
    stride, padding = pair(stride, "stride", op), pair(padding, "padding", op)
    output_padding, dilation = pair(output_padding, "output_padding", op), pair(dilation, "dilation", op)
    groups = _groups(groups, weight.shape[0], weight.shape[0], op)  # C_out is C_out/groups * groups
    if x.shape[1] != weight.shape[0]:
        raise ValueError(f"{op}: x {x.shape} has {x.shape[1]} channels but weight {weight.shape} expects {weight.shape[0]}")
    if min(stride) < 1 or min(dilation) < 1 or min(padding) < 0 or min(output_padding) < 0:
        raise ValueError(f"{op}: stride {stride} and dilation {dilation} must be >= 1, padding {padding} and "
                         f"output_padding {output_padding} >= 0")
    if any(op_ >= max(s, d) for op_, s, d in zip(output_padding, stride, dilation)):
        raise ValueError(f"{op}: output_padding {output_padding} must be smaller than stride {stride} or dilation {dilation}")
    c_out = weight.shape[1] * groups
    if bias is not None and bias.shape != (c_out,):
        raise ValueError(f"{op}: bias shape {bias.shape} should be ({c_out},)")
    _same_dtype(op, x=x, weight=weight, bias=bias)
    weight = dilate_weight(weight, dilation)
    kh, kw = weight.shape[2:]
    out_hw = tuple((size - 1) * s - 2 * p + k + o for size, s, p, k, o in
                   zip(x.shape[2:], stride, padding, (kh, kw), output_padding))
    if min(out_hw) < 1:
        raise ValueError(f"{op}: input {x.shape} with kernel {(kh, kw)}, stride {stride}, padding {padding} "
                         f"gives an empty output {out_hw}")
    if groups > 1:
        ci, co = x.shape[1] // groups, weight.shape[1]
        outs = [conv_transpose2d(x[:, g * ci:(g + 1) * ci], weight[g * ci:(g + 1) * ci],
                                 None if bias is None else bias[g * co:(g + 1) * co], stride, padding,
                                 output_padding)
                for g in range(groups)]
        return cat(outs, axis=1)
    y = ConvTranspose2d.apply(x, weight, out_hw=out_hw, stride=stride, padding=padding)
    return y if bias is None else y + bias.reshape(1, -1, 1, 1)


def _pool_args(x, kernel_size, stride, padding, op):
    x = _float(x, "x", op)
    kernel = pair(kernel_size, "kernel_size", op)
    stride = kernel if stride is None else pair(stride, "stride", op)
    padding = pair(padding, "padding", op)
    if x.ndim != 4:
        raise ValueError(f"{op}: expected x of shape (N, C, H, W), got {x.shape}")
    if min(kernel) < 1 or min(stride) < 1 or min(padding) < 0:
        raise ValueError(f"{op}: kernel {kernel} and stride {stride} must be >= 1, padding {padding} >= 0")
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise ValueError(f"{op}: padding {padding} must be at most half of kernel {kernel}")
    oh = conv_output_size(x.shape[2], kernel[0], stride[0], padding[0])
    ow = conv_output_size(x.shape[3], kernel[1], stride[1], padding[1])
    if oh < 1 or ow < 1:
        raise ValueError(f"{op}: kernel {kernel} with padding {padding} does not fit input {x.shape}")
    return x, kernel, stride, padding


def max_pool2d(x: Tensor, kernel_size, stride=None, padding=0) -> Tensor:
    """Largest value of each (kh, kw) window. x: (N, C, H, W) -> (N, C, OH, OW); stride defaults to kernel_size."""
    if isinstance(x, Tensor) and x.ndim == 3:
        return max_pool2d(x.unsqueeze(0), kernel_size, stride, padding)[0]
    x, kernel, stride, padding = _pool_args(x, kernel_size, stride, padding, "max_pool2d")
    return MaxPool2d.apply(x, kernel_size=kernel, stride=stride, padding=padding)


def avg_pool2d(x: Tensor, kernel_size, stride=None, padding=0) -> Tensor:
    """Mean of each window, padding counted in the divisor. x: (N, C, H, W) -> (N, C, OH, OW)."""
    if isinstance(x, Tensor) and x.ndim == 3:
        return avg_pool2d(x.unsqueeze(0), kernel_size, stride, padding)[0]
    x, kernel, stride, padding = _pool_args(x, kernel_size, stride, padding, "avg_pool2d")
    return AvgPool2d.apply(x, kernel_size=kernel, stride=stride, padding=padding)


def pad(x: Tensor, pad, mode: str = "constant", value: float = 0.0) -> Tensor:
    """PyTorch-style padding: ``pad`` = (left, right) for the last axis, then (top, bottom) for
    the one before, and so on. Only ``mode="constant"``. (``Tensor.pad`` takes NumPy-style widths.)
    x: any shape; the padded axes grow by before + after: (N, C, H, W) with pad=(1, 1, 2, 2) ->
    (N, C, H + 4, W + 2)."""
    x = _tensor(x, "x", "pad")
    if mode != "constant":
        raise ValueError(f"pad: only mode='constant' is supported, got {mode!r}")
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(f"pad: {pad} must hold one (before, after) pair per padded axis of {x.shape}")
    widths = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        widths[x.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    return x.pad(widths, value=value)




def _adaptive_bounds(size: int, out: int):
    """PyTorch's windows for adaptive pooling: cell i covers [floor(i*size/out), ceil((i+1)*size/out))."""
    return [((i * size) // out, -((-(i + 1) * size) // out)) for i in range(out)]


def adaptive_avg_pool2d(x: Tensor, output_size) -> Tensor:
    """Average pooling to a fixed output size, whatever the input size.

    x: (N, C, H, W) or (C, H, W) -> (N, C, OH, OW); output_size: an int or a pair (None keeps
    that axis). Cell (i, j) averages rows [floor(i*H/OH), ceil((i+1)*H/OH)) and likewise
    columns, as PyTorch; windows may overlap when OH does not divide H.
    """
    x = _float(x, "x", "adaptive_avg_pool2d")
    if x.ndim == 3:
        return adaptive_avg_pool2d(x.unsqueeze(0), output_size)[0]
    if x.ndim != 4:
        raise ValueError(f"adaptive_avg_pool2d: expected x of shape (N, C, H, W), got {x.shape}")
    if not isinstance(output_size, (tuple, list)):
        output_size = (output_size, output_size)
    oh, ow = (x.shape[2 + i] if s is None else s for i, s in enumerate(output_size))
    oh, ow = pair((oh, ow), "output_size", "adaptive_avg_pool2d")
    if oh < 1 or ow < 1:
        raise ValueError(f"adaptive_avg_pool2d: output_size {(oh, ow)} must be positive")
    h, w = x.shape[2:]
    if h % oh == 0 and w % ow == 0:  # equal windows: one ordinary average pooling
        return avg_pool2d(x, (h // oh, w // ow))
    rows = []
    for r0, r1 in _adaptive_bounds(h, oh):
        rows.append(stack([x[:, :, r0:r1, c0:c1].mean(axis=(2, 3)) for c0, c1 in _adaptive_bounds(w, ow)], axis=-1))
    return stack(rows, axis=-2)



def _pool1d(x, kernel_size, stride, padding, op, pool2d):
    x = _float(x, "x", op)
    if x.ndim not in (2, 3):
        raise ValueError(f"{op}: expected x of shape (N, C, L) or (C, L), got {x.shape}")
    one = lambda v, name: (v[0] if isinstance(v, (tuple, list)) and len(v) == 1 else v)  # noqa: E731
    k, s, p = one(kernel_size, "kernel_size"), one(kernel_size if stride is None else stride, "stride"), one(padding, "padding")
    return pool2d(x.unsqueeze(-2), (1, k), (1, s), (0, p)).squeeze(-2)


def max_pool1d(x: Tensor, kernel_size, stride=None, padding=0) -> Tensor:
    """Largest value of each window along the last axis (on the 2-D pooling kernel).
    x: (N, C, L) or (C, L) -> (N, C, OL), OL = (L + 2 * padding - kernel_size) // stride + 1."""
    return _pool1d(x, kernel_size, stride, padding, "max_pool1d", max_pool2d)


def avg_pool1d(x: Tensor, kernel_size, stride=None, padding=0) -> Tensor:
    """Mean of each window along the last axis (padding counted). x: (N, C, L) -> (N, C, OL)."""
    return _pool1d(x, kernel_size, stride, padding, "avg_pool1d", avg_pool2d)
