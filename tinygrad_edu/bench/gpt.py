"""GPT: one training step and generation speed, tinygrad_edu against PyTorch and transformers.

    python -m tinygrad_edu.bench.gpt            # 4 layers, d 128, 4 heads, T 128, batch 16
    python benches/bench_gpt.py --threads 2 --repeats 5 --gen-tokens 200 --json out.json

The row builders (``build_tge``, ``build_torch``, ``build_hf``, ``train_steps``,
``generation``) take the parsed options (``parse_args()``), so that other benchmark
drivers can reuse them; ``main(argv)`` runs the whole set and returns the figures.

Three models with the same weights: tinygrad_edu's GPT2LMHeadModel, a plain PyTorch GPT
written here (nn.Linear, F.scaled_dot_product_attention(is_causal=True), the same
pre-norm blocks and tied head) and transformers' GPT2LMHeadModel (the weights copied in;
skipped when transformers is absent). All run on the CPU with the same thread count.

Training step: forward, cross-entropy of the next token, backward, Adam step, on a fixed
batch; after one warm-up, ``--rounds`` x ``--repeats`` steps of each library taken in turn
(tge, torch, tge, ...), and the median of each. Generation: greedy, batch 1,
from a 16-token prompt, ``--gen-tokens`` new tokens with each library's key/value cache;
tokens per second, and the time of the first and the last quarter of the tokens (equal
when a step costs the same at every position; with the cache it grows only with the
attention's share). ``--no-cache`` adds tinygrad_edu without the cache (each step reruns
the whole sequence) to show the quadratic cost the cache removes.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np


def build_tge(cfg):
    import tinygrad_edu as tge
    from tinygrad_edu.models.gpt import GPT2Config, GPT2LMHeadModel

    tge.manual_seed(0)
    config = GPT2Config(vocab_size=cfg.vocab, n_positions=max(cfg.seq, 16 + cfg.gen_tokens), n_embd=cfg.dim,
                        n_layer=cfg.layers, n_head=cfg.heads, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
    return GPT2LMHeadModel(config)


def build_torch(cfg, state):
    """A plain PyTorch GPT-2 (the same module names as ours) holding ``state``'s weights."""
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    class Block(nn.Module):
        def __init__(self, E, H):
            super().__init__()
            self.H = H
            self.ln_1, self.ln_2 = nn.LayerNorm(E), nn.LayerNorm(E)
            self.attn = nn.Module()
            self.attn.c_attn, self.attn.c_proj = nn.Linear(E, 3 * E), nn.Linear(E, E)
            self.mlp = nn.Module()
            self.mlp.c_fc, self.mlp.c_proj = nn.Linear(E, 4 * E), nn.Linear(4 * E, E)

        def forward(self, x, cache=None):
            B, T, E = x.shape
            q, k, v = self.attn.c_attn(self.ln_1(x)).split(E, dim=2)
            q, k, v = (t.view(B, T, self.H, E // self.H).transpose(1, 2) for t in (q, k, v))
            if cache is not None:
                if cache:
                    k, v = torch.cat([cache[0], k], 2), torch.cat([cache[1], v], 2)
                cache[:] = [k, v]
            causal = cache is None or T > 1
            y = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
            x = x + self.attn.c_proj(y.transpose(1, 2).reshape(B, T, E))
            return x + self.mlp.c_proj(F.gelu(self.mlp.c_fc(self.ln_2(x)), approximate="tanh"))

    class TorchGPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.transformer = nn.Module()
            t = self.transformer
            t.wte, t.wpe = nn.Embedding(cfg.vocab, cfg.dim), nn.Embedding(state["transformer.wpe.weight"].shape[0], cfg.dim)
            t.h = nn.ModuleList([Block(cfg.dim, cfg.heads) for _ in range(cfg.layers)])
            t.ln_f = nn.LayerNorm(cfg.dim)

        def forward(self, ids, caches=None, start=0):
            t = self.transformer
            pos = torch.arange(start, start + ids.shape[1])
            x = t.wte(ids) + t.wpe(pos)
            for i, block in enumerate(t.h):
                x = block(x, None if caches is None else caches[i])
            return t.ln_f(x) @ t.wte.weight.T

    model = TorchGPT()
    model.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in state.items()})
    return model


