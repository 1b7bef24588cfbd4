"""Clear errors instead of tracebacks or silent differences (issue 15, item 8).

The command line answers damaged data and bad options with one "error:" line and a
non-zero status; library calls raise an exception naming the argument and its shape
instead of a bare IndexError/ZeroDivisionError/AttributeError/RecursionError; and where
PyTorch refuses something (flatten(1, 0), layer_norm(x, ()), an int tensor += 0.5, a
uint64 value above int64) we refuse it too instead of computing something else.
"""
import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinygrad_edu as tge
import tinygrad_edu.nn.functional as F
from tinygrad_edu import Tensor, nn
from tinygrad_edu.data import vision, write_idx

ROOT = Path(__file__).resolve().parents[2]
BARE = (IndexError, ZeroDivisionError, AttributeError, RecursionError, KeyError)


# ------------------------------------------------------------------------------ the CLI
def run_cli(*args, env=None):
    full_env = {**os.environ, "TGE_CACHE_DIR": str(Path(env or "/nonexistent") / "cache")}
    full_env.pop("TGE_DATA", None)
    return subprocess.run([sys.executable, "-m", "tinygrad_edu", *args], cwd=ROOT, env=full_env,
                          capture_output=True, text=True, timeout=120)


def assert_clean_error(proc, *words):
    assert proc.returncode in (1, 2), (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    for w in words:
        assert w in proc.stderr, proc.stderr


def _mnist_folder(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {vision.TRAIN_IMAGES: np.zeros((8, 28, 28), np.uint8), vision.TRAIN_LABELS: np.arange(8, dtype=np.uint8),
              vision.TEST_IMAGES: np.zeros((4, 28, 28), np.uint8), vision.TEST_LABELS: np.arange(4, dtype=np.uint8)}
    for name, a in arrays.items():
        write_idx(folder / name, a)
    return folder


def test_cli_damaged_mnist_file(tmp_path):
    folder = _mnist_folder(tmp_path / "mnist")
    labels = folder / vision.TRAIN_LABELS
    with gzip.open(labels, "wb") as f:  # a valid gzip holding a wrong IDX file
        f.write(b"\x00\x00\x08\x01" + (5).to_bytes(4, "big") + bytes(3))
    assert_clean_error(run_cli("train", "--model", "mlp", "--data", str(folder), "--epochs", "1", env=tmp_path),
                       "error:", "truncated IDX data")


def test_cli_corrupt_gz(tmp_path):
    folder = _mnist_folder(tmp_path / "mnist")
    images = folder / vision.TRAIN_IMAGES
    blob = bytearray(images.read_bytes())
    blob[len(blob) // 2] ^= 0x55
    images.write_bytes(bytes(blob[: len(blob) - 6]))
    assert_clean_error(run_cli("train", "--model", "mlp", "--data", str(folder), "--epochs", "1", env=tmp_path),
                       "error:", "gzip")


@pytest.mark.parametrize("content", [b"", b"\n  \n"])
def test_cli_empty_text_data(tmp_path, content):
    folder = tmp_path / "rt"
    folder.mkdir()
    (folder / "rt-polarity.pos").write_bytes(content)
    (folder / "rt-polarity.neg").write_bytes(b"a fine film\n")
    assert_clean_error(run_cli("train", "--model", "lstm", "--data", str(folder), "--epochs", "1", env=tmp_path),
                       "error:", "holds no sentences")


def test_cli_corrupt_gz_text_data(tmp_path):
    folder = tmp_path / "rt"
    folder.mkdir()
    (folder / "rt-polarity.pos").write_bytes(gzip.compress(b"good\n" * 100)[:-10])
    (folder / "rt-polarity.neg").write_bytes(b"bad\n")
    assert_clean_error(run_cli("train", "--model", "lstm", "--data", str(folder), env=tmp_path), "error:", "gzip")


def test_cli_negative_seed(tmp_path):
    proc = run_cli("train", "--seed", "-5", env=tmp_path)
    assert_clean_error(proc, "--seed", "expected an integer seed")
    assert proc.returncode == 2


def test_manual_seed_accepts_pytorch_range():
    tge.manual_seed(-5)  # as torch.manual_seed: stands for 2**64 - 5
    a = tge.randn(3).numpy()
    tge.manual_seed(2**64 - 5)
    np.testing.assert_array_equal(a, tge.randn(3).numpy())
    with pytest.raises(ValueError, match=r"seed must lie in \[-2\*\*63, 2\*\*64\)"):
        tge.manual_seed(2**64)


# ------------------------------------------------------------------------------ library calls
CALLS = {
    "cat of 0-d tensors": (lambda: tge.cat([Tensor(1.0), Tensor(2.0)]), ValueError, "zero-dimensional"),
    "cross_entropy 0-d logits": (lambda: F.cross_entropy(Tensor(1.0), Tensor(0)), ValueError, "got a 0-d tensor"),
    "cross_entropy 0-d logits smoothed": (lambda: F.cross_entropy(Tensor(1.0), Tensor(0), label_smoothing=0.1),
                                          ValueError, "0-d"),
    "attention 1-D query": (lambda: F.scaled_dot_product_attention(Tensor([1.0, 2.0]), Tensor([[1.0, 2.0]]),
                                                                    Tensor([[1.0, 2.0]])), ValueError, r"q must be .* \(2,\)"),
    "arange step 0": (lambda: Tensor.arange(0, 5, 0), ValueError, "step must be nonzero"),
    "arange step 0.0": (lambda: tge.arange(0.0, 1.0, 0.0), ValueError, "step must be nonzero"),
    "NumPy array assigned as a parameter": (lambda: setattr(nn.Linear(2, 2), "weight", np.zeros((2, 2))),
                                            TypeError, "nn.Parameter"),
    "NumPy array given to an optimizer": (lambda: tge.optim.SGD([np.zeros(3)], lr=0.1), TypeError, "ndarray"),
    "embedding padding_idx too big": (lambda: F.embedding(Tensor([0, 1]), Tensor(np.zeros((3, 2), np.float32)),
                                                          padding_idx=5), ValueError, r"padding_idx 5 must lie in \[-3, 3\)"),
    "embedding padding_idx too negative": (lambda: F.embedding(Tensor([0]), Tensor(np.zeros((3, 2), np.float32)),
                                                               padding_idx=-4), ValueError, "padding_idx -4"),
    "embedding padding_idx not int": (lambda: F.embedding(Tensor([0]), Tensor(np.zeros((3, 2), np.float32)),
                                                          padding_idx=1.5), TypeError, "padding_idx"),
    "randperm negative": (lambda: tge.randperm(-1), ValueError, "non-negative"),
    "draw_graph of None": (lambda: tge.utils.draw_graph(None), TypeError, "expected a Tensor"),
    "from_dlpack of an int": (lambda: Tensor.from_dlpack(3), TypeError, "__dlpack__"),
    # silent differences from PyTorch
    "flatten(1, 0)": (lambda: Tensor(np.zeros((2, 3, 4))).flatten(1, 0), ValueError, "start axis 1 comes after end axis 0"),
    "layer_norm(x, ())": (lambda: F.layer_norm(Tensor(np.ones((2, 3), np.float32)), ()), ValueError,
                          "at least one size"),
    "int tensor += 0.5": (lambda: Tensor([1, 2]).__iadd__(0.5), (TypeError, RuntimeError, ValueError), "int64"),
    "uint64 above int64": (lambda: Tensor(np.array([2**64 - 1], dtype=np.uint64)), OverflowError, "do not fit int64"),
    "python int above int64": (lambda: Tensor([2**64 - 1]), OverflowError, "do not fit int64"),
}


@pytest.mark.parametrize("case", sorted(CALLS))
def test_bad_calls_raise_clear_errors(case):
    fn, exc, pattern = CALLS[case]
    with pytest.raises(exc, match=pattern) as info:
        fn()
    assert not isinstance(info.value, BARE) or isinstance(info.value, ValueError), type(info.value)


def test_uint64_values_that_fit_are_kept():
    assert Tensor(np.array([0, 2**63 - 1], dtype=np.uint64)).numpy().tolist() == [0, 2**63 - 1]


def test_a_deeply_nested_safetensors_header_is_a_value_error(tmp_path):
    text = b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    path = tmp_path / "deep.safetensors"
    path.write_bytes(len(text).to_bytes(8, "little") + text)
    with pytest.raises(ValueError, match="nested too deeply|not valid UTF-8 JSON|is not an object"):
        tge.load(path)


def test_embedding_padding_idx_still_zeroes_its_gradient():
    w = Tensor(np.ones((4, 2), np.float32), requires_grad=True)
    F.embedding(Tensor([0, 3, 3, 1]), w, padding_idx=-1).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy()[3], 0.0)
    np.testing.assert_array_equal(w.grad.numpy()[0], 1.0)


def test_flatten_and_layer_norm_valid_calls_unchanged():
    x = Tensor(np.arange(24, dtype=np.float32).reshape(2, 3, 4))
    assert x.flatten(1, 1).shape == (2, 3, 4) and x.flatten(0, -1).shape == (24,) and x.flatten(1).shape == (2, 12)
    assert F.layer_norm(x, (4,)).shape == (2, 3, 4)
    assert json.dumps(list(tge.arange(0, 1, 0.5).shape)) == "[2]"
