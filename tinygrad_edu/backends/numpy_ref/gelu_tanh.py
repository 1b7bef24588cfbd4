"""GPT-2's GELU, the tanh approximation, forward and backward (C twin: csrc/gelu_tanh.c).

    u = sqrt(2/pi) (x + 0.044715 x^3),  t = tanh(u),  y = x (1 + t) / 2
    dy/dx = (1 + t) / 2 + x (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2) / 2

Written against ``xp``: the same functions are the GPU table's.
"""
import math

from ...device import array_module
from ..contract import kernel

_K0 = math.sqrt(2.0 / math.pi)
_K1 = 0.044715


def _tanh_u(x):
    xp = array_module(x)
    return xp.tanh(x.dtype.type(_K0) * (x + x.dtype.type(_K1) * x * x * x))


@kernel(elementwise=True)
def gelu_tanh_forward(x):
    """y = x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) / 2, elementwise. x: any shape,
    float32 or float64 -> y of x's shape and dtype."""
    return x.dtype.type(0.5) * x * (1 + _tanh_u(x))


@kernel(elementwise=True)
def gelu_tanh_backward(gy, x):
    """gx = gy * dy/dx (see the module docstring); gy and x of one shape and dtype."""
    t = _tanh_u(x)
    du = x.dtype.type(_K0) * (1 + x.dtype.type(3 * _K1) * x * x)
    return gy * (x.dtype.type(0.5) * (1 + t) + x.dtype.type(0.5) * x * (1 - t * t) * du)
