"""Fixtures for the data tests: the shared dataset folder, and an environment with no
dataset anywhere and no network."""
import urllib.error
import urllib.request
from pathlib import Path

import pytest

# <repo>/../shared/data: a test fixture only (users get data through the loaders)
SHARED_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


@pytest.fixture
def shared_data():
    """The shared data folder; the test skips where it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"dataset folder {SHARED_DATA.resolve()} is not present")
    return SHARED_DATA.resolve()


@pytest.fixture
def shared_mnist(shared_data):
    folder = shared_data / "mnist"
    if not (folder / "train-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"MNIST files are not in {folder}")
    return folder


@pytest.fixture
def clean_env(tmp_path, monkeypatch):
    """No TGE_DATA, the cache in an empty temporary folder, and every URL failing: a
    loader can only find what the test puts down. Returns the cache folder."""
    monkeypatch.delenv("TGE_DATA", raising=False)
    cache = tmp_path / "cache"
    monkeypatch.setenv("TGE_CACHE_DIR", str(cache))

    def no_network(url, *args, **kwargs):
        raise urllib.error.URLError(f"network disabled in tests ({url})")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    return cache
