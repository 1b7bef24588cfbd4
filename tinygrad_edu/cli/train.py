"""The training job behind ``python -m tinygrad_edu train``: the articles' models on real or built-in data.

    from tinygrad_edu.cli.train import train
    result = train("cnn", epochs=1)          # prints progress; returns a TrainResult
    result.test_accuracy, result.history["val_accuracy"]

Models (from ``tinygrad_edu.models``, trained PyTorch-style with Adam and cross-entropy):

    mlp, cnn       handwritten digits: MNIST when it is found (``data=`` folder, $TGE_DATA,
                   the cache; ``download=True`` fetches it), else the digits that ship with
                   the package (``tinygrad_edu.data.synthetic_digits``, 12,000 for training
                   and 2,000 held out), and the job says which it used
    lstm,          sentence polarity: rt-polarity (``data=`` folder with rt-polarity.pos and
    transformer    .neg, $TGE_DATA, the cache), else a built-in synthetic sentiment set
                   (``synthetic_sentiment``: made-up sentences whose label follows the
                   majority of their opinion words, with "not" flipping a word)
    gpt            a character-level GPT-2 on generated sentences (``models.gpt.charlm``):
                   prints the loss falling and a sample; ``epochs`` multiplies its 300
                   steps, ``limit`` sets the number of steps

After each epoch the model is evaluated on the held-out part; the history records the
training loss and accuracy (means over the epoch), the test ("val_") loss and accuracy, and
the running training figures after every batch (for the plot).
"""
from __future__ import annotations

import importlib.util
import math
import time
from dataclasses import dataclass, field

import numpy as np

__all__ = ["MODELS", "DEFAULTS", "TrainResult", "train", "synthetic_sentiment", "plot_history", "DataUnavailable"]

MODELS = ("mlp", "cnn", "lstm", "transformer", "gpt")
#: epochs, batch size and learning rate used when the caller gives none
DEFAULTS = {
    "mlp": dict(epochs=5, batch_size=64, lr=1e-3),
    "cnn": dict(epochs=4, batch_size=64, lr=1e-3),
    "lstm": dict(epochs=5, batch_size=64, lr=2e-3),
    "transformer": dict(epochs=5, batch_size=64, lr=1e-3),
    "gpt": dict(epochs=1, batch_size=16, lr=3e-3),   # an "epoch" is 300 steps of 16 x 64 characters
}
SYNTHETIC_DIGITS = (12000, 2000)      # train / held-out images of the built-in digits
SYNTHETIC_SENTENCES = (6000, 1000)    # train / held-out sentences of the built-in sentiment set
TEXT_MAXLEN = 40                      # tokens per sentence after padding (pre) / cutting (pre)
TEXT_VOCAB = 20000                    # most frequent words kept by the tokenizer


class DataUnavailable(RuntimeError):
    """The data asked for (a --data folder) does not hold what the model needs."""


@dataclass
class DataBundle:
    """Train and held-out arrays plus what to tell the user about them."""

    name: str            # "MNIST", "synthetic digits", "rt-polarity", "synthetic sentiment"
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    note: str            # one line: where the data came from
    vocab_size: int = 0  # text only
    tokenizer: object = None  # text only: the fitted Keras-style Tokenizer that made the ids


@dataclass
class TrainResult:
    """What ``train`` returns."""

    model_name: str
    data_name: str
    test_accuracy: float
    test_loss: float
    seconds: float
    history: dict = field(default_factory=dict)
    model: object = None
    parameters: int = 0


# ------------------------------------------------------------------------------ text data
_POSITIVE = ("good great excellent wonderful superb delightful brilliant charming moving funny "
             "beautiful clever fresh gripping lovely touching smart enjoyable warm solid").split()
_NEGATIVE = ("bad awful terrible boring dull weak tedious clumsy bland messy ugly stupid "
             "lifeless flat tiresome annoying painful silly shallow forgettable").split()
_NEUTRAL = ("the a this that film movie story plot cast director script scene ending music actor "
            "actress camera screen picture it its with and of to in is was feels seems looks "
            "comes across as quite rather very so really at times overall here there some "
            "characters dialogue pace mood tone performance role").split()


