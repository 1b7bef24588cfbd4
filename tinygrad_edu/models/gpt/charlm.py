"""A character-level GPT trained on sentences made up by a small grammar (``train --model gpt``).

The text ships as code, not as a file: ``grammar_text(n, seed)`` writes ``n`` sentences such
as "the quiet fox watched a small bird near the river." from a few word lists, so a model
has something to learn at several scales (spelling, word order, agreement of "a"/"an" is left
out on purpose to keep it tiny) and the same seed always gives the same text.

``CharTokenizer`` maps each character of the text's alphabet to an id; it is stored in the
saved model's metadata, so ``tinygrad_edu.models.load`` gives back a model that can encode a
prompt and decode its output. ``train_char_gpt`` is the training job.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

__all__ = ["grammar_text", "CharTokenizer", "CharGPTResult", "train_char_gpt", "CHAR_GPT_DEFAULTS"]

_ADJECTIVES = "quiet small brave old young clever tired happy little grey".split()
_NOUNS = "fox bird cat dog child farmer king horse mouse girl".split()
_VERBS = "watched followed found helped chased greeted heard saw".split()
_PLACES = "near the river|in the forest|on the hill|by the old mill|under the tree|at the gate".split("|")
_ENDINGS = ". . . ! ?".split()


def grammar_text(n: int = 4000, seed: int = 0) -> str:
    """``n`` generated sentences, one per line (str). Each is "the <adj> <noun> <verb> a/the
    <adj> <noun> [<place>]<end>", with the place in about half of them."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"grammar_text: n must be an int >= 0, got {n!r}")
    gen = np.random.default_rng(seed)
    lines = []
    for _ in range(int(n)):
        pick = lambda words: words[int(gen.integers(len(words)))]  # noqa: E731
        words = ["the", pick(_ADJECTIVES), pick(_NOUNS), pick(_VERBS), pick(["a", "the"]),
                 pick(_ADJECTIVES), pick(_NOUNS)]
        if gen.random() < 0.5:
            words.append(pick(_PLACES))
        sentence = " ".join(words)
        end = pick(_ENDINGS)
        if end == "?":
            sentence = "did " + sentence.replace(" " + words[3] + " ", " " + "see" + " ", 1)
        lines.append(sentence + end)
    return "\n".join(lines) + "\n"


@dataclass
class CharTokenizer:
    """Characters <-> ids: ``chars[i]`` has id i.

    encode(text) -> list[int] (a character outside the alphabet is a KeyError naming it);
    decode(ids) -> str; to_dict() / from_dict() for the saved model's metadata.
    """

    chars: str
    _index: dict = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self):
        if not isinstance(self.chars, str) or not self.chars or len(set(self.chars)) != len(self.chars):
            raise ValueError("CharTokenizer: chars must be a non-empty str of distinct characters")
        self._index = {c: i for i, c in enumerate(self.chars)}

    @classmethod
    def from_text(cls, text: str) -> "CharTokenizer":
        return cls("".join(sorted(set(text))))

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> list:
        try:
            return [self._index[c] for c in text]
        except KeyError as exc:
            raise KeyError(f"CharTokenizer: character {exc.args[0]!r} is not in the alphabet "
                           f"{self.chars!r}") from None

    def decode(self, ids) -> str:
        ids = np.asarray(ids.numpy() if hasattr(ids, "numpy") else ids).reshape(-1)
        if ids.size and (ids.min() < 0 or ids.max() >= len(self.chars)):
            raise KeyError(f"CharTokenizer: ids must lie in [0, {len(self.chars)})")
        return "".join(self.chars[int(i)] for i in ids)

    def to_dict(self) -> dict:
        return {"chars": self.chars}

    @classmethod
    def from_dict(cls, data) -> "CharTokenizer":
        if not isinstance(data, dict) or set(data) != {"chars"}:
            raise ValueError("the tokenizer entry must be an object {\"chars\": ...}")
        return cls(data["chars"])


#: the default job: about 20 s on one core
CHAR_GPT_DEFAULTS = dict(steps=300, batch_size=16, seq_len=64, lr=3e-3, n_layer=2, n_embd=64, n_head=4)


@dataclass
class CharGPTResult:
    """What ``train_char_gpt`` returns: the losses (per step), the held-out loss before and
    after, a sample, the time, the model and its tokenizer."""

    losses: list
    val_loss_start: float
    val_loss: float
    sample: str
    seconds: float
    model: object = None
    tokenizer: CharTokenizer = None
    parameters: int = 0


def _batch(data: np.ndarray, batch_size: int, seq_len: int, gen: np.random.Generator) -> np.ndarray:
    starts = gen.integers(0, len(data) - seq_len, size=batch_size)
    return np.stack([data[s:s + seq_len] for s in starts])


