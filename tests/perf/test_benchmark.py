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