def build_hf(cfg, state):
    try:
        import torch
        from transformers import GPT2Config, GPT2LMHeadModel
    except ImportError:
        return None
    config = GPT2Config(vocab_size=cfg.vocab, n_positions=state["transformer.wpe.weight"].shape[0], n_embd=cfg.dim,
                        n_layer=cfg.layers, n_head=cfg.heads, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
    model = GPT2LMHeadModel(config)
    conv = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")
    hf_state = {k: torch.from_numpy(np.ascontiguousarray(v.T if k.endswith(conv) else v)) for k, v in state.items()}
    hf_state["lm_head.weight"] = hf_state["transformer.wte.weight"]
    model.load_state_dict(hf_state, strict=False)
    model.generation_config.pad_token_id = 0
    model.generation_config.eos_token_id = None
    return model.eval()


def train_steps(cfg, tge_model, torch_model):
    import torch

    import tinygrad_edu as tge
    from tinygrad_edu import optim
    from tinygrad_edu.nn import functional as F

    ids = np.random.default_rng(1).integers(0, cfg.vocab, (cfg.batch, cfg.seq + 1))
    x, y = ids[:, :-1], ids[:, 1:].reshape(-1)
    opt = optim.Adam(tge_model.parameters(), lr=1e-4)
    tge_model.train()

    def tge_step():
        logits = tge_model(x).logits
        loss = F.cross_entropy(logits.reshape(-1, cfg.vocab), tge.Tensor(y))
        opt.zero_grad()
        loss.backward()
        opt.step()

    topt = torch.optim.Adam(torch_model.parameters(), lr=1e-4)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)

    def torch_step():
        logits = torch_model(tx)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, cfg.vocab), ty)
        topt.zero_grad()
        loss.backward()
        topt.step()

    tge_step()
    torch_step()
    times = {"tge": [], "torch": []}
    # one step of each in turn, so that a change in the machine's load hits both alike
    for _ in range(cfg.rounds * cfg.repeats):
        for name, fn in (("tge", tge_step), ("torch", torch_step)):
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {k: float(np.median(v)) for k, v in times.items()}