def synthetic_sentiment(n: int, seed: int = 0):
    """``n`` made-up review sentences and their polarity (1 positive, 0 negative).

    Each sentence mixes 6-24 neutral words with one or three opinion words (from 20
    positive and 20 negative ones); an opinion word is preceded by "not" with probability
    0.25, which flips it. The label is the majority of the (flipped) opinions, so a model
    has to find the opinion words, look at the word before each and count.
    Returns (texts: list[str], labels: int64 array (n,)). The same seed gives the same set.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"synthetic_sentiment: n must be an int >= 0, got {n!r}")
    gen = np.random.default_rng(seed)
    texts, labels = [], np.empty(int(n), dtype=np.int64)
    for k in range(int(n)):
        words = list(gen.choice(_NEUTRAL, size=int(gen.integers(6, 25))))
        opinions = int(gen.choice([1, 3]))
        score = 0
        for _ in range(opinions):
            positive = bool(gen.random() < 0.5)
            word = gen.choice(_POSITIVE if positive else _NEGATIVE)
            negated = bool(gen.random() < 0.25)
            score += 1 if positive != negated else -1
            pos = int(gen.integers(0, len(words) + 1))
            words[pos:pos] = ["not", word] if negated else [word]
        texts.append(" ".join(words))
        labels[k] = 1 if score > 0 else 0
    return texts, labels


def _tokenize(train_texts, test_texts):
    """Fit Keras's Tokenizer on the training texts; pad/cut both sets to TEXT_MAXLEN ("pre")."""
    from ..keras.preprocessing.sequence import pad_sequences
    from ..keras.preprocessing.text import Tokenizer

    tokenizer = Tokenizer(num_words=TEXT_VOCAB)
    tokenizer.fit_on_texts(train_texts)
    vocab = min(TEXT_VOCAB, len(tokenizer.word_index) + 1)

    def encode(texts):
        return pad_sequences(tokenizer.texts_to_sequences(texts), maxlen=TEXT_MAXLEN).astype(np.int64)

    return encode(train_texts), encode(test_texts), vocab, tokenizer


def _limit(count: int, limit) -> int:
    return count if limit is None else max(1, min(count, int(limit)))


def load_text(data=None, limit=None, seed=0) -> DataBundle:
    """rt-polarity from ``data`` (a folder) / $TGE_DATA / the cache, else the synthetic set."""
    from ..data import rt_polarity
    from ..data._files import DatasetNotFoundError

    try:
        texts, labels = rt_polarity(root=data)
    except DatasetNotFoundError as exc:
        if data is not None:
            raise DataUnavailable(f"--data {data}: no rt-polarity.pos / rt-polarity.neg there.\n{exc}") from None
        n_train, n_test = (_limit(n, limit) for n in SYNTHETIC_SENTENCES)
        train_texts, y_train = synthetic_sentiment(n_train, seed=seed)
        test_texts, y_test = synthetic_sentiment(n_test, seed=seed + 1_000_003)
        x_train, x_test, vocab, tokenizer = _tokenize(train_texts, test_texts)
        note = (f"rt-polarity not found (give --data FOLDER with rt-polarity.pos/.neg); using the built-in "
                f"synthetic sentiment sentences instead: {n_train:,} train / {n_test:,} held out "
                f"(tinygrad_edu.cli.train.synthetic_sentiment, no download)")
        return DataBundle("synthetic sentiment", x_train, y_train, x_test, y_test, note, vocab, tokenizer)
    except (ValueError, OSError) as exc:  # found, but damaged or unreadable
        raise DataUnavailable(f"the rt-polarity files found cannot be used: {exc}") from None
    order = np.random.default_rng(seed).permutation(len(texts))
    n_test = len(texts) // 10
    test_idx, train_idx = order[:n_test], order[n_test:]
    train_idx, test_idx = train_idx[:_limit(len(train_idx), limit)], test_idx[:_limit(len(test_idx), limit)]
    x_train, x_test, vocab, tokenizer = _tokenize([texts[i] for i in train_idx], [texts[i] for i in test_idx])
    note = (f"rt-polarity: {len(train_idx):,} train / {len(test_idx):,} held-out sentences "
            f"(a random 10% held out), vocabulary {vocab:,}")
    return DataBundle("rt-polarity", x_train, labels[train_idx], x_test, labels[test_idx], note, vocab, tokenizer)


