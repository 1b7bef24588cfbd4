"""GPT-2's configuration (Hugging Face's ``config.json``) and the input checks."""
from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from ...tensor import Tensor
from ..bert.config import CONFIG_FILE, WEIGHTS_FILE, ModelOutput, _checkpoint_folder

__all__ = ["GPT2Config", "ModelOutput", "CONFIG_FILE", "WEIGHTS_FILE", "as_ids"]


class GPT2Config:
    """The sizes and options of a GPT-2, with Hugging Face's field names.

    The defaults are GPT-2 small's (12 layers, n_embd 768, 12 heads, 1024 positions,
    50257 tokens). ``n_inner`` None means 4 * n_embd. Keys this implementation does not
    use are kept in ``extra``.

    Refused (ValueError / NotImplementedError): sizes that are not positive ints, n_embd not
    divisible by n_head, an activation other than gelu_new / gelu_pytorch_tanh / gelu / relu,
    cross-attention, and the options that change the attention's arithmetic
    (scale_attn_by_inverse_layer_idx, reorder_and_upcast_attn set to true).
    """

    _FIELDS = {
        "vocab_size": 50257, "n_positions": 1024, "n_embd": 768, "n_layer": 12, "n_head": 12,
        "n_inner": None, "activation_function": "gelu_new", "resid_pdrop": 0.1, "embd_pdrop": 0.1,
        "attn_pdrop": 0.1, "layer_norm_epsilon": 1e-5, "initializer_range": 0.02,
        "scale_attn_weights": True, "scale_attn_by_inverse_layer_idx": False,
        "reorder_and_upcast_attn": False, "add_cross_attention": False, "tie_word_embeddings": True,
        "bos_token_id": 50256, "eos_token_id": 50256, "pad_token_id": None,
        "model_type": "gpt2", "architectures": None,
    }
    _OPTIONAL = ("n_inner", "pad_token_id", "architectures", "bos_token_id", "eos_token_id")

    def __init__(self, **kwargs: Any):
        for key, default in self._FIELDS.items():
            value = kwargs.pop(key, default)
            if value is None and key not in self._OPTIONAL:
                value = default
            setattr(self, key, value)
        # the older spellings some configs carry
        for old, new in (("n_ctx", None), ("hidden_size", "n_embd"), ("num_hidden_layers", "n_layer"),
                         ("num_attention_heads", "n_head")):
            if old in kwargs and new is not None and kwargs[old] != getattr(self, new):
                raise ValueError(f"GPT2Config: {old}={kwargs[old]!r} disagrees with {new}={getattr(self, new)!r}")
        self.extra = kwargs
        self._validate()

    def _validate(self) -> None:
        for key in ("vocab_size", "n_positions", "n_embd", "n_layer", "n_head"):
            value = getattr(self, key)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"GPT2Config: {key} must be a positive int, got {value!r}")
        if self.n_inner is not None and (not isinstance(self.n_inner, int) or self.n_inner < 1):
            raise ValueError(f"GPT2Config: n_inner must be a positive int or None, got {self.n_inner!r}")
        if self.n_embd % self.n_head:
            raise ValueError(f"GPT2Config: n_embd {self.n_embd} is not a multiple of n_head {self.n_head}")
        if self.activation_function not in ACTIVATIONS:
            raise NotImplementedError(f"GPT2Config: activation_function {self.activation_function!r} is not "
                                      f"supported; expected one of {sorted(ACTIVATIONS)}")
        for key in ("add_cross_attention", "scale_attn_by_inverse_layer_idx", "reorder_and_upcast_attn"):
            if getattr(self, key):
                raise NotImplementedError(f"GPT2Config: {key}=True is not supported")
        if not self.tie_word_embeddings:
            raise NotImplementedError("GPT2Config: tie_word_embeddings=False is not supported (GPT-2 ties "
                                      "the LM head to the token embedding)")
        for key in ("resid_pdrop", "embd_pdrop", "attn_pdrop"):
            if not 0.0 <= float(getattr(self, key)) < 1.0:
                raise ValueError(f"GPT2Config: {key} must lie in [0, 1), got {getattr(self, key)!r}")

    @property
    def head_size(self) -> int:
        return self.n_embd // self.n_head

    @property
    def inner_size(self) -> int:
        return self.n_inner if self.n_inner is not None else 4 * self.n_embd

    @classmethod
    def from_dict(cls, d: dict, **overrides: Any) -> "GPT2Config":
        values = dict(d)
        values.update(overrides)
        return cls(**values)

    @classmethod
    def from_pretrained(cls, path, **overrides: Any) -> "GPT2Config":
        """Read ``config.json`` from a checkpoint folder; keyword arguments override it."""
        folder = _checkpoint_folder(path)
        file = os.path.join(folder, CONFIG_FILE)
        if not os.path.isfile(file):
            raise FileNotFoundError(f"GPT2Config.from_pretrained: no {CONFIG_FILE} in {folder!r}")
        with open(file, encoding="utf-8") as f:
            try:
                d = json.load(f)
            except json.JSONDecodeError as exc:
                raise ValueError(f"GPT2Config: {file!r} is not valid JSON: {exc}") from None
        if not isinstance(d, dict):
            raise ValueError(f"GPT2Config: {file!r} must hold a JSON object")
        return cls.from_dict(d, **overrides)

    def to_dict(self) -> dict:
        d = {key: getattr(self, key) for key in self._FIELDS}
        d.update(self.extra)
        return d

    def __repr__(self) -> str:
        return (f"GPT2Config(layers={self.n_layer}, n_embd={self.n_embd}, heads={self.n_head}, "
                f"positions={self.n_positions}, vocab={self.vocab_size}, act={self.activation_function!r})")


ACTIVATIONS = ("gelu_new", "gelu_pytorch_tanh", "gelu", "relu")


def as_ids(x, name: str = "input_ids") -> np.ndarray:
    """Token ids (Tensor, NumPy array or nested lists) as an int64 array of shape (B, T).

    A 1-D sequence is refused with a hint (add a batch axis); floats must hold whole numbers.
    """
    if isinstance(x, Tensor):
        x = x.numpy()
    array = np.asarray(x)
    if array.dtype.kind == "f":
        if not np.all(array == np.round(array)):
            raise TypeError(f"GPT-2: {name} must hold integers, got non-integer floats with shape {array.shape}")
        array = array.astype(np.int64)
    if array.dtype.kind not in "iu":
        raise TypeError(f"GPT-2: {name} must be an integer array of shape (batch, seq_len), got dtype {array.dtype}")
    if array.ndim != 2:
        raise ValueError(f"GPT-2: {name} must have shape (batch, seq_len), got shape {array.shape}"
                         + (" (add a batch axis: ids[None])" if array.ndim == 1 else ""))
    return array.astype(np.int64, copy=False)
