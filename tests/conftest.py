"""Shared pytest fixtures: backends to run on, the optional PyTorch reference, the data folder."""
from pathlib import Path

import numpy as np
import pytest

import tinygrad_edu as tge
from tinygrad_edu import backends

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"

BACKENDS = ["numpy"] + (["c"] if backends.c_available() else [])


@pytest.fixture(params=BACKENDS)
def backend(request):
    """Run the test once per available kernel backend, restoring the previous choice after."""
    previous = tge.backend()
    tge.set_backend(request.param)
    yield request.param
    tge.set_backend(previous)


@pytest.fixture
def data_dir():
    """../shared/data beside the repository; tests that need it skip where it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"dataset folder {SHARED_DATA} is not present")
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _seed():
    tge.manual_seed(0)
    yield


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: long-running training tests (deselect with -m 'not slow')")
