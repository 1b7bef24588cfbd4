"""The IDX reader and writer: round trips, and clear errors for damaged files."""
import gzip

import numpy as np
import pytest

from tinygrad_edu.data import read_idx, write_idx


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "float32", "float64"])
@pytest.mark.parametrize("name", ["a.idx", "a.idx.gz"])
def test_round_trip_every_type(tmp_path, dtype, name):
    a = (np.arange(2 * 3 * 4) - 5).astype(dtype).reshape(2, 3, 4)
    write_idx(tmp_path / name, a)
    b = read_idx(tmp_path / name)
    assert b.dtype == np.dtype(dtype) and b.dtype.isnative
    np.testing.assert_array_equal(a, b)


def test_header_layout_is_mnist_like(tmp_path):
    """MNIST's images header: magic 2051 = 0x00000803, then n, 28, 28 as big-endian uint32."""
    imgs = np.zeros((2, 28, 28), np.uint8)
    write_idx(tmp_path / "x", imgs, compress=False)
    raw = (tmp_path / "x").read_bytes()
    assert raw[:16] == bytes([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 28, 0, 0, 0, 28])
    assert len(raw) == 16 + 2 * 784
    write_idx(tmp_path / "y", np.array([7, 1], np.uint8), compress=False)
    assert (tmp_path / "y").read_bytes() == bytes([0, 0, 8, 1, 0, 0, 0, 2, 7, 1])
    assert read_idx(tmp_path / "y", expected_magic=2049).tolist() == [7, 1]


def test_gzip_recognised_by_content_not_name(tmp_path):
    write_idx(tmp_path / "plain-name", np.arange(5, dtype=np.uint8), compress=True)
    assert (tmp_path / "plain-name").read_bytes()[:2] == b"\x1f\x8b"
    assert read_idx(tmp_path / "plain-name").tolist() == [0, 1, 2, 3, 4]


def _raw(tmp_path, data: bytes, name="f"):
    p = tmp_path / name
    p.write_bytes(data)
    return p


def test_truncated_data(tmp_path):
    p = _raw(tmp_path, bytes([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 28, 0, 0, 0, 28]) + bytes(784 + 100))
    with pytest.raises(ValueError, match="truncated IDX data.*only 884 bytes"):
        read_idx(p)


def test_trailing_bytes(tmp_path):
    p = _raw(tmp_path, bytes([0, 0, 8, 1, 0, 0, 0, 2, 1, 2, 3]))
    with pytest.raises(ValueError, match="1 unexpected bytes after the IDX data"):
        read_idx(p)


def test_truncated_header(tmp_path):
    with pytest.raises(ValueError, match="too short"):
        read_idx(_raw(tmp_path, b"\x00\x00"))
    with pytest.raises(ValueError, match="truncated IDX header"):
        read_idx(_raw(tmp_path, bytes([0, 0, 8, 3, 0, 0, 0, 2]), "g"))


def test_not_an_idx_file(tmp_path):
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(_raw(tmp_path, b"<html>404 Not Found</html>"))


def test_unknown_type_and_zero_dims(tmp_path):
    with pytest.raises(ValueError, match="unknown IDX element type 0x07"):
        read_idx(_raw(tmp_path, bytes([0, 0, 7, 1, 0, 0, 0, 0])))
    with pytest.raises(ValueError, match="0 dimensions"):
        read_idx(_raw(tmp_path, bytes([0, 0, 8, 0]), "g"))


def test_expected_magic_and_shape(tmp_path):
    write_idx(tmp_path / "labels.gz", np.zeros(4, np.uint8))
    with pytest.raises(ValueError, match="magic number is 2049, expected 2051"):
        read_idx(tmp_path / "labels.gz", expected_magic=2051)
    write_idx(tmp_path / "imgs.gz", np.zeros((4, 28, 27), np.uint8))
    with pytest.raises(ValueError, match=r"sizes are \(4, 28, 27\), expected \('any', 28, 28\)"):
        read_idx(tmp_path / "imgs.gz", expected_shape=(None, 28, 28))


def test_truncated_gzip(tmp_path):
    good = gzip.compress(bytes([0, 0, 8, 1, 0, 0, 0, 200]) + bytes(range(200)))
    p = _raw(tmp_path, good[: len(good) // 2])
    with pytest.raises(ValueError, match="corrupt or truncated gzip"):
        read_idx(p)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "nope.gz")


def test_write_refuses_unknown_dtype(tmp_path):
    with pytest.raises(ValueError, match="no IDX type code"):
        write_idx(tmp_path / "x", np.zeros(3, np.int64))
