"""The models of the articles: MLP, CNN, LSTMClassifier, TransformerClassifier.

All take Tensors and return logits (no softmax or sigmoid at the end):

    from tinygrad_edu.models import CNN
    model = CNN()                        # (N, 1, 28, 28) float32 -> (N, 10)
"""
from .cnn import CNN
from .lstm import LSTMClassifier
from .mlp import MLP
from .transformer import TransformerClassifier

__all__ = ["MLP", "CNN", "LSTMClassifier", "TransformerClassifier"]
