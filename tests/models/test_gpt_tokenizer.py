"""GPT2Tokenizer against the reference byte-level BPE (``tokenizers``, and transformers' own
GPT2Tokenizer when it loads): a vocabulary trained in the test, identical ids, exact decode."""
import os

import pytest

from tinygrad_edu.models.gpt import GPT2Tokenizer
from tinygrad_edu.models.gpt.bpe import bytes_to_unicode, pretokenize

CORPUS = [
    "Hello world, it's a test. Don't you'll we've I'm they'd",
    "Café naïve résumé — 東京は晴れ。数字 12345 and ١٢٣ 😀🎉 emoji!!",
    "tabs\tand\n\nnewlines   spaces  ",
    "Ünïcödé ñ ß Ωμέγα Привет мир, عربى, हिन्दी",
    "<|endoftext|> special tokens",
]

TEXTS = CORPUS + [
    "  leading spaces", "trailing   ", "a\u00a0b\u2003c \u3000d", "x''s 's 'S 'll' 'LL", "\n", " ", "",
    "a  \n  b\t\t c", "🤖🤖 robots 👩‍👩‍👧", "ǅ ǈ Ⅻ ½ ² ⁴", "\x1c\x1d x\x00y", "a\u2028b\u0085c",
    "don't!!! ?!, ... ‘quoted’ «guillemets»", "1,000,000.5 $4 3.14e-10", "日本語のテキストです",
    "mixed: café123abc ÉCOLE", "e\u0301 combining accent", "end<|endoftext|>start",
]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tokenizers = pytest.importorskip("tokenizers")
    tok = tokenizers.ByteLevelBPETokenizer()
    tok.train_from_iterator(CORPUS * 20, vocab_size=420, min_frequency=1, special_tokens=["<|endoftext|>"])
    folder = tmp_path_factory.mktemp("bpe")
    tok.save_model(str(folder))
    return str(folder), tok


def test_byte_alphabet():
    table = bytes_to_unicode()
    assert len(table) == 256 and len(set(table.values())) == 256
    assert table[ord(" ")] == "Ġ" and table[ord("\n")] == "Ċ" and table[ord("A")] == "A"


def test_pretokenizer_pieces():
    assert pretokenize("Hello world's  end\n") == ["Hello", " world", "'s", " ", " end", "\n"]
    assert pretokenize("a1 22 !?x") == ["a", "1", " 22", " !?", "x"]
    for text in TEXTS:
        assert "".join(pretokenize(text)) == text


def test_pretokenizer_matches_gpt2_regex():
    regex = pytest.importorskip("regex")
    pattern = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")
    for text in TEXTS:
        assert pretokenize(text) == pattern.findall(text), text


def test_ids_and_round_trip_match_tokenizers(trained):
    folder, reference = trained
    tok = GPT2Tokenizer.from_pretrained(folder)
    assert len(tok) == reference.get_vocab_size()
    for text in TEXTS:
        ids = tok(text)["input_ids"]
        assert ids == reference.encode(text).ids, text
        assert tok.decode(ids) == text
        assert tok.encode(text) == ids
    eos = tok.eos_token_id
    assert tok.encode("a<|endoftext|>b")[1] == eos and tok.decode([eos], skip_special_tokens=True) == ""


def test_matches_transformers_gpt2_tokenizer(trained):
    transformers = pytest.importorskip("transformers")
    folder, _ = trained
    try:
        reference = transformers.GPT2Tokenizer(os.path.join(folder, "vocab.json"), os.path.join(folder, "merges.txt"))
    except ImportError:
        pytest.skip("transformers' GPT2Tokenizer needs the regex package")
    tok = GPT2Tokenizer.from_pretrained(folder)
    for text in TEXTS:
        assert tok.encode(text) == reference.encode(text), text


def test_call_forms_and_errors(trained, tmp_path):
    folder, _ = trained
    tok = GPT2Tokenizer.from_pretrained(folder)
    batch = tok(["ab", "cd"])
    assert len(batch["input_ids"]) == 2 and batch["attention_mask"][0] == [1] * len(batch["input_ids"][0])
    arr = tok("hello", return_tensors="np")["input_ids"]
    assert arr.shape == (1, len(tok.encode("hello")))
    assert tok.decode(arr[0]) == "hello"
    with pytest.raises(KeyError, match="not in the vocabulary"):
        tok.decode([10 ** 6])
    with pytest.raises(FileNotFoundError, match="merges.txt"):
        os.makedirs(tmp_path / "half")
        (tmp_path / "half" / "vocab.json").write_text("{}")
        GPT2Tokenizer.from_pretrained(tmp_path / "half")
