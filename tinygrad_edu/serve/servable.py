"""What the server serves: a model plus the checks that turn JSON into its input, with no HTTP in sight.

A ``ServedModel`` is one of three kinds:

    "classifier"  a model saved with ``save_model`` (MLP, CNN: images; LSTMClassifier,
                  TransformerClassifier: texts); ``parse_predict`` + ``predict_batch``
    "embedding"   a BERT folder (``tinygrad_edu.models.bert``): ``parse_embeddings`` + ``embed_batch``
    "generator"   any model with ``generate(input_ids, max_new_tokens=..., ...)`` and a
                  tokenizer with ``encode(str) -> list[int]`` / ``decode(list[int]) -> str``
                  (the GPT of ``tinygrad_edu.models.gpt``): ``parse_generate`` + ``stream_tokens``

``parse_*`` take the decoded JSON body and either return the list of work items or raise
``InputError(status, message)``; the HTTP layer turns that into a 4xx JSON answer. ``*_batch``
take a list of items (possibly from several requests) and return one result per item; they
run on the model's worker thread, never on the event loop.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["InputError", "ServedModel", "GenerateRequest", "softmax_rows", "folder_model_type"]


class InputError(Exception):
    """A request the model cannot take: ``status`` (an HTTP 4xx code) and a message naming the problem."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = int(status), message


