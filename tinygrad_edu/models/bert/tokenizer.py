"""BERT's WordPiece tokenizer, in plain Python, reading a Hugging Face-format folder offline.

It reproduces the reference ("slow") BERT tokenizer token for token: special tokens written
in the text are cut out first and kept whole, the rest goes through the basic tokenizer and
WordPiece (:mod:`.wordpiece` states the rules).

The ``__call__`` interface follows Hugging Face's tokenizers (``padding``, ``truncation``,
``max_length``, ``return_tensors="np"``), returning a ``BatchEncoding`` with
``input_ids``, ``token_type_ids`` and ``attention_mask``.
"""
from __future__ import annotations

import json
import os
import re
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from .encoding import BatchEncoding, as_id_list as _as_id_list, truncate_longest_first
from .wordpiece import MAX_INPUT_CHARS_PER_WORD, VOCAB_FILE, basic_tokenize, load_vocab, wordpiece

__all__ = ["BatchEncoding", "BertTokenizer", "load_vocab"]


class BertTokenizer:
    """BERT WordPiece tokenizer (uncased or cased), compatible with Hugging Face's.

    Build it with ``BertTokenizer.from_pretrained(folder)`` (reads vocab.txt and, when
    present, tokenizer_config.json / config.json) or directly from a vocab file or a
    token -> id dict.

    Args:
        vocab: path to vocab.txt, or a dict token -> id (ids 0..V-1).
        do_lower_case: lower-case and strip accents before WordPiece (uncased models).
        tokenize_chinese_chars: split CJK ideographs into single-character words.
        strip_accents: None follows do_lower_case; True/False forces accent stripping on/off.
        unk_token, sep_token, pad_token, cls_token, mask_token: the special tokens' strings;
            each must be in the vocabulary.
        model_max_length: the longest sequence the model takes (e.g. 512): the default
            ``max_length`` for ``truncation=True`` and ``padding="max_length"``; None for none.
        clean_up_tokenization_spaces: default for ``decode``: remove the space before
            ". , ! ?" and in contractions, as Hugging Face's BERT does.
    """

    def __init__(
        self,
        vocab: str | os.PathLike | dict[str, int],
        do_lower_case: bool = True,
        tokenize_chinese_chars: bool = True,
        strip_accents: bool | None = None,
        unk_token: str = "[UNK]",
        sep_token: str = "[SEP]",
        pad_token: str = "[PAD]",
        cls_token: str = "[CLS]",
        mask_token: str = "[MASK]",
        model_max_length: int | None = None,
        clean_up_tokenization_spaces: bool = True,
        max_input_chars_per_word: int = MAX_INPUT_CHARS_PER_WORD,
    ):
        if isinstance(vocab, dict):
            self.vocab = dict(vocab)
            self._ids_to_tokens = {i: tok for tok, i in self.vocab.items()}
        else:
            if not os.path.isfile(vocab):
                raise FileNotFoundError(f"BertTokenizer: vocabulary file {os.fspath(vocab)!r} not found")
            self.vocab, lines = load_vocab(vocab)
            self._ids_to_tokens = dict(enumerate(lines))
        if not self.vocab:
            raise ValueError("BertTokenizer: the vocabulary is empty")
        self.do_lower_case = bool(do_lower_case)
        self.tokenize_chinese_chars = bool(tokenize_chinese_chars)
        self.strip_accents = strip_accents
        self.unk_token, self.sep_token, self.pad_token = unk_token, sep_token, pad_token
        self.cls_token, self.mask_token = cls_token, mask_token
        for role, tok in (("unk", unk_token), ("sep", sep_token), ("pad", pad_token), ("cls", cls_token), ("mask", mask_token)):
            if tok not in self.vocab:
                raise ValueError(f"BertTokenizer: the {role} token {tok!r} is not in the vocabulary")
        if model_max_length is not None and (not isinstance(model_max_length, int) or model_max_length < 2):
            raise ValueError(f"BertTokenizer: model_max_length must be an int >= 2 or None, got {model_max_length!r}")
        self.model_max_length = model_max_length
        self.clean_up_tokenization_spaces = bool(clean_up_tokenization_spaces)
        self.max_input_chars_per_word = int(max_input_chars_per_word)
        # WordPiece never needs to try a piece longer than the longest vocabulary entry.
        self._longest_piece = max(len(t) for t in self.vocab)
        self.all_special_tokens = [unk_token, sep_token, pad_token, cls_token, mask_token]
        self._special_set = frozenset(self.all_special_tokens)
        # Longest alternatives first, so that at each position the longest special token wins.
        alternatives = sorted(self._special_set, key=len, reverse=True)
        self._special_re = re.compile("|".join(re.escape(t) for t in alternatives))

    # -- construction -------------------------------------------------------------------

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike, **overrides: Any) -> "BertTokenizer":
        """Load from a Hugging Face-format folder (offline): vocab.txt is required;
        tokenizer_config.json (do_lower_case, strip_accents, tokenize_chinese_chars,
        model_max_length, special tokens) and config.json (max_position_embeddings, used as
        model_max_length when the tokenizer config gives none) are read when present.
        Keyword arguments override what the files say."""
        folder = os.fspath(path)
        if not os.path.isdir(folder):
            raise FileNotFoundError(f"BertTokenizer.from_pretrained: {folder!r} is not a folder")
        vocab_file = os.path.join(folder, VOCAB_FILE)
        if not os.path.isfile(vocab_file):
            raise FileNotFoundError(
                f"BertTokenizer.from_pretrained: no {VOCAB_FILE} in folder {folder!r} "
                "(a BERT checkpoint folder holds vocab.txt, config.json and model.safetensors)"
            )
        tok_cfg = _read_json(os.path.join(folder, "tokenizer_config.json"))
        model_cfg = _read_json(os.path.join(folder, "config.json"))
        special_map = _read_json(os.path.join(folder, "special_tokens_map.json"))

        kwargs: dict[str, Any] = {}
        for key in ("do_lower_case", "tokenize_chinese_chars", "strip_accents", "clean_up_tokenization_spaces"):
            if key in tok_cfg and tok_cfg[key] is not None:
                kwargs[key] = tok_cfg[key]
        for key in ("unk_token", "sep_token", "pad_token", "cls_token", "mask_token"):
            value = tok_cfg.get(key, special_map.get(key))
            if isinstance(value, dict):  # {"content": "[SEP]", ...} in newer configs
                value = value.get("content")
            if isinstance(value, str):
                kwargs[key] = value
        max_len = tok_cfg.get("model_max_length")
        # Hugging Face writes ~1e30 for "no limit"; fall back on the model's position table.
        if not isinstance(max_len, int) or max_len > 1_000_000:
            max_len = model_cfg.get("max_position_embeddings")
        if isinstance(max_len, int) and max_len >= 2:
            kwargs["model_max_length"] = max_len
        kwargs.update(overrides)
        return cls(vocab_file, **kwargs)

    # -- vocabulary ----------------------------------------------------------------------

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def __len__(self) -> int:
        return len(self.vocab)

    def get_vocab(self) -> dict[str, int]:
        return dict(self.vocab)

    @property
    def unk_token_id(self) -> int:
        return self.vocab[self.unk_token]

    @property
    def sep_token_id(self) -> int:
        return self.vocab[self.sep_token]

    @property
    def pad_token_id(self) -> int:
        return self.vocab[self.pad_token]

    @property
    def cls_token_id(self) -> int:
        return self.vocab[self.cls_token]

    @property
    def mask_token_id(self) -> int:
        return self.vocab[self.mask_token]

    @property
    def all_special_ids(self) -> list[int]:
        return [self.vocab[t] for t in self.all_special_tokens]

    def convert_tokens_to_ids(self, tokens: str | Iterable[str]) -> int | list[int]:
        """Token(s) -> id(s); a token not in the vocabulary gives the [UNK] id."""
        unk = self.unk_token_id
        if isinstance(tokens, str):
            return self.vocab.get(tokens, unk)
        return [self.vocab.get(t, unk) for t in tokens]

    def convert_ids_to_tokens(self, ids: int | Iterable[int], skip_special_tokens: bool = False) -> str | list[str]:
        """Id(s) -> token(s). Raises IndexError for an id outside 0..vocab_size-1."""
        if isinstance(ids, (int, np.integer)):
            return self._id_to_token(int(ids))
        out = []
        for i in _as_id_list(ids):
            tok = self._id_to_token(i)
            if skip_special_tokens and tok in self._special_set:
                continue
            out.append(tok)
        return out

    def _id_to_token(self, i: int) -> str:
        try:
            return self._ids_to_tokens[i]
        except KeyError:
            raise IndexError(
                f"BertTokenizer: token id {i} is outside the vocabulary (ids 0..{self.vocab_size - 1})"
            ) from None

    # -- tokenizing ----------------------------------------------------------------------

    def tokenize(self, text: str) -> list[str]:
        """Text -> WordPiece tokens (no [CLS]/[SEP] added). Special tokens in the text stay whole."""
        if not isinstance(text, str):
            raise TypeError(f"BertTokenizer.tokenize: expected a str, got {type(text).__name__}")
        tokens: list[str] = []
        pos = 0
        for m in self._special_re.finditer(text):
            tokens += self._tokenize_plain(text[pos : m.start()])
            tokens.append(m.group())
            pos = m.end()
        tokens += self._tokenize_plain(text[pos:])
        return tokens

    def _tokenize_plain(self, text: str) -> list[str]:
        out: list[str] = []
        for word in self._basic_tokenize(text):
            if word in self._special_set:
                out.append(word)
            else:
                out += self._wordpiece(word)
        return out

    def _basic_tokenize(self, text: str) -> list[str]:
        strip = self.strip_accents if self.strip_accents is not None else self.do_lower_case
        return basic_tokenize(text, do_lower_case=self.do_lower_case, strip=strip,
                              tokenize_chinese_chars=self.tokenize_chinese_chars, keep=self._special_set)

    def _wordpiece(self, word: str) -> list[str]:
        return wordpiece(word, self.vocab, self.unk_token, self._longest_piece, self.max_input_chars_per_word)

    # -- encoding ------------------------------------------------------------------------

    def num_special_tokens_to_add(self, pair: bool = False) -> int:
        return 3 if pair else 2

    def build_inputs_with_special_tokens(self, ids_a: list[int], ids_b: list[int] | None = None) -> list[int]:
        """[CLS] A [SEP] or [CLS] A [SEP] B [SEP]."""
        if ids_b is None:
            return [self.cls_token_id, *ids_a, self.sep_token_id]
        return [self.cls_token_id, *ids_a, self.sep_token_id, *ids_b, self.sep_token_id]

    def create_token_type_ids_from_sequences(self, ids_a: list[int], ids_b: list[int] | None = None) -> list[int]:
        """0 for [CLS] A [SEP], 1 for B [SEP]."""
        first = [0] * (len(ids_a) + 2)
        return first if ids_b is None else first + [1] * (len(ids_b) + 1)

    def _resolve_strategies(self, padding: Any, truncation: Any, max_length: int | None):
        """Hugging Face's rules for turning (padding, truncation, max_length) into a plan."""
        if max_length is not None and (isinstance(max_length, bool) or not isinstance(max_length, (int, np.integer)) or max_length < 0):
            raise ValueError(f"max_length must be a non-negative int or None, got {max_length!r}")
        if max_length is not None:
            max_length = int(max_length)
        # Hugging Face: max_length alone (no padding, truncation unset) switches truncation on.
        if truncation is None:
            truncation = max_length is not None and padding is False
        if truncation not in (True, False, "longest_first", "do_not_truncate"):
            raise ValueError(
                f"truncation must be True, False, 'longest_first' or 'do_not_truncate', got {truncation!r}"
            )
        truncate = truncation in (True, "longest_first")
        if padding is True or padding == "longest":
            pad = "longest"
            if max_length is not None and not truncate:
                warnings.warn(
                    "`max_length` is ignored when `padding`=`True` and there is no truncation strategy. "
                    "To pad to max length, use `padding='max_length'`.",
                    stacklevel=3,
                )
        elif padding is False or padding == "do_not_pad" or padding is None:
            pad = None
        elif padding == "max_length":
            pad = "max_length"
        else:
            raise ValueError(f"padding must be True, False, 'longest', 'max_length' or 'do_not_pad', got {padding!r}")
        if max_length is None and (truncate or pad == "max_length"):
            if self.model_max_length is None:
                if pad == "max_length":
                    raise ValueError("padding='max_length' needs max_length: this tokenizer has no model_max_length")
                truncate = False  # no limit known: nothing to truncate to (as Hugging Face)
            else:
                max_length = self.model_max_length
        return pad, truncate, max_length

    def _encode_one(self, text: str, pair: str | None, add_special_tokens: bool, truncate: bool, max_length: int | None):
        ids_a = self.convert_tokens_to_ids(self.tokenize(text))
        ids_b = None if pair is None else self.convert_tokens_to_ids(self.tokenize(pair))
        n_special = (3 if pair is not None else 2) if add_special_tokens else 0
        if truncate and max_length is not None:
            ids_a, ids_b = truncate_longest_first(ids_a, ids_b, max_length, n_special)
        if add_special_tokens:
            input_ids = self.build_inputs_with_special_tokens(ids_a, ids_b)
            type_ids = self.create_token_type_ids_from_sequences(ids_a, ids_b)
        else:
            input_ids = ids_a + (ids_b or [])
            type_ids = [0] * len(ids_a) + [1] * len(ids_b or [])
        return input_ids, type_ids

    def encode(
        self,
        text: str,
        text_pair: str | None = None,
        add_special_tokens: bool = True,
        max_length: int | None = None,
        truncation: bool | str | None = None,
        padding: bool | str = False,
    ) -> list[int]:
        """Text (and optional pair) -> list of ids: [CLS] A [SEP] (B [SEP]).

        ``truncation=True`` cuts longest-first to ``max_length`` (default model_max_length).
        As in Hugging Face, leaving ``truncation`` unset while giving ``max_length`` also
        truncates. ``padding="max_length"`` pads with [PAD] up to ``max_length``.
        """
        enc = self(text, text_pair, add_special_tokens=add_special_tokens, max_length=max_length,
                   truncation=truncation, padding=padding)
        return enc["input_ids"]

    def __call__(
        self,
        texts: str | Sequence[str],
        text_pair: str | Sequence[str] | None = None,
        padding: bool | str = False,
        truncation: bool | str | None = None,
        max_length: int | None = None,
        return_tensors: str | None = None,
        add_special_tokens: bool = True,
    ) -> BatchEncoding:
        """Tokenize one text or a batch into model inputs, like a Hugging Face tokenizer.

        Args:
            texts: a str, or a list of str (a batch).
            text_pair: the second sequences: a str for a single text, a list of the same
                length for a batch. Each item becomes [CLS] A [SEP] B [SEP] with
                token_type_ids 0 for the first part and 1 for B [SEP].
            padding: False / "do_not_pad": none; True / "longest": pad to the longest
                sequence of the batch; "max_length": pad to ``max_length`` (default
                model_max_length). Padding appends [PAD] ids with attention_mask 0 and
                token_type_ids 0.
            truncation: True / "longest_first": cut tokens from the end of the longer of
                the two sequences (or the only one) until the whole fits ``max_length``
                (default model_max_length, e.g. 512). False: never cut. None (default): as
                Hugging Face, truncate only when ``max_length`` is given and padding is off.
            max_length: the length limit for truncation and padding="max_length".
            return_tensors: None for Python lists, "np" for int64 arrays of shape (batch, seq),
                "pt" for int64 tinygrad_edu Tensors of that shape (so PyTorch code runs unchanged)
                (shape (1, seq) for a single str).
            add_special_tokens: add [CLS]/[SEP] (default True).

        Returns:
            BatchEncoding with input_ids, token_type_ids, attention_mask.

        Raises:
            TypeError: texts are not str / list of str.
            ValueError: text_pair does not match texts, an unknown padding/truncation/
                return_tensors value, max_length too small for the special tokens, or
                return_tensors="np" on sequences of unequal length (pad or truncate them).
        """
        single = isinstance(texts, str)
        if single:
            batch = [texts]
            if text_pair is not None and not isinstance(text_pair, str):
                raise TypeError(f"text_pair must be a str when texts is a str, got {type(text_pair).__name__}")
            pairs = None if text_pair is None else [text_pair]
        else:
            if not isinstance(texts, (list, tuple)) or not all(isinstance(t, str) for t in texts):
                raise TypeError(
                    "BertTokenizer: texts must be a str or a list of str, got "
                    f"{type(texts).__name__}" + ("" if not isinstance(texts, (list, tuple)) else " with non-str items")
                )
            batch = list(texts)
            if text_pair is None:
                pairs = None
            else:
                if not isinstance(text_pair, (list, tuple)) or not all(isinstance(t, str) for t in text_pair):
                    raise TypeError("text_pair must be a list of str when texts is a list")
                if len(text_pair) != len(batch):
                    raise ValueError(f"text_pair has {len(text_pair)} items but texts has {len(batch)}")
                pairs = list(text_pair)
        if return_tensors not in (None, "np", "pt"):
            raise ValueError(f"return_tensors must be None, 'np' or 'pt', got {return_tensors!r}")

        pad, truncate, max_length = self._resolve_strategies(padding, truncation, max_length)
        rows = [
            self._encode_one(t, None if pairs is None else pairs[i], add_special_tokens, truncate, max_length)
            for i, t in enumerate(batch)
        ]
        input_ids = [r[0] for r in rows]
        type_ids = [r[1] for r in rows]
        masks = [[1] * len(ids) for ids in input_ids]

        limit = self.model_max_length
        if not truncate and limit is not None and any(len(ids) > limit for ids in input_ids):
            longest = max(len(ids) for ids in input_ids)
            warnings.warn(
                f"Token indices sequence length is longer than the specified maximum sequence length "
                f"for this model ({longest} > {limit}). Running this sequence through the model will "
                "result in indexing errors",
                stacklevel=2,
            )

        if pad is not None and input_ids:
            target = max(len(ids) for ids in input_ids) if pad == "longest" else max_length
            pad_id = self.pad_token_id
            for ids, types, mask in zip(input_ids, type_ids, masks):
                extra = target - len(ids)
                if extra > 0:
                    ids += [pad_id] * extra
                    types += [0] * extra
                    mask += [0] * extra

        out = BatchEncoding(input_ids=input_ids, token_type_ids=type_ids, attention_mask=masks)
        if return_tensors in ("np", "pt"):
            lengths = {len(ids) for ids in input_ids}
            if len(lengths) > 1:
                raise ValueError(
                    "Unable to create tensor, you should probably activate truncation and/or padding with "
                    "'padding=True' 'truncation=True' to have batched tensors with the same length "
                    f"(the sequences have lengths {sorted(lengths)})."
                )
            seq = lengths.pop() if lengths else 0
            for key in list(out):
                out[key] = np.array(out[key], dtype=np.int64).reshape(len(input_ids), seq)
                if return_tensors == "pt":  # "pt" (PyTorch tensors) gives tinygrad_edu Tensors here
                    from ...tensor import Tensor

                    out[key] = Tensor(out[key])
        elif single:
            for key in list(out):
                out[key] = out[key][0]
        return out

    # -- decoding ------------------------------------------------------------------------

    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        """Join tokens with spaces, gluing "##" continuations onto the previous piece."""
        return " ".join(tokens).replace(" ##", "").strip()

    def decode(self, ids: Any, skip_special_tokens: bool = False, clean_up_tokenization_spaces: bool | None = None) -> str:
        """Ids (list of int or 1-D int array) -> text. Lower-casing and accent stripping
        cannot be undone, so decode(encode(t)) is the normalised text. With
        clean_up_tokenization_spaces (default: the tokenizer's setting, True for BERT) the
        space before . , ! ? and inside contractions like "don ' t" -> "don't" is removed."""
        text = self.convert_tokens_to_string(self.convert_ids_to_tokens(_as_id_list(ids), skip_special_tokens))
        clean = self.clean_up_tokenization_spaces if clean_up_tokenization_spaces is None else clean_up_tokenization_spaces
        if clean:
            for before, after in ((" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"),
                                  (" n't", "n't"), (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")):
                text = text.replace(before, after)
        return text

    def batch_decode(self, sequences: Any, skip_special_tokens: bool = False, clean_up_tokenization_spaces: bool | None = None) -> list[str]:
        """decode() for each row of a list of id lists or a 2-D array."""
        return [self.decode(s, skip_special_tokens, clean_up_tokenization_spaces) for s in sequences]

    def __repr__(self) -> str:
        return (f"BertTokenizer(vocab_size={self.vocab_size}, do_lower_case={self.do_lower_case}, "
                f"model_max_length={self.model_max_length})")


def _read_json(path: str) -> dict[str, Any]:
    if not os.path.isfile(path):
        return {}
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except ValueError as e:
        raise ValueError(f"BertTokenizer: {path!r} is not valid JSON ({e})") from None
    if not isinstance(data, dict):
        raise ValueError(f"BertTokenizer: {path!r} should hold a JSON object")
    return data