# ------------------------------------------------------------------------------ image data
def load_digits(data=None, download=False, limit=None, seed=0) -> DataBundle:
    """MNIST from ``data`` / $TGE_DATA / the cache (downloaded if allowed), else synthetic digits.

    Images become float32 (N, 1, 28, 28) in [0, 1]; labels int64 (N,).
    """
    from ..data import mnist, synthetic_digits_split
    from ..data._files import DatasetNotFoundError

    try:
        (x_train, y_train), (x_test, y_test) = mnist(root=data, download=download)
        name = "MNIST"
        x_train, y_train = x_train[:_limit(len(x_train), limit)], y_train[:_limit(len(y_train), limit)]
        x_test, y_test = x_test[:_limit(len(x_test), limit)], y_test[:_limit(len(y_test), limit)]
        note = f"MNIST: {len(x_train):,} train / {len(x_test):,} test images"
    except DatasetNotFoundError as exc:
        if data is not None:
            raise DataUnavailable(f"--data {data}: the MNIST files are not there.\n{exc}") from None
        n_train, n_test = (_limit(n, limit) for n in SYNTHETIC_DIGITS)
        (x_train, y_train), (x_test, y_test) = synthetic_digits_split(n_train, n_test, seed=seed)
        name = "synthetic digits"
        how = "" if download else "; --download fetches it"
        note = (f"MNIST not found (give --data FOLDER or set TGE_DATA{how}); using the built-in synthetic "
                f"digits instead: {n_train:,} train / {n_test:,} held-out images "
                f"(tinygrad_edu.data.synthetic_digits, no download)")
    except (ValueError, OSError) as exc:  # found, but damaged or unreadable
        raise DataUnavailable(f"the MNIST files found cannot be used: {exc}") from None

    def prepare(images):
        return (images.astype(np.float32) / np.float32(255.0))[:, None, :, :]

    return DataBundle(name, prepare(x_train), y_train.astype(np.int64), prepare(x_test), y_test.astype(np.int64), note)


# ------------------------------------------------------------------------------ models
def build_model(name: str, bundle: DataBundle):
    from .. import models

    if name == "mlp":
        return models.MLP(28 * 28, hidden=(128, 64), out_features=10)
    if name == "cnn":
        return models.CNN(in_channels=1, num_classes=10)
    if name == "lstm":
        return models.LSTMClassifier(bundle.vocab_size, 64, 64, 2)
    if name == "transformer":
        return models.TransformerClassifier(bundle.vocab_size, 2, d_model=64, nhead=4, num_layers=2,
                                            dim_feedforward=128, max_len=TEXT_MAXLEN, dropout=0.1, padding_idx=0)
    raise ValueError(f"unknown model {name!r}; expected one of {MODELS}")


def _evaluate(model, x, y, batch_size=256):
    """(mean loss, accuracy) over (x, y), no gradients, dropout off."""
    from ..autograd import no_grad
    from ..nn import functional as F
    from ..tensor import Tensor

    model.eval()
    total_loss, correct = 0.0, 0
    with no_grad():
        for start in range(0, len(x), batch_size):
            xb, yb = x[start:start + batch_size], y[start:start + batch_size]
            logits = model(Tensor(xb))
            total_loss += float(F.cross_entropy(logits, Tensor(yb), reduction="sum").item())
            correct += int((logits.numpy().argmax(axis=1) == yb).sum())
    return total_loss / len(x), correct / len(x)


