"""tools/gpu_check.sh, run in its stand-in mode: CuPy replaced by tests/gpu/fake_cupy, PyTorch
without CUDA. It shows the script's plumbing (install choice, the three steps under their
timeouts, the budget, the log and the JSON under $OUT) works; the GPU run itself happens on a
machine with a GPU (docs/gpu.md). The test selections are cut down to keep this test short:
the whole cuda suite on the stand-in is test_gpu_suite_on_fake_cupy.py's job.
"""
import json
import os
import shutil
import subprocess
import sys

import pytest

from ..conftest import REPO

SCRIPT = REPO / "tools" / "gpu_check.sh"

# each test runs the script: several Python processes, 5-25 s apiece
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("bash") is None or shutil.which("timeout") is None,
                                 reason="needs bash and coreutils' timeout")]


def run_script(out, budget, **selections):
    env = dict(os.environ, OUT=str(out), PYTHON=sys.executable, GPU_CHECK_BUDGET=str(budget),
               GPU_CHECK_FACT_MODULES="numpy,cupy,cffi", **selections)   # not torch: seconds each
    env.pop("PYTHONPATH", None)
    return subprocess.run(["bash", str(SCRIPT), "--stand-in"], capture_output=True, text=True, cwd=REPO,
                          env=env, timeout=400)


def test_the_script_runs_tests_and_benchmark_and_writes_log_and_json(tmp_path):
    result = run_script(
        tmp_path, 300,
        GPU_CHECK_CUDA_TESTS="tests/gpu/test_cuda_training.py -m cuda -k 'round_trip or differentiable'",
        GPU_CHECK_BENCH_ARGS="--quick --cases op,gemm256,bert,gpt",
        GPU_CHECK_REST_TESTS="tests/gpu/test_device_plumbing.py -k normalize_device")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["bench.json", "gpu_check.json", "gpu_check.log", "tests_cuda.xml", "tests_rest.xml"], files
    summary = json.loads((tmp_path / "gpu_check.json").read_text())
    assert summary["mode"] == "stand-in" and summary["install"] == "stand-in" and summary["ok"] is True
    assert {k: v["status"] for k, v in summary["steps"].items()} == {
        "facts": "ok", "install": "ok", "cuda_tests": "ok", "bench": "ok", "rest_tests": "ok"}
    cuda = summary["tests"]["cuda"]
    # the stand-in "GPU" ran them: nothing skipped
    assert cuda["passed"] == 2 and cuda["failures"] == cuda["errors"] == cuda["skipped"] == 0
    assert summary["tests"]["rest"]["passed"] > 0
    rows = {(r["case"], r["impl"]) for r in summary["bench"]["results"]}
    assert {("op", "tge-cuda"), ("gemm256", "tge-cuda"), ("bert", "tge-cuda")} <= rows
    assert summary["bench_failed_cases"] == {}
    assert summary["bench"]["info"]["gpu"].startswith("fake GPU")
    assert summary["facts"]["python"].startswith(sys.version.split()[0])
    assert summary["facts"]["cupy"] == "0.0-fake"           # the stand-in is what the run used
    log = (tmp_path / "gpu_check.log").read_text()
    assert "cuda_tests: ok" in log and "bench: ok" in log and "summary: ok=True" in log
    assert "done in" in log                    # the log is complete when the script exits


def test_a_benchmark_that_fails_fails_the_check(tmp_path):
    result = run_script(tmp_path, 200, GPU_CHECK_CUDA_TESTS="skip", GPU_CHECK_REST_TESTS="skip",
                        GPU_CHECK_BENCH_ARGS="--quick --cases nosuchcase")
    assert result.returncode == 1
    summary = json.loads((tmp_path / "gpu_check.json").read_text())
    assert summary["steps"]["bench"]["status"] == "failed" and summary["ok"] is False
    assert summary["steps"]["cuda_tests"] == {"status": "skipped", "seconds": 0, "detail": "asked"}


def test_one_failing_benchmark_case_is_reported_and_the_others_still_run():
    code = (
        "from tinygrad_edu.bench import gpu\n"
        "def broken(case):\n"
        "    raise RuntimeError('planted failure')\n"
        "gpu.build_tge_cuda_real = gpu.build_tge_cuda\n"
        "gpu.build_tge_cuda = lambda case: broken(case) if case == 'gemm256' else gpu.build_tge_cuda_real(case)\n"
        "info, rows = gpu.run(['gemm256', 'op'], ['tge-cuda'], quick=True)\n"
        "print('FAILED', info['failed'])\n"
        "print('ROWS', sorted(r['case'] for r in rows))\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO / "tests" / "gpu" / "fake_cupy"), str(REPO)]))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, env=env,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "FAILED {'gemm256': 'RuntimeError: planted failure'}" in result.stdout
    assert "ROWS ['op']" in result.stdout and "# gemm256 failed: RuntimeError: planted failure" in result.stdout


def test_a_spent_budget_skips_the_steps_and_fails(tmp_path):
    result = run_script(tmp_path, 20, GPU_CHECK_CUDA_TESTS="tests/gpu -m cuda", GPU_CHECK_BENCH_ARGS="--quick")
    assert result.returncode == 1, result.stdout[-3000:]
    summary = json.loads((tmp_path / "gpu_check.json").read_text())
    assert summary["ok"] is False
    assert summary["steps"]["cuda_tests"]["status"] in ("skipped", "timeout")
    assert summary["steps"]["bench"] == {"status": "skipped", "seconds": 0, "detail": "budget"}
    assert {"bench", "rest_tests"} <= set(summary["incomplete"])


def test_without_cffi_it_runs_from_the_checkout_on_the_numpy_kernels(tmp_path):
    # the GPU image has no cffi: a cffi that fails to import stands for that here
    blocker = tmp_path / "no_cffi"
    blocker.mkdir()
    (blocker / "cffi.py").write_text("raise ImportError('cffi is not installed here')\n")
    out = tmp_path / "out"
    env = dict(os.environ, OUT=str(out), PYTHON=sys.executable, GPU_CHECK_BUDGET="120", PYTHONPATH=str(blocker),
               GPU_CHECK_FACT_MODULES="numpy,cffi",
               GPU_CHECK_CUDA_TESTS="skip", GPU_CHECK_BENCH_ARGS="skip", GPU_CHECK_REST_TESTS="skip")
    result = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, cwd=REPO, env=env, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:]
    summary = json.loads((out / "gpu_check.json").read_text())
    assert summary["mode"] == "gpu" and summary["install"] == "pythonpath-numpy"
    assert summary["facts"]["cffi"].startswith("not importable")
    log = (out / "gpu_check.log").read_text()
    assert "running from the checkout on the NumPy kernels" in log
    assert f"from {REPO / 'tinygrad_edu' / '__init__.py'} backend numpy" in log