def _val_loss(model, data: np.ndarray, seq_len: int) -> float:
    from ...autograd import no_grad

    model.eval()
    rows = len(data) // seq_len
    x = data[:rows * seq_len].reshape(rows, seq_len)
    with no_grad():
        loss = float(model(x, labels=x).loss.item())
    model.train()
    return loss


def train_char_gpt(steps=None, batch_size=None, seq_len=None, lr=None, seed=0, n_layer=None, n_embd=None,
                   n_head=None, log=print, save=None, prompts=("the ", "did the "), sample_tokens=None
                   ) -> CharGPTResult:
    """Train a character-level GPT-2 on ``grammar_text`` with AdamW and print how it goes.

    Every argument left None takes ``CHAR_GPT_DEFAULTS``. Logs the loss every tenth of the
    run, the held-out loss before and after, and one sample continuing each of ``prompts``
    (temperature 0.8, top_k 10, up to the seq_len positions the model was trained on).
    save: a path; the model is written with ``save_model`` (its alphabet in the metadata)
    for ``tinygrad_edu.models.load``.
    """
    from ... import manual_seed, optim
    from .config import GPT2Config
    from .model import GPT2LMHeadModel

    settings = dict(CHAR_GPT_DEFAULTS)
    for key, value in (("steps", steps), ("batch_size", batch_size), ("seq_len", seq_len), ("lr", lr),
                       ("n_layer", n_layer), ("n_embd", n_embd), ("n_head", n_head)):
        if value is not None:
            settings[key] = value
    for key in ("steps", "batch_size", "seq_len", "n_layer", "n_embd", "n_head"):
        if int(settings[key]) < 1:
            raise ValueError(f"train_char_gpt: {key} must be >= 1, got {settings[key]}")
    if float(settings["lr"]) <= 0:
        raise ValueError(f"train_char_gpt: lr must be > 0, got {settings['lr']}")
    manual_seed(int(seed))
    text = grammar_text(4000, seed=seed)
    tokenizer = CharTokenizer.from_text(text)
    data = np.asarray(tokenizer.encode(text), dtype=np.int64)
    split = int(len(data) * 0.9)
    train_data, val_data = data[:split], data[split:]
    T = int(settings["seq_len"])
    config = GPT2Config(vocab_size=len(tokenizer), n_positions=T,
                        n_embd=int(settings["n_embd"]), n_layer=int(settings["n_layer"]),
                        n_head=int(settings["n_head"]), resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                        bos_token_id=None, eos_token_id=None)
    model = GPT2LMHeadModel(config)
    n_params = sum(p.numel() for p in model.parameters())
    log(f"data: {len(text):,} characters of generated sentences (tinygrad_edu.models.gpt.charlm.grammar_text), "
        f"alphabet of {len(tokenizer)}; {len(train_data):,} for training, {len(val_data):,} held out")
    log(f"model: GPT2LMHeadModel, {config.n_layer} layers, n_embd {config.n_embd}, {config.n_head} heads, "
        f"{n_params:,} parameters; AdamW lr {settings['lr']:g}, batch {settings['batch_size']} x {T} characters, "
        f"{settings['steps']} steps")
    opt = optim.AdamW(model.parameters(), lr=float(settings["lr"]), weight_decay=0.01)
    gen = np.random.default_rng(seed)
    val_start = _val_loss(model, val_data, T)
    log(f"held-out loss before training: {val_start:.3f} (uniform guess: {np.log(len(tokenizer)):.3f})")
    losses, start = [], time.perf_counter()
    total = int(settings["steps"])
    every = max(1, total // 10)
    for step in range(total):
        x = _batch(train_data, int(settings["batch_size"]), T, gen)
        loss = model(x, labels=x).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.item()))
        if (step + 1) % every == 0 or step + 1 == total:
            recent = np.mean(losses[-every:])
            log(f"step {step + 1:4d}/{total}  loss {recent:.3f}  ({time.perf_counter() - start:.1f} s)")
    seconds = time.perf_counter() - start
    val = _val_loss(model, val_data, T)
    log(f"held-out loss after training: {val:.3f}; training took {seconds:.1f} s")
    samples = []
    for k, prompt in enumerate(prompts):
        n = T - len(prompt) if sample_tokens is None else min(int(sample_tokens), T - len(prompt))
        out = model.generate([tokenizer.encode(prompt)], max_new_tokens=n, temperature=0.8, top_k=10, seed=seed + k)
        samples.append(tokenizer.decode(out[0]))
    sample = "\n".join(samples)
    log("samples:\n" + sample)
    result = CharGPTResult(losses, val_start, val, sample, seconds, model, tokenizer, n_params)
    if save is not None:
        from ..saved import save_model

        save_model(model, save, tokenizer=tokenizer,
                   extra={"data": "grammar_text", "val_loss": val, "steps": total})
        log(f"saved the model to {save}")
    return result
