"""Tokenizer and friends against Keras 2's behaviour. TensorFlow is not installed here:
every expected value below is worked out by hand from Keras's documented algorithm
(keras_preprocessing/text.py: lower-case, replace `filters` by `split`, split; index 1 for
the most frequent word, ties by first appearance; oov_token first)."""
import json
import math
from collections import OrderedDict

import numpy as np
import pytest

from tinygrad_edu.keras.preprocessing import sequence, text
from tinygrad_edu.keras.preprocessing.text import (Tokenizer, hashing_trick, one_hot,
                                                   text_to_word_sequence, tokenizer_from_json)

TEXTS = ["The cat sat on the mat.", "The dog ate my homework!"]


def test_text_to_word_sequence():
    assert text_to_word_sequence("Hello, World! It's e-mail: foo@bar.com") == \
        ["hello", "world", "it's", "e", "mail", "foo", "bar", "com"]       # ' is not a filter
    assert text_to_word_sequence("a\tb\nc  d") == ["a", "b", "c", "d"]
    assert text_to_word_sequence("A-B", lower=False) == ["A", "B"]
    assert text_to_word_sequence("x,y z", filters="", split=",") == ["x", "y z"]


def test_fit_on_texts_builds_keras_vocabulary():
    tok = Tokenizer()
    tok.fit_on_texts(TEXTS)
    assert tok.word_index == {"the": 1, "cat": 2, "sat": 3, "on": 4, "mat": 5, "dog": 6,
                              "ate": 7, "my": 8, "homework": 9}
    assert tok.index_word == {i: w for w, i in tok.word_index.items()}
    assert isinstance(tok.word_counts, OrderedDict)
    assert list(tok.word_counts.items()) == [("the", 3), ("cat", 1), ("sat", 1), ("on", 1), ("mat", 1),
                                             ("dog", 1), ("ate", 1), ("my", 1), ("homework", 1)]
    assert tok.word_docs["the"] == 2 and tok.word_docs["cat"] == 1
    assert tok.index_docs[1] == 2 and tok.index_docs[9] == 1
    assert tok.document_count == 2
    assert tok.texts_to_sequences(TEXTS) == [[1, 2, 3, 4, 1, 5], [1, 6, 7, 8, 9]]
    assert tok.texts_to_sequences(["The cat ate the fish"]) == [[1, 2, 7, 1]]   # unknown dropped
    assert tok.texts_to_sequences([""]) == [[]]


def test_ties_keep_first_appearance_and_refit_accumulates():
    tok = Tokenizer()
    tok.fit_on_texts(["b a", "a c b", "c"])          # all three words twice
    assert tok.word_index == {"b": 1, "a": 2, "c": 3}
    tok.fit_on_texts(["c c"])                         # counts add up: c 4, b 2, a 2
    assert tok.word_index == {"c": 1, "b": 2, "a": 3}
    assert tok.document_count == 4
    tok = Tokenizer()
    tok.fit_on_texts(["x y y", "z z z"])
    assert tok.word_index == {"z": 1, "y": 2, "x": 3}


def test_oov_token_takes_index_one():
    tok = Tokenizer(oov_token="<OOV>")
    tok.fit_on_texts(TEXTS)
    assert tok.word_index["<OOV>"] == 1 and tok.word_index["the"] == 2 and tok.word_index["homework"] == 10
    assert tok.texts_to_sequences(["The cat ate the fish"]) == [[2, 3, 8, 2, 1]]


def test_num_words_limits_sequences_not_word_index():
    tok = Tokenizer(num_words=4)
    tok.fit_on_texts(TEXTS)
    assert len(tok.word_index) == 9                   # Keras keeps the whole vocabulary
    assert tok.texts_to_sequences(["The cat sat on the mat."]) == [[1, 2, 3, 1]]
    tok = Tokenizer(num_words=4, oov_token="<OOV>")
    tok.fit_on_texts(TEXTS)
    # kept: indices 1..3 = <OOV>, the, cat; sat(4), on(5), mat(6) become <OOV>
    assert tok.texts_to_sequences(["The cat sat on the mat."]) == [[2, 3, 1, 1, 2, 1]]


def test_chinese_texts_without_spaces_are_single_words():
    """The articles' example: Keras splits on spaces only, so each text is one word."""
    texts = ["这是一个样本文本", "这是另一个样本文本"]
    tok = Tokenizer(num_words=1000)
    tok.fit_on_texts(texts)
    assert tok.word_index == {"这是一个样本文本": 1, "这是另一个样本文本": 2}
    seqs = tok.texts_to_sequences(texts)
    assert seqs == [[1], [2]]
    padded = sequence.pad_sequences(seqs, maxlen=5)
    assert padded.dtype == np.int32
    assert padded.tolist() == [[0, 0, 0, 0, 1], [0, 0, 0, 0, 2]]
    # Chinese punctuation is not in the filters either
    assert text_to_word_sequence("你好，世界。 再见") == ["你好，世界。", "再见"]


