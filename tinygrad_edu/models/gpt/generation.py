"""Generating text: the decoding loop with a key/value cache, and the sampling rules.

The loop (``GenerationMixin._steps``)::

    cache = model.new_cache(B, T + max_new_tokens)
    logits = model(prompt, cache=cache).logits[:, -1]     # the prompt once: T positions
    repeat: token = choose(logits); yield token
            logits = decode_step(model, token, cache)   # ONE new position (decode.py)

Each step runs the network on one token; its attention reads the cached keys and values of
the earlier ones instead of recomputing them, so a step costs O(position) and n tokens
O(n^2) in all, against O(n^3) when every step re-reads the whole sequence.

Choosing (``choose_next``), on the last position's logits:

    greedy            argmax
    temperature t     logits / t  (t < 1 sharpens, t > 1 flattens)
    top_k k           keep the k largest logits, the rest -inf
    top_p p           keep the smallest set of most likely tokens whose probability sums to
                      >= p (nucleus sampling), the rest -inf
    then sample from softmax(logits).
"""
from __future__ import annotations

import numpy as np

from ... import rng
from ...autograd import no_grad
from ...device import move
from ...tensor import Tensor
from .config import as_ids
from .decode import decode_step

__all__ = ["GenerationMixin", "choose_next", "filter_logits"]


def filter_logits(logits: np.ndarray, temperature: float = 1.0, top_k: int | None = None,
                  top_p: float | None = None) -> np.ndarray:
    """(B, V) logits -> (B, V) float64 logits after temperature, top-k and top-p (in that
    order, as Hugging Face applies them); removed tokens get -inf. At least one token stays."""
    z = np.asarray(logits, dtype=np.float64) / float(temperature)
    if top_k is not None and top_k < z.shape[-1]:
        kth = np.partition(z, -top_k, axis=-1)[:, -top_k][:, None]
        z = np.where(z < kth, -np.inf, z)
    if top_p is not None and top_p < 1.0:
        order = np.argsort(-z, axis=-1, kind="stable")
        sorted_z = np.take_along_axis(z, order, axis=-1)
        p = np.exp(sorted_z - sorted_z[:, :1])
        p /= p.sum(axis=-1, keepdims=True)
        before = np.cumsum(p, axis=-1) - p          # probability of the tokens ranked above
        drop_sorted = before >= top_p               # keeps the first token always
        drop = np.zeros_like(drop_sorted)
        np.put_along_axis(drop, order, drop_sorted, axis=-1)
        z = np.where(drop, -np.inf, z)
    return z


def choose_next(logits: np.ndarray, do_sample: bool, temperature: float = 1.0, top_k=None, top_p=None,
                generator: np.random.Generator | None = None) -> np.ndarray:
    """(B, V) logits -> (B,) int64 next tokens: argmax, or a sample after ``filter_logits``."""
    if not do_sample:
        return np.asarray(logits).argmax(axis=-1).astype(np.int64)
    z = filter_logits(logits, temperature, top_k, top_p)
    p = np.exp(z - z.max(axis=-1, keepdims=True))
    p /= p.sum(axis=-1, keepdims=True)
    gen = generator if generator is not None else rng.generator()
    u = gen.random((p.shape[0], 1))
    picks = (np.cumsum(p, axis=-1) < u).sum(axis=-1)
    return np.minimum(picks, p.shape[-1] - 1).astype(np.int64)


def _check_options(max_new_tokens, do_sample, temperature, top_k, top_p):
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, (int, np.integer)) or max_new_tokens < 0:
        raise ValueError(f"generate: max_new_tokens must be an int >= 0, got {max_new_tokens!r}")
    if temperature is not None and (isinstance(temperature, bool) or not float(temperature) >= 0):
        raise ValueError(f"generate: temperature must be a number >= 0, got {temperature!r}")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 1):
        raise ValueError(f"generate: top_k must be a positive int or None, got {top_k!r}")
    if top_p is not None and not 0.0 < float(top_p) <= 1.0:
        raise ValueError(f"generate: top_p must lie in (0, 1], got {top_p!r}")
    if do_sample is None:   # sample when a sampling option is given, unless the temperature is 0
        do_sample = any(v is not None for v in (temperature, top_k, top_p)) and temperature != 0
    if do_sample and temperature is not None and float(temperature) == 0:
        raise ValueError("generate: do_sample=True needs temperature > 0 (temperature 0 is greedy)")
    return bool(do_sample), 1.0 if temperature in (None, 0) else float(temperature)


