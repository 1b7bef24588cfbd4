"""One training epoch of the articles' three Keras models, tinygrad_edu.keras against TensorFlow-Keras.

    python benches/keras_compare.py                                   # tinygrad_edu.keras only
    python benches/keras_compare.py --tf-python /work/tfenv/bin/python  # and TF-Keras, side by side

The models are the seed articles' (examples/mlp_keras.py, cnn_keras_mnist.py,
lstm_keras_text.py), on real data:

    mlp   MNIST flattened to 784 / 255: Dense(64, relu) - Dense(64, relu) - Dense(10, softmax),
          sparse_categorical_crossentropy
    cnn   MNIST (28, 28, 1) / 255: Conv32 3x3 - MaxPool 2 - Conv64 3x3 - MaxPool 2 - Conv64 3x3 -
          Flatten - Dense(64, relu) - Dense(10, softmax), categorical_crossentropy (one-hot)
    lstm  rt-polarity (80 % train, 20 % test, shuffled with seed 0), Keras Tokenizer over the
          training texts, pad_sequences(maxlen=40): Embedding(vocab, 10) - LSTM(100) -
          Dense(1, sigmoid), binary_crossentropy

All with Adam (Keras's defaults), batch 64, one thread each (TGE_NUM_THREADS=1 / one BLAS
thread here; one intra-op and one inter-op thread in TensorFlow). The time is one
``model.fit(..., epochs=1, verbose=0)`` call after a warm-up fit of the same model on two
batches and a partial one (which lets TensorFlow trace its step for both batch shapes; the
weights have then taken 3 of the ~140-940 steps of the epoch), measured with the same data in both. Accuracy is
``model.evaluate`` on the held-out split after that epoch (``--epochs N``: N epochs, the
time per epoch, the accuracy after the N). The TensorFlow half runs in the
interpreter given by --tf-python (its own environment, e.g. a venv with
tensorflow-cpu==2.21.0), as a subprocess that gets the data through a temporary .npz file;
with --rounds > 1 the two implementations alternate, model by model.

Accuracy over seeds: one epoch's accuracy swings by several points with the seed (the
initial weights and the shuffling), in both libraries, so a single run cannot tell whether
two implementations train alike. ``--seeds 0,1,2,3,4`` (or ``--seeds 5``: seeds 0-4) runs
each model once per seed in both, with the same seed on each side
(``keras.utils.set_random_seed`` before the model is built; the data and its train/test
split stay fixed), and prints the accuracy as mean +- standard deviation over the seeds
(sample standard deviation) with every seed's value; the time column is then the best run.

Data: ``--data`` (default ../shared/data) holds mnist/ and rt-polarity/; ``--limit N`` trains
on the first N samples only (a quick run).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

for _name in ("TGE_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
BATCH = 64
MAXLEN = 40
MODELS = ("mlp", "cnn", "lstm")


def load_data(root: str, limit: int | None) -> dict:
    """{"mlp": (x, y, x_test, y_test), ...} as NumPy arrays, the same for both implementations."""
    from tinygrad_edu.data import rt_polarity
    from tinygrad_edu.data.vision import mnist
    from tinygrad_edu.keras.preprocessing.sequence import pad_sequences
    from tinygrad_edu.keras.preprocessing.text import Tokenizer
    from tinygrad_edu.keras.utils import to_categorical

    (x_train, y_train), (x_test, y_test) = mnist(root, download=False)
    x_train = x_train.astype(np.float32) / 255
    x_test = x_test.astype(np.float32) / 255
    texts, labels = rt_polarity(root)
    order = np.random.default_rng(0).permutation(len(texts))
    cut = int(0.8 * len(texts))
    train_texts = [texts[i] for i in order[:cut]]
    test_texts = [texts[i] for i in order[cut:]]
    tok = Tokenizer()
    tok.fit_on_texts(train_texts)
    seq_train = pad_sequences(tok.texts_to_sequences(train_texts), maxlen=MAXLEN)
    seq_test = pad_sequences(tok.texts_to_sequences(test_texts), maxlen=MAXLEN)
    data = {
        "mlp": (x_train.reshape(-1, 784), y_train, x_test.reshape(-1, 784), y_test),
        "cnn": (x_train[..., None], to_categorical(y_train, 10), x_test[..., None], to_categorical(y_test, 10)),
        "lstm": (seq_train.astype(np.int64), labels[order[:cut]].astype(np.float32),
                 seq_test.astype(np.int64), labels[order[cut:]].astype(np.float32)),
    }
    if limit:
        data = {k: (v[0][:limit], v[1][:limit], v[2], v[3]) for k, v in data.items()}
    data["vocab"] = len(tok.word_index) + 1
    return data


def build(keras, name: str, vocab: int):
    """The seed article's model ``name``, compiled, in ``keras`` (either implementation)."""
    layers = keras.layers
    if name == "mlp":
        model = keras.Sequential([layers.Dense(64, activation="relu", input_shape=(784,)),
                                  layers.Dense(64, activation="relu"),
                                  layers.Dense(10, activation="softmax")])
        loss = "sparse_categorical_crossentropy"
    elif name == "cnn":
        model = keras.Sequential([layers.Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1)),
                                  layers.MaxPooling2D((2, 2)),
                                  layers.Conv2D(64, (3, 3), activation="relu"),
                                  layers.MaxPooling2D((2, 2)),
                                  layers.Conv2D(64, (3, 3), activation="relu"),
                                  layers.Flatten(),
                                  layers.Dense(64, activation="relu"),
                                  layers.Dense(10, activation="softmax")])
        loss = "categorical_crossentropy"
    else:
        model = keras.Sequential([keras.Input(shape=(MAXLEN,)), layers.Embedding(vocab, 10),
                                  layers.LSTM(100), layers.Dense(1, activation="sigmoid")])
        loss = "binary_crossentropy"
    model.compile(optimizer="adam", loss=loss, metrics=["accuracy"])
    return model


