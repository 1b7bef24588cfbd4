"""GPT2Tokenizer: byte-level BPE from a Hugging Face folder's vocab.json and merges.txt.

    tok = GPT2Tokenizer.from_pretrained(folder)
    tok("Hello world")["input_ids"]        # [15496, 995] with GPT-2's own files
    tok.encode("Hello world"), tok.decode([15496, 995])

encode: split off special tokens (``<|endoftext|>`` and any in added_tokens.json), cut the
rest with GPT-2's pre-tokenizer, turn each piece's UTF-8 bytes into the byte characters, run
the merges, look the symbols up. decode: ids -> symbols -> bytes -> UTF-8 (invalid sequences,
e.g. half a character, become U+FFFD as in Hugging Face). ``decode(encode(text)) == text``
for every string.
"""
from __future__ import annotations

import json
import os

import numpy as np

from ...tensor import Tensor
from ..bert.config import _checkpoint_folder
from .bpe import BPE, bytes_to_unicode, pretokenize

__all__ = ["GPT2Tokenizer"]

VOCAB_FILE = "vocab.json"
MERGES_FILE = "merges.txt"


class GPT2Tokenizer:
    """Byte-level BPE tokenizer (GPT-2's). See the module docstring.

    GPT2Tokenizer(vocab: dict str -> int, merges: list of (a, b) pairs, special_tokens=None)
    GPT2Tokenizer.from_pretrained(folder) / from_files(vocab_file, merges_file)

    __call__(text or list of texts) -> {"input_ids": ids, "attention_mask": ones} (lists, or
    int64 arrays (1, T) with return_tensors="np"); encode(text) -> list[int];
    decode(ids, skip_special_tokens=False) -> str; tokenize(text) -> list of symbol strings.
    """

    def __init__(self, vocab: dict, merges, special_tokens=None, model_max_length: int = 1024):
        if not isinstance(vocab, dict) or not vocab:
            raise ValueError("GPT2Tokenizer: vocab must be a non-empty dict of token -> id")
        self.encoder = {str(k): int(v) for k, v in vocab.items()}
        self.decoder = {v: k for k, v in self.encoder.items()}
        self.bpe = BPE({tuple(pair): rank for rank, pair in enumerate(merges)})
        self.byte_encoder = bytes_to_unicode()
        self.byte_decoder = {c: b for b, c in self.byte_encoder.items()}
        specials = ["<|endoftext|>"] + list(special_tokens or [])
        self.special_tokens = [t for t in dict.fromkeys(specials) if t in self.encoder]
        self.model_max_length = model_max_length
        eos = "<|endoftext|>" if "<|endoftext|>" in self.encoder else None
        self.eos_token, self.eos_token_id = eos, (self.encoder[eos] if eos else None)
        self.bos_token, self.bos_token_id = self.eos_token, self.eos_token_id

    # ------------------------------------------------------------------ loading
    @classmethod
    def from_files(cls, vocab_file, merges_file, **options) -> "GPT2Tokenizer":
        with open(vocab_file, encoding="utf-8") as f:
            try:
                vocab = json.load(f)
            except json.JSONDecodeError as exc:
                raise ValueError(f"GPT2Tokenizer: {os.fspath(vocab_file)!r} is not valid JSON: {exc}") from None
        merges = []
        with open(merges_file, encoding="utf-8") as f:
            for number, line in enumerate(f.read().split("\n"), 1):
                if not line.strip() or (number == 1 and line.startswith("#version")):
                    continue
                parts = line.split()
                if len(parts) != 2:
                    raise ValueError(f"GPT2Tokenizer: {os.fspath(merges_file)!r} line {number} is not "
                                     f"two symbols: {line!r}")
                merges.append((parts[0], parts[1]))
        return cls(vocab, merges, **options)

    @classmethod
    def from_pretrained(cls, path, **options) -> "GPT2Tokenizer":
        """vocab.json + merges.txt (and added_tokens.json if present) from a folder, offline."""
        folder = _checkpoint_folder(path)
        files = [os.path.join(folder, name) for name in (VOCAB_FILE, MERGES_FILE)]
        for file in files:
            if not os.path.isfile(file):
                raise FileNotFoundError(f"GPT2Tokenizer.from_pretrained: no {os.path.basename(file)} in {folder!r}")
        added = os.path.join(folder, "added_tokens.json")
        if os.path.isfile(added) and "special_tokens" not in options:
            with open(added, encoding="utf-8") as f:
                options["special_tokens"] = list(json.load(f))
        return cls.from_files(*files, **options)

    # ------------------------------------------------------------------ encoding
    @property
    def vocab_size(self) -> int:
        return len(self.encoder)

    def __len__(self) -> int:
        return len(self.encoder)

    def _split_special(self, text: str) -> list:
        """[(chunk, is_special)] with the special tokens cut out of ``text``."""
        parts = [(text, False)]
        for special in self.special_tokens:
            out = []
            for chunk, is_special in parts:
                if is_special or special not in chunk:
                    out.append((chunk, is_special))
                    continue
                pieces = chunk.split(special)
                for k, piece in enumerate(pieces):
                    if piece:
                        out.append((piece, False))
                    if k + 1 < len(pieces):
                        out.append((special, True))
            parts = out
        return parts

    def tokenize(self, text: str) -> list:
        """The BPE symbols of ``text`` (strings of byte characters, e.g. "Ġworld")."""
        if not isinstance(text, str):
            raise TypeError(f"GPT2Tokenizer: expected a str, got {type(text).__name__}")
        symbols = []
        for chunk, is_special in self._split_special(text):
            if is_special:
                symbols.append(chunk)
                continue
            for piece in pretokenize(chunk):
                symbols.extend(self.bpe.word("".join(self.byte_encoder[b] for b in piece.encode("utf-8"))))
        return symbols

    def convert_tokens_to_ids(self, tokens):
        if isinstance(tokens, str):
            return self.encoder[tokens]
        try:
            return [self.encoder[t] for t in tokens]
        except KeyError as exc:
            raise KeyError(f"GPT2Tokenizer: symbol {exc.args[0]!r} is not in the vocabulary (merges.txt "
                           "makes a symbol vocab.json lacks)") from None

    def convert_ids_to_tokens(self, ids):
        if isinstance(ids, (int, np.integer)):
            return self.decoder[int(ids)]
        return [self.decoder[int(i)] for i in ids]

    def encode(self, text: str) -> list:
        """str -> list of token ids."""
        return self.convert_tokens_to_ids(self.tokenize(text))

    def __call__(self, text, return_tensors=None):
        """One text -> {"input_ids": [...], "attention_mask": [...]}; a list of texts -> lists
        of lists. return_tensors="np" gives int64 arrays (one text: shape (1, T); several
        texts must then have the same length)."""
        single = isinstance(text, str)
        ids = [self.encode(t) for t in ([text] if single else list(text))]
        if return_tensors in ("np", "tge"):
            if len({len(row) for row in ids}) > 1:
                raise ValueError("GPT2Tokenizer: texts of different lengths cannot make one array (no padding)")
            array = np.asarray(ids, dtype=np.int64).reshape(len(ids), -1)
            wrap = Tensor if return_tensors == "tge" else (lambda a: a)
            return {"input_ids": wrap(array), "attention_mask": wrap(np.ones_like(array))}
        if return_tensors is not None:
            raise ValueError(f"GPT2Tokenizer: return_tensors must be None, 'np' or 'tge', got {return_tensors!r}")
        masks = [[1] * len(row) for row in ids]
        return {"input_ids": ids[0] if single else ids, "attention_mask": masks[0] if single else masks}

    # ------------------------------------------------------------------ decoding
    def decode(self, ids, skip_special_tokens: bool = False) -> str:
        """token ids (list, 1-D array or Tensor) -> str."""
        if isinstance(ids, Tensor):
            ids = ids.numpy()
        ids = np.asarray(ids).reshape(-1).tolist()
        unknown = [i for i in ids if i not in self.decoder]
        if unknown:
            raise KeyError(f"GPT2Tokenizer.decode: id(s) {unknown[:5]} not in the vocabulary of {len(self)}")
        symbols = [self.decoder[i] for i in ids]
        if skip_special_tokens:
            symbols = [s for s in symbols if s not in self.special_tokens]
        data = bytearray()
        for s in symbols:
            data.extend(self.byte_decoder[c] for c in s)
        return data.decode("utf-8", errors="replace")

    def __repr__(self) -> str:
        return f"GPT2Tokenizer(vocab_size={len(self)}, merges={len(self.bpe.ranks)})"
