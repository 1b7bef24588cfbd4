"""Fixtures for the serving tests: small saved models and a real uvicorn server on a free loopback port."""
from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time

import numpy as np
import pytest

import tinygrad_edu as tge
from tinygrad_edu.cli.train import synthetic_sentiment
from tinygrad_edu.keras.preprocessing.text import Tokenizer
from tinygrad_edu.models import CNN, MLP, LSTMClassifier, TransformerClassifier, save_model

DIGITS = [str(d) for d in range(10)]
SENTIMENT = ["negative", "positive"]


def sentiment_tokenizer():
    texts, _ = synthetic_sentiment(300, seed=1)
    tok = Tokenizer(num_words=200)
    tok.fit_on_texts(texts)
    return tok


@pytest.fixture(scope="session")
def saved(tmp_path_factory):
    """name -> path of a saved model with seeded random weights: mlp, cnn, lstm, transformer."""
    folder = tmp_path_factory.mktemp("saved")
    tge.manual_seed(123)
    tok = sentiment_tokenizer()
    vocab = min(200, len(tok.word_index) + 1)
    models = {
        "mlp": (MLP(784, hidden=(32,), out_features=10), dict(classes=DIGITS)),
        "cnn": (CNN(), dict(classes=DIGITS, extra={"accuracy": 0.5})),
        "lstm": (LSTMClassifier(vocab, 16, 16, 2), dict(classes=SENTIMENT, tokenizer=tok)),
        "transformer": (TransformerClassifier(vocab, 2, d_model=16, nhead=2, num_layers=1, dim_feedforward=32,
                                              max_len=40, dropout=0.1), dict(classes=SENTIMENT, tokenizer=tok)),
    }
    paths = {}
    for name, (model, kwargs) in models.items():
        paths[name] = str(folder / f"{name}.safetensors")
        save_model(model, paths[name], **kwargs)
    return paths


def digit_images(n: int, seed: int = 0) -> np.ndarray:
    """(n, 28, 28) float32 in [0, 1]: the package's synthetic digits."""
    from tinygrad_edu.data import synthetic_digits_split

    (x, _), _ = synthetic_digits_split(n, 1, seed=seed)
    return (x.astype(np.float32) / 255.0)[:n]


@contextlib.contextmanager
def running_server(app):
    """Run ``app`` with uvicorn in a thread on a free 127.0.0.1 port; yields the base URL."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class CharTokenizer:
    """Stand-in GPT tokenizer: the 26 letters and space, one id each."""

    alphabet = "abcdefghijklmnopqrstuvwxyz "

    def encode(self, text: str) -> list:
        unknown = sorted(set(text) - set(self.alphabet))
        if unknown:
            raise ValueError(f"characters {unknown} are not in the alphabet")
        return [self.alphabet.index(c) for c in text]

    def decode(self, ids) -> str:
        return "".join(self.alphabet[i] for i in ids)


class CountingLM:
    """Stand-in GPT with the generic interface: each new token is the previous one + 1 (mod 27)."""

    def __init__(self, delay: float = 0.0):
        self.delay, self.calls = delay, 0

    def generate(self, input_ids, max_new_tokens: int = 1, temperature: float = 1.0, top_k=None):
        ids = np.asarray(input_ids, dtype=np.int64)
        assert ids.ndim == 2 and ids.shape[0] == 1
        for _ in range(max_new_tokens):
            self.calls += 1
            time.sleep(self.delay)
            ids = np.concatenate([ids, (ids[:, -1:] + 1) % 27], axis=1)
        return ids
