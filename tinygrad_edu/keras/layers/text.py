"""TextVectorization: raw strings -> token ids (or multi-hot / count vectors).

The subset supported (documented in docs/keras.md):

* ``standardize``: "lower_and_strip_punctuation" (default), "lower", "strip_punctuation",
  None, or a Python function str -> str (applied to each text);
* ``split``: "whitespace" (default), "character", None, or a function str -> list of str;
* ``ngrams``: None only; ``output_mode``: "int" (default), "multi_hot", "count";
* ``max_tokens`` (vocabulary size including the padding "" and "[UNK]" in "int" mode),
  ``output_sequence_length`` (pad with 0 / cut at the end), ``vocabulary=`` (a list);
* ``adapt(data)``: a list / array of strings, or an iterable of such batches (or of
  (texts, labels) pairs): the vocabulary is the tokens by decreasing count, ties in
  decreasing string order (as TensorFlow's).

The output is an int64 Tensor (N, T) ("int") or float32 (N, max_tokens); it is not
differentiable. The layer holds no weights: its vocabulary is saved in its config.
"""
from __future__ import annotations

import collections
import re
import string

import numpy as np

from ...tensor import Tensor
from .base import Layer

__all__ = ["TextVectorization"]

_PUNCTUATION = re.compile("[%s]" % re.escape(string.punctuation))


class TextVectorization(Layer):
    """Turn texts into token ids; see the module docstring for the supported options.

    TextVectorization(max_tokens=None, standardize="lower_and_strip_punctuation",
                      split="whitespace", output_mode="int", output_sequence_length=None,
                      vocabulary=None)
    texts: (N,) or (N, 1) strings -> (N, T) int64 ("int"; T = output_sequence_length or the
    longest text) or (N, vocabulary_size) float32 ("multi_hot", "count"). Unknown tokens
    get id 1 ("[UNK]"); id 0 is padding.
    """

    def __init__(self, max_tokens=None, standardize="lower_and_strip_punctuation", split="whitespace", ngrams=None,
                 output_mode="int", output_sequence_length=None, vocabulary=None, **kwargs):
        super().__init__(**kwargs)
        if ngrams is not None:
            raise NotImplementedError("TextVectorization: ngrams is not supported")
        if output_mode not in ("int", "multi_hot", "count"):
            raise ValueError(f"TextVectorization: output_mode must be 'int', 'multi_hot' or 'count', "
                             f"got {output_mode!r}")
        if standardize not in (None, "lower_and_strip_punctuation", "lower", "strip_punctuation") \
                and not callable(standardize):
            raise ValueError(f"TextVectorization: unknown standardize {standardize!r}")
        if split not in (None, "whitespace", "character") and not callable(split):
            raise ValueError(f"TextVectorization: unknown split {split!r}")
        self.max_tokens = None if max_tokens is None else int(max_tokens)
        self.standardize, self.split = standardize, split
        self.output_mode = output_mode
        self.output_sequence_length = None if output_sequence_length is None else int(output_sequence_length)
        self._vocab = []
        self._index = {}
        if vocabulary is not None:
            self.set_vocabulary(vocabulary)
        self.built = True

    # -- vocabulary
    def _reserved(self) -> list:
        return ["", "[UNK]"] if self.output_mode == "int" else ["[UNK]"]

    def set_vocabulary(self, vocabulary) -> None:
        """Use ``vocabulary`` (tokens, without the reserved "" / "[UNK]" or starting with them)."""
        vocab = [str(v) for v in vocabulary]
        reserved = self._reserved()
        if vocab[:len(reserved)] != reserved:
            vocab = reserved + [v for v in vocab if v not in reserved]
        self._vocab = vocab
        self._index = {tok: i for i, tok in enumerate(vocab)}

    def get_vocabulary(self) -> list:
        return list(self._vocab)

    def vocabulary_size(self) -> int:
        return len(self._vocab)

    def get_config(self):
        if callable(self.standardize) or callable(self.split):
            raise TypeError(f'layer "{self.name}" (TextVectorization): a custom standardize/split function '
                            f'cannot be saved in a config; save the weights and rebuild the layer in code')
        config = super().get_config()
        config["vocabulary"] = self._vocab[len(self._reserved()):]
        return config

    # -- text processing
    def _standardize(self, text: str) -> str:
        mode = self.standardize
        if callable(mode):
            return str(mode(text))
        if mode in ("lower", "lower_and_strip_punctuation"):
            text = text.lower()
        if mode in ("strip_punctuation", "lower_and_strip_punctuation"):
            text = _PUNCTUATION.sub("", text)
        return text

    def _tokens(self, text) -> list:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        text = self._standardize(str(text))
        if callable(self.split):
            return list(self.split(text))
        if self.split == "character":
            return list(text)
        if self.split is None:
            return [text]
        return text.split()

    @staticmethod
    def _texts(data) -> list:
        if isinstance(data, Tensor):
            data = data.numpy()
        array = np.asarray(data, dtype=object)
        if array.ndim == 2 and array.shape[1] == 1:
            array = array[:, 0]
        if array.ndim != 1:
            raise ValueError(f"TextVectorization: expected texts of shape (N,) or (N, 1), got {array.shape}")
        return list(array)

    def adapt(self, data, batch_size=None, steps=None) -> None:
        """Build the vocabulary from ``data`` (texts, or an iterable of batches of texts)."""
        counts = collections.Counter()
        if isinstance(data, (str, bytes)):
            raise TypeError("TextVectorization.adapt: give a list of texts, not one string")
        if isinstance(data, (list, tuple, np.ndarray, Tensor)) and (len(data) == 0 or
                                                                   isinstance(data[0], (str, bytes, np.str_))):
            batches = [data]
        else:
            batches = data
        for batch in batches:
            if isinstance(batch, tuple) and len(batch) == 2:
                batch = batch[0]
            for text in self._texts(batch):
                counts.update(self._tokens(text))
        reserved = self._reserved()
        ordered = [tok for tok, _ in sorted(counts.items(), key=lambda kv: (kv[1], kv[0]), reverse=True)
                   if tok not in reserved]
        if self.max_tokens is not None:
            ordered = ordered[:max(self.max_tokens - len(reserved), 0)]
        self.set_vocabulary(reserved + ordered)

    # -- calling
    def compute_output_shape(self, input_shape):
        if self.output_mode == "int":
            return (input_shape[0], self.output_sequence_length)
        return (input_shape[0], self.max_tokens or (len(self._vocab) or None))

    def _output_dtype(self, first):
        return "int64" if self.output_mode == "int" else "float32"

    def _check_input_shape(self, shape):
        return None

    def forward(self, x, training=False, mask=None):
        if not self._vocab:
            raise ValueError(f'layer "{self.name}" (TextVectorization) has no vocabulary: call adapt() or give '
                             f'vocabulary=')
        texts = self._texts(x)
        unk = self._index["[UNK]"]
        ids = [[self._index.get(tok, unk) for tok in self._tokens(t)] for t in texts]
        if self.output_mode == "int":
            length = self.output_sequence_length or max((len(r) for r in ids), default=0)
            out = np.zeros((len(ids), length), dtype=np.int64)
            for i, row in enumerate(ids):
                row = row[:length]
                out[i, :len(row)] = row
            return Tensor(out)
        size = self.max_tokens or len(self._vocab)
        out = np.zeros((len(ids), size), dtype=np.float32)
        for i, row in enumerate(ids):
            for j in row:
                if self.output_mode == "count":
                    out[i, j] += 1
                else:
                    out[i, j] = 1
        return Tensor(out)
