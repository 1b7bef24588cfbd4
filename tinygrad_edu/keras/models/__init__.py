"""Keras models: ``Sequential``, functional ``Model(inputs, outputs)``, subclassed ``Model``,
and saving (``load_model``).

    training     Model: compile / fit / evaluate / predict (shared by all three kinds)
    sequential   Sequential
    functional   Functional, what keras.Model(inputs, outputs) makes
    saving       model.save / load_model (.keras zip), save_weights / load_weights
    summary      summary() and the plot_model-style text drawing
"""
from .functional import Functional
from .saving import load_model
from .sequential import Sequential
from .training import Model

__all__ = ["Model", "Sequential", "Functional", "load_model", "clone_model"]


def clone_model(model):
    """A new model with the same structure and fresh weights (Sequential or functional)."""
    from ..layers import deserialize

    config = {"class_name": "Sequential" if isinstance(model, Sequential) else "Functional",
              "config": model.get_config()}
    return deserialize(config)