class GenerationMixin:
    """``generate`` and ``stream_generate`` for GPT2LMHeadModel (needs ``new_cache`` and
    ``forward(ids, cache=)``)."""

    def _steps(self, ids: np.ndarray, max_new_tokens: int, do_sample, temperature, top_k, top_p,
               eos_token_id, seed):
        """Yield (B,) int64 arrays of next tokens; rows that produced eos_token_id get it again."""
        do_sample, temperature = _check_options(max_new_tokens, do_sample, temperature, top_k, top_p)
        B, T = ids.shape
        if T == 0:
            raise ValueError("generate: the prompt is empty; give at least one token")
        if T + max_new_tokens > self.config.n_positions:
            raise ValueError(f"generate: {T} prompt + {max_new_tokens} new tokens exceed the model's "
                             f"{self.config.n_positions} positions")
        if max_new_tokens == 0:
            return
        generator = None if seed is None else np.random.default_rng(seed)
        done = np.zeros(B, dtype=bool)
        was_training = self.training
        self.eval()
        try:
            with no_grad():
                cache = self.new_cache(B, T + max_new_tokens)
                logits = self(ids, cache=cache).logits.numpy()[:, -1]
                for step in range(max_new_tokens):
                    token = choose_next(logits, do_sample, temperature, top_k, top_p, generator)
                    if eos_token_id is not None:
                        token = np.where(done, eos_token_id, token)
                        done |= token == eos_token_id
                    yield token
                    if step + 1 == max_new_tokens or done.all():
                        return
                    logits = move(decode_step(self, token, cache), "cpu")   # one position
        finally:
            self.train(was_training)

    def generate(self, input_ids, max_new_tokens: int = 20, do_sample: bool | None = None,
                 temperature: float | None = None, top_k: int | None = None, top_p: float | None = None,
                 eos_token_id: int | None = None, seed: int | None = None):
        """The prompt followed by up to ``max_new_tokens`` generated tokens.

        input_ids: (B, T) ints as a Tensor, NumPy array or nested lists (a 1-D sequence is
        refused: add the batch axis). Returns int64 (B, T + n): a Tensor when the input is one,
        else a NumPy array. n < max_new_tokens only when every row produced ``eos_token_id``
        (default None: never stop early; rows that finished are padded with it).
        do_sample: False greedy (argmax), True sample; None (default) samples when
        temperature, top_k or top_p is given and temperature is not 0, else greedy.
        temperature, top_k, top_p: see ``filter_logits``. seed: a private random generator
        for this call (else tge's global one, which ``tge.manual_seed`` sets).
        Uses a key/value cache: the prompt is run once, then one position per new token.
        Runs in eval mode without recording gradients (the mode is restored afterwards).
        """
        ids = as_ids(input_ids)
        new = list(self._steps(ids, max_new_tokens, do_sample, temperature, top_k, top_p, eos_token_id, seed))
        out = np.concatenate([ids] + [t[:, None] for t in new], axis=1) if new else ids.copy()
        return Tensor(out) if isinstance(input_ids, Tensor) else out

    def stream_generate(self, input_ids, max_new_tokens: int = 20, **options):
        """Yield the new tokens of one sequence (input_ids (1, T)) one by one, as ints, as soon
        as each is chosen. Options as ``generate``."""
        ids = as_ids(input_ids)
        if ids.shape[0] != 1:
            raise ValueError(f"stream_generate: one sequence at a time, got a batch of {ids.shape[0]}")
        known = ("do_sample", "temperature", "top_k", "top_p", "eos_token_id", "seed")
        unknown = sorted(set(options) - set(known))
        if unknown:
            raise TypeError(f"stream_generate: unexpected option(s) {unknown}; it takes {list(known)}")
        for token in self._steps(ids, max_new_tokens, *(options.get(k) for k in known)):
            yield int(token[0])
