"""The side-by-side benchmark (tinygrad_edu.bench, benches/compare.py): a short smoke run.

It checks the plumbing (cases build and run for every implementation, the table and the
JSON are written, the CLI reaches it), not the speed: timings on a shared machine are
for benches/ and docs/benchmarks.md.
"""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tinygrad_edu import bench as benchmark

REPO = Path(__file__).resolve().parents[2]


def test_quick_run_writes_table_and_json(tmp_path, capsys):
    out = tmp_path / "bench.json"
    rc = benchmark.main(["--quick", "--threads", "1", "--cases", "op,mlp,gemm256",
                         "--impls", "tge-c,tge-numpy,numpy,torch", "--json", str(out)])
    assert rc == 0
    table = capsys.readouterr().out
    assert "ms/step" in table and "vs torch" in table and "mlp" in table
    data = json.loads(out.read_text())
    rows = data["results"]
    cases = {(r["case"], r["impl"]) for r in rows}
    assert ("mlp", "numpy") in cases and ("op", "tge-numpy") in cases
    for r in rows:
        assert r["threads"] == 1 and r["ms_median"] > 0 and r["samples_per_s"] > 0
    gemm = [r for r in rows if r["case"] == "gemm256"]
    assert gemm and all(r["gflops"] > 0 for r in gemm)
    assert "fma_peak_gflops_per_core" in data["info"]


def test_every_case_builds_for_tinygrad_edu():
    """Each case gives a step function that runs once (the NumPy backend skips the
    kernel-only cases it has no fast version of)."""
    for case in benchmark.MODEL_CASES + ["gemm256", "conv3"]:
        if case == "lstm100":
            continue  # same code as lstm10, ten times longer
        step = benchmark.build_tge(case, "c")
        if step is not None:
            step()


def test_bad_arguments_exit_2():
    assert benchmark.main(["--cases", "nope"]) == 2
    assert benchmark.main(["--threads", "x"]) == 2


def test_compare_script_and_cli_help():
    for cmd in ([sys.executable, str(REPO / "benches" / "compare.py"), "--help"],
                [sys.executable, "-m", "tinygrad_edu", "bench", "--help"]):
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=60)
        assert proc.returncode == 0, proc.stderr
        assert "--threads" in proc.stdout or "bench" in proc.stdout


def test_numpy_worker_runs_without_the_openblas_pins_and_reports_its_kernel(monkeypatch):
    """The NumPy column runs in a worker whose environment lacks OPENBLAS_CORETYPE and
    OPENBLAS_L2_SIZE (so OpenBLAS picks its own kernel); the parent's stay as they were."""
    from tinygrad_edu.bench.external import WorkerStep

    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    monkeypatch.setenv("OPENBLAS_L2_SIZE", "262144")
    worker = WorkerStep("numpy", "gemm256", threads=1)
    try:
        assert worker.info["openblas_env"] == {"OPENBLAS_CORETYPE": None, "OPENBLAS_L2_SIZE": None}
        assert worker.timed(3) > 0
        blas = worker.info["blas"]
        if isinstance(blas, dict):  # threadpoolctl installed: the kernel is named
            assert blas["architecture"] and blas["num_threads"] == 1
    finally:
        worker.close()
    import os

    assert os.environ["OPENBLAS_CORETYPE"] == "Haswell"


def test_a_missing_tensorflow_interpreter_skips_the_tf_column_with_a_reason(tmp_path, capsys):
    rc = benchmark.main(["--quick", "--threads", "1", "--cases", "op", "--impls", "tge-c,tf",
                         "--tf-python", str(tmp_path / "no-such-python"), "--json", str(tmp_path / "b.json")])
    assert rc == 0
    assert "# tf skipped for op: tf: cannot start" in capsys.readouterr().out
    rows = json.loads((tmp_path / "b.json").read_text())["results"]
    assert {r["impl"] for r in rows} == {"tge-c"}


def test_the_tf_worker_builds_every_case_when_tensorflow_is_installed():
    """Only where a TensorFlow interpreter is named by $TGE_BENCH_TF_PYTHON (not in CI)."""
    import os

    python = os.environ.get("TGE_BENCH_TF_PYTHON")
    if not python:
        pytest.skip("TGE_BENCH_TF_PYTHON is not set (TensorFlow lives in its own environment)")
    from tinygrad_edu.bench.external import WorkerStep

    for case in ("op", "mlp", "cnn", "lstm10", "transformer", "gemm256", "conv2"):
        worker = WorkerStep("tf", case, threads=1, python=python)
        try:
            assert worker.timed(2) > 0
        finally:
            worker.close()
