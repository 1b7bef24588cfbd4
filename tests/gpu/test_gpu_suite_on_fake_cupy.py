"""The GPU test suite and the GPU benchmark, run on the CPU against a stand-in for CuPy.

tests/gpu/fake_cupy holds a small ``cupy`` (and ``cupyx.scipy.special``) written on top of
NumPy whose arrays follow CuPy's rules: they are not NumPy arrays, refuse to be mixed with
NumPy arrays, and refuse implicit conversion (``np.asarray``). A subprocess with that folder
first on PYTHONPATH sees a "GPU", so the ``cuda`` tests run instead of being skipped: every op,
module, optimizer and checkpoint path of the GPU backend executes, and any NumPy call that
leaks into device code fails as it would on a real GPU.

It does not show that CuPy computes each function as NumPy does, nor anything about speed:
only a run on a real GPU (``pytest -m cuda`` there) shows that.
"""
import os
import subprocess
import sys
from pathlib import Path

from ..conftest import REPO

FAKE = Path(__file__).resolve().parent / "fake_cupy"


def _run(args, timeout=600):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(FAKE), str(REPO), env.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=REPO,
                          env=env, timeout=timeout)


def test_the_cuda_tests_pass_on_the_fake_cupy():
    result = _run(["-m", "pytest", "tests/gpu", "-m", "cuda", "-q", "-p", "no:cacheprovider",
                   "-W", "ignore::pytest.PytestUnraisableExceptionWarning"])
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert "passed" in summary and "skipped" not in summary and "failed" not in summary, summary


def test_the_gpu_benchmark_runs_on_the_fake_cupy(tmp_path):
    out = tmp_path / "gpu.json"
    result = _run(["-m", "tinygrad_edu.bench", "--device", "cuda", "--quick",
                   "--cases", "op,mlp,lstm10,gemm256,conv1", "--json", str(out)])
    assert result.returncode == 0, result.stderr[-3000:]
    assert "fake GPU" in result.stdout
    for case in ("op", "mlp", "lstm10", "gemm256", "conv1"):
        assert any(line.startswith(case) and "tge-cuda" in line for line in result.stdout.splitlines()), case
    assert out.exists()


def test_the_gpu_benchmark_without_a_gpu_says_why_and_exits_0():
    env = dict(os.environ, PYTHONPATH=str(REPO))
    code = ("import sys; sys.modules['cupy'] = None\n"
            "from tinygrad_edu import bench\n"
            "raise SystemExit(bench.main(['--device', 'cuda', '--quick']))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=REPO, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "GPU benchmark skipped" in result.stdout and "pip install" in result.stdout


def _doc_code():
    """The ```python blocks of docs/gpu.md, joined (they run as one session)."""
    blocks, inside = [], None
    for line in (REPO / "docs" / "gpu.md").read_text(encoding="utf-8").splitlines():
        if inside is None and line.strip() == "```python":
            inside = []
        elif inside is not None and line.strip() == "```":
            blocks.append("\n".join(inside))
            inside = None
        elif inside is not None:
            inside.append(line)
    assert blocks, "docs/gpu.md has no python example"
    return "\n".join(blocks) + "\nprint('device', device)\n"


def test_the_docs_example_runs_on_the_cpu(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    code = "import sys; sys.modules['cupy'] = None\n" + _doc_code()
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=tmp_path, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "device cpu" in result.stdout and (tmp_path / "cnn.safetensors").exists()


def test_the_docs_example_runs_on_the_fake_gpu(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(FAKE), str(REPO)]))
    result = subprocess.run([sys.executable, "-c", _doc_code()], capture_output=True, text=True,
                            cwd=tmp_path, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "device cuda" in result.stdout and (tmp_path / "cnn.safetensors").exists()
