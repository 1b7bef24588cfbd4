"""Acceptance: the articles' models learn their tasks with the library's own optimizer.

(a) CNN on real MNIST, Adam(lr=1e-3), batch 64, ONE epoch  -> >= 98.0% test accuracy
(b) LSTMClassifier on rt-polarity (held-out 10%)           -> >= 70% accuracy
(c) TransformerClassifier on a synthetic task that needs attention -> >= 95% accuracy

The datasets are read from ``../shared/data`` beside the repository (skipped when absent).
Each test takes well under three minutes on two cores with the C backend. Run them with
``pytest -m slow tests/models/test_training.py -s`` to see the accuracies and times.
"""
import gzip
import os
import time
from collections import Counter

import numpy as np
import pytest

import tinygrad_edu as tge
import tinygrad_edu.nn.functional as F
from tinygrad_edu import Tensor, optim
from tinygrad_edu.models import CNN, LSTMClassifier, TransformerClassifier

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def kernel_threads():
    """One kernel thread unless TGE_NUM_THREADS says otherwise.

    These loops call small kernels tens of thousands of times; on a busy machine (CI runners,
    parallel test jobs) a team of OpenMP threads competing with other processes made them up to
    6x slower (MNIST epoch: 30 s on one thread, 170 s on two, under a load of 6 on 2 cores),
    while on an idle machine two threads gain little at these sizes."""
    previous = tge.get_num_threads()
    if not os.environ.get("TGE_NUM_THREADS"):
        tge.set_num_threads(1)
    yield
    tge.set_num_threads(previous)


def evaluate(model, batches):
    """Accuracy of ``model`` over (ids or images, labels) batches, in eval mode without a graph."""
    model.eval()
    correct = total = 0
    with tge.no_grad():
        for x, y in batches:
            correct += int((model(Tensor(x)).numpy().argmax(axis=1) == y).sum())
            total += len(y)
    model.train()
    return correct / total


# ------------------------------------------------------------------------------ (a) MNIST
def read_idx_gz(path):
    """A gzip-compressed IDX file (big-endian header: magic, then one uint32 size per axis)."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def test_cnn_mnist_one_epoch(data_dir):
    root = data_dir / "mnist"
    if not (root / "train-images-idx3-ubyte.gz").exists():
        pytest.skip(f"MNIST files not found in {root}")

    def images(name):  # (N, 1, 28, 28) float32, standardised with MNIST's mean and std
        return ((read_idx_gz(root / name).astype(np.float32) / 255.0 - 0.1307) / 0.3081)[:, None]

    x_train, y_train = images("train-images-idx3-ubyte.gz"), read_idx_gz(root / "train-labels-idx1-ubyte.gz")
    x_test, y_test = images("t10k-images-idx3-ubyte.gz"), read_idx_gz(root / "t10k-labels-idx1-ubyte.gz")
    y_train, y_test = y_train.astype(np.int64), y_test.astype(np.int64)

    tge.manual_seed(0)
    model = CNN()
    opt = optim.Adam(model.parameters(), lr=1e-3)
    order = np.random.default_rng(0).permutation(len(x_train))
    start = time.perf_counter()
    for i in range(0, len(order), 64):
        idx = order[i: i + 64]
        loss = F.cross_entropy(model(Tensor(x_train[idx])), Tensor(y_train[idx]))
        opt.zero_grad()
        loss.backward()
        opt.step()
    train_time = time.perf_counter() - start
    accuracy = evaluate(model, [(x_test[i: i + 1000], y_test[i: i + 1000]) for i in range(0, len(x_test), 1000)])
    print(f"\nCNN / MNIST, 1 epoch: test accuracy {accuracy:.2%}, training {train_time:.1f}s")
    assert accuracy >= 0.98


# ------------------------------------------------------------------------------ (b) rt-polarity
def read_sentences(path):
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    return [line.split() for line in text.splitlines() if line.strip()]


def pre_pad(seqs):
    """Left-pad with 0 to the longest sequence, so that the LSTM's last step is a real token."""
    ids = np.zeros((len(seqs), max(len(s) for s in seqs)), dtype=np.int64)
    for row, s in enumerate(seqs):
        ids[row, ids.shape[1] - len(s):] = s
    return ids


