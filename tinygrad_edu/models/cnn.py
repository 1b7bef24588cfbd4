"""CNN: the small convolutional network of the MNIST articles."""
from __future__ import annotations

from .. import nn

__all__ = ["CNN"]


class CNN(nn.Module):
    """Conv(32, 3x3) - ReLU - MaxPool 2 - Conv(64, 3x3) - ReLU - MaxPool 2 - Conv(64, 3x3) - ReLU
    - Flatten - Linear(576, 64) - ReLU - Linear(64, num_classes).

    CNN(in_channels=1, num_classes=10)
    forward(x): x (N, in_channels, 28, 28) float32 -> logits (N, num_classes). The spatial size
    goes 28 -> 26 -> 13 -> 11 -> 5 -> 3, so the flattened features are 64 * 3 * 3 = 576; other
    image sizes are refused with a ValueError.
    Parameters per layer (in_channels=1, 10 classes): 320, 18,496, 36,928, 36,928, 650
    (93,322 in total), under ``features.0``, ``features.3``, ``features.6``, ``classifier.1``,
    ``classifier.3``.
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 10):
        super().__init__()
        self.in_channels, self.num_classes = in_channels, num_classes
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(64, 64, 3), nn.ReLU(),
        )
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(64 * 3 * 3, 64), nn.ReLU(), nn.Linear(64, num_classes))

    def forward(self, x):
        if x.ndim != 4 or x.shape[1:] != (self.in_channels, 28, 28):
            raise ValueError(f"CNN: input {x.shape} should be (N, {self.in_channels}, 28, 28)")
        return self.classifier(self.features(x))
