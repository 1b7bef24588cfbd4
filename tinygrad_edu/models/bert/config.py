"""BERT's configuration (config.json), the output record and the input checks."""
from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from ...nn import functional as F
from ...tensor import Tensor

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"


def _checkpoint_folder(path) -> str:
    folder = os.fspath(path)
    if not os.path.isdir(folder):
        raise FileNotFoundError(
            f"{folder!r} is not a folder; give the path of a Hugging Face-format checkpoint folder "
            f"(config.json, {WEIGHTS_FILE}, vocab.txt). Models are never downloaded."
        )
    return folder


# ------------------------------------------------------------------------------ configuration
class BertConfig:
    """The sizes and options of a BERT, as in Hugging Face's ``config.json``.

    The defaults are BERT-base's (12 layers, hidden 768, 12 heads). Keys that this
    implementation does not use are kept in ``extra`` (they do not change the computation).

    Refused (ValueError / NotImplementedError): a hidden size not divisible by the number of
    heads, position_embedding_type other than "absolute", decoder or cross-attention models,
    an activation other than gelu / gelu_new / gelu_pytorch_tanh / relu / tanh / silu.
    """

    _FIELDS = {
        "vocab_size": 30522, "hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12,
        "intermediate_size": 3072, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1, "max_position_embeddings": 512, "type_vocab_size": 2,
        "initializer_range": 0.02, "layer_norm_eps": 1e-12, "pad_token_id": 0,
        "position_embedding_type": "absolute", "classifier_dropout": None, "num_labels": 2,
        "problem_type": None, "id2label": None, "label2id": None, "is_decoder": False,
        "add_cross_attention": False, "model_type": "bert", "architectures": None,
    }

    def __init__(self, **kwargs: Any):
        explicit_labels = kwargs.get("num_labels") is not None
        for key, default in self._FIELDS.items():
            value = kwargs.pop(key, None)
            setattr(self, key, default if value is None else value)
        self.extra = kwargs
        if self.id2label:
            self.id2label = {int(k): v for k, v in dict(self.id2label).items()}
            if not explicit_labels:
                self.num_labels = len(self.id2label)
        self._validate()

    def _validate(self) -> None:
        for key in ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
                    "intermediate_size", "max_position_embeddings", "type_vocab_size", "num_labels"):
            value = getattr(self, key)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"BertConfig: {key} must be a positive int, got {value!r}")
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(
                f"BertConfig: hidden_size {self.hidden_size} is not a multiple of "
                f"num_attention_heads {self.num_attention_heads}"
            )
        if self.position_embedding_type != "absolute":
            raise NotImplementedError(
                f"BertConfig: position_embedding_type {self.position_embedding_type!r} is not supported "
                "(only 'absolute')"
            )
        if self.is_decoder or self.add_cross_attention:
            raise NotImplementedError("BertConfig: decoder / cross-attention BERTs are not supported")
        if self.hidden_act not in _ACTIVATIONS:
            raise NotImplementedError(
                f"BertConfig: hidden_act {self.hidden_act!r} is not supported; expected one of {sorted(_ACTIVATIONS)}"
            )
        for key in ("hidden_dropout_prob", "attention_probs_dropout_prob"):
            if not 0.0 <= float(getattr(self, key)) <= 1.0:
                raise ValueError(f"BertConfig: {key} must lie in [0, 1], got {getattr(self, key)!r}")

    @property
    def head_size(self) -> int:
        return self.hidden_size // self.num_attention_heads

    @classmethod
    def from_dict(cls, d: dict, **overrides: Any) -> "BertConfig":
        values = dict(d)
        values.update(overrides)
        if "num_labels" in overrides and "id2label" not in overrides:
            values.pop("id2label", None)  # a new head: the checkpoint's label names no longer apply
            values.pop("label2id", None)
        return cls(**values)

    @classmethod
    def from_json_file(cls, path: str | os.PathLike, **overrides: Any) -> "BertConfig":
        with open(path, encoding="utf-8") as f:
            try:
                d = json.load(f)
            except json.JSONDecodeError as exc:
                raise ValueError(f"BertConfig: {os.fspath(path)!r} is not valid JSON: {exc}") from None
        if not isinstance(d, dict):
            raise ValueError(f"BertConfig: {os.fspath(path)!r} must hold a JSON object")
        return cls.from_dict(d, **overrides)

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike, **overrides: Any) -> "BertConfig":
        """Read ``config.json`` from a checkpoint folder; keyword arguments override it."""
        folder = _checkpoint_folder(path)
        file = os.path.join(folder, CONFIG_FILE)
        if not os.path.isfile(file):
            raise FileNotFoundError(f"BertConfig.from_pretrained: no {CONFIG_FILE} in {folder!r}")
        return cls.from_json_file(file, **overrides)

    def to_dict(self) -> dict:
        d = {key: getattr(self, key) for key in self._FIELDS}
        d.update(self.extra)
        return d

    def __repr__(self) -> str:
        return (f"BertConfig(layers={self.num_hidden_layers}, hidden={self.hidden_size}, "
                f"heads={self.num_attention_heads}, intermediate={self.intermediate_size}, "
                f"vocab={self.vocab_size}, act={self.hidden_act!r}, eps={self.layer_norm_eps})")


_ACTIVATIONS = {
    "gelu": lambda x: F.gelu(x),  # exact: x * Phi(x) with erf
    "gelu_new": lambda x: F.gelu(x, approximate="tanh"),
    "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "relu": F.relu,
    "tanh": F.tanh,
    "silu": lambda x: x * x.sigmoid(),
}


# ------------------------------------------------------------------------------ outputs
class ModelOutput(dict):
    """The result of a forward pass: a dict whose keys are also attributes.

    ``out.last_hidden_state`` / ``out["last_hidden_state"]``; ``out[0]`` is the first field
    that is not None (as in Hugging Face), ``out.to_tuple()`` all of them in order.
    """

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"{type(self).__name__} has no field {name!r}; it has {list(self)}") from None

    def __getitem__(self, key):
        if isinstance(key, (int, slice)):
            return self.to_tuple()[key]
        return super().__getitem__(key)

    def to_tuple(self) -> tuple:
        return tuple(v for v in self.values() if v is not None)


# ------------------------------------------------------------------------------ input checks
def _int_array(x, name: str) -> np.ndarray:
    """Token ids / masks (NumPy array, nested list or Tensor) as an int64 array of shape (N, T)."""
    if isinstance(x, Tensor):
        x = x.numpy()
    array = np.asarray(x)
    if array.dtype.kind == "b":
        array = array.astype(np.int64)
    if array.dtype.kind == "f":
        if not np.all(array == np.round(array)):
            raise TypeError(f"BERT: {name} must hold integers, got non-integer floats with shape {array.shape}")
        array = array.astype(np.int64)
    if array.dtype.kind not in "iu":
        raise TypeError(f"BERT: {name} must be an integer array of shape (N, T), got dtype {array.dtype}")
    if array.ndim != 2:
        raise ValueError(
            f"BERT: {name} must have shape (batch, seq_len), got shape {array.shape}"
            + (" (add a batch axis: ids[None])" if array.ndim == 1 else "")
        )
    return array.astype(np.int64, copy=False)
