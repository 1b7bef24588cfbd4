"""MNIST / Fashion-MNIST: the real files (when ../shared/data is there), the search order,
the offline error, and downloading through a fake urlopen (no network in tests)."""
import hashlib
import io
import urllib.error
import urllib.request

import numpy as np
import pytest

from tinygrad_edu.data import MNIST, DatasetNotFoundError, fashion_mnist, mnist, vision, write_idx
from tinygrad_edu.data._files import file_digest

FILES = [vision.TRAIN_IMAGES, vision.TRAIN_LABELS, vision.TEST_IMAGES, vision.TEST_LABELS]
# from ../shared/data/README.md
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


# ---------------------------------------------------------------- the real MNIST files
def test_real_mnist_shapes_counts_and_checksums(shared_mnist, clean_env):
    (x_train, y_train), (x_test, y_test) = mnist(root=shared_mnist.parent, download=False)
    assert x_train.shape == (60000, 28, 28) and x_train.dtype == np.uint8
    assert x_test.shape == (10000, 28, 28) and x_test.dtype == np.uint8
    assert y_train.shape == (60000,) and y_train.dtype == np.int64
    assert y_test.shape == (10000,) and y_test.dtype == np.int64
    assert np.bincount(y_train, minlength=10).tolist() == TRAIN_COUNTS
    assert np.bincount(y_test).sum() == 10000 and set(np.unique(y_test)) == set(range(10))
    assert y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]   # the well-known first labels
    assert x_train.min() == 0 and x_train.max() == 255
    assert x_train[:, 0, :].mean() < 0.1 < x_train[:, 14, :].mean()   # digits sit in the middle
    for f in FILES:
        assert file_digest(shared_mnist / f, "sha256") == vision.MNIST_SHA256[f]


def test_real_mnist_found_through_tge_data(shared_mnist, clean_env, monkeypatch):
    monkeypatch.setenv("TGE_DATA", str(shared_mnist.parent))     # a folder with mnist/ inside
    (_, y_train), _ = mnist(download=False)
    assert len(y_train) == 60000
    monkeypatch.setenv("TGE_DATA", str(shared_mnist))            # the folder holding the files
    ds = MNIST(train=False, download=False, normalize=True)
    assert len(ds) == 10000
    x, y = ds[0]
    assert x.shape == (1, 28, 28) and x.dtype == np.float32 and 0.0 <= x.min() <= x.max() <= 1.0
    assert y.dtype == np.int64 and ds.targets.shape == (10000,)


# ---------------------------------------------------------------- search order, offline
def _fake_split(folder, n_train=6, n_test=4, compress=True, seed=0):
    """Write small MNIST-format files; returns {filename: bytes as stored}."""
    g = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {
        vision.TRAIN_IMAGES: g.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        vision.TRAIN_LABELS: (np.arange(n_train) % 10).astype(np.uint8),
        vision.TEST_IMAGES: g.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        vision.TEST_LABELS: (np.arange(n_test)[::-1] % 10).astype(np.uint8),
    }
    out = {}
    for name, a in arrays.items():
        path = folder / (name if compress else name[:-3])
        write_idx(path, a, compress=compress)
        out[name] = path.read_bytes()
    return arrays, out


def test_offline_and_missing_is_a_clear_error(clean_env, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DatasetNotFoundError) as info:
        mnist(root=empty, download=False)
    msg = str(info.value)
    assert isinstance(info.value, FileNotFoundError)
    for f in FILES:
        assert f in msg
    assert str(empty / "mnist") in msg and str(clean_env / "mnist") in msg
    assert "download=False" in msg and "TGE_DATA" in msg


def test_failed_download_is_a_clear_error(clean_env):
    with pytest.raises(DatasetNotFoundError) as info:
        mnist()                                          # download=True, but urlopen fails
    msg = str(info.value)
    assert "Download failed" in msg and "network disabled in tests" in msg
    assert vision.MNIST_MIRRORS[0] in msg and vision.MNIST_MIRRORS[1] in msg
    assert not list(clean_env.rglob("*.part*"))        # no half-written files left


