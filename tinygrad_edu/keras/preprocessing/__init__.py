"""Keras 2's ``keras.preprocessing``: ``text`` (Tokenizer) and ``sequence`` (pad_sequences)."""
from tinygrad_edu.keras.preprocessing import sequence, text

__all__ = ["sequence", "text"]