# ------------------------------------------------------------------------------ the job
def train(model="cnn", data=None, epochs=None, batch_size=None, lr=None, seed=0, threads=None, limit=None,
          plot=None, download=False, verbose=1, log=print, save=None) -> TrainResult:
    """Train one of the articles' models and evaluate it on held-out data.

    model: "mlp", "cnn", "lstm" or "transformer". data: a folder (MNIST files for mlp/cnn,
    rt-polarity.pos/.neg for lstm/transformer); None looks in $TGE_DATA and the cache and
    falls back on built-in data. epochs / batch_size / lr: None takes ``DEFAULTS[model]``.
    seed: fixes the data, the initial weights and the shuffling. threads: C kernel threads.
    limit: use at most this many training and held-out samples (for quick runs).
    plot: a PNG path for the loss and accuracy curves (needs matplotlib). download: allow
    fetching MNIST. verbose: 0 quiet, 1 progress bar (live on a terminal), 2 a line per epoch.
    log: called with each message line. save: a path; the trained model is written there with
    ``tinygrad_edu.models.save_model`` (classes, tokenizer vocabulary, accuracy), ready for
    ``tinygrad_edu.models.load``, ``python -m tinygrad_edu predict`` and ``serve``.

    Raises ValueError for bad arguments, DataUnavailable when ``data`` lacks the files,
    RuntimeError when ``plot`` is asked for without matplotlib (checked before training).
    """
    from .. import __version__, backends, manual_seed, rng
    from .. import optim
    from ..keras.progbar import Progbar
    from ..nn import functional as F
    from ..tensor import Tensor

    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; expected one of {', '.join(MODELS)}")
    if model == "gpt":
        if data is not None:
            raise DataUnavailable("--model gpt trains on its built-in generated sentences; --data does not apply")
        return _train_gpt(epochs, batch_size, lr, seed, threads, limit, plot, log, save)
    settings = dict(DEFAULTS[model])
    for key, value in (("epochs", epochs), ("batch_size", batch_size), ("lr", lr)):
        if value is not None:
            settings[key] = value
    if int(settings["epochs"]) < 1 or int(settings["batch_size"]) < 1 or float(settings["lr"]) <= 0:
        raise ValueError(f"epochs and batch size must be >= 1 and lr > 0, got {settings}")
    if limit is not None and int(limit) < 1:
        raise ValueError(f"limit must be >= 1, got {limit}")
    if plot is not None:
        _require_matplotlib()
    dp = _data_parallel(threads)        # None unless started by mpirun with several ranks
    if dp is not None:                  # rank 0 alone prints, saves and plots
        log, verbose = dp.main_only(log), (verbose if dp.is_main else 0)
    if threads is not None:
        backends.set_num_threads(int(threads))
    manual_seed(int(seed))

    log(f"tinygrad_edu {__version__}: training {model} (backend {backends.backend()}, "
        f"{backends.get_num_threads()} threads, seed {seed})")
    bundle = load_digits(data, download, limit, seed) if model in ("mlp", "cnn") else load_text(data, limit, seed)
    log("data: " + bundle.note)
    net = build_model(model, bundle)
    n_params = sum(p.numel() for p in net.parameters())
    epochs, batch_size, lr = int(settings["epochs"]), int(settings["batch_size"]), float(settings["lr"])
    log(f"model: {type(net).__name__}, {n_params:,} parameters; Adam lr {lr:g}, batch {batch_size}, "
        f"{epochs} epoch{'s' if epochs != 1 else ''}")
    opt = optim.Adam(net.parameters(), lr=lr)
    if dp is not None:
        ddp = dp.wrap(net, bucket_cap_mb=1.0)
        log(f"data-parallel: {dp.world_size} ranks, global batch {batch_size} (about {batch_size // dp.world_size} "
            f"per rank), gradients averaged in {len(ddp.reducer.buckets)} bucket(s)")

    x, y = bundle.x_train, bundle.y_train
    n = len(x)
    steps = math.ceil(n / batch_size)
    history = {"loss": [], "accuracy": [], "val_loss": [], "val_accuracy": [],
               "batch_epoch": [], "batch_loss": [], "batch_accuracy": []}
    start = time.perf_counter()
    for epoch in range(epochs):
        if verbose:
            log(f"Epoch {epoch + 1}/{epochs}")
        bar = Progbar(steps, verbose=verbose)
        net.train()
        order = rng.generator().permutation(n)
        if dp is not None:
            order = dp.same_order(order)
        seen, loss_sum, correct = 0, 0.0, 0
        for step in range(steps):
            idx = order[step * batch_size:(step + 1) * batch_size]
            if dp is not None:          # this rank's share of the global batch; figures summed over ranks
                batch_loss, batch_correct = _data_parallel_step(dp, ddp, opt, x, y, idx)
                loss_sum, correct = loss_sum + batch_loss, correct + int(batch_correct)
                seen += len(idx)
            else:
                logits = net(Tensor(x[idx]))
                loss = F.cross_entropy(logits, Tensor(y[idx]))
                opt.zero_grad()
                loss.backward()
                opt.step()
                seen += len(idx)
                loss_sum += float(loss.item()) * len(idx)
                correct += int((logits.numpy().argmax(axis=1) == y[idx]).sum())
            history["batch_epoch"].append(epoch + (step + 1) / steps)
            history["batch_loss"].append(loss_sum / seen)
            history["batch_accuracy"].append(correct / seen)
            if step + 1 < steps:
                bar.update(step + 1, [("loss", loss_sum / seen), ("accuracy", correct / seen)])
        val_loss, val_acc = (_evaluate(net, bundle.x_test, bundle.y_test) if dp is None
                             else _evaluate_shared(net, bundle.x_test, bundle.y_test, dp))
        for key, value in (("loss", loss_sum / seen), ("accuracy", correct / seen),
                           ("val_loss", val_loss), ("val_accuracy", val_acc)):
            history[key].append(value)
        bar.update(steps, [(k, history[k][-1]) for k in ("loss", "accuracy", "val_loss", "val_accuracy")])
    seconds = time.perf_counter() - start
    test_loss, test_acc = history["val_loss"][-1], history["val_accuracy"][-1]
    held = "test" if bundle.name in ("MNIST",) else "held-out"
    log(f"test accuracy: {test_acc:.4f} (loss {test_loss:.4f}) on {len(bundle.x_test):,} {held} samples of "
        f"{bundle.name}; training took {seconds:.1f} s")
    result = TrainResult(model, bundle.name, test_acc, test_loss, seconds, history, net, n_params)
    if plot is not None and (dp is None or dp.is_main):
        plot_history(history, plot, title=f"tinygrad_edu train --model {model} ({bundle.name})")
        log(f"wrote {plot}")
    if save is not None and (dp is None or dp.is_main):
        _save_trained(net, bundle, model, result, save)
        log(f"saved the model to {save}")
    return result


