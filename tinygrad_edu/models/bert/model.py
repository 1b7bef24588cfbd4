"""The BERT models (the encoder, the sequence classifier) and sentence embeddings."""
from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np

from ... import nn
from ...autograd import no_grad
from ...nn import functional as F
from ...tensor import Tensor
from .config import BertConfig, ModelOutput, _int_array
from .layers import BertEmbeddings, BertEncoder, BertPooler
from .loading import BertPreTrainedModel, _copy_weights, _init_like_bert, _split_base, _warn_unused
from .tokenizer import BertTokenizer


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
