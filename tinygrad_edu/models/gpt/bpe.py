"""Byte-level BPE, as GPT-2 does it: bytes as characters, a pre-tokenizer, the merges.

1. The byte alphabet (``bytes_to_unicode``). BPE works on strings, and a vocabulary file is
   JSON, so every byte 0..255 gets a printable stand-in character: the 188 bytes that are
   printable Latin-1 ("!".."~", "¡".."¬", "®".."ÿ") stand for themselves, the other 68
   (control bytes, space, ...) take the characters from U+0100 upwards, in order. A space is
   "Ġ" (U+0120) and a newline "Ċ" (U+010A). Any text is UTF-8 bytes, so nothing is ever
   unknown.

2. The pre-tokenizer (``pretokenize``) cuts the text into pieces that merges never cross.
   GPT-2 wrote it as one regular expression:

       's|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+

   i.e., at each point the first alternative that matches: an English contraction; an
   optional space and a run of letters; of digits; of other symbols; a run of whitespace
   not followed by a non-space (so the last space before a word stays with the word); any
   whitespace. Python's ``re`` has no \\p{L}, so the scanner below spells it out with
   ``unicodedata`` categories (L* letters, N* numbers; whitespace is Unicode's White_Space).

3. The merges (``BPE.word``): a piece, as byte characters, starts as single characters;
   repeatedly the adjacent pair with the best (lowest) rank in merges.txt is joined, until
   no pair has a rank. The resulting strings are looked up in vocab.json.
"""
from __future__ import annotations

import unicodedata
from functools import lru_cache

__all__ = ["bytes_to_unicode", "pretokenize", "BPE", "is_letter", "is_number", "is_space"]


@lru_cache(maxsize=1)
def bytes_to_unicode() -> dict:
    """byte (0..255) -> its stand-in character (see the module docstring)."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) \
        + list(range(ord("®"), ord("ÿ") + 1))
    table, extra = {}, 0
    for b in range(256):
        if b in printable:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


_SPACES = frozenset("\t\n\x0b\x0c\r\x85")


@lru_cache(maxsize=65536)
def _category(c: str) -> str:
    return unicodedata.category(c)


def is_letter(c: str) -> bool:
    """\\p{L}: the Unicode categories Lu, Ll, Lt, Lm, Lo."""
    return _category(c)[0] == "L"


def is_number(c: str) -> bool:
    """\\p{N}: the Unicode categories Nd, Nl, No."""
    return _category(c)[0] == "N"


def is_space(c: str) -> bool:
    """\\s: Unicode's White_Space (tab..carriage return, U+0085 and the Z* separators)."""
    return c in _SPACES or _category(c) in ("Zs", "Zl", "Zp")


_CONTRACTIONS = ("re", "ve", "ll", "s", "t", "m", "d")


def _run(text: str, i: int, keep) -> int:
    """The end of the run of characters satisfying ``keep`` that starts at i."""
    n = len(text)
    while i < n and keep(text[i]):
        i += 1
    return i


def _other(c: str) -> bool:
    return not (is_space(c) or is_letter(c) or is_number(c))


def pretokenize(text: str) -> list:
    """Cut ``text`` into GPT-2's pieces (see the module docstring); "".join(pieces) == text."""
    pieces, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        # 's 't 're 've 'm 'll 'd (lower case only, as GPT-2's expression)
        if c == "'":
            word = next((w for w in _CONTRACTIONS if text.startswith(w, i + 1)), None)
            if word is not None:
                pieces.append(text[i:i + 1 + len(word)])
                i += 1 + len(word)
                continue
        # an optional single space, then a run of letters / of digits / of other symbols
        j = i + 1 if c == " " and i + 1 < n else i
        d = text[j]
        end = None
        for kind in (is_letter, is_number, _other):
            if kind(d):
                end = _run(text, j, kind)
                break
        if end is not None:
            pieces.append(text[i:end])
            i = end
            continue
        # whitespace: \s+(?!\S) -- the run, less its last character when a non-space follows
        end = _run(text, i, is_space)
        if end < n and end - i > 1:
            end -= 1
        pieces.append(text[i:end])
        i = end
    return pieces


class BPE:
    """The merge loop over one vocabulary.

    BPE(ranks): ranks maps a pair (a, b) of strings to its merge rank (0 = merged first).
    ``word(piece)`` -> the list of merged symbols of one pre-token (already byte characters).
    Results are cached per piece.
    """

    def __init__(self, ranks: dict):
        self.ranks = ranks
        self._cache: dict = {}

    def word(self, piece: str) -> list:
        cached = self._cache.get(piece)
        if cached is not None:
            return cached
        symbols = list(piece)
        ranks = self.ranks
        while len(symbols) > 1:
            best, best_rank = None, None
            for k in range(len(symbols) - 1):
                r = ranks.get((symbols[k], symbols[k + 1]))
                if r is not None and (best_rank is None or r < best_rank):
                    best, best_rank = k, r
            if best is None:
                break
            pair = (symbols[best], symbols[best + 1])
            merged, k = [], 0
            while k < len(symbols):   # merge every occurrence of the pair, left to right
                if k + 1 < len(symbols) and (symbols[k], symbols[k + 1]) == pair:
                    merged.append(pair[0] + pair[1])
                    k += 2
                else:
                    merged.append(symbols[k])
                    k += 1
            symbols = merged
        if len(self._cache) < 100_000:
            self._cache[piece] = symbols
        return symbols
