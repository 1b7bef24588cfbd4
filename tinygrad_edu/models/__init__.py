"""The models of the articles: MLP, CNN, LSTMClassifier, TransformerClassifier.

All take Tensors and return logits (no softmax or sigmoid at the end):

    from tinygrad_edu.models import CNN
    model = CNN()                        # (N, 1, 28, 28) float32 -> (N, 10)

A trained model goes into one file and back (tinygrad_edu.models.saved, docs/serving.md):

    save_model(model, "cnn.safetensors", classes=list("0123456789"))
    model = load("cnn.safetensors")      # eval mode; model.tge_metadata: classes, input shape, ...

Pretrained-style models have their own packages: ``models.bert`` (the encoder, from a Hugging
Face folder) and ``models.gpt`` (GPT-2: load, train, generate; docs/gpt.md).
"""
from .cnn import CNN
from .lstm import LSTMClassifier
from .mlp import MLP
from .saved import TextEncoder, load, save_model
from .transformer import TransformerClassifier

__all__ = ["MLP", "CNN", "LSTMClassifier", "TransformerClassifier", "save_model", "load", "TextEncoder"]
