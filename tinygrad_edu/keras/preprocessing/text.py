"""Keras 2's text preprocessing (``keras.preprocessing.text``), behaviour for behaviour.

``Tokenizer`` turns texts into lists of word indices the way Keras 2 does, including its
quirks, so that code written for Keras gives the same numbers here:

- words are found by lower-casing, replacing every character of ``filters`` by ``split``
  and splitting on ``split``; nothing else, so a text without spaces, such as the Chinese
  "这是一个样本文本", is one single word;
- ``word_index`` numbers words from 1 by descending count, ties in order of first
  appearance; 0 is never a word (it is left for padding); ``oov_token``, when given, is
  number 1;
- ``num_words`` does not shrink ``word_index``: it only makes ``texts_to_sequences`` (and
  the matrix and text helpers) drop, or map to ``oov_token``, words whose index is
  ``>= num_words``;
- with ``char_level=True`` the tokens are the characters of the (lower-cased) text, and
  ``filters`` is NOT applied; a text given as a list is taken as its tokens as they are.
"""
from __future__ import annotations

import hashlib
import json
from collections import OrderedDict, defaultdict

import numpy as np

__all__ = ["text_to_word_sequence", "one_hot", "hashing_trick", "Tokenizer", "tokenizer_from_json"]

DEFAULT_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'


def text_to_word_sequence(text, filters=DEFAULT_FILTERS, lower=True, split=" "):
    """Split a text into words, as Keras: lower-case (if ``lower``), turn each character of
    ``filters`` into ``split``, split on ``split``, drop empty strings. Returns list[str]."""
    if not isinstance(text, str):
        raise TypeError(f"text_to_word_sequence: text must be a str, got {type(text).__name__}")
    if lower:
        text = text.lower()
    text = text.translate(str.maketrans({c: split for c in filters}))
    return [w for w in text.split(split) if w]


def hashing_trick(text, n, hash_function=None, filters=DEFAULT_FILTERS, lower=True, split=" ",
                  analyzer=None):
    """Hash each word of ``text`` to an index in 1..n-1 (0 is kept for padding).

    hash_function: None uses Python's ``hash`` (salted per process for strings unless
    PYTHONHASHSEED is set, as in Keras), ``"md5"`` a stable MD5-based hash, or any
    callable str -> int. Returns list[int].
    """
    if hash_function is None:
        hash_function = hash
    elif hash_function == "md5":
        def hash_function(w):
            return int(hashlib.md5(w.encode("utf-8")).hexdigest(), 16)
    seq = analyzer(text) if analyzer is not None else text_to_word_sequence(text, filters, lower, split)
    return [(hash_function(w) % (n - 1) + 1) for w in seq]


def one_hot(text, n, filters=DEFAULT_FILTERS, lower=True, split=" ", analyzer=None):
    """Keras's ``one_hot``: ``hashing_trick`` with Python's ``hash`` (despite the name it
    returns word indices in 1..n-1, not one-hot vectors)."""
    return hashing_trick(text, n, hash_function=hash, filters=filters, lower=lower, split=split,
                         analyzer=analyzer)


