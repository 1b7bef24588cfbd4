"""The rectifier, forward and backward (C twin: csrc/relu.c).  Works on NumPy and CuPy."""
import numpy as np

from ...device import array_module
from ..contract import kernel


@kernel(elementwise=True)
def relu_forward(x):
    """y = x where x > 0, else +0 (relu(-inf) = 0; NaN stays NaN).  Any shape.

    A select rather than x * (x > 0), whose -inf * 0 would be NaN; the C kernel does the same.
    """
    return array_module(x).where(x <= 0, x.dtype.type(0), x)


@kernel(elementwise=True)
def relu_backward(gy, x):
    """gx = gy * (x > 0), with x the forward input.  gy, x: one shape and float dtype."""
    with np.errstate(invalid="ignore"):
        return gy * (x > 0)