# ------------------------------------------------------------------------------ the character GPT
def _train_gpt(epochs, batch_size, lr, seed, threads, limit, plot, log, save) -> TrainResult:
    """``train("gpt")``: tinygrad_edu.models.gpt.charlm.train_char_gpt behind the CLI's options."""
    from .. import __version__, backends
    from ..models.gpt.charlm import CHAR_GPT_DEFAULTS, train_char_gpt

    if plot is not None:
        raise ValueError("--plot is not available for --model gpt (it prints the loss as it goes)")
    for name, value in (("epochs", epochs), ("batch_size", batch_size), ("limit", limit)):
        if value is not None and int(value) < 1:
            raise ValueError(f"{name} must be >= 1, got {value}")
    if threads is not None:
        backends.set_num_threads(int(threads))
    steps = int(limit) if limit is not None else CHAR_GPT_DEFAULTS["steps"] * int(epochs or 1)
    log(f"tinygrad_edu {__version__}: training gpt (backend {backends.backend()}, "
        f"{backends.get_num_threads()} threads, seed {seed})")
    r = train_char_gpt(steps=steps, batch_size=batch_size, lr=lr, seed=int(seed), log=log, save=save)
    history = {"loss": r.losses, "val_loss": [r.val_loss_start, r.val_loss]}
    # no accuracy for a language model: test_accuracy is NaN, test_loss the held-out loss
    return TrainResult("gpt", "grammar_text", float("nan"), r.val_loss, r.seconds, history, r.model, r.parameters)


