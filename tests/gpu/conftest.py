"""Fixtures of the GPU tests: the ``cuda`` marker, a skip when no GPU is usable, and a fake
"cuda" device for testing the device plumbing on machines without one.

Two kinds of tests live in tests/gpu:

* tests marked ``cuda`` (test_cuda_*.py) run tinygrad_edu on a real GPU through CuPy and compare
  every result with the CPU backend; without CuPy or without a GPU they are skipped, with the
  reason in the skip message. Select or deselect them with ``-m cuda`` / ``-m "not cuda"``.
* everything else runs on any machine: the import guard, the error messages, the CuPy kernel
  table's logic executed with NumPy (test_cupy_kernels_on_cpu.py), and the device bookkeeping
  checked on the fake device below.
"""
import importlib
import types

import numpy as np
import pytest

# the module tinygrad_edu/device.py (the package's ``device`` attribute is torch.device's twin)
device_module = importlib.import_module("tinygrad_edu.device")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "cuda: needs CuPy and a GPU (skipped otherwise); compares the GPU backend with the CPU one")


def _why_no_cuda():
    try:
        device_module._import_cupy()
    except RuntimeError as exc:
        return str(exc)
    return None


@pytest.fixture(scope="session")
def cuda_reason():
    """None when a GPU is usable, else the reason it is not (asked once per session)."""
    return _why_no_cuda()


@pytest.fixture
def cuda(cuda_reason):
    """Skip the test unless CuPy and a GPU are usable; gives the cupy module."""
    if cuda_reason is not None:
        pytest.skip(f"no usable GPU: {cuda_reason}")
    return device_module._cupy


# ------------------------------------------------------------------------------------
# The fake device: NumPy arrays of a subclass that the device helpers take for CuPy arrays
# ------------------------------------------------------------------------------------

class FakeCudaArray(np.ndarray):
    """A NumPy array standing for an array in GPU memory (only a type tag, same data)."""


def _fake_cupy():
    """The few module attributes tinygrad_edu/device.py uses, mimicked on the host."""
    return types.SimpleNamespace(
        ndarray=FakeCudaArray,
        asarray=lambda a, dtype=None: np.array(a, dtype=dtype, copy=True).view(FakeCudaArray),
        asnumpy=lambda a: np.array(a, copy=True, subok=False),
        get_array_module=lambda a: np,
    )


@pytest.fixture
def fake_cuda(monkeypatch):
    """Pretend CuPy is loaded: ``.to("cuda")`` then makes FakeCudaArray copies, and
    ``device_of`` reports "cuda" for them.

    It exercises the bookkeeping (which device a tensor is on, moves, state dicts, optimizer
    state, mixing errors), NOT the GPU arithmetic: kernels keep running on NumPy and may hand
    back plain arrays, so tests on this device check devices and errors, not computed values.
    """
    monkeypatch.setattr(device_module, "_cupy", _fake_cupy())
    yield FakeCudaArray
