"""The sanitizer build switch (TGE_SANITIZE), building elsewhere (--out) and loading a module
from elsewhere (TGE_C_MODULE_DIR): the pieces .ci/sanitizers is made of."""
import json
import os
import shutil
import subprocess
import sys

import pytest

from tinygrad_edu.backends import _build
from tinygrad_edu.backends import c as ck

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
needs_source = pytest.mark.skipif(not os.path.isfile(_build.HEADER), reason="no csrc/")


def _flags(monkeypatch, value):
    if value is None:
        monkeypatch.delenv("TGE_SANITIZE", raising=False)
    else:
        monkeypatch.setenv("TGE_SANITIZE", value)
    kwds = _build.make_ffibuilder(relative_paths=False)._assigned_source[3]
    return kwds["extra_compile_args"], kwds["extra_link_args"]


@needs_source
def test_sanitize_switch_changes_compile_and_link_flags(monkeypatch):
    compile_args, link_args = _flags(monkeypatch, "1")
    for flag in ("-fsanitize=address,undefined,float-cast-overflow", "-fno-omit-frame-pointer",
                 "-fno-sanitize-recover=all", "-g", "-O1", "-fno-wrapv"):
        assert flag in compile_args
    assert "-O3" not in compile_args
    assert "-fsanitize=address,undefined,float-cast-overflow" in link_args
    for off in (None, "0", ""):
        compile_args, link_args = _flags(monkeypatch, off)
        assert "-O3" in compile_args and not any("sanitize" in f for f in compile_args + link_args)


def test_build_out_needs_a_folder(capsys):
    assert _build.main(["--out"]) == 2
    assert "--out needs a folder" in capsys.readouterr().err


PROBE = r"""
import json, sys, warnings
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import tinygrad_edu as tge
    from tinygrad_edu.backends import c
print("JSON" + json.dumps({"backend": tge.backend(), "path": c.MODULE_PATH, "error": c.LOAD_ERROR,
                           "warnings": [str(w.message) for w in caught]}))
"""


def _probe(module_dir):
    env = {**os.environ, "TGE_C_MODULE_DIR": module_dir, "PYTHONPATH": ROOT}
    env.pop("TGE_BACKEND", None)
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env,
                         timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.split("JSON", 1)[1])


@pytest.mark.skipif(not ck.AVAILABLE, reason="C kernels not built")
def test_module_dir_loads_the_module_from_elsewhere(tmp_path):
    shutil.copy(ck.MODULE_PATH, tmp_path)  # a copy of the module in use, somewhere else
    info = _probe(str(tmp_path))
    assert info["backend"] == "c" and info["error"] is None
    assert os.path.dirname(info["path"]) == str(tmp_path)


def test_module_dir_without_a_module_falls_back_to_numpy_with_a_warning(tmp_path):
    info = _probe(str(tmp_path))
    assert info["backend"] == "numpy" and info["path"] is None
    assert "TGE_C_MODULE_DIR" in info["error"]
    assert len(info["warnings"]) == 1 and "TGE_C_MODULE_DIR" in info["warnings"][0]


def test_ci_runs_the_sanitizer_job():
    script = os.path.join(ROOT, ".ci", "sanitizers")
    assert os.access(script, os.X_OK)
    with open(os.path.join(ROOT, ".ci", "run"), encoding="utf-8") as f:
        assert ".ci/sanitizers" in f.read()
    with open(script, encoding="utf-8") as f:
        text = f.read()
    for piece in ("TGE_SANITIZE=1", "--out", "TGE_C_MODULE_DIR", "libasan.so", "detect_leaks=0",
                  "halt_on_error=1", "tests/fuzz", "tools/fuzz.py"):
        assert piece in text