def generation(cfg, tge_model, torch_model, hf_model):
    import torch

    prompt = np.random.default_rng(2).integers(0, cfg.vocab, (1, 16))
    n = cfg.gen_tokens
    results, outputs = {}, {}

    def quarters(step_times):
        q = max(1, len(step_times) // 4)
        return float(np.sum(step_times[:q])), float(np.sum(step_times[-q:]))

    # tinygrad_edu: stream_generate yields each token as soon as it is chosen
    def run_tge():
        stamps, toks = [time.perf_counter()], []
        for tok in tge_model.stream_generate(prompt, max_new_tokens=n):
            toks.append(tok)
            stamps.append(time.perf_counter())
        return toks, np.diff(stamps)

    def run_torch():
        with torch.no_grad():
            caches = [[] for _ in torch_model.transformer.h]
            ids = torch.from_numpy(prompt)
            stamps, toks, start = [time.perf_counter()], [], 0
            for _ in range(n):
                logits = torch_model(ids, caches, start)[:, -1]
                start += ids.shape[1]
                ids = logits.argmax(-1, keepdim=True)
                toks.append(int(ids[0, 0]))
                stamps.append(time.perf_counter())
        return toks, np.diff(stamps)

    def run_tge_nocache():
        ids, stamps = prompt.copy(), [time.perf_counter()]
        from tinygrad_edu import no_grad
        with no_grad():
            for _ in range(n):
                nxt = tge_model(ids).logits.numpy()[:, -1].argmax(-1)
                ids = np.concatenate([ids, nxt[:, None]], axis=1)
                stamps.append(time.perf_counter())
        return ids[0, 16:].tolist(), np.diff(stamps)

    runs = {"tge": run_tge, "torch": run_torch}
    if cfg.no_cache:
        runs["tge-no-cache"] = run_tge_nocache
    if hf_model is not None:
        def run_hf():
            t0 = time.perf_counter()
            with torch.no_grad():
                out = hf_model.generate(torch.from_numpy(prompt), max_new_tokens=n, do_sample=False)
            dt = time.perf_counter() - t0
            return out[0, 16:].tolist(), np.full(n, dt / n)
        runs["transformers"] = run_hf
    tge_model.eval()
    torch_model.eval()
    best = {}
    for _ in range(cfg.rounds):
        for name, fn in runs.items():
            toks, steps = fn()
            total = float(np.sum(steps))
            if name not in best or total < best[name][0]:
                best[name] = (total, steps, toks)
    for name, (total, steps, toks) in best.items():
        first, last = quarters(steps)
        results[name] = {"tokens_per_s": n / total, "first_quarter_s": first, "last_quarter_s": last}
        outputs[name] = toks
    same = {name: outputs[name] == outputs["tge"] for name in outputs}
    return results, same


def parse_args(argv=None):
    """The options (sizes, threads, repeats) as an argparse Namespace; ``parse_args([])``
    gives the defaults."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--dim", type=int, default=128)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--seq", type=int, default=128)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--vocab", type=int, default=256)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--rounds", type=int, default=2, help="interleaved rounds; the best round counts")
    p.add_argument("--gen-tokens", type=int, default=200)
    p.add_argument("--no-cache", action="store_true", help="also time tinygrad_edu without the cache")
    p.add_argument("--skip-train", action="store_true")
    p.add_argument("--json", default=None, help="write the figures to this JSON file")
    return p.parse_args(argv)


def main(argv=None) -> dict:
    """Run the training-step and generation rows; print them and return the figures."""
    cfg = parse_args(argv)

    import torch

    import tinygrad_edu as tge

    tge.set_num_threads(cfg.threads)
    torch.set_num_threads(cfg.threads)
    try:   # NumPy's BLAS (tinygrad_edu's one-token decoding step uses it) gets the same count
        import threadpoolctl

        threadpoolctl.threadpool_limits(limits=cfg.threads, user_api="blas")
    except ImportError:
        pass
    model = build_tge(cfg)
    state = model.state_dict()
    torch_model = build_torch(cfg, state)
    hf_model = build_hf(cfg, state)
    report = {"config": vars(cfg), "backend": tge.backend()}
    print(f"GPT {cfg.layers} layers, d {cfg.dim}, {cfg.heads} heads, vocab {cfg.vocab}; {cfg.threads} thread(s), "
          f"backend {tge.backend()}; torch {torch.__version__}")
    if not cfg.skip_train:
        t = train_steps(cfg, model, torch_model)
        report["train_step_s"] = t
        print(f"training step (T {cfg.seq}, batch {cfg.batch}): tinygrad_edu {t['tge'] * 1e3:.1f} ms, "
              f"PyTorch {t['torch'] * 1e3:.1f} ms, ratio tge/torch {t['tge'] / t['torch']:.2f}")
        # the training changed the weights: copy them over again for generation
        torch_model = build_torch(cfg, model.state_dict())
        hf_model = build_hf(cfg, model.state_dict())
    gen, same = generation(cfg, model, torch_model, hf_model)
    report["generation"] = gen
    report["same_tokens_as_tge"] = same
    for name, r in gen.items():
        print(f"generation {name:13s} {r['tokens_per_s']:8.1f} tokens/s  (first quarter {r['first_quarter_s'] * 1e3:.0f} ms, "
              f"last quarter {r['last_quarter_s'] * 1e3:.0f} ms; same tokens as tge: {same[name]})")
    print(f"ratio tokens/s tge/torch {gen['tge']['tokens_per_s'] / gen['torch']['tokens_per_s']:.2f}")
    if cfg.json:
        with open(cfg.json, "w") as f:
            json.dump(report, f, indent=2)
    return report


if __name__ == "__main__":
    main()
