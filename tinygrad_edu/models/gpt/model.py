"""GPT2Model (the decoder stack) and GPT2LMHeadModel (with the tied LM head and generation)."""
from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

from ... import nn
from ...autograd import no_grad
from ...device import array_module
from ...nn import functional as F
from ...nn import init
from ...tensor import Tensor, to_dtype
from ..bert.config import _checkpoint_folder
from .config import GPT2Config, ModelOutput, as_ids
from .generation import GenerationMixin
from .layers import GPT2Block, KVCache
from .loading import copy_into, read_gpt2_checkpoint

__all__ = ["GPT2PreTrainedModel", "GPT2Model", "GPT2LMHeadModel"]


class GPT2PreTrainedModel(nn.Module):
    """The config, GPT-2's initialisation and the dtype, shared by the two models.

    Initialisation (as GPT-2): Linear and Embedding weights ~ N(0, 0.02^2), biases 0,
    LayerNorms 1 and 0, and the projections that feed the residual stream (``c_proj``)
    ~ N(0, (0.02 / sqrt(2 n_layer))^2), so that the stream's variance does not grow with depth.
    """

    def __init__(self, config: GPT2Config):
        super().__init__()
        if not isinstance(config, GPT2Config):
            raise TypeError(f"{type(self).__name__}: expected a GPT2Config, got {type(config).__name__}")
        self.config = config

    def init_weights(self) -> None:
        std = self.config.initializer_range
        for name, module in self.named_modules():
            if isinstance(module, nn.Linear):
                scale = 1.0 / math.sqrt(2 * self.config.n_layer) if name.endswith("c_proj") else 1.0
                init.normal_(module.weight, 0.0, std * scale)
                init.zeros_(module.bias)
            elif isinstance(module, nn.Embedding):
                init.normal_(module.weight, 0.0, std)
            elif isinstance(module, nn.LayerNorm):
                init.ones_(module.weight)
                init.zeros_(module.bias)

    @property
    def dtype(self) -> np.dtype:
        return next(iter(self.parameters())).dtype


class GPT2Model(GPT2PreTrainedModel):
    """Token + position embeddings, n_layer pre-norm blocks, final LayerNorm.

    forward(input_ids (B, T) ints, cache=None) -> hidden states Tensor (B, T, E). With a
    KVCache the tokens sit at positions cache.length .. cache.length + T - 1 and are appended
    to it. T (plus the cached length) may not exceed n_positions.
    """

    def __init__(self, config: GPT2Config):
        super().__init__(config)
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.wpe = nn.Embedding(config.n_positions, config.n_embd)
        self.drop = nn.Dropout(config.embd_pdrop)
        self.h = nn.ModuleList([GPT2Block(config) for _ in range(config.n_layer)])
        self.ln_f = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)

    def forward(self, input_ids, cache: KVCache | None = None) -> Tensor:
        ids = as_ids(input_ids)
        B, T = ids.shape
        start = 0 if cache is None else cache.length
        limit = self.config.n_positions if cache is None else min(cache.max_len, self.config.n_positions)
        if start + T > limit:
            raise ValueError(f"GPT-2: {start} cached + {T} new tokens exceed the "
                             f"{'cache' if cache is not None and cache.max_len < self.config.n_positions else 'model'}"
                             f"'s {limit} positions")
        V = self.config.vocab_size
        if ids.size and (ids.min() < 0 or ids.max() >= V):
            raise IndexError(f"GPT-2: token ids must lie in [0, {V}), got values in [{ids.min()}, {ids.max()}]")
        positions = np.arange(start, start + T, dtype=np.int64)
        x = self.drop(self.wte(ids) + self.wpe(positions))
        for i, block in enumerate(self.h):
            x = block(x, cache, i)
        if cache is not None:
            cache.length += T
        return self.ln_f(x)


class GPT2LMHeadModel(GPT2PreTrainedModel, GenerationMixin):
    """GPT-2 with its language-model head: logits = h @ wte.weight^T (the head is tied to the
    token embedding, so it has no weight of its own).

    GPT2LMHeadModel(config): randomly initialised, in training mode.
    GPT2LMHeadModel.from_pretrained(folder, dtype="float32"): a Hugging Face GPT-2 folder
        (config.json, model.safetensors), offline, in eval mode.

    forward(input_ids (B, T), labels=None, cache=None) -> ModelOutput with
        logits  (B, T, vocab_size): the scores of the token after each position
        loss    when labels (B, T) are given: the mean cross-entropy of logits[:, :-1] against
                labels[:, 1:] (the shift is done here, as in Hugging Face; -100 is ignored)
    Generation: ``generate`` and ``stream_generate`` (see GenerationMixin).
    """

    def __init__(self, config: GPT2Config, *, init_weights: bool = True):
        super().__init__(config)
        self.transformer = GPT2Model(config)
        if init_weights:
            self.init_weights()

    def forward(self, input_ids, labels=None, cache: KVCache | None = None) -> ModelOutput:
        h = self.transformer(input_ids, cache)
        logits = F.linear(h, self.transformer.wte.weight)
        loss = None
        if labels is not None:
            target = as_ids(labels, "labels")
            if target.shape != tuple(logits.shape[:2]):
                raise ValueError(f"GPT-2: labels {target.shape} must match input_ids {tuple(logits.shape[:2])}")
            B, T, V = logits.shape
            loss = F.cross_entropy(logits[:, :-1].reshape(B * (T - 1), V),
                                   Tensor(np.ascontiguousarray(target[:, 1:]).reshape(-1), device=logits.device))
        return ModelOutput(loss=loss, logits=logits)

    def new_cache(self, batch: int, max_len: int) -> KVCache:
        """An empty KVCache for ``batch`` sequences of up to ``max_len`` tokens."""
        c = self.config
        max_len = min(int(max_len), c.n_positions)
        xp = array_module(self.transformer.wte.weight.data)   # the cache lives with the weights
        return KVCache(c.n_layer, int(batch), max_len, c.n_embd, self.dtype, xp)

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike, dtype="float32", **config_overrides: Any):
        """Load config.json and model.safetensors from the folder ``path`` (never downloads).

        dtype: "float32" (default) or "float64". The safetensors header is checked against the
        config first (KeyError naming missing tensors, ValueError naming mis-shaped ones with
        the expected and found shapes, TypeError for non-float ones); only then are the
        weights read. Returns the model in eval mode (dropout off).
        """
        target = to_dtype(dtype)
        if target not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise TypeError(f"{cls.__name__}.from_pretrained: dtype must be float32 or float64, got {target}")
        folder = _checkpoint_folder(path)
        config = GPT2Config.from_pretrained(folder, **config_overrides)
        tensors = read_gpt2_checkpoint(folder, config)
        with no_grad():
            model = cls(config, init_weights=False)
        copy_into(model, tensors, target)
        model.name_or_path = folder
        return model.eval()
