"""MLP: the multilayer perceptron of the articles (fully connected layers with activations)."""
from __future__ import annotations

from .. import nn

__all__ = ["MLP"]

_ACTIVATIONS = {
    "relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "gelu": nn.GELU, "leaky_relu": nn.LeakyReLU,
}


def _activation(activation) -> nn.Module:
    if isinstance(activation, str):
        if activation not in _ACTIVATIONS:
            raise ValueError(f"MLP: activation must be one of {sorted(_ACTIVATIONS)} or a Module class, got {activation!r}")
        return _ACTIVATIONS[activation]()
    if isinstance(activation, type) and issubclass(activation, nn.Module):
        return activation()
    raise TypeError(f"MLP: activation must be a name or a Module class, got {activation!r}")


class MLP(nn.Sequential):
    """Linear - activation - ... - Linear, returning logits (no softmax at the end).

    MLP(in_features, hidden=(64, 64), out_features=10, activation="relu")
        hidden: sizes of the hidden layers (an int for one layer, () for plain logistic regression);
        activation: "relu", "tanh", "sigmoid", "gelu", "leaky_relu" or a Module class.
    forward(x): x (N, in_features) float32, or (N, *) which is flattened first (MNIST images
    (N, 1, 28, 28) with in_features=784) -> logits (N, out_features).
    A Sequential underneath, so the parameter names are PyTorch's ``0.weight``, ``0.bias``,
    ``2.weight``, ...
    """

    def __init__(self, in_features: int, hidden=(64, 64), out_features: int = 10, activation="relu"):
        hidden = (hidden,) if isinstance(hidden, int) else tuple(hidden)
        layers = []
        width = in_features
        for size in hidden:
            layers += [nn.Linear(width, size), _activation(activation)]
            width = size
        layers.append(nn.Linear(width, out_features))
        super().__init__(*layers)
        self.in_features, self.hidden, self.out_features = in_features, hidden, out_features

    def forward(self, x):
        if x.ndim > 2:
            x = x.flatten(1)
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ValueError(f"MLP: input {x.shape} should be (N, {self.in_features}) (or flatten to it)")
        return super().forward(x)
