"""Keras layers, by family (each a module of this package; the names are all here).

Layers follow Keras, not PyTorch:

* weights are laid out as Keras stores them: Dense ``kernel`` (in, units), Conv2D ``kernel``
  (kh, kw, in_channels, filters), LSTM ``kernel`` (in, 4U), ``recurrent_kernel`` (U, 4U) and
  ONE ``bias`` (4U,) with the gates in the order input, forget, cell, output;
* Keras's initialisers: glorot_uniform kernels, zero biases, an orthogonal recurrent kernel,
  the LSTM forget-gate bias at 1 (``unit_forget_bias``), Embedding uniform(-0.05, 0.05);
* images are channels-last, (N, H, W, C); shapes are written with ``None`` for the batch axis.

Every layer runs on the kernels of its ``nn`` twin (Dense: F.linear, Conv2D: F.conv2d,
LSTM: nn.LSTM's fused sequence kernel, ...). A layer creates its weights in
``build(input_shape)``, when a model learns its input shape, when it is called on a
``keras.Input`` (functional API), or on its first call on data. Every layer is also an
``nn.Module``.

    base            Layer, InputLayer, Input, KerasTensor
    core            Dense, Activation, Dropout, Flatten, Reshape, Rescaling, Embedding
    conv            Conv1D, Conv2D, MaxPooling2D, AveragePooling2D, Global*Pooling*
    recurrent       SimpleRNN, LSTM, GRU, Bidirectional
    normalization   BatchNormalization, LayerNormalization
    merge           Add, Subtract, Multiply, Average, Concatenate
    attention       MultiHeadAttention
    text            TextVectorization
"""
from .attention import MultiHeadAttention
from .base import Input, InputLayer, KerasTensor, Layer, Node
from .conv import (AveragePooling2D, Conv1D, Conv2D, GlobalAveragePooling1D, GlobalAveragePooling2D,
                   GlobalMaxPooling1D, GlobalMaxPooling2D, MaxPooling2D)
from .core import Activation, Dense, Dropout, Embedding, Flatten, Reshape, Rescaling
from .merge import Add, Average, Concatenate, Multiply, Subtract
from .normalization import BatchNormalization, LayerNormalization
from .recurrent import GRU, LSTM, Bidirectional, SimpleRNN
from .text import TextVectorization

# Keras's aliases
MaxPool2D, AvgPool2D = MaxPooling2D, AveragePooling2D
GlobalAvgPool1D, GlobalAvgPool2D, GlobalMaxPool1D = GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalMaxPooling1D
Convolution1D, Convolution2D = Conv1D, Conv2D

__all__ = ["Layer", "InputLayer", "Input", "KerasTensor", "Node", "Dense", "Activation", "Dropout", "Flatten", "Reshape",
           "Rescaling", "Embedding", "Conv1D", "Conv2D", "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling1D",
           "GlobalAveragePooling2D", "GlobalMaxPooling1D", "GlobalMaxPooling2D", "SimpleRNN", "LSTM", "GRU",
           "Bidirectional", "BatchNormalization", "LayerNormalization", "Add", "Subtract", "Multiply", "Average",
           "Concatenate", "MultiHeadAttention", "TextVectorization", "MaxPool2D", "AvgPool2D", "GlobalAvgPool1D",
           "GlobalAvgPool2D", "GlobalMaxPool1D", "Convolution1D", "Convolution2D", "get_layer_class",
           "serialize", "deserialize"]


def get_layer_class(class_name: str):
    """The layer (or model) class called ``class_name``, for loading saved configs."""
    if class_name in ("Sequential", "Functional", "Model"):
        from .. import models

        return models.Sequential if class_name == "Sequential" else models.Functional
    cls = globals().get(class_name)
    if not (isinstance(cls, type) and issubclass(cls, Layer)):
        raise ValueError(f"unknown layer class {class_name!r} in a saved config")
    return cls


def serialize(layer) -> dict:
    """``{"class_name": ..., "config": layer.get_config()}``."""
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


def deserialize(config: dict):
    """A new layer from ``serialize``'s dict."""
    return get_layer_class(config["class_name"]).from_config(dict(config["config"]))
