"""Keras's ``keras.datasets``: ``mnist.load_data()`` (read through ``tinygrad_edu.data``)."""
from tinygrad_edu.keras.datasets import mnist

__all__ = ["mnist"]
