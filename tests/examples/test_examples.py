"""Every script in examples/ runs (as a subprocess, with few epochs and small data)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
SHARED_DATA = REPO.parent / "shared" / "data"


def run_example(name, tmp_path, **env_extra):
    env = dict(os.environ)
    env.update(PYTHONPATH=str(REPO) + os.pathsep + env.get("PYTHONPATH", ""), TGE_EXAMPLE_QUICK="1",
               TGE_EXAMPLE_EPOCHS="2", TGE_CACHE_DIR=str(tmp_path / "cache"), TGE_PROGBAR="plain")
    env.pop("TGE_DATA", None)
    env.update(env_extra)
    proc = subprocess.run([sys.executable, str(EXAMPLES / name)], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, f"{name} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def test_the_articles_examples_are_all_here():
    # (other examples, e.g. the BERT ones, have their own tests)
    tested = {"mlp_keras.py", "cnn_keras_mnist.py", "cnn_small_keras.py", "binary_keras.py", "lstm_pytorch.py",
              "lstm_keras_text.py"}
    assert tested <= {p.name for p in EXAMPLES.glob("*.py")}


def test_mlp_keras(tmp_path):
    out = run_example("mlp_keras.py", tmp_path)
    lines = out.splitlines()
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2"
    assert lines[1].startswith("32/32 [==============================]") and "accuracy:" in lines[1]


def test_cnn_keras_mnist(tmp_path):
    if not (SHARED_DATA / "mnist" / "train-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"MNIST is not in {SHARED_DATA / 'mnist'}")
    out = run_example("cnn_keras_mnist.py", tmp_path, TGE_DATA=str(SHARED_DATA), TGE_EXAMPLE_EPOCHS="1")
    assert "Total params: 93,322" in out
    assert "16/16 [==============================]" in out          # 1,000 images in batches of 64
    accuracy = float(out.strip().splitlines()[-1].split(":")[1])
    assert 0.3 < accuracy <= 1.0


def test_cnn_small_keras(tmp_path):
    out = run_example("cnn_small_keras.py", tmp_path)
    assert "val_accuracy:" in out
    assert float(out.strip().splitlines()[-1].split(":")[1]) > 0.3


def test_binary_keras(tmp_path):
    out = run_example("binary_keras.py", tmp_path, TGE_EXAMPLE_EPOCHS="5")
    lines = out.strip().splitlines()
    assert lines[-2].startswith("Loss: ") and lines[-1].startswith("Accuracy: ")
    assert float(lines[-1].split()[1].rstrip("%")) > 60


def test_lstm_pytorch(tmp_path):
    out = run_example("lstm_pytorch.py", tmp_path)
    lines = out.strip().splitlines()
    assert lines[0].startswith("Epoch [1/2], Loss: ") and lines[-1].startswith("Accuracy: ")


def test_lstm_keras_text(tmp_path):
    out = run_example("lstm_keras_text.py", tmp_path, TGE_EXAMPLE_EPOCHS="30")
    assert "Total params: 44,531" in out and "lstm (LSTM)" in out and "44400" in out
    predictions = [float(v) for v in out.strip().splitlines()[-1].split("[")[1].rstrip("]").split()]
    assert predictions[0] > 0.5 > predictions[1]                 # it tells the two texts apart
