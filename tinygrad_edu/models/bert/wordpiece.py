"""From text to WordPiece tokens: BERT's basic tokenizer and WordPiece, as plain functions.

It reproduces the reference ("slow") BERT tokenizer token for token:

1. Special tokens written in the text ([CLS], [SEP], [PAD], [MASK], [UNK]) are cut out first
   and kept whole.
2. The basic tokenizer, on the rest:
   - clean: drop U+0000, U+FFFD and control characters (Unicode category C*, except tab,
     newline and carriage return); turn every whitespace character (space, \\t, \\n, \\r and
     category Zs, e.g. U+00A0, U+3000) into a space;
   - put spaces around CJK ideographs (the CJK Unified Ideographs blocks and extensions A-E,
     and the compatibility ideographs), so each becomes its own word;
   - NFC-normalise, split on whitespace;
   - if do_lower_case: lower-case each word and strip accents (NFD, then drop the
     non-spacing marks, category Mn);
   - split off every punctuation character as its own word: ASCII 33-47, 58-64, 91-96,
     123-126 (so $, ^, ` and the like count) and Unicode category P*.
3. WordPiece on each word: greedy longest match first from the left, continuation pieces
   prefixed with "##"; a word longer than 100 characters, or one that cannot be covered by
   vocabulary pieces, becomes a single [UNK].
"""
from __future__ import annotations

import os
import unicodedata

VOCAB_FILE = "vocab.txt"
MAX_INPUT_CHARS_PER_WORD = 100

# The CJK ideograph ranges the reference BERT tokenizer treats as one-character words.
# (Hangul, Hiragana and Katakana are not in them: those scripts separate words with spaces.)
_CJK_RANGES = (
    (0x4E00, 0x9FFF),  # CJK Unified Ideographs
    (0x3400, 0x4DBF),  # Extension A
    (0x20000, 0x2A6DF),  # Extension B
    (0x2A700, 0x2B73F),  # Extension C
    (0x2B740, 0x2B81F),  # Extension D
    (0x2B820, 0x2CEAF),  # Extension E
    (0xF900, 0xFAFF),  # CJK Compatibility Ideographs
    (0x2F800, 0x2FA1F),  # CJK Compatibility Ideographs Supplement
)


# ----------------------------------------------------------------------------------------
# Character classes (the reference's definitions)
# ----------------------------------------------------------------------------------------


def _is_whitespace(ch: str) -> bool:
    return ch in " \t\n\r" or unicodedata.category(ch) == "Zs"


def _is_control(ch: str) -> bool:
    # Tab, newline and carriage return are categorised Cc but count as whitespace here.
    if ch in "\t\n\r":
        return False
    return unicodedata.category(ch).startswith("C")


def _is_punctuation(ch: str) -> bool:
    cp = ord(ch)
    # Every non-alphanumeric printable ASCII character counts, e.g. "$", "^", "`", "+".
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _is_cjk(ch: str) -> bool:
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in _CJK_RANGES)


def load_vocab(vocab_file: str | os.PathLike) -> tuple[dict[str, int], list[str]]:
    """Read a BERT vocab.txt: one token per line, its id is the line number (from 0).

    Returns (token -> id, id -> token list). As in the reference, a token repeated on several
    lines maps to its last id.
    """
    tokens: list[str] = []
    with open(vocab_file, encoding="utf-8") as f:
        for line in f:
            tokens.append(line.rstrip("\n"))
    vocab = {tok: i for i, tok in enumerate(tokens)}
    return vocab, tokens


# ----------------------------------------------------------------------------------------
# The basic tokenizer and WordPiece
# ----------------------------------------------------------------------------------------


def clean_text(text: str) -> str:
    """Drop U+0000, U+FFFD and control characters; turn every whitespace character into a space."""
    chars = []
    for ch in text:
        if ch == "\x00" or ch == "\ufffd" or _is_control(ch):
            continue
        chars.append(" " if _is_whitespace(ch) else ch)
    return "".join(chars)


def strip_accents(word: str) -> str:
    """NFD-decompose and drop the non-spacing marks (category Mn): "café" -> "cafe"."""
    return "".join(c for c in unicodedata.normalize("NFD", word) if unicodedata.category(c) != "Mn")


def split_on_punctuation(word: str) -> list[str]:
    """Every punctuation character becomes its own piece: "don't!" -> ["don", "'", "t", "!"]."""
    pieces: list[str] = []
    current: list[str] = []
    for ch in word:
        if _is_punctuation(ch):
            if current:
                pieces.append("".join(current))
                current = []
            pieces.append(ch)
        else:
            current.append(ch)
    if current:
        pieces.append("".join(current))
    return pieces


def basic_tokenize(text: str, *, do_lower_case: bool, strip: bool, tokenize_chinese_chars: bool,
                   keep=frozenset()) -> list[str]:
    """Clean, isolate CJK, lower-case/strip accents, split on whitespace and punctuation.

    ``strip``: strip accents; words in ``keep`` (the special tokens) are passed through whole."""
    text = clean_text(text)
    if tokenize_chinese_chars:
        text = "".join(f" {ch} " if _is_cjk(ch) else ch for ch in text)
    text = unicodedata.normalize("NFC", text)
    words: list[str] = []
    for word in text.split():
        if word in keep:  # e.g. "[SEP]" that only appeared after cleaning
            words.append(word)
            continue
        if do_lower_case:
            word = word.lower()
        if strip:
            word = strip_accents(word)
        words += split_on_punctuation(word)
    # Stripping accents can leave nothing (a lone combining mark): re-split to drop empties.
    return " ".join(words).split()


def wordpiece(word: str, vocab, unk_token: str, longest_piece: int,
              max_input_chars_per_word: int = MAX_INPUT_CHARS_PER_WORD) -> list[str]:
    """Greedy longest-match-first WordPiece of one word; ``[unk_token]`` if it cannot be covered.

    ``longest_piece``: the length of the longest vocabulary entry (no longer piece is tried)."""
    n = len(word)
    if n > max_input_chars_per_word:
        return [unk_token]
    pieces: list[str] = []
    start = 0
    while start < n:
        prefix = "##" if start > 0 else ""
        end = min(n, start + longest_piece - len(prefix))
        while end > start:
            piece = prefix + word[start:end]
            if piece in vocab:
                break
            end -= 1
        else:
            return [unk_token]  # no vocabulary piece starts here: the whole word is unknown
        pieces.append(piece)
        start = end
    return pieces
