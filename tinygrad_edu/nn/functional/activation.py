"""Activations of nn.functional: elementwise maps (and softmax along an axis) that keep the
input's shape and dtype."""
from __future__ import annotations

from ...ops import elementwise as E
from ...ops import normalization as NormOps
from ...tensor import Tensor
from ._checks import _float, _tensor

def relu(x: Tensor) -> Tensor:
    """max(x, 0), elementwise. Any shape."""
    return _tensor(x, "x", "relu").relu()


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    """x if x > 0 else negative_slope * x. Any shape."""
    return E.LeakyReLU.apply(_float(x, "x", "leaky_relu"), negative_slope=float(negative_slope))


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """x * Phi(x) with the exact normal CDF (erf), or its tanh approximation. Any shape."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return E.GELU.apply(_float(x, "x", "gelu"), approximate=approximate)


def sigmoid(x: Tensor) -> Tensor:
    """1 / (1 + e^-x), computed without overflow. Any shape."""
    return _tensor(x, "x", "sigmoid").sigmoid()


def tanh(x: Tensor) -> Tensor:
    """Hyperbolic tangent, elementwise. Any shape."""
    return _tensor(x, "x", "tanh").tanh()


def softmax(x: Tensor, axis: int = -1, *, dim=None) -> Tensor:
    """exp(x) / sum(exp(x)) along ``axis``, shifted by the max so that it never overflows.
    Any shape; returns x's shape."""
    return _tensor(x, "x", "softmax").softmax(axis if dim is None else dim)


def log_softmax(x: Tensor, axis: int = -1, *, dim=None) -> Tensor:
    """x - logsumexp(x) along ``axis`` (stable for logits of any size). Any shape; returns x's shape."""
    return _tensor(x, "x", "log_softmax").log_softmax(axis if dim is None else dim)




def silu(x: Tensor) -> Tensor:
    """x * sigmoid(x) (the "swish"), elementwise. Any shape."""
    return NormOps.SiLU.apply(_float(x, "x", "silu"))


def softplus(x: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta * x)) / beta, and x itself where beta * x > threshold (as PyTorch).
    Any shape."""
    if beta == 0:
        raise ValueError("softplus: beta must not be 0")
    return NormOps.Softplus.apply(_float(x, "x", "softplus"), beta=float(beta), threshold=float(threshold))


def elu(x: Tensor, alpha: float = 1.0) -> Tensor:
    """x where x > 0, alpha * (exp(x) - 1) elsewhere. Any shape. (The exponential is taken
    of min(x, 0), so a large positive x never overflows into the unused branch.)"""
    from ...creation import where

    x = _float(x, "x", "elu")
    return where(x.data > 0, x, (x.clamp(max=0.0).exp() - 1.0) * float(alpha))
