"""Choosing the kernel table: set_backend / backend / kernels, TGE_BACKEND, TGE_NUM_THREADS,
and the fallback (one warning, nothing printed) when the compiled module is missing.
The environment cases run in a fresh interpreter, since the choice is made at import."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tinygrad_edu import backends
from tinygrad_edu.backends import c as ck
from tinygrad_edu.backends import numpy_ref

KERNELS = ["matmul", "conv2d_forward", "conv2d_backward_input", "conv2d_backward_weight",
           "max_pool2d_forward", "max_pool2d_backward", "avg_pool2d_forward",
           "avg_pool2d_backward"]

# Runs in a child interpreter: import the backends, report what happened as JSON.
PROBE = r"""
import json, sys, warnings
block = "--block-c" in sys.argv
if block:  # as if the compiled module had never been built
    sys.modules["tinygrad_edu.backends._tge_c"] = None
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    from tinygrad_edu import backends
ours = [str(w.message) for w in caught if "tinygrad_edu:" in str(w.message)]
info = {"backend": backends.backend(), "c": backends.c_available(),
        "threads": backends.get_num_threads(), "warnings": ours}
try:
    backends.set_backend("c")
    info["set_c"] = "ok"
except RuntimeError as e:
    info["set_c"] = str(e)
import numpy as np
a = np.ones((2, 3), np.float32)
info["matmul"] = backends.kernels().matmul(a, a, trans_b=True).tolist()
sys.stdout.write("JSON" + json.dumps(info))
"""


def probe(*args, **env):
    full_env = {k: v for k, v in os.environ.items()
                if k not in ("TGE_BACKEND", "TGE_NUM_THREADS")}
    full_env.update(env)
    out = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True,
                         env=full_env, timeout=120)
    assert out.returncode == 0, out.stderr
    printed, _, payload = out.stdout.partition("JSON")
    assert printed == "", f"something was printed on import: {printed!r}"
    return json.loads(payload)


def test_tables_have_identical_signatures():
    import inspect
    for name in KERNELS:
        assert inspect.signature(getattr(ck, name)) == inspect.signature(
            getattr(numpy_ref, name)), name


def test_set_backend_switches_the_table():
    before = backends.backend()
    try:
        backends.set_backend("numpy")
        assert backends.backend() == "numpy" and backends.kernels() is numpy_ref
        if ck.AVAILABLE:
            backends.set_backend("c")
            assert backends.backend() == "c" and backends.kernels() is ck
        with pytest.raises(ValueError, match="cuda"):
            backends.set_backend("cuda")
    finally:
        backends.set_backend(before)


def test_default_is_c_when_built_without_warning():
    if not ck.AVAILABLE:
        pytest.skip("C kernels not built")
    info = probe()
    assert info["backend"] == "c" and info["c"] and info["warnings"] == []
    assert info["matmul"] == [[3.0, 3.0], [3.0, 3.0]]


def test_env_selects_numpy_and_threads():
    info = probe(TGE_BACKEND="numpy", TGE_NUM_THREADS="1")
    assert info["backend"] == "numpy" and info["threads"] == 1 and info["warnings"] == []


def test_missing_module_falls_back_with_exactly_one_warning():
    info = probe("--block-c")
    assert info["backend"] == "numpy" and info["c"] is False
    assert len(info["warnings"]) == 1
    message = info["warnings"][0]
    assert "pip install -e ." in message and "python -m tinygrad_edu.backends._build" in message
    assert "set_backend('c')" in info["set_c"] and "_build" in info["set_c"]
    assert info["matmul"] == [[3.0, 3.0], [3.0, 3.0]]


def test_missing_module_is_silent_when_numpy_is_asked_for():
    info = probe("--block-c", TGE_BACKEND="numpy")
    assert info["backend"] == "numpy" and info["warnings"] == []


def test_c_kernel_without_module_raises_runtime_error(monkeypatch):
    monkeypatch.setattr(ck, "lib", None)
    monkeypatch.setattr(ck, "LOAD_ERROR", "not built")
    with pytest.raises(RuntimeError, match="_build"):
        ck.matmul(np.ones((2, 2)), np.ones((2, 2)))
