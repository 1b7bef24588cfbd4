"""Parameter initialisers, named and defined as in ``torch.nn.init``.

Each one fills a tensor in place (no gradient is recorded) with numbers drawn from the
library's generator (``rng.generator()``, so ``tge.manual_seed`` makes them reproducible) and
returns the tensor. Values are drawn in float64 and rounded to the tensor's dtype.

Fans, for a weight of shape (out, in, *kernel):  fan_in = in * prod(kernel),
fan_out = out * prod(kernel). The formulas:

    xavier_uniform_   U(-b, b),  b = gain * sqrt(6 / (fan_in + fan_out))
    xavier_normal_    N(0, s^2), s = gain * sqrt(2 / (fan_in + fan_out))
    kaiming_uniform_  U(-b, b),  b = gain * sqrt(3 / fan)       gain = calculate_gain(nonlinearity, a)
    kaiming_normal_   N(0, s^2), s = gain / sqrt(fan)
    orthogonal_       the Q of a QR decomposition of a Gaussian matrix (signs fixed), times gain

PyTorch's default for Linear and Conv2d, ``kaiming_uniform_(w, a=sqrt(5))``, works out to
U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
"""
from __future__ import annotations

import math

import numpy as np

from .. import rng
from ..device import move
from ..tensor import Tensor

__all__ = [
    "calculate_gain", "uniform_", "normal_", "constant_", "zeros_", "ones_", "eye_",
    "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "orthogonal_",
    "trunc_normal_",
]


def calculate_gain(nonlinearity: str, param=None) -> float:
    """The recommended scale for weights feeding ``nonlinearity`` (PyTorch's table).

    linear, conv*, sigmoid: 1;  tanh: 5/3;  relu: sqrt(2);  selu: 3/4;
    leaky_relu: sqrt(2 / (1 + slope^2)) with slope = param (default 0.01).
    """
    linear_like = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                   "conv_transpose3d", "sigmoid")
    if nonlinearity in linear_like:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "selu":
        return 3.0 / 4
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = float(param)
        else:
            raise ValueError(f"calculate_gain: negative slope {param!r} is not a number")
        return math.sqrt(2.0 / (1 + slope**2))
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def _check(tensor, op: str) -> Tensor:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"nn.init.{op}: expected a Tensor, got {type(tensor).__name__}")
    if tensor.dtype.kind != "f":
        raise TypeError(f"nn.init.{op}: expected a float32/float64 tensor, got {tensor.dtype}")
    return tensor


def _fill(tensor: Tensor, values) -> Tensor:
    """Write ``values`` (a host array or scalar) into ``tensor`` in place, keeping its dtype and device."""
    array = np.broadcast_to(np.asarray(values, dtype=tensor.dtype), tensor.shape)
    array = move(np.ascontiguousarray(array), tensor.device)
    if tensor.device == "cpu" and not tensor.data.flags.writeable:
        tensor.data = array.copy()
    else:
        tensor.data[...] = array
    tensor._bump_version()
    return tensor