def test_root_search_order_and_uncompressed_files(clean_env, tmp_path):
    arrays, _ = _fake_split(tmp_path / "data", compress=False)   # files directly in root
    (x_train, y_train), (x_test, y_test) = mnist(root=tmp_path / "data", download=False)
    np.testing.assert_array_equal(x_train, arrays[vision.TRAIN_IMAGES])
    assert y_train.dtype == np.int64 and y_train.tolist() == [0, 1, 2, 3, 4, 5]
    assert y_test.tolist() == [3, 2, 1, 0]
    # root/mnist/ is preferred over root/ itself
    arrays2, _ = _fake_split(tmp_path / "data" / "mnist", seed=1)
    (x_train2, _), _ = mnist(root=tmp_path / "data", download=False)
    np.testing.assert_array_equal(x_train2, arrays2[vision.TRAIN_IMAGES])


def test_cache_folder_is_searched(clean_env):
    arrays, _ = _fake_split(clean_env / "mnist")
    (x_train, _), _ = mnist(download=False)
    np.testing.assert_array_equal(x_train, arrays[vision.TRAIN_IMAGES])


def test_fashion_uses_its_own_folder_and_system_dir(clean_env, tmp_path, monkeypatch):
    _fake_split(tmp_path / "mnist")
    fashion_arrays, _ = _fake_split(tmp_path / "fashion-mnist", seed=5)
    monkeypatch.setenv("TGE_DATA", str(tmp_path))
    (x_train, _), _ = fashion_mnist(download=False)
    np.testing.assert_array_equal(x_train, fashion_arrays[vision.TRAIN_IMAGES])
    # the Debian package's folder is the last place looked at
    monkeypatch.delenv("TGE_DATA")
    system = tmp_path / "usr-share-datasets-fashion-mnist"
    sys_arrays, _ = _fake_split(system, seed=7)
    monkeypatch.setattr(vision, "FASHION_MNIST_SYSTEM_DIRS", [str(system)])
    (x_train, _), _ = mnist(fashion=True, download=False)
    np.testing.assert_array_equal(x_train, sys_arrays[vision.TRAIN_IMAGES])
    monkeypatch.setattr(vision, "FASHION_MNIST_SYSTEM_DIRS", [])
    with pytest.raises(DatasetNotFoundError, match="Fashion-MNIST files not found"):
        mnist(fashion=True, download=False)


def test_damaged_files_raise_value_error(clean_env, tmp_path):
    folder = tmp_path / "d"
    _fake_split(folder)
    # truncate the test images: the header says 4 images
    p = folder / vision.TEST_IMAGES
    write_idx(p, np.zeros((4, 28, 28), np.uint8), compress=False)
    p.write_bytes(p.read_bytes()[:-10])
    with pytest.raises(ValueError, match="truncated IDX data"):
        mnist(root=folder, download=False)
    # swapped files: labels where images belong
    write_idx(p, np.zeros(4, np.uint8))
    with pytest.raises(ValueError, match="magic number is 2049, expected 2051"):
        mnist(root=folder, download=False)
    # images and labels disagree on the count
    write_idx(p, np.zeros((5, 28, 28), np.uint8))
    with pytest.raises(ValueError, match="5 images but .* 4 labels"):
        mnist(root=folder, download=False)


# ---------------------------------------------------------------- downloading (faked)
class _FakeWeb:
    """Stands in for urllib.request.urlopen: serves `files` {url: bytes}, fails otherwise."""

    def __init__(self, files):
        self.files, self.calls = files, []

    def __call__(self, url, timeout=None):
        self.calls.append((url, timeout))
        if url not in self.files:
            raise urllib.error.URLError("unreachable")
        return io.BytesIO(self.files[url])


