"""tinygrad_edu.keras: the Keras-style front end, so that the articles' Keras code runs.

    from tinygrad_edu import keras
    model = keras.Sequential([
        keras.layers.Dense(64, activation="relu", input_shape=(100,)),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=10)

Three ways to build a model, as Keras: ``keras.Sequential([...])``, the functional API
(``inputs = keras.Input(shape=...)``, layers called on it, ``keras.Model(inputs, outputs)``)
and subclasses of ``keras.Model`` with a ``call`` method.

Submodules mirror Keras: ``models`` (Sequential, Model, load_model), ``layers``, ``optimizers``, ``losses``,
``metrics``, ``activations``, ``initializers``, ``callbacks``, ``utils`` (to_categorical),
``datasets`` (mnist), ``backend`` (clear_session) and ``preprocessing`` (``text.Tokenizer``,
``sequence.pad_sequences``). Defaults are Keras's, not PyTorch's: see docs/keras.md.
"""
from tinygrad_edu.keras import (activations, backend, callbacks, initializers, layers, losses, metrics, models,
                                optimizers, preprocessing, utils)
from tinygrad_edu.keras.layers import Input
from tinygrad_edu.keras.models import Model, Sequential
from tinygrad_edu.keras.utils import set_random_seed

__all__ = ["Sequential", "Model", "Input", "set_random_seed", "layers", "models", "optimizers", "losses", "metrics", "activations",
           "initializers", "callbacks", "utils", "backend", "preprocessing", "datasets"]


def __getattr__(name):
    # datasets loads the data package only when asked for
    if name == "datasets":
        import importlib

        return importlib.import_module("tinygrad_edu.keras.datasets")
    raise AttributeError(f"module 'tinygrad_edu.keras' has no attribute {name!r}")