def test_char_level_does_not_apply_filters():
    tok = Tokenizer(char_level=True)
    tok.fit_on_texts(["Hello world"])
    # counts: l 3, o 2, then h e ' ' w r d once each in first-seen order
    assert tok.word_index == {"l": 1, "o": 2, "h": 3, "e": 4, " ": 5, "w": 6, "r": 7, "d": 8}
    assert tok.texts_to_sequences(["Hold!"]) == [[3, 2, 1, 8]]


def test_lists_of_tokens_and_lower():
    tok = Tokenizer()
    tok.fit_on_texts([["Hello", "hello", "WORLD"]])
    assert tok.word_index == {"hello": 1, "world": 2}
    tok = Tokenizer(lower=False)
    tok.fit_on_texts(["ÄPFEL Äpfel äpfel Äpfel"])
    assert tok.word_index == {"Äpfel": 1, "ÄPFEL": 2, "äpfel": 3}
    tok = Tokenizer()
    tok.fit_on_texts(["ÄPFEL Äpfel"])
    assert tok.word_counts == OrderedDict([("äpfel", 2)])


def test_sequences_to_texts():
    tok = Tokenizer()
    tok.fit_on_texts(TEXTS)
    assert tok.sequences_to_texts([[1, 2, 7, 1], [99, 6]]) == ["the cat ate the", "dog"]
    tok = Tokenizer(oov_token="<OOV>", num_words=4)
    tok.fit_on_texts(TEXTS)
    assert tok.sequences_to_texts([[2, 3, 99, 5]]) == ["the cat <OOV> <OOV>"]


def test_texts_to_matrix_modes():
    tok = Tokenizer()
    tok.fit_on_texts(TEXTS)
    doc = ["the cat the"]
    m = tok.texts_to_matrix(doc, mode="count")
    assert m.shape == (1, 10) and m.dtype == np.float64
    assert m[0].tolist() == [0, 2, 1, 0, 0, 0, 0, 0, 0, 0]
    assert tok.texts_to_matrix(doc)[0].tolist() == [0, 1, 1, 0, 0, 0, 0, 0, 0, 0]   # binary
    np.testing.assert_allclose(tok.texts_to_matrix(doc, mode="freq")[0, :3], [0, 2 / 3, 1 / 3])
    tfidf = tok.texts_to_matrix(doc, mode="tfidf")[0]
    # the: tf 1 + ln 2, in 2 of 2 docs -> idf ln(1 + 2/3); cat: tf 1, in 1 doc -> ln(1 + 2/2)
    assert tfidf[1] == pytest.approx((1 + math.log(2)) * math.log(1 + 2 / 3))   # 0.86491...
    assert tfidf[1] == pytest.approx(0.864902, abs=1e-6)
    assert tfidf[2] == pytest.approx(math.log(2))
    assert np.count_nonzero(tfidf) == 2
    tok3 = Tokenizer(num_words=3)
    tok3.fit_on_texts(TEXTS)
    assert tok3.texts_to_matrix(["the cat sat homework"], mode="count").tolist() == [[0, 1, 1]]
    with pytest.raises(ValueError, match="Unknown vectorization mode"):
        tok.texts_to_matrix(doc, mode="bm25")
    with pytest.raises(ValueError, match="fit on some text data first"):
        Tokenizer().texts_to_matrix(doc)


def test_fit_on_sequences_and_json_round_trip():
    tok = Tokenizer(num_words=20, oov_token="?")
    tok.fit_on_texts(TEXTS)
    back = tokenizer_from_json(tok.to_json())
    assert back.word_index == tok.word_index and back.index_word == tok.index_word
    assert list(back.word_counts.items()) == list(tok.word_counts.items())
    assert back.num_words == 20 and back.oov_token == "?" and back.document_count == 2
    assert back.texts_to_sequences(["the dog flew"]) == tok.texts_to_sequences(["the dog flew"]) == [[2, 7, 1]]
    cfg = json.loads(tok.to_json())
    assert cfg["class_name"] == "Tokenizer" and isinstance(cfg["config"]["word_index"], str)
    t2 = Tokenizer(num_words=5)
    t2.fit_on_sequences([[1, 2, 2], [2, 3]])
    assert t2.document_count == 2 and t2.index_docs[2] == 2 and t2.index_docs[1] == 1


def test_hashing():
    seq = hashing_trick("The cat the", 10, hash_function="md5")
    assert len(seq) == 3 and seq[0] == seq[2] and all(1 <= i <= 9 for i in seq)
    # md5("the") mod 9 + 1, worked out once: stable across runs and machines
    import hashlib
    assert seq[0] == int(hashlib.md5(b"the").hexdigest(), 16) % 9 + 1
    assert all(1 <= i <= 4 for i in one_hot("a b c d e", 5))


def test_errors_and_module_layout():
    with pytest.raises(TypeError, match="list of texts"):
        Tokenizer().fit_on_texts("one string")
    with pytest.raises(TypeError, match="unrecognized keyword"):
        Tokenizer(num_word=3)
    with pytest.raises(ValueError, match="num_words"):
        Tokenizer(num_words=-2)
    assert text.Tokenizer is Tokenizer
    assert Tokenizer(nb_words=7).num_words == 7
