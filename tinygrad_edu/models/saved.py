"""A trained model in ONE safetensors file: the weights plus what it takes to rebuild and use them.

    from tinygrad_edu.models import CNN, load, save_model

    save_model(model, "cnn.safetensors", classes=[str(d) for d in range(10)])
    model = load("cnn.safetensors")          # the same class and weights, in eval mode
    model.tge_metadata.classes               # ['0', ..., '9']
    model.tge_metadata.input_shape           # (1, 28, 28)

The tensors are the model's ``state_dict()``; the header's ``__metadata__`` holds one entry,
``"tinygrad_edu.model"``, a JSON object::

    {"format": "tinygrad_edu.saved_model", "version": 1,
     "class": "CNN",                                  # a name from MODEL_CLASSES, nothing else
     "config": {"in_channels": 1, "num_classes": 10}, # the constructor's keyword arguments
     "classes": ["0", ..., "9"],                      # label of each output, or null
     "tokenizer": {...} or null,                      # text models: TextEncoder.to_dict()
     "extra": {...}}                                  # free JSON from the caller (e.g. accuracy)

Loading reads JSON and arrays only: the class is looked up in a fixed table (``MODEL_CLASSES``),
never imported by name, and no pickle is involved, so a file from a stranger runs no code.
Every problem (not safetensors, no or damaged metadata, an unknown class, a config the class
refuses, weights that do not fit) raises ``ValueError`` naming it.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ..utils.serialization import load_file, read_header, save
from .cnn import CNN
from .gpt import GPT2Config, GPT2LMHeadModel
from .gpt.charlm import CharTokenizer
from .lstm import LSTMClassifier
from .mlp import _ACTIVATIONS, MLP
from .transformer import TransformerClassifier

__all__ = ["MODEL_CLASSES", "METADATA_KEY", "SavedModelInfo", "TextEncoder", "save_model", "load", "read_info"]

METADATA_KEY = "tinygrad_edu.model"
FORMAT = "tinygrad_edu.saved_model"
VERSION = 1
DEFAULT_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'   # Keras's Tokenizer default


# ------------------------------------------------------------------------------ text encoding
@dataclass
class TextEncoder:
    """Texts -> fixed-length rows of word ids, the way the training CLI prepared them.

    vocab: the words in id order, ``vocab[0]`` having id 1 (0 is padding); words not in it are
    dropped (Keras's Tokenizer without oov_token). A text is lower-cased (``lower``), every
    character of ``filters`` becomes a space, it is split on spaces, and the ids are padded or
    cut to ``maxlen`` at the front ("pre", Keras's default) or the back ("post").
    ``encode(texts)`` -> int64 array (len(texts), maxlen).
    """

    vocab: list
    maxlen: int
    lower: bool = True
    filters: str = DEFAULT_FILTERS
    padding: str = "pre"
    truncating: str = "pre"
    _index: dict = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self):
        if not isinstance(self.vocab, list) or not all(isinstance(w, str) for w in self.vocab):
            raise ValueError("TextEncoder: vocab must be a list of str")
        if isinstance(self.maxlen, bool) or not isinstance(self.maxlen, int) or self.maxlen < 1:
            raise ValueError(f"TextEncoder: maxlen must be an int >= 1, got {self.maxlen!r}")
        for name in ("padding", "truncating"):
            if getattr(self, name) not in ("pre", "post"):
                raise ValueError(f"TextEncoder: {name} must be 'pre' or 'post', got {getattr(self, name)!r}")
        if not isinstance(self.filters, str) or not isinstance(self.lower, bool):
            raise ValueError("TextEncoder: filters must be a str and lower a bool")
        self._index = {w: i + 1 for i, w in enumerate(self.vocab)}

    @classmethod
    def from_keras(cls, tokenizer, maxlen: int, padding: str = "pre", truncating: str = "pre") -> "TextEncoder":
        """From a fitted ``tinygrad_edu.keras.preprocessing.text.Tokenizer`` (word level, no
        oov_token): its ``word_index`` cut to ``num_words``, its ``lower`` and ``filters``."""
        if tokenizer.char_level or tokenizer.oov_token is not None or tokenizer.analyzer is not None \
                or tokenizer.split != " ":
            raise ValueError("TextEncoder.from_keras: only word-level tokenizers splitting on ' ' without "
                             "oov_token or analyzer can be saved")
        limit = tokenizer.num_words or (len(tokenizer.word_index) + 1)
        vocab = [w for w, i in sorted(tokenizer.word_index.items(), key=lambda wi: wi[1]) if i < limit]
        return cls(vocab, int(maxlen), bool(tokenizer.lower), tokenizer.filters, padding, truncating)

    def words(self, text: str) -> list:
        """The words of one text, before the vocabulary lookup."""
        if self.lower:
            text = text.lower()
        return [w for w in text.translate(str.maketrans({c: " " for c in self.filters})).split(" ") if w]

    def ids(self, text: str) -> list:
        """The word ids of one text (unknown words dropped), not yet padded."""
        return [self._index[w] for w in self.words(text) if w in self._index]

    def pad(self, ids: list) -> np.ndarray:
        """One id list -> (maxlen,) int64, padded/cut as configured."""
        if len(ids) > self.maxlen:
            ids = ids[-self.maxlen:] if self.truncating == "pre" else ids[:self.maxlen]
        row = np.zeros(self.maxlen, dtype=np.int64)
        if ids:
            if self.padding == "pre":
                row[self.maxlen - len(ids):] = ids
            else:
                row[:len(ids)] = ids
        return row

    def encode(self, texts) -> np.ndarray:
        """A list of str -> int64 (len(texts), maxlen)."""
        if isinstance(texts, str):
            raise TypeError("TextEncoder.encode: expected a list of str, got one str")
        rows = [self.pad(self.ids(t)) for t in texts]
        return np.stack(rows) if rows else np.zeros((0, self.maxlen), dtype=np.int64)

    def to_dict(self) -> dict:
        return {"vocab": list(self.vocab), "maxlen": self.maxlen, "lower": self.lower, "filters": self.filters,
                "padding": self.padding, "truncating": self.truncating}

    @classmethod
    def from_dict(cls, data: dict) -> "TextEncoder":
        keys = {"vocab", "maxlen", "lower", "filters", "padding", "truncating"}
        if not isinstance(data, dict) or not set(data) <= keys or "vocab" not in data or "maxlen" not in data:
            raise ValueError(f"the tokenizer entry must be an object with keys from {sorted(keys)}")
        return cls(**data)


# ------------------------------------------------------------------------------ the class table
def _mlp_config(m: MLP) -> dict:
    names = {cls: name for name, cls in _ACTIVATIONS.items()}
    activation = names.get(type(m[1]), None) if len(m) > 1 else "relu"
    if activation is None:
        raise ValueError(f"save_model: the MLP's activation {type(m[1]).__name__} has no name; "
                         f"use one of {sorted(_ACTIVATIONS)}")
    return {"in_features": m.in_features, "hidden": list(m.hidden), "out_features": m.out_features,
            "activation": activation}


def _cnn_config(m: CNN) -> dict:
    return {"in_channels": m.in_channels, "num_classes": m.num_classes}


def _lstm_config(m: LSTMClassifier) -> dict:
    return {"vocab_size": m.embedding.num_embeddings, "embedding_dim": m.embedding.embedding_dim,
            "hidden_dim": m.lstm.hidden_size, "output_dim": m.fc.out_features, "num_layers": m.lstm.num_layers,
            "padding_idx": m.embedding.padding_idx, "dropout": m.lstm.dropout}


def _transformer_config(m: TransformerClassifier) -> dict:
    layer = m.encoder.layers[0]
    return {"vocab_size": m.token_embedding.num_embeddings, "num_classes": m.fc.out_features,
            "d_model": m.token_embedding.embedding_dim, "nhead": layer.self_attn.num_heads,
            "num_layers": len(m.encoder.layers), "dim_feedforward": layer.linear1.out_features,
            "max_len": m.max_len, "dropout": m.dropout.p, "padding_idx": m.padding_idx}


@dataclass(frozen=True)
class ModelClass:
    """One entry of MODEL_CLASSES: the class, how to read its constructor arguments off an
    instance, and what its input is ("image" with a shape, or "text")."""

    cls: type
    config_of: Callable[[Any], dict]
    kind: str
    input_shape: Callable[[dict], tuple]
    build: Callable[..., Any] | None = None   # config -> model, when not cls(**config)


MODEL_CLASSES: dict[str, ModelClass] = {
    "MLP": ModelClass(MLP, _mlp_config, "image",
                      lambda c: (1, 28, 28) if c["in_features"] == 784 else (c["in_features"],)),
    "CNN": ModelClass(CNN, _cnn_config, "image", lambda c: (c.get("in_channels", 1), 28, 28)),
    "LSTMClassifier": ModelClass(LSTMClassifier, _lstm_config, "text", lambda c: ()),
    "TransformerClassifier": ModelClass(TransformerClassifier, _transformer_config, "text", lambda c: ()),
    # a generator: its "tokenizer" entry is a CharTokenizer's alphabet
    "GPT2LMHeadModel": ModelClass(GPT2LMHeadModel, lambda m: {k: getattr(m.config, k) for k in GPT2Config._FIELDS},
                                  "generator", lambda c: (), build=lambda **c: GPT2LMHeadModel(GPT2Config(**c))),
}


# ------------------------------------------------------------------------------ metadata
@dataclass
class SavedModelInfo:
    """What ``load`` attaches to the model as ``model.tge_metadata``.

    class_name, config (constructor kwargs), kind ("image", "text" or "generator"), input_shape (one
    sample's shape for image models, e.g. (1, 28, 28); () for text), classes (list of str or
    None), tokenizer (a TextEncoder for text models, a CharTokenizer for generators, else None), extra (dict), path.
    """

    class_name: str
    config: dict
    kind: str
    input_shape: tuple
    classes: list | None = None
    tokenizer: TextEncoder | None = None
    extra: dict = field(default_factory=dict)
    path: str | None = None

    @property
    def num_outputs(self) -> int:
        c = self.config
        return int(c.get("out_features", c.get("num_classes", c.get("output_dim", 0))))


def save_model(model, path, *, classes=None, tokenizer=None, extra=None, config=None) -> None:
    """Write ``model``'s weights and what rebuilds it to ``path`` (one safetensors file, atomically).

    model: an MLP, CNN, LSTMClassifier or TransformerClassifier (the classes in MODEL_CLASSES).
    classes: the label of each output (list of str, as many as the model has outputs) or None.
    tokenizer: for text models, a ``TextEncoder`` or a fitted Keras-style ``Tokenizer`` (then
        padded/cut to the TransformerClassifier's max_len, or 40 words for the LSTM); required
        for text models, refused for image models. extra: JSON-able dict stored as is.
    config: the constructor kwargs; None reads them off the model (the usual case).
    Raises TypeError for a model class not in the table, ValueError for inconsistent arguments.
    """
    name = type(model).__name__
    entry = MODEL_CLASSES.get(name)
    if entry is None or type(model) is not entry.cls:
        raise TypeError(f"save_model: {name} is not a savable model class; expected one of {sorted(MODEL_CLASSES)}")
    config = dict(entry.config_of(model) if config is None else config)
    if entry.kind == "text":
        if tokenizer is None:
            raise ValueError(f"save_model: {name} is a text model; give tokenizer= (the vocabulary that made its ids)")
        if not isinstance(tokenizer, TextEncoder):
            tokenizer = TextEncoder.from_keras(tokenizer, maxlen=config.get("max_len", 40))
        if len(tokenizer.vocab) + 1 > config["vocab_size"]:
            raise ValueError(f"save_model: the tokenizer has {len(tokenizer.vocab)} words (+ padding) but the model's "
                             f"vocab_size is {config['vocab_size']}")
    elif entry.kind == "generator":
        if not isinstance(tokenizer, CharTokenizer):
            raise ValueError(f"save_model: {name} needs tokenizer= a CharTokenizer (its alphabet)")
        if len(tokenizer) > config["vocab_size"]:
            raise ValueError(f"save_model: the tokenizer has {len(tokenizer)} characters but the model's "
                             f"vocab_size is {config['vocab_size']}")
    elif tokenizer is not None:
        raise ValueError(f"save_model: {name} takes images; tokenizer= is for text models")
    info = SavedModelInfo(name, config, entry.kind, tuple(entry.input_shape(config)),
                          None if classes is None else [str(c) for c in classes], tokenizer, dict(extra or {}))
    if info.classes is not None and len(info.classes) != info.num_outputs:
        raise ValueError(f"save_model: {len(info.classes)} classes given for a model with {info.num_outputs} outputs")
    document = {"format": FORMAT, "version": VERSION, "class": name, "config": config, "classes": info.classes,
                "tokenizer": None if tokenizer is None else tokenizer.to_dict(), "extra": info.extra}
    try:
        text = json.dumps(document, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"save_model: config/classes/extra must be JSON-able ({exc})") from None
    save(model.state_dict(), path, metadata={METADATA_KEY: text})


def _bad(path, what: str) -> ValueError:
    return ValueError(f"load: {path!r} is not a usable tinygrad_edu model file: {what}")


def read_info(path) -> SavedModelInfo:
    """The metadata of a saved model file, validated, without reading the weights."""
    path = os.fspath(path)
    header = read_header(path)    # ValueError for anything that is not safetensors
    text = header.metadata.get(METADATA_KEY)
    if text is None:
        raise _bad(path, f"no {METADATA_KEY!r} metadata (a plain state dict? load it with tge.load and "
                         "model.load_state_dict)")
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise _bad(path, f"the {METADATA_KEY!r} metadata is not valid JSON ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise _bad(path, f"the metadata's format is not {FORMAT!r}")
    if doc.get("version") != VERSION:
        raise _bad(path, f"format version {doc.get('version')!r}; this tinygrad_edu reads version {VERSION}")
    name, config = doc.get("class"), doc.get("config")
    if name not in MODEL_CLASSES:
        raise _bad(path, f"unknown model class {name!r}; known: {', '.join(sorted(MODEL_CLASSES))}")
    if not isinstance(config, dict):
        raise _bad(path, "'config' is not an object")
    entry = MODEL_CLASSES[name]
    classes = doc.get("classes")
    if classes is not None and not (isinstance(classes, list) and all(isinstance(c, str) for c in classes)):
        raise _bad(path, "'classes' is not a list of strings")
    tokenizer = None
    if entry.kind == "text":
        try:
            tokenizer = TextEncoder.from_dict(doc.get("tokenizer"))
        except (TypeError, ValueError) as exc:
            raise _bad(path, f"the text model's tokenizer is missing or damaged ({exc})") from None
    elif entry.kind == "generator":
        try:
            tokenizer = CharTokenizer.from_dict(doc.get("tokenizer"))
        except (TypeError, ValueError) as exc:
            raise _bad(path, f"the generator's tokenizer is missing or damaged ({exc})") from None
    extra = doc.get("extra") or {}
    if not isinstance(extra, dict):
        raise _bad(path, "'extra' is not an object")
    try:
        shape = tuple(entry.input_shape(config))
    except (KeyError, TypeError) as exc:
        raise _bad(path, f"the {name} config {config} lacks {exc}") from None
    return SavedModelInfo(name, config, entry.kind, shape, classes, tokenizer, extra, path)


def load(path):
    """Rebuild the model saved by ``save_model`` at ``path``; returns it in eval mode.

    The result is an instance of the saved class with the saved weights and a
    ``tge_metadata`` attribute (a SavedModelInfo: classes, input_shape, tokenizer, config,
    extra). Raises ValueError naming the problem for a file that is not a saved model, names
    an unknown class, has a config the class refuses, or weights that do not fit; OSError
    when it cannot be read.
    """
    info = read_info(path)
    entry = MODEL_CLASSES[info.class_name]
    try:
        model = (entry.build or entry.cls)(**info.config)
    except (TypeError, ValueError) as exc:
        raise _bad(info.path, f"{info.class_name}(**{info.config}) failed: {exc}") from None
    tensors = load_file(info.path)
    try:
        model.load_state_dict(tensors)
    except (RuntimeError, ValueError, TypeError) as exc:
        raise _bad(info.path, f"the weights do not fit {info.class_name}: {exc}") from None
    if info.classes is not None and len(info.classes) != info.num_outputs:
        raise _bad(info.path, f"{len(info.classes)} classes for a model with {info.num_outputs} outputs")
    if isinstance(info.tokenizer, TextEncoder) and len(info.tokenizer.vocab) + 1 > info.config.get("vocab_size", 0):
        raise _bad(info.path, f"the tokenizer has {len(info.tokenizer.vocab)} words, more than vocab_size allows")
    model.eval()
    model.tge_metadata = info
    return model