def run_epoch(keras, name: str, arrays, vocab: int, epochs: int = 1, seed: int | None = None) -> dict:
    """Warm up on two batches, time ``epochs`` epochs, evaluate: {"seconds" (per epoch),
    "accuracy", "loss", "seed"}. ``seed``: ``keras.utils.set_random_seed(seed)`` first
    (weights and shuffling); None continues the generator where it stands."""
    x, y, x_test, y_test = arrays
    if seed is not None:
        keras.utils.set_random_seed(seed)
    # the warm-up sees a full batch and the epoch's last, partial one, so that TensorFlow has
    # traced its step for both batch shapes before the clock starts
    warm = 2 * BATCH + len(x) % BATCH
    model = build(keras, name, vocab)
    model.fit(x[:warm], y[:warm], batch_size=BATCH, epochs=1, verbose=0)
    model.evaluate(x_test[:BATCH], y_test[:BATCH], batch_size=256, verbose=0)
    start = time.perf_counter()
    model.fit(x, y, batch_size=BATCH, epochs=epochs, verbose=0, shuffle=True)
    seconds = (time.perf_counter() - start) / epochs
    loss, acc = model.evaluate(x_test, y_test, batch_size=256, verbose=0)
    return {"seconds": seconds, "accuracy": float(acc), "loss": float(loss), "seed": seed}


