"""Activation functions by Keras name: ``Dense(64, activation="relu")``.

Each function maps a Tensor to a Tensor of the same shape (softmax works on the last axis).
``get(identifier)`` turns what a layer receives (a name, None or a callable) into a function;
``None`` and ``"linear"`` are the identity.
"""
from __future__ import annotations

from ..nn import functional as F
from ..tensor import Tensor, where

__all__ = ["relu", "sigmoid", "softmax", "tanh", "linear", "elu", "selu", "softplus", "softsign",
           "swish", "silu", "gelu", "exponential", "get", "serialize"]


def relu(x: Tensor) -> Tensor:
    """max(x, 0)."""
    return x.relu()


def sigmoid(x: Tensor) -> Tensor:
    """1 / (1 + exp(-x))."""
    return x.sigmoid()


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    """exp(x) / sum(exp(x)) along ``axis`` (the last one by default)."""
    if x.ndim < 1:
        raise ValueError(f"softmax: needs at least one axis, got a tensor of shape {x.shape}")
    return x.softmax(axis)


def tanh(x: Tensor) -> Tensor:
    return x.tanh()


def linear(x: Tensor) -> Tensor:
    """The identity (what ``activation=None`` means)."""
    return x


def elu(x: Tensor, alpha: float = 1.0) -> Tensor:
    """x for x > 0, alpha * (exp(x) - 1) otherwise."""
    # exp of min(x, 0): the branch that is thrown away never overflows (no inf * 0 = NaN in backward)
    negative = (x.minimum(0.0).exp() - 1.0) * alpha
    return where(x > 0, x, negative)


def selu(x: Tensor) -> Tensor:
    """scale * elu(x, alpha) with the self-normalising constants of Klambauer et al."""
    alpha, scale = 1.6732632423543772, 1.0507009873554805
    return elu(x, alpha) * scale


def softplus(x: Tensor) -> Tensor:
    """log(1 + exp(x)), written as relu(x) + log(1 + exp(-|x|)) so that it never overflows."""
    return x.relu() + ((-x.abs()).exp() + 1.0).log()


def softsign(x: Tensor) -> Tensor:
    """x / (1 + |x|)."""
    return x / (x.abs() + 1.0)


def swish(x: Tensor) -> Tensor:
    """x * sigmoid(x) (also called silu)."""
    return x * x.sigmoid()


silu = swish


def gelu(x: Tensor, approximate: bool = False) -> Tensor:
    """x * Phi(x), exact (erf) by default as Keras; approximate=True uses the tanh formula."""
    return F.gelu(x, approximate="tanh" if approximate else "none")


def exponential(x: Tensor) -> Tensor:
    return x.exp()


_BY_NAME = {
    "relu": relu, "sigmoid": sigmoid, "softmax": softmax, "tanh": tanh, "linear": linear,
    "elu": elu, "selu": selu, "softplus": softplus, "softsign": softsign, "swish": swish,
    "silu": silu, "gelu": gelu, "exponential": exponential,
}


def get(identifier):
    """A name (``"relu"``), ``None`` (the identity) or a callable -> a Tensor -> Tensor function.

    Raises ValueError for an unknown name (listing the known ones), TypeError otherwise.
    """
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        try:
            return _BY_NAME[identifier]
        except KeyError:
            raise ValueError(
                f"unknown activation {identifier!r}; expected one of {sorted(_BY_NAME)} or a callable"
            ) from None
    if callable(identifier):
        return identifier
    raise TypeError(f"activation must be a name, None or a callable, got {type(identifier).__name__}")


def serialize(fn) -> str:
    """The Keras name of an activation function (or its __name__ for a user function)."""
    for name, known in _BY_NAME.items():
        if fn is known:
            return "swish" if known is swish else name
    return getattr(fn, "__name__", repr(fn))