def softmax_rows(logits: np.ndarray) -> np.ndarray:
    """(N, C) logits -> (N, C) probabilities, computed stably in float64."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def folder_model_type(path: str) -> str:
    """The ``model_type`` of a Hugging Face-format folder's config.json ("bert", "gpt2", ...);
    "bert" when config.json has none. ValueError when there is no readable config.json."""
    import json

    config = os.path.join(path, "config.json")
    try:
        with open(config, encoding="utf-8") as f:
            doc = json.load(f)
    except FileNotFoundError:
        raise ValueError(f"{path} is a folder without config.json: expected a BERT or GPT-2 checkpoint folder "
                         "(config.json, model.safetensors, and vocab.txt or vocab.json + merges.txt)") from None
    except (OSError, ValueError) as exc:
        raise ValueError(f"{config} cannot be read as JSON: {exc}") from None
    kind = doc.get("model_type", "bert") if isinstance(doc, dict) else None
    if kind not in ("bert", "gpt2"):
        raise ValueError(f"{config}: model_type {kind!r} cannot be served; expected 'bert' or 'gpt2'")
    return kind


def _finite_or_none(values) -> list:
    return [float(v) if math.isfinite(v) else None for v in values]


@dataclass
class GenerateRequest:
    """One validated /v1/generate request."""

    prompt_ids: list
    max_new_tokens: int
    temperature: float
    top_k: int | None
    stream: bool


def _field(payload: Any, name: str, allowed: set) -> Any:
    if not isinstance(payload, dict):
        raise InputError(422, f"the body must be a JSON object with {name!r}, got a JSON {_json_type(payload)}")
    unknown = sorted(set(payload) - allowed)
    if unknown:
        raise InputError(422, f"unknown field(s) {unknown}; this endpoint takes {sorted(allowed)}")
    if name not in payload:
        raise InputError(422, f"missing field {name!r}")
    return payload[name]


def _json_type(value: Any) -> str:
    for t, name in ((bool, "boolean"), (str, "string"), (int, "number"), (float, "number"), (list, "array"),
                    (dict, "object")):
        if isinstance(value, t):
            return name
    return "null" if value is None else type(value).__name__


def _nonempty_list(value: Any, name: str, max_items: int) -> list:
    if not isinstance(value, list):
        raise InputError(422, f"{name!r} must be an array, got a JSON {_json_type(value)}")
    if not value:
        raise InputError(422, f"{name!r} is empty; send at least one item")
    if len(value) > max_items:
        raise InputError(413, f"{name!r} has {len(value)} items; at most {max_items} per request")
    return value


def _texts(payload: Any, max_items: int, max_chars: int) -> list:
    texts = _nonempty_list(_field(payload, "texts", {"texts"}), "texts", max_items)
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise InputError(422, f"texts[{i}] must be a string, got a JSON {_json_type(t)}")
        if not t.strip():
            raise InputError(422, f"texts[{i}] is empty")
        if len(t) > max_chars:
            raise InputError(413, f"texts[{i}] has {len(t)} characters; at most {max_chars}")
    return texts


@dataclass
class ServedModel:
    """A model ready to serve. Build it with ``from_path`` or ``from_model``.

    kind: "classifier", "embedding" or "generator"; name: the model class; info: the JSON of
    GET /v1/model; max_items: the most items (images, texts) in one request.
    """

    model: Any
    kind: str
    name: str
    tokenizer: Any = None
    classes: list | None = None
    input_kind: str | None = None          # classifiers: "image" or "text"
    input_shape: tuple = ()
    max_items: int = 64
    max_chars: int = 10_000
    max_new_tokens: int = 256
    extra: dict = field(default_factory=dict)

    # -------------------------------------------------------------------------- building
    @classmethod
    def from_path(cls, path, **options) -> "ServedModel":
        """A file written by ``save_model`` (a classifier), or a Hugging Face-format folder:
        a BERT (config.json's ``model_type`` "bert", or none) or a GPT-2 (``"gpt2"``)."""
        path = os.fspath(path)
        if os.path.isdir(path):
            kind = folder_model_type(path)
            if kind == "gpt2":
                try:
                    from ..models.gpt import GPT2LMHeadModel, GPT2Tokenizer
                except ImportError as exc:
                    raise ValueError(f"{path} holds a GPT-2, but tinygrad_edu.models.gpt is not usable "
                                     f"here ({exc})") from None
                model = GPT2LMHeadModel.from_pretrained(path)
                model.eval()
                return cls.from_model(model, tokenizer=GPT2Tokenizer.from_pretrained(path), **options)
            from ..models.bert import BertModel, BertTokenizer

            return cls.from_model(BertModel.from_pretrained(path), tokenizer=BertTokenizer.from_pretrained(path),
                                  **options)
        from ..models.saved import load

        return cls.from_model(load(path), **options)

    @classmethod
    def from_model(cls, model, tokenizer=None, classes=None, **options) -> "ServedModel":
        """Wrap an in-memory model: one returned by ``models.load`` (a classifier), a BertModel
        (needs its BertTokenizer), or anything with ``generate`` (needs a tokenizer with
        encode/decode)."""
        meta = getattr(model, "tge_metadata", None)
        if meta is not None and meta.kind == "generator":    # a GPT saved by train --model gpt --save
            return cls(model, "generator", meta.class_name, tokenizer=tokenizer or meta.tokenizer,
                       extra=dict(meta.extra), **options)
        if meta is not None:
            return cls(model, "classifier", meta.class_name, tokenizer=meta.tokenizer,
                       classes=classes if classes is not None else meta.classes, input_kind=meta.kind,
                       input_shape=tuple(meta.input_shape), extra=dict(meta.extra), **options)
        from ..models.bert import BertModel

        if isinstance(model, BertModel):
            if tokenizer is None:
                raise ValueError("ServedModel: a BertModel needs its tokenizer (BertTokenizer.from_pretrained)")
            return cls(model, "embedding", "BertModel", tokenizer=tokenizer, **options)
        if callable(getattr(model, "generate", None)):
            if tokenizer is None or not callable(getattr(tokenizer, "encode", None)) \
                    or not callable(getattr(tokenizer, "decode", None)):
                raise ValueError("ServedModel: a generating model needs a tokenizer with encode() and decode()")
            return cls(model, "generator", type(model).__name__, tokenizer=tokenizer, **options)
        raise ValueError(f"ServedModel: cannot serve a {type(model).__name__}: expected a model from "
                         "tinygrad_edu.models.load, a BertModel or a model with generate()")

    def describe(self) -> dict:
        """The JSON of GET /v1/model."""
        endpoints = {"classifier": "/v1/predict", "embedding": "/v1/embeddings", "generator": "/v1/generate"}
        out = {"name": self.name, "kind": self.kind, "endpoint": endpoints[self.kind], "max_items": self.max_items}
        if self.kind == "classifier":
            out.update(input=self.input_kind, input_shape=list(self.input_shape), classes=self.classes,
                       num_classes=self._num_classes(), extra=self.extra)
            if self.input_kind == "text":
                out["maxlen"] = self.tokenizer.maxlen
                out["vocabulary_size"] = len(self.tokenizer.vocab)
        elif self.kind == "embedding":
            out["dim"] = int(self.model.config.hidden_size)
        else:
            out.update(max_new_tokens=self.max_new_tokens, context=self.context_size(),
                       eos_token_id=self.eos_token_id(), extra=self.extra)
        return out

    def _num_classes(self) -> int:
        meta = getattr(self.model, "tge_metadata", None)
        return meta.num_outputs if meta is not None else (len(self.classes) if self.classes else 0)

    # -------------------------------------------------------------------------- classifiers
    def parse_predict(self, payload: Any) -> list:
        """The body of POST /v1/predict -> one model input per item (an image array or an id row)."""
        if self.kind != "classifier":
            raise InputError(404, f"this server runs a {self.kind} model: use {self.describe()['endpoint']}")
        if self.input_kind == "text":
            if isinstance(payload, dict) and "inputs" in payload and "texts" not in payload:
                raise InputError(422, f"{self.name} takes texts: send {{\"texts\": [\"...\"]}}")
            texts = _texts(payload, self.max_items, self.max_chars)
            rows = []
            for i, text in enumerate(texts):
                ids = self.tokenizer.ids(text)
                if not ids:
                    raise InputError(422, f"texts[{i}] has no word of the model's vocabulary")
                rows.append(self.tokenizer.pad(ids))
            return rows
        if isinstance(payload, dict) and "texts" in payload and "inputs" not in payload:
            raise InputError(422, f"{self.name} takes images: send {{\"inputs\": [image, ...]}}")
        images = _nonempty_list(_field(payload, "inputs", {"inputs"}), "inputs", self.max_items)
        return [self._image(item, i) for i, item in enumerate(images)]

    def _image(self, item: Any, i: int) -> np.ndarray:
        shape = self.input_shape
        accepted = {shape, tuple(shape[next((k for k, d in enumerate(shape) if d != 1), len(shape)):])}
        if self.name == "MLP":
            accepted.add((math.prod(shape),))
        want = " or ".join(str(list(s)) for s in sorted(accepted, key=len))
        if not isinstance(item, list):
            raise InputError(422, f"inputs[{i}] must be a nested array of shape {want}, got a JSON {_json_type(item)}")
        try:
            arr = np.asarray(item)
        except (ValueError, TypeError):
            raise InputError(422, f"inputs[{i}] is a ragged array (rows of different lengths); expected shape "
                                  f"{want}") from None
        if arr.dtype.kind not in "iuf":
            what = {"b": "booleans", "U": "strings",
                    "O": "mixed values, nulls or integers too large"}.get(arr.dtype.kind, str(arr.dtype))
            raise InputError(422, f"inputs[{i}] holds {what}; expected numbers")
        if arr.shape not in accepted:
            raise InputError(422, f"inputs[{i}] has shape {list(arr.shape)}; expected {want}")
        arr = arr.astype(np.float32).reshape(shape)
        if not np.isfinite(arr).all():
            raise InputError(422, f"inputs[{i}] holds values that are not finite")
        lo, hi = float(arr.min()), float(arr.max())
        if lo < 0.0 or hi > 1.0:
            raise InputError(422, f"inputs[{i}] has values in [{lo:g}, {hi:g}]; pixels must lie in [0, 1] "
                                  "(divide 0-255 values by 255)")
        return arr

    def logits_batch(self, rows: list) -> np.ndarray:
        """Stack the items, one forward pass without gradients -> (N, C) float logits."""
        from ..autograd import no_grad
        from ..tensor import Tensor

        x = np.stack(rows)
        with no_grad():
            return np.asarray(self.model(Tensor(x)).numpy(), dtype=np.float64)

    def predict_batch(self, rows: list) -> list:
        """Items -> one {"prediction", "probabilities"} per item."""
        probs = softmax_rows(self.logits_batch(rows))
        out = []
        for p in probs:
            k = int(np.argmax(np.nan_to_num(p, nan=-1.0)))
            out.append({"prediction": self.classes[k] if self.classes else k, "probabilities": _finite_or_none(p)})
        return out

    # -------------------------------------------------------------------------- embeddings
    def parse_embeddings(self, payload: Any) -> list:
        if self.kind != "embedding":
            raise InputError(404, f"this server runs a {self.kind} model: use {self.describe()['endpoint']}")
        return _texts(payload, self.max_items, self.max_chars)

    def embed_batch(self, texts: list) -> list:
        """Texts -> unit-length sentence embeddings (mean pooling, as sentence-transformers)."""
        from ..models.bert import encode_sentences

        return [_finite_or_none(row) for row in encode_sentences(self.model, self.tokenizer, list(texts))]

    # -------------------------------------------------------------------------- generation
    def parse_generate(self, payload: Any) -> GenerateRequest:
        if self.kind != "generator":
            raise InputError(404, f"this server runs a {self.kind} model: use {self.describe()['endpoint']}")
        allowed = {"prompt", "max_new_tokens", "temperature", "top_k", "stream"}
        prompt = _field(payload, "prompt", allowed)
        if not isinstance(prompt, str) or not prompt:
            raise InputError(422, f"'prompt' must be a non-empty string, got a JSON {_json_type(prompt)}")
        if len(prompt) > self.max_chars:
            raise InputError(413, f"'prompt' has {len(prompt)} characters; at most {self.max_chars}")
        n = payload.get("max_new_tokens", min(32, self.max_new_tokens))
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= self.max_new_tokens:
            raise InputError(422, f"'max_new_tokens' must be an integer in [1, {self.max_new_tokens}], got {n!r}")
        temperature = payload.get("temperature", 1.0)
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not 0 <= temperature <= 10:
            raise InputError(422, f"'temperature' must be a number in [0, 10], got {temperature!r}")
        top_k = payload.get("top_k")
        if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
            raise InputError(422, f"'top_k' must be a positive integer or null, got {top_k!r}")
        stream = payload.get("stream", True)
        if not isinstance(stream, bool):
            raise InputError(422, f"'stream' must be true or false, got {stream!r}")
        try:
            ids = [int(t) for t in self.tokenizer.encode(prompt)]
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(422, f"'prompt' cannot be tokenized: {exc}") from None
        if not ids:
            raise InputError(422, "'prompt' encodes to no tokens")
        context = self.context_size()
        if context is not None and len(ids) + n > context:
            raise InputError(422, f"'prompt' is {len(ids)} tokens and max_new_tokens is {n}: together more than "
                                  f"the model's {context} positions")
        return GenerateRequest(ids, n, float(temperature), top_k, stream)

    def stream_tokens(self, request: GenerateRequest, cancelled=lambda: False):
        """Yield (token_id, text_piece) for each new token; stops early when ``cancelled()``.

        One ``model.generate(ids, max_new_tokens=1, ...)`` call per token (the generic
        interface); a model with ``stream_generate(ids, max_new_tokens=..., ...)`` yielding
        token ids is used directly. Generation also stops at the model's end-of-text token
        (``model.config.eos_token_id``), which is not yielded (fewer than max_new_tokens tokens
        then means it stopped there). The text pieces are the growth of decode(new
        tokens); a trailing U+FFFD (the first bytes of a character split over tokens) is held
        back until the character is complete, so the pieces join to the decoded text.
        """
        from ..autograd import no_grad

        ids = list(request.prompt_ids)
        new, sent = [], ""
        kwargs = {"temperature": request.temperature, "top_k": request.top_k}
        eos = self.eos_token_id()
        with no_grad():
            stepper = getattr(self.model, "stream_generate", None)
            if callable(stepper):
                source = (int(t) for t in stepper(np.asarray([ids], dtype=np.int64),
                                                  max_new_tokens=request.max_new_tokens, **kwargs))
            else:
                source = self._one_at_a_time(ids, request.max_new_tokens, kwargs)
            for token in source:
                if token == eos:
                    return
                new.append(token)
                full = self.tokenizer.decode(new)
                stable = full.rstrip("\ufffd") if len(new) < request.max_new_tokens else full
                piece = stable[len(sent):] if stable.startswith(sent) else ""
                sent += piece
                yield token, piece
                if cancelled():
                    return

    def eos_token_id(self):
        """The generator's end-of-text token id (``model.config.eos_token_id``), or None."""
        eos = getattr(getattr(self.model, "config", None), "eos_token_id", None)
        return eos if isinstance(eos, int) and not isinstance(eos, bool) else None

    def context_size(self):
        """The most tokens (prompt + new) the generator can see (``model.config.n_positions``), or None."""
        n = getattr(getattr(self.model, "config", None), "n_positions", None)
        return n if isinstance(n, int) and not isinstance(n, bool) else None

    def _one_at_a_time(self, ids: list, count: int, kwargs: dict):
        for _ in range(count):
            out = self.model.generate(np.asarray([ids], dtype=np.int64), max_new_tokens=1, **kwargs)
            out = out.numpy() if hasattr(out, "numpy") else np.asarray(out)
            token = int(np.asarray(out).reshape(-1)[-1])
            ids.append(token)
            yield token
