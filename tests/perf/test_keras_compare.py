"""benches/keras_compare.py: the per-seed runs behind its accuracy table (--seeds).

Only the tinygrad_edu half runs here (TensorFlow lives in its own interpreter); the data is a
small synthetic token set in the LSTM model's shapes, so the test takes a second or two.
"""
import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest

from tinygrad_edu import keras

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def kc():
    # the script pins the thread variables to 1 when it is imported: keep them out of the
    # other tests' environment
    saved = dict(os.environ)
    spec = importlib.util.spec_from_file_location("keras_compare", REPO / "benches" / "keras_compare.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    os.environ.clear()
    os.environ.update(saved)
    return module


def test_seed_list_parsing_and_mean_std(kc):
    assert kc.parse_seeds(None) == [None]
    assert kc.parse_seeds("3") == [0, 1, 2]
    assert kc.parse_seeds("4,9,") == [4, 9]
    with pytest.raises(SystemExit):
        kc.parse_seeds("0")
    mean, std = kc.mean_std([0.6, 0.7, 0.8])
    assert mean == pytest.approx(0.7) and std == pytest.approx(0.1)     # sample std (ddof=1)
    assert kc.mean_std([0.65]) == (pytest.approx(0.65), 0.0)


def test_a_seed_fixes_weights_and_shuffling_and_the_table_reports_each_run(kc, capsys):
    rng = np.random.default_rng(0)
    vocab = 50
    x = rng.integers(0, vocab, (150, kc.MAXLEN)).astype(np.int64)
    y = (x[:, -1] < vocab // 2).astype(np.float32)             # learnable from the last token
    arrays = (x[:128], y[:128], x[128:], y[128:])
    first = kc.run_epoch(keras, "lstm", arrays, vocab, epochs=1, seed=5)
    again = kc.run_epoch(keras, "lstm", arrays, vocab, epochs=1, seed=5)
    other = kc.run_epoch(keras, "lstm", arrays, vocab, epochs=1, seed=6)
    assert first["seed"] == 5 and again["seed"] == 5
    assert first["loss"] == again["loss"] and first["accuracy"] == again["accuracy"]
    assert other["loss"] != first["loss"]
    results = {"lstm": {"tge": [first, other], "tf": []}}
    kc.print_seed_table(["lstm"], results, [5, 6], 1)
    out = capsys.readouterr().out
    mean, std = kc.mean_std([first["accuracy"], other["accuracy"]])
    assert f"lstm   tge    2 {mean:7.4f} {std:7.4f}" in out
    assert f"5:{first['accuracy']:.4f}" in out and f"6:{other['accuracy']:.4f}" in out