class Tokenizer:
    """Keras 2's ``Tokenizer``: vocabulary from texts, then texts -> index sequences / matrices.

    num_words: keep only words with index < num_words when converting (None: all).
    filters: characters turned into ``split`` before splitting. lower: lower-case first.
    split: the word separator. char_level: every character is a token. oov_token: a token
    (index 1) that replaces unknown or cut words in ``texts_to_sequences``.
    analyzer: optional callable text -> list of tokens used instead of the splitting rule.

    Attributes after ``fit_on_texts``: ``word_counts`` (OrderedDict word -> count, in
    first-seen order), ``word_docs`` (word -> number of texts containing it),
    ``word_index`` (word -> index from 1), ``index_word`` (its inverse), ``index_docs``
    (index -> number of texts), ``document_count`` (texts seen).
    """

    def __init__(self, num_words=None, filters=DEFAULT_FILTERS, lower=True, split=" ",
                 char_level=False, oov_token=None, analyzer=None, document_count=0, **kwargs):
        if "nb_words" in kwargs:          # Keras 1's name, still accepted by Keras 2
            num_words = kwargs.pop("nb_words")
        if kwargs:
            raise TypeError(f"Tokenizer: unrecognized keyword arguments: {sorted(kwargs)}")
        if num_words is not None and (isinstance(num_words, bool) or not isinstance(num_words, (int, np.integer))
                                      or num_words < 0):
            raise ValueError(f"Tokenizer: num_words must be None or an int >= 0, got {num_words!r}")
        self.word_counts = OrderedDict()
        self.word_docs = defaultdict(int)
        self.filters = filters
        self.split = split
        self.lower = lower
        self.num_words = num_words
        self.document_count = document_count
        self.char_level = char_level
        self.oov_token = oov_token
        self.index_docs = defaultdict(int)
        self.word_index = {}
        self.index_word = {}
        self.analyzer = analyzer

    # -- tokens of one text, the same rule for fitting and converting ---------------------
    def _tokens(self, text):
        if self.char_level or isinstance(text, list):
            if self.lower:
                text = [t.lower() for t in text] if isinstance(text, list) else text.lower()
            return text
        if self.analyzer is not None:
            return self.analyzer(text)
        return text_to_word_sequence(text, self.filters, self.lower, self.split)

    @staticmethod
    def _check_texts(texts, where):
        if isinstance(texts, str):
            raise TypeError(f"Tokenizer.{where}: expected a list of texts, got one str "
                            f"(wrap it in a list: [{texts[:20]!r}...])")

    def fit_on_texts(self, texts):
        """Update the vocabulary from ``texts`` (a list of str, or of token lists) and
        rebuild ``word_index`` / ``index_word`` / ``index_docs``."""
        self._check_texts(texts, "fit_on_texts")
        for text in texts:
            self.document_count += 1
            seq = self._tokens(text)
            for w in seq:
                self.word_counts[w] = self.word_counts.get(w, 0) + 1
            for w in set(seq):
                self.word_docs[w] += 1
        # stable sort: equal counts keep first-appearance order
        ranked = sorted(self.word_counts.items(), key=lambda wc: wc[1], reverse=True)
        vocab = [] if self.oov_token is None else [self.oov_token]
        vocab.extend(w for w, _ in ranked)
        # index 0 is never a word; (as in Keras, an oov_token that is also a real word ends
        # up with the word's later index)
        self.word_index = dict(zip(vocab, range(1, len(vocab) + 1)))
        self.index_word = {i: w for w, i in self.word_index.items()}
        for w, c in list(self.word_docs.items()):
            self.index_docs[self.word_index[w]] = c

    def fit_on_sequences(self, sequences):
        """Count, for ``sequences_to_matrix(mode="tfidf")``, in how many sequences each
        index appears (for vocabularies built elsewhere)."""
        self.document_count += len(sequences)
        for seq in sequences:
            for i in set(seq):
                self.index_docs[i] += 1

    def texts_to_sequences(self, texts):
        """Texts -> list of lists of word indices (unknown words dropped, or ``oov_token``'s
        index when set; indices >= num_words likewise)."""
        return list(self.texts_to_sequences_generator(texts))

    def texts_to_sequences_generator(self, texts):
        """Generator form of ``texts_to_sequences``: yields one list[int] per text."""
        self._check_texts(texts, "texts_to_sequences")
        num_words = self.num_words
        oov_index = self.word_index.get(self.oov_token)
        for text in texts:
            vect = []
            for w in self._tokens(text):
                i = self.word_index.get(w)
                if i is not None:
                    if num_words and i >= num_words:
                        if oov_index is not None:
                            vect.append(oov_index)
                    else:
                        vect.append(i)
                elif self.oov_token is not None:
                    vect.append(oov_index)
            yield vect

    def sequences_to_texts(self, sequences):
        """Index sequences -> texts (words joined by one space); unknown indices dropped
        (or shown as ``oov_token``)."""
        return list(self.sequences_to_texts_generator(sequences))

    def sequences_to_texts_generator(self, sequences):
        """Generator form of ``sequences_to_texts``: yields one str per sequence."""
        num_words = self.num_words
        oov_index = self.word_index.get(self.oov_token)
        for seq in sequences:
            vect = []
            for num in seq:
                word = self.index_word.get(num)
                if word is not None:
                    if num_words and num >= num_words:
                        if oov_index is not None:
                            vect.append(self.index_word[oov_index])
                    else:
                        vect.append(word)
                elif self.oov_token is not None:
                    vect.append(self.index_word[oov_index])
            yield " ".join(vect)

    def texts_to_matrix(self, texts, mode="binary"):
        """Texts -> (len(texts), num_words) float64 matrix; see ``sequences_to_matrix``."""
        return self.sequences_to_matrix(self.texts_to_sequences(texts), mode=mode)

    def sequences_to_matrix(self, sequences, mode="binary"):
        """Index sequences -> (len(sequences), num_words) float64 matrix (num_words defaults
        to len(word_index) + 1). Column j of row i, for a word counted c times in a sequence
        of length L: "binary" 1, "count" c, "freq" c / L, "tfidf"
        (1 + ln c) * ln(1 + document_count / (1 + documents containing j)).
        Indices >= num_words are ignored; column 0 stays 0."""
        if not self.num_words:
            if self.word_index:
                num_words = len(self.word_index) + 1
            else:
                raise ValueError("Specify a dimension (`num_words` argument), or fit on some text data first.")
        else:
            num_words = self.num_words
        if mode not in ("binary", "count", "tfidf", "freq"):
            raise ValueError(f"Unknown vectorization mode: {mode!r} (use binary, count, tfidf or freq)")
        if mode == "tfidf" and not self.document_count:
            raise ValueError("Fit the Tokenizer on some data before using tfidf mode.")
        x = np.zeros((len(sequences), num_words))
        for i, seq in enumerate(sequences):
            if not seq:
                continue
            counts = defaultdict(int)
            for j in seq:
                if j >= num_words:
                    continue
                counts[j] += 1
            for j, c in counts.items():
                if mode == "count":
                    x[i][j] = c
                elif mode == "freq":
                    x[i][j] = c / len(seq)
                elif mode == "binary":
                    x[i][j] = 1
                else:
                    tf = 1 + np.log(c)
                    idf = np.log(1 + self.document_count / (1 + self.index_docs.get(j, 0)))
                    x[i][j] = tf * idf
        return x

    def get_config(self):
        """The tokenizer's settings and vocabulary as a dict of JSON-able values (Keras's
        layout: the dictionaries are stored as JSON strings)."""
        return {
            "num_words": self.num_words,
            "filters": self.filters,
            "lower": self.lower,
            "split": self.split,
            "char_level": self.char_level,
            "oov_token": self.oov_token,
            "document_count": self.document_count,
            "word_counts": json.dumps(self.word_counts),
            "word_docs": json.dumps(self.word_docs),
            "index_docs": json.dumps(self.index_docs),
            "index_word": json.dumps(self.index_word),
            "word_index": json.dumps(self.word_index),
        }

    def to_json(self, **kwargs):
        """JSON string ``{"class_name": "Tokenizer", "config": get_config()}``; kwargs go to
        ``json.dumps``. Read back with ``tokenizer_from_json``."""
        return json.dumps({"class_name": self.__class__.__name__, "config": self.get_config()}, **kwargs)


def tokenizer_from_json(json_string):
    """A Tokenizer from ``Tokenizer.to_json()`` output (also reads Keras's own)."""
    config = json.loads(json_string).get("config")
    if config is None:
        raise ValueError("tokenizer_from_json: no 'config' entry in the JSON")
    config = dict(config)
    word_counts = json.loads(config.pop("word_counts"), object_pairs_hook=OrderedDict)
    word_docs = json.loads(config.pop("word_docs"))
    index_docs = {int(k): v for k, v in json.loads(config.pop("index_docs")).items()}
    index_word = {int(k): v for k, v in json.loads(config.pop("index_word")).items()}
    word_index = json.loads(config.pop("word_index"))
    tok = Tokenizer(**config)
    tok.word_counts = word_counts
    tok.word_docs = defaultdict(int, word_docs)
    tok.index_docs = defaultdict(int, index_docs)
    tok.word_index = word_index
    tok.index_word = index_word
    return tok