def _publish(monkeypatch, tmp_path, payload_override=None):
    """Fake MNIST files on a second mirror (the first one fails); checksums patched to
    the fake files' own. Returns (arrays, fake web)."""
    arrays, stored = _fake_split(tmp_path / "published")
    mirrors = ["https://first.invalid/mnist/", "https://second.invalid/mnist/"]
    monkeypatch.setattr(vision, "MNIST_MIRRORS", mirrors)
    for name, data in stored.items():
        monkeypatch.setitem(vision.MNIST_SHA256, name, hashlib.sha256(data).hexdigest())
    served = {mirrors[1] + name: data for name, data in stored.items()}
    served.update(payload_override or {})
    web = _FakeWeb(served)
    monkeypatch.setattr(urllib.request, "urlopen", web)
    return arrays, web


def test_download_into_cache_with_checksums(clean_env, tmp_path, monkeypatch):
    arrays, web = _publish(monkeypatch, tmp_path)
    (x_train, y_train), (x_test, _) = mnist()
    np.testing.assert_array_equal(x_train, arrays[vision.TRAIN_IMAGES])
    np.testing.assert_array_equal(x_test, arrays[vision.TEST_IMAGES])
    assert sorted(p.name for p in (clean_env / "mnist").iterdir()) == sorted(FILES)
    assert all(t is not None and t <= 30 for _, t in web.calls)     # a short timeout is set
    assert any("first.invalid" in u for u, _ in web.calls)          # the first mirror was tried
    # second call: found in the cache, no network
    web.calls.clear()
    mnist()
    assert web.calls == []


def test_download_goes_to_root_when_given(clean_env, tmp_path, monkeypatch):
    _publish(monkeypatch, tmp_path)
    ds = MNIST(root=tmp_path / "mine", train=True)
    assert len(ds) == 6 and ds.data.dtype == np.uint8
    assert sorted(p.name for p in (tmp_path / "mine" / "mnist").iterdir()) == [vision.TRAIN_IMAGES, vision.TRAIN_LABELS]


def test_download_rejects_wrong_checksum(clean_env, tmp_path, monkeypatch):
    bad = {"https://second.invalid/mnist/" + vision.TRAIN_LABELS: b"tampered"}
    _publish(monkeypatch, tmp_path, payload_override=bad)
    with pytest.raises(DatasetNotFoundError) as info:
        mnist()
    assert "ChecksumError" in str(info.value) and "SHA-256" in str(info.value)
    assert not (clean_env / "mnist" / vision.TRAIN_LABELS).exists()
    assert not list(clean_env.rglob("*.part*"))


def test_fashion_download_checks_md5(clean_env, tmp_path, monkeypatch):
    _, stored = _fake_split(tmp_path / "published")
    monkeypatch.setattr(vision, "FASHION_MNIST_SYSTEM_DIRS", [])
    monkeypatch.setattr(vision, "FASHION_MNIST_MIRRORS", ["https://fashion.invalid/"])
    web = _FakeWeb({"https://fashion.invalid/" + n: d for n, d in stored.items()})
    monkeypatch.setattr(urllib.request, "urlopen", web)
    with pytest.raises(DatasetNotFoundError, match="MD5 is"):      # real MD5s, fake files
        fashion_mnist()
    for name, data in stored.items():
        monkeypatch.setitem(vision.FASHION_MNIST_MD5, name, hashlib.md5(data).hexdigest())
    (x_train, _), _ = fashion_mnist()
    assert x_train.shape == (6, 28, 28)
    assert (clean_env / "fashion-mnist" / vision.TRAIN_IMAGES).is_file()


def test_real_fashion_mnist_when_installed(clean_env):
    """Debian's dataset-fashion-mnist package, when the machine has it."""
    folder = vision.FASHION_MNIST_SYSTEM_DIRS[0]
    import os
    if not os.path.isfile(os.path.join(folder, vision.TRAIN_IMAGES)):
        pytest.skip(f"Fashion-MNIST is not installed in {folder}")
    (x_train, y_train), (x_test, y_test) = fashion_mnist(download=False)
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert np.bincount(y_train).tolist() == [6000] * 10
    assert np.bincount(y_test).tolist() == [1000] * 10
