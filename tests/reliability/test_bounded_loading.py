"""Bounded work before a check (issue 15, item 6).

The IDX reader checks the header first and streams the data (a gzip bomb is not inflated
whole), known MNIST checksums are verified for files found on disk, and the BERT loader
compares config.json with the checkpoint's header before building anything.
"""
import gzip
import json
import time
import tracemalloc

import numpy as np
import pytest

from tinygrad_edu.data import mnist, read_idx, vision, write_idx
from tinygrad_edu.data._files import ChecksumError


def _idx_header(type_code, shape):
    return bytes([0, 0, type_code, len(shape)]) + b"".join(int(s).to_bytes(4, "big") for s in shape)


def test_a_gzip_bomb_is_refused_without_inflating_it(tmp_path):
    # 64 MiB of zeros after a header that announces 4 images of 28x28: ~64 KB on disk
    path = tmp_path / "bomb-idx3-ubyte.gz"
    with gzip.open(path, "wb", compresslevel=1) as f:
        f.write(_idx_header(0x08, (4, 28, 28)))
        chunk = bytes(1 << 20)
        for _ in range(64):
            f.write(chunk)
    assert path.stat().st_size < 1 << 20
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        with pytest.raises(ValueError, match="unexpected bytes after the IDX data"):
            read_idx(path, expected_magic=2051, expected_shape=(None, 28, 28))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20, f"peak {peak} bytes: the file was inflated whole"
    assert time.perf_counter() - t0 < 5.0


def test_an_absurd_header_is_refused_before_any_allocation(tmp_path):
    path = tmp_path / "huge-idx3-ubyte.gz"
    with gzip.open(path, "wb") as f:
        f.write(_idx_header(0x08, (2**31, 28, 28)))
        f.write(bytes(1 << 20))
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"more than the \d+-byte limit"):
            read_idx(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20
    # the limit can be raised for big sets, and still refuses what exceeds it
    small = tmp_path / "small"
    write_idx(small, np.arange(100, dtype=np.uint8))
    assert read_idx(small, max_bytes=100).tolist() == list(range(100))
    with pytest.raises(ValueError, match="99-byte limit"):
        read_idx(small, max_bytes=99)


@pytest.mark.parametrize("compress", [True, False])
def test_truncated_and_corrupt_files_are_clear_errors(tmp_path, compress):
    path = tmp_path / ("x.gz" if compress else "x")
    write_idx(path, np.arange(1000, dtype=np.int32).reshape(10, 100), compress=compress)
    blob = path.read_bytes()
    path.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(ValueError, match="truncated|corrupt"):
        read_idx(path)
    if compress:
        bad = bytearray(blob)
        bad[len(bad) // 2] ^= 0xFF
        path.write_bytes(bytes(bad))
        with pytest.raises(ValueError, match=str(path)):
            read_idx(path)


def _fake_mnist(folder, sizes=None):
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {vision.TRAIN_IMAGES: np.zeros((6, 28, 28), np.uint8), vision.TRAIN_LABELS: np.arange(6, dtype=np.uint8),
              vision.TEST_IMAGES: np.zeros((4, 28, 28), np.uint8), vision.TEST_LABELS: np.arange(4, dtype=np.uint8)}
    for name, a in arrays.items():
        write_idx(folder / name, a)
    return folder


def test_a_damaged_copy_of_the_published_mnist_file_is_caught_by_its_checksum(tmp_path, monkeypatch):
    folder = _fake_mnist(tmp_path / "mnist")
    # An MNIST-format set of the user's own (other sizes) loads: judged by its headers.
    (x, y), _ = mnist(root=tmp_path, download=False)
    assert x.shape == (6, 28, 28)
    # A file with the published file's size claims to be it: its SHA-256 must match.
    target = folder / vision.TRAIN_LABELS
    gz_size, _ = vision.MNIST_SIZES[vision.TRAIN_LABELS]
    blob = target.read_bytes()
    target.write_bytes(blob + bytes(gz_size - len(blob)))  # same size, other bytes
    with pytest.raises(ChecksumError, match=r"SHA-256 .* expected 3552534a"):
        mnist(root=tmp_path, download=False)
    # uncompressed copies are checked against the uncompressed file's hash
    target.unlink()
    raw = folder / vision.TRAIN_LABELS[:-3]
    raw.write_bytes(_idx_header(0x08, (60000,)) + bytes(60000))
    with pytest.raises(ChecksumError, match="65a50cbb"):
        mnist(root=tmp_path, download=False)


def test_the_real_mnist_files_pass_their_checksums(data_dir):
    if not (data_dir / "mnist" / vision.TRAIN_IMAGES).is_file():
        pytest.skip("the MNIST files are not in the shared data folder")
    (x, y), _ = mnist(root=data_dir, download=False)
    assert x.shape == (60000, 28, 28) and y[:3].tolist() == [5, 0, 4]


# ------------------------------------------------------------------------------ BERT
TINY = dict(vocab_size=30, hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32,
            max_position_embeddings=24, type_vocab_size=2, hidden_dropout_prob=0.0,
            attention_probs_dropout_prob=0.0, model_type="bert")


def _checkpoint(folder, config):
    from tinygrad_edu.models.bert import BertConfig, BertModel
    from tinygrad_edu.utils.serialization import save

    folder.mkdir(parents=True, exist_ok=True)
    model = BertModel(BertConfig(**TINY))
    save(model.state_dict(), folder / "model.safetensors")
    (folder / "config.json").write_text(json.dumps(config))
    return folder, model


def test_parameter_count_matches_the_model():
    from tinygrad_edu.models.bert import BertConfig, BertModel
    from tinygrad_edu.models.bert.loading import parameter_count

    cfg = BertConfig(**TINY)
    assert parameter_count(cfg) == sum(p.numel() for p in BertModel(cfg).parameters())
    assert parameter_count(cfg, pooler=False) == sum(
        p.numel() for p in BertModel(cfg, add_pooling_layer=False).parameters())


def test_a_huge_config_beside_a_small_checkpoint_is_refused_before_building(tmp_path):
    from tinygrad_edu.models.bert import BertForSequenceClassification, BertModel

    folder, _ = _checkpoint(tmp_path / "vocab", {**TINY, "vocab_size": 1_000_000})
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        with pytest.raises(ValueError, match=r"'embeddings\.word_embeddings\.weight': expected shape \(1000000, 16\), "
                                             r"found \(30, 16\)"):
            BertModel.from_pretrained(folder)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20 and time.perf_counter() - t0 < 5.0
    # sizes the header has no tensor for are still bounded by what the file holds
    folder, _ = _checkpoint(tmp_path / "layers", {**TINY, "num_hidden_layers": 5000})
    with pytest.raises(ValueError, match="num_hidden_layers: config.json says 5000"):
        BertForSequenceClassification.from_pretrained(folder)


def test_a_matching_checkpoint_still_loads(tmp_path):
    from tinygrad_edu.models.bert import BertModel

    folder, source = _checkpoint(tmp_path / "ok", TINY)
    model = BertModel.from_pretrained(folder)
    for name, array in source.state_dict().items():
        np.testing.assert_array_equal(model.state_dict()[name], array)
