"""The pretrained-model rows of the GPU benchmark: BERT encode and a GPT-2 training step.

    python -m tinygrad_edu.bench --device cuda --cases bert,gpt

    bert   BertModel shaped as all-MiniLM-L6-v2 (6 layers, hidden 384, 12 heads, ff 1536,
           vocab 30522), random weights, eval mode, no gradients: one forward pass over a
           batch of 32 sequences of 128 tokens, the last quarter of the second half padded
           (attention mask). Hugging Face transformers' BertModel on torch-cuda.
    gpt    GPT2LMHeadModel with 6 layers, n_embd 384, 6 heads, 256 positions, GPT-2's vocab
           (50257): one training step (forward with labels = inputs, the shifted
           cross-entropy, backward, Adam) on 8 sequences of 128 tokens; transformers'
           GPT2LMHeadModel on torch-cuda. Left out while tinygrad_edu.models.gpt is absent.

``--quick`` (``configure(quick=True)``) shrinks both to a smoke-test size. A builder returns
None, after printing why, when its library is missing or its first step fails, so one
broken row never stops the others.
"""
from __future__ import annotations

import sys

import numpy as np

CASES = ("bert", "gpt")

_FULL = {
    "bert": dict(sizes=dict(vocab_size=30522, hidden_size=384, num_hidden_layers=6, num_attention_heads=12,
                            intermediate_size=1536, max_position_embeddings=512, type_vocab_size=2),
                 batch=32, tokens=128),
    "gpt": dict(sizes=dict(vocab_size=50257, n_positions=256, n_embd=384, n_layer=6, n_head=6),
                batch=8, tokens=128),
}
_QUICK = {
    "bert": dict(sizes=dict(vocab_size=500, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                            intermediate_size=64, max_position_embeddings=64, type_vocab_size=2),
                 batch=4, tokens=16),
    "gpt": dict(sizes=dict(vocab_size=500, n_positions=64, n_embd=32, n_layer=2, n_head=4), batch=4, tokens=16),
}
_SHAPES = dict(_FULL)


def configure(quick: bool) -> None:
    """Use the smoke-test sizes (quick) or the full ones."""
    _SHAPES.update(_QUICK if quick else _FULL)


def data(case: str) -> dict:
    """ids (B, T) int64, mask (B, T) int64 (1 = real token), batch = B, and the model sizes."""
    shape = _SHAPES[case]
    b, t, vocab = shape["batch"], shape["tokens"], shape["sizes"]["vocab_size"]
    rng = np.random.default_rng(0)
    ids = rng.integers(1, vocab, size=(b, t)).astype(np.int64)
    mask = np.ones((b, t), dtype=np.int64)
    if case == "bert":
        mask[b // 2:, t - t // 4:] = 0
        ids[mask == 0] = 0
    return dict(ids=ids, mask=mask, batch=b, sizes=dict(shape["sizes"]))


def _first_step_or_none(name: str, step):
    """Run one step; None (with the reason on stderr) when it fails."""
    try:
        step()
    except Exception as exc:  # noqa: BLE001 - reported, the row is left out
        sys.stderr.write(f"# {name} left out: its first step failed: {type(exc).__name__}: {exc}\n")
        return None
    return step


def build_tge(case: str, sync):
    """tinygrad_edu on "cuda": the step function of ``case``, or None."""
    import tinygrad_edu as tge
    from tinygrad_edu import Tensor, optim

    d = data(case)
    tge.manual_seed(0)
    if case == "bert":
        from tinygrad_edu.models.bert import BertConfig, BertModel

        model = BertModel(BertConfig(**d["sizes"])).to("cuda").eval()
        ids, mask = Tensor(d["ids"], device="cuda"), Tensor(d["mask"], device="cuda")

        def step():
            with tge.no_grad():
                out = model(input_ids=ids, attention_mask=mask).last_hidden_state
            sync()
            return out

        return _first_step_or_none("bert tge-cuda", step)
    try:
        from tinygrad_edu.models.gpt import GPT2Config, GPT2LMHeadModel
    except ImportError as exc:
        sys.stderr.write(f"# gpt tge-cuda left out: tinygrad_edu.models.gpt is not importable ({exc})\n")
        return None
    model = GPT2LMHeadModel(GPT2Config(**d["sizes"])).to("cuda").train()
    opt = optim.Adam(model.parameters(), lr=1e-4)
    ids = d["ids"]

    def step():
        opt.zero_grad()
        loss = model(ids, labels=ids).loss
        loss.backward()
        opt.step()
        sync()
        return loss

    return _first_step_or_none("gpt tge-cuda", step)


def build_torch(case: str, torch, sync):
    """Hugging Face transformers on torch-cuda: the step function of ``case``, or None."""
    try:
        import transformers
    except ImportError as exc:
        sys.stderr.write(f"# {case} torch-cuda left out: transformers is not installed ({exc})\n")
        return None
    d = data(case)
    dev = torch.device("cuda")
    torch.manual_seed(0)
    ids = torch.from_numpy(d["ids"]).to(dev)
    if case == "bert":
        model = transformers.BertModel(transformers.BertConfig(**d["sizes"])).to(dev).eval()
        mask = torch.from_numpy(d["mask"]).to(dev)

        def step():
            with torch.no_grad():
                out = model(input_ids=ids, attention_mask=mask).last_hidden_state
            sync()
            return out

        return _first_step_or_none("bert torch-cuda", step)
    model = transformers.GPT2LMHeadModel(transformers.GPT2Config(**d["sizes"])).to(dev).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)

    def step():
        opt.zero_grad()
        loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        opt.step()
        sync()
        return loss

    return _first_step_or_none("gpt torch-cuda", step)