def _calculate_fans(tensor: Tensor, op: str) -> tuple:
    if tensor.ndim < 2:
        raise ValueError(
            f"nn.init.{op}: fan in and fan out need a tensor with at least 2 dimensions, got shape {tensor.shape}"
        )
    receptive = int(np.prod(tensor.shape[2:])) if tensor.ndim > 2 else 1
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _fan(tensor: Tensor, mode: str, op: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"nn.init.{op}: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _calculate_fans(tensor, op)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """Fill with U(a, b)."""
    _check(tensor, "uniform_")
    if not a <= b:
        raise ValueError(f"nn.init.uniform_: need a <= b, got a={a}, b={b}")
    return _fill(tensor, rng.generator().uniform(a, b, size=tensor.shape))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    """Fill with N(mean, std^2)."""
    _check(tensor, "normal_")
    if std < 0:
        raise ValueError(f"nn.init.normal_: std must be >= 0, got {std}")
    return _fill(tensor, rng.generator().normal(mean, std, size=tensor.shape))


def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0) -> Tensor:
    """Fill with N(mean, std^2) restricted to [a, b] (redrawing the values that fall outside)."""
    _check(tensor, "trunc_normal_")
    if not a < b:
        raise ValueError(f"nn.init.trunc_normal_: need a < b, got a={a}, b={b}")
    gen = rng.generator()
    values = gen.normal(mean, std, size=tensor.shape)
    outside = (values < a) | (values > b)
    while outside.any():
        values[outside] = gen.normal(mean, std, size=int(outside.sum()))
        outside = (values < a) | (values > b)
    return _fill(tensor, values)


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with the value ``val``."""
    return _fill(_check(tensor, "constant_"), val)


def zeros_(tensor: Tensor) -> Tensor:
    return _fill(_check(tensor, "zeros_"), 0.0)


def ones_(tensor: Tensor) -> Tensor:
    return _fill(_check(tensor, "ones_"), 1.0)


def eye_(tensor: Tensor) -> Tensor:
    """Fill a 2-D tensor with the identity matrix (ones on the diagonal)."""
    _check(tensor, "eye_")
    if tensor.ndim != 2:
        raise ValueError(f"nn.init.eye_: expected a 2-D tensor, got shape {tensor.shape}")
    return _fill(tensor, np.eye(*tensor.shape))


def xavier_uniform_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """Glorot uniform: U(-b, b) with b = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fans(_check(tensor, "xavier_uniform_"), "xavier_uniform_")
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return _fill(tensor, rng.generator().uniform(-bound, bound, size=tensor.shape))


def xavier_normal_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """Glorot normal: N(0, s^2) with s = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fans(_check(tensor, "xavier_normal_"), "xavier_normal_")
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    return _fill(tensor, rng.generator().normal(0.0, std, size=tensor.shape))


def kaiming_uniform_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu") -> Tensor:
    """He uniform: U(-b, b) with b = gain * sqrt(3 / fan), gain = calculate_gain(nonlinearity, a)."""
    _check(tensor, "kaiming_uniform_")
    fan = _fan(tensor, mode, "kaiming_uniform_")
    if fan == 0:
        raise ValueError(f"nn.init.kaiming_uniform_: a tensor of shape {tensor.shape} has a zero fan")
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / fan)
    return _fill(tensor, rng.generator().uniform(-bound, bound, size=tensor.shape))


def kaiming_normal_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu") -> Tensor:
    """He normal: N(0, s^2) with s = gain / sqrt(fan), gain = calculate_gain(nonlinearity, a)."""
    _check(tensor, "kaiming_normal_")
    fan = _fan(tensor, mode, "kaiming_normal_")
    if fan == 0:
        raise ValueError(f"nn.init.kaiming_normal_: a tensor of shape {tensor.shape} has a zero fan")
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return _fill(tensor, rng.generator().normal(0.0, std, size=tensor.shape))


def orthogonal_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """A (semi-)orthogonal matrix: rows x cols with rows = shape[0], cols = the rest flattened.

    Q of the QR decomposition of a Gaussian matrix, with each column's sign chosen so that the
    diagonal of R is positive (that makes Q uniformly distributed), then scaled by ``gain``.
    """
    _check(tensor, "orthogonal_")
    if tensor.ndim < 2:
        raise ValueError(f"nn.init.orthogonal_: needs at least 2 dimensions, got shape {tensor.shape}")
    if tensor.numel() == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    flat = rng.generator().standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, (gain * q).reshape(tensor.shape))


# ------------------------------------------------------------------ PyTorch's layer defaults
def default_weight_(weight: Tensor) -> Tensor:
    """PyTorch's Linear/Conv weight default: kaiming_uniform_(a=sqrt(5)) = U(+-1/sqrt(fan_in))."""
    return kaiming_uniform_(weight, a=math.sqrt(5))


def default_bias_(bias: Tensor, weight: Tensor) -> Tensor:
    """PyTorch's Linear/Conv bias default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (zeros when fan_in is 0)."""
    fan_in, _ = _calculate_fans(weight, "default_bias_")
    bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
    return uniform_(bias, -bound, bound)
