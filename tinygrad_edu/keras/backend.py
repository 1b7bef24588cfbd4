"""Session-wide settings of the Keras front end: layer and model names, epsilon, floatx.

Keras names every layer after its class in snake case, numbered per session: the first
``Dense`` is "dense", the next "dense_1", then "dense_2", ... ``clear_session()`` starts the
numbering again (as ``keras.backend.clear_session()`` does).
"""
from __future__ import annotations

import re

__all__ = ["epsilon", "set_epsilon", "floatx", "clear_session", "unique_name", "snake_case"]

_EPSILON = 1e-7          # Keras's fuzz factor: clipping of probabilities in the losses
_name_counts: dict = {}  # base name -> how many objects of that name were made


def epsilon() -> float:
    """The fuzz factor used to clip probabilities in the losses (1e-7, as Keras)."""
    return _EPSILON


def set_epsilon(value: float) -> None:
    global _EPSILON
    value = float(value)
    if not 0.0 < value < 0.5:
        raise ValueError(f"set_epsilon: epsilon must lie in (0, 0.5), got {value}")
    _EPSILON = value


def floatx() -> str:
    """The float type of weights and inputs: always "float32" here."""
    return "float32"


def clear_session() -> None:
    """Restart the automatic layer/model numbering ("dense", "dense_1", ...)."""
    _name_counts.clear()


def snake_case(class_name: str) -> str:
    """``"MaxPooling2D"`` -> ``"max_pooling2d"``, ``"LSTM"`` -> ``"lstm"`` (Keras's rule)."""
    words = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", class_name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", words).lower()


def unique_name(base: str) -> str:
    """``base`` the first time, then ``base_1``, ``base_2``, ... until ``clear_session()``."""
    count = _name_counts.get(base, 0)
    _name_counts[base] = count + 1
    return base if count == 0 else f"{base}_{count}"