# ---------------------------------------------------------------------------- TensorFlow worker
def tf_worker(npz_path: str) -> None:
    """Runs in the TensorFlow interpreter: reads model names on stdin, answers JSON lines."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import warnings

    warnings.filterwarnings("ignore", category=UserWarning)   # Keras 3 on input_shape= (the articles' idiom)
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    tf.keras.utils.set_random_seed(0)
    data = np.load(npz_path)
    vocab = int(data["vocab"])
    print(json.dumps({"ready": tf.__version__}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        name, epochs, seed = line.split()
        arrays = tuple(data[f"{name}_{i}"] for i in range(4))
        seed = None if seed == "-" else int(seed)
        print(json.dumps(run_epoch(tf.keras, name, arrays, vocab, int(epochs), seed)), flush=True)


class TFProcess:
    def __init__(self, python: str, data: dict):
        self.tmp = tempfile.TemporaryDirectory()
        path = os.path.join(self.tmp.name, "data.npz")
        flat = {f"{k}_{i}": a for k, v in data.items() if k != "vocab" for i, a in enumerate(v)}
        np.savez(path, vocab=np.array(data["vocab"]), **flat)
        env = dict(os.environ, TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS="1", CUDA_VISIBLE_DEVICES="")
        env.pop("PYTHONPATH", None)
        self.proc = subprocess.Popen([python, os.path.abspath(__file__), "--tf-worker", path], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, env=env)
        self.version = json.loads(self._line())["ready"]

    def _line(self) -> str:
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the TensorFlow worker stopped (see its messages above)")
        return line

    def run(self, name: str, epochs: int, seed: int | None = None) -> dict:
        self.proc.stdin.write(f"{name} {epochs} {'-' if seed is None else seed}\n")
        self.proc.stdin.flush()
        return json.loads(self._line())

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=60)
        self.tmp.cleanup()


def parse_seeds(text: str | None) -> list:
    """--seeds: None -> [None] (one run, the generator seeded once at the start);
    "5" -> [0, 1, 2, 3, 4]; "3,7,11" -> [3, 7, 11]."""
    if text is None:
        return [None]
    parts = [p for p in text.split(",") if p.strip()]
    if len(parts) == 1 and "," not in text:
        count = int(parts[0])
        if count < 1:
            raise SystemExit(f"--seeds: a count must be >= 1, got {count}")
        return list(range(count))
    return [int(p) for p in parts]


def mean_std(values) -> tuple:
    """(mean, sample standard deviation) of ``values`` (std 0.0 for a single value)."""
    a = np.asarray(values, dtype=np.float64)
    return float(a.mean()), float(a.std(ddof=1)) if a.size > 1 else 0.0


def print_seed_table(names, results, seeds, epochs) -> None:
    """Accuracy after ``epochs`` epoch(s): mean +- std over the seeds, then every run."""
    print(f"accuracy after {epochs} epoch(s) over seeds {seeds} (mean +- sample std; every run below)")
    print(f"{'model':6} {'impl':4} {'n':>3} {'mean':>7} {'std':>7}  runs")
    for name in names:
        for impl in ("tge", "tf"):
            runs = results[name][impl]
            if not runs:
                continue
            mean, std = mean_std([r["accuracy"] for r in runs])
            each = " ".join(f"{r['seed']}:{r['accuracy']:.4f}" for r in runs)
            print(f"{name:6} {impl:4} {len(runs):3d} {mean:7.4f} {std:7.4f}  {each}")
        if results[name]["tf"]:
            diff = mean_std([r["accuracy"] for r in results[name]["tge"]])[0] - \
                mean_std([r["accuracy"] for r in results[name]["tf"]])[0]
            print(f"{name:6} tge - tf mean: {diff:+.4f}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tf-python", help="an interpreter with tensorflow installed (runs the TF half)")
    parser.add_argument("--data", default=os.path.join(HERE, "..", "..", "shared", "data"))
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=1, help="epochs per run (time is per epoch)")
    parser.add_argument("--limit", type=int, default=None, help="train on the first N samples only")
    parser.add_argument("--seeds", default=None,
                        help="comma-separated seeds (or a count N: seeds 0..N-1): one run per seed in both "
                             "implementations, accuracy reported as mean +- std over them")
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--tf-worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.tf_worker:
        tf_worker(args.tf_worker)
        return 0

    import tinygrad_edu as tge
    from tinygrad_edu import keras

    tge.set_num_threads(1)
    keras.utils.set_random_seed(0)
    data = load_data(args.data, args.limit)
    tf = TFProcess(args.tf_python, data) if args.tf_python else None
    names = [m for m in args.models.split(",") if m]
    seeds = parse_seeds(args.seeds)
    results = {name: {"tge": [], "tf": []} for name in names}
    for _ in range(args.rounds):
        for seed in seeds:
            for name in names:
                results[name]["tge"].append(run_epoch(keras, name, data[name], data["vocab"], args.epochs, seed))
                if tf is not None:
                    results[name]["tf"].append(tf.run(name, args.epochs, seed))
    if tf is not None:
        tf.close()
    print(f"backend {tge.backend()}, 1 thread, batch {BATCH}, one epoch of {', '.join(f'{n}: {len(data[n][0])}' for n in names)} samples"
          + (f"; TensorFlow {tf.version}" if tf else "") + f"; {args.epochs} epoch(s) per run, seconds per epoch; best of {args.rounds} round(s), "
          "accuracy of the last")
    print(f"{'model':6} {'tge s':>8} {'tf s':>8} {'tge/tf':>7} {'tge acc':>8} {'tf acc':>8}")
    for name in names:
        ours = min(r["seconds"] for r in results[name]["tge"])
        acc = results[name]["tge"][-1]["accuracy"]
        line = f"{name:6} {ours:8.2f}"
        if results[name]["tf"]:
            theirs = min(r["seconds"] for r in results[name]["tf"])
            line += f" {theirs:8.2f} {ours / theirs:6.2f}x {acc:8.4f} {results[name]['tf'][-1]['accuracy']:8.4f}"
        else:
            line += f" {'-':>8} {'-':>7} {acc:8.4f} {'-':>8}"
        print(line)
    if args.seeds is not None:
        print_seed_table(names, results, seeds, args.epochs)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
