"""The exact GELU, forward and backward (C twin: csrc/activation.c)."""
import math

import numpy as np

from ..contract import kernel


def _normal_cdf_and_pdf(x):
    """Phi(x) = (1 + erf(x / sqrt 2)) / 2 and phi(x) = exp(-x^2 / 2) / sqrt(2 pi), in float64.

    NumPy has no erf, so Python's math.erf is applied to one element at a time: slow, but
    correct to the last bit of float64 and easy to read.
    """
    x64 = x.astype(np.float64)
    erf = np.array([math.erf(v / math.sqrt(2.0)) for v in x64.ravel().tolist()],
                   dtype=np.float64).reshape(x.shape)
    cdf = 0.5 * (1.0 + erf)
    pdf = np.exp(-0.5 * x64 * x64) / math.sqrt(2.0 * math.pi)
    return x64, cdf, pdf


@kernel(elementwise=True, device_generic=False)
def gelu_forward(x):
    """The exact GELU, elementwise: y = x * Phi(x).

    x: any shape, float32 or float64.  Returns y of x's shape and dtype (computed in
    float64, then rounded).
    """
    x64, cdf, _ = _normal_cdf_and_pdf(x)
    return np.array(x64 * cdf, dtype=x.dtype, order="C")


@kernel(elementwise=True, device_generic=False)
def gelu_backward(gy, x):
    """Gradient of the exact GELU: gx = gy * (Phi(x) + x * phi(x)).

    gy, x: the same shape and float dtype.  Returns gx of that shape and dtype.
    """
    x64, cdf, pdf = _normal_cdf_and_pdf(x)
    return np.array(gy.astype(np.float64) * (cdf + x64 * pdf), dtype=x.dtype, order="C")