# ------------------------------------------------------------------------------ data-parallel (mpirun)
def _data_parallel(threads):
    """A tinygrad_edu.distributed.training.DataParallel when run by mpirun with several ranks, else
    None; without --threads each rank gets its share of the host's cores."""
    from .. import backends
    from ..distributed.training import default_threads, from_environment

    dp = from_environment()
    if dp is not None and threads is None:
        backends.set_num_threads(default_threads())
    return dp


def _data_parallel_step(dp, ddp, opt, x, y, idx):
    """One Adam step on the global batch ``idx``, this rank computing its share; the gradients
    are averaged over the ranks. Returns (summed loss, correct predictions) over the global batch."""
    from ..nn import functional as F
    from ..tensor import Tensor

    local, weight = dp.share(idx)
    opt.zero_grad()
    loss_sum = correct = 0.0
    if len(local):
        logits = ddp(Tensor(x[local]))
        loss = F.cross_entropy(logits, Tensor(y[local]))
        (loss * weight if weight != 1.0 else loss).backward()
        loss_sum = float(loss.item()) * len(local)
        correct = int((logits.numpy().argmax(axis=1) == y[local]).sum())
    ddp.synchronize()                    # a no-op when backward's hooks already averaged
    opt.step()
    return dp.sum(loss_sum, correct)


def _evaluate_shared(net, x, y, dp):
    """_evaluate with the held-out set split across the ranks; the totals are summed."""
    xs, ys = dp.split(x, y)
    loss, acc = _evaluate(net, xs, ys) if len(xs) else (0.0, 0.0)
    loss_sum, correct, count = dp.sum(loss * len(xs), acc * len(xs), len(xs))
    return loss_sum / count, correct / count


CLASS_NAMES = {"mlp": [str(d) for d in range(10)], "cnn": [str(d) for d in range(10)],
               "lstm": ["negative", "positive"], "transformer": ["negative", "positive"]}


def _save_trained(net, bundle: DataBundle, model: str, result: TrainResult, path) -> None:
    """Write the trained model with its class names, tokenizer (text models) and scores."""
    from ..models import TextEncoder, save_model

    tokenizer = None
    if bundle.tokenizer is not None:
        tokenizer = TextEncoder.from_keras(bundle.tokenizer, maxlen=TEXT_MAXLEN)
    extra = {"data": bundle.name, "test_accuracy": float(result.test_accuracy),
             "test_loss": float(result.test_loss), "epochs": len(result.history["loss"])}
    save_model(net, path, classes=CLASS_NAMES[model], tokenizer=tokenizer, extra=extra)


# ------------------------------------------------------------------------------ the plot
def _require_matplotlib() -> None:
    if importlib.util.find_spec("matplotlib") is None:
        raise RuntimeError("--plot needs matplotlib, which is not installed: pip install matplotlib "
                           "(or pip install 'tinygrad_edu[examples]')")


def plot_history(history: dict, path, title: str = "training") -> None:
    """Write a PNG with two panels: loss and accuracy against epochs.

    history: "loss", "accuracy", "val_loss", "val_accuracy" (one value per epoch) and,
    optionally, "batch_epoch" / "batch_loss" / "batch_accuracy" (running training figures
    after every batch, drawn as thin lines). Raises RuntimeError without matplotlib.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise RuntimeError("plotting needs matplotlib, which is not installed: pip install matplotlib") from None
    epochs = np.arange(1, len(history.get("loss", [])) + 1)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key, label in ((axes[0], "loss", "loss (cross-entropy)"), (axes[1], "accuracy", "accuracy")):
        if history.get("batch_epoch"):
            ax.plot(history["batch_epoch"], history[f"batch_{key}"], color="tab:blue", alpha=0.35, linewidth=1,
                    label=f"train {key} (running, per batch)")
        ax.plot(epochs, history.get(key, []), "o-", color="tab:blue", label=f"train {key} (epoch)")
        ax.plot(epochs, history.get(f"val_{key}", []), "s-", color="tab:orange", label=f"test {key}")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.set_title(key.capitalize())
        ax.grid(True, alpha=0.3)
        ax.legend()
    axes[0].set_xlim(left=0)
    axes[1].set_xlim(left=0)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