def length_buckets(lengths, batch_size, rng):
    """Mini-batches of similar lengths (sorted within shuffled chunks), in random order."""
    order = rng.permutation(len(lengths))
    batches = []
    for start in range(0, len(order), batch_size * 50):
        chunk = order[start: start + batch_size * 50]
        chunk = chunk[np.argsort([lengths[j] for j in chunk], kind="stable")]
        batches += [chunk[i: i + batch_size] for i in range(0, len(chunk), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def test_lstm_rt_polarity(data_dir):
    root = data_dir / "rt-polarity"
    if not (root / "rt-polarity.pos").exists():
        pytest.skip(f"rt-polarity files not found in {root}")
    pos, neg = read_sentences(root / "rt-polarity.pos"), read_sentences(root / "rt-polarity.neg")
    texts, labels = pos + neg, np.array([1] * len(pos) + [0] * len(neg), dtype=np.int64)
    order = np.random.default_rng(0).permutation(len(texts))
    n_test = len(texts) // 10
    test_idx, train_idx = order[:n_test], order[n_test:]
    # vocabulary from the training split only: 0 = padding, 1 = unknown / rare (< 3 occurrences)
    counts = Counter(word for i in train_idx for word in texts[i])
    vocab = {w: k + 2 for k, w in enumerate(w for w, c in counts.most_common() if c >= 3)}

    def encode(indices):
        return [[vocab.get(w, 1) for w in texts[i]][:50] for i in indices]

    train, test = encode(train_idx), encode(test_idx)
    y_train, y_test = labels[train_idx], labels[test_idx]

    tge.manual_seed(0)
    model = LSTMClassifier(len(vocab) + 2, 64, 64, 2, padding_idx=0)
    opt = optim.Adam(model.parameters(), lr=3e-3)
    rng = np.random.default_rng(1)
    start = time.perf_counter()
    for _ in range(4):
        for idx in length_buckets([len(s) for s in train], 64, rng):
            loss = F.cross_entropy(model(Tensor(pre_pad([train[j] for j in idx]))), Tensor(y_train[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()
    train_time = time.perf_counter() - start
    by_length = np.argsort([len(s) for s in test])
    accuracy = evaluate(model, [(pre_pad([test[j] for j in by_length[i: i + 256]]), y_test[by_length[i: i + 256]])
                                for i in range(0, len(test), 256)])
    print(f"\nLSTMClassifier / rt-polarity, 4 epochs: held-out accuracy {accuracy:.2%}, training {train_time:.1f}s")
    assert accuracy >= 0.70


# ------------------------------------------------------------------------------ (c) synthetic
def first_token_repeats(n, seed, vocab=20, min_len=8, max_len=16):
    """Sequences of tokens 1..vocab-1 (0 pads the end); label 1 when the first token occurs again
    later. Half of the sequences are positive. No single token or position decides the label:
    the model has to compare the first token with the others, which is what attention does."""
    rng = np.random.default_rng(seed)
    ids = np.zeros((n, max_len), dtype=np.int64)
    labels = np.zeros(n, dtype=np.int64)
    for row in range(n):
        length = int(rng.integers(min_len, max_len + 1))
        first = int(rng.integers(1, vocab))
        others = rng.choice([t for t in range(1, vocab) if t != first], size=length - 1)
        seq = np.concatenate([[first], others])
        if row % 2 == 0:
            seq[rng.integers(1, length)] = first
            labels[row] = 1
        ids[row, :length] = seq
    return ids, labels


def test_transformer_learns_a_task_that_needs_attention():
    x_train, y_train = first_token_repeats(8000, seed=1)
    x_test, y_test = first_token_repeats(1000, seed=2)
    tge.manual_seed(0)
    model = TransformerClassifier(20, 2, d_model=32, nhead=4, num_layers=2, dim_feedforward=64, max_len=16,
                                  dropout=0.0)
    opt = optim.Adam(model.parameters(), lr=3e-3)
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    for _ in range(12):
        order = rng.permutation(len(x_train))
        for i in range(0, len(order), 64):
            idx = order[i: i + 64]
            loss = F.cross_entropy(model(Tensor(x_train[idx])), Tensor(y_train[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()
    train_time = time.perf_counter() - start
    accuracy = evaluate(model, [(x_test, y_test)])
    print(f"\nTransformerClassifier / first-token-repeats, 12 epochs: accuracy {accuracy:.2%}, training {train_time:.1f}s")
    assert accuracy >= 0.95
