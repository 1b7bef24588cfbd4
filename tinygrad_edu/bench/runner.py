"""Timing the cases: interleaved rounds, the result table, and peak memory per library."""
from __future__ import annotations

import gc
import json
import os
import platform
import statistics
import sys
import time

import numpy as np

from .cases import Threads, _builders, _data, _torch, measure_fma_peak
from .external import WorkerStep, WorkerUnavailable, describe_blas


# ------------------------------------------------------------------------------------------
# Timing
# ------------------------------------------------------------------------------------------
def time_case(steps: dict, rounds: int, round_time: float, warmup: int) -> dict:
    """Per-step times (seconds) of each step function, measured in interleaved rounds."""
    inner = {}
    for name, fn in steps.items():
        if hasattr(fn, "timed"):            # a worker process times its own steps
            fn.timed(warmup)
            once = max(fn.timed(1), 1e-7)
        else:
            for _ in range(warmup):
                fn()
            t0 = time.perf_counter()
            fn()
            once = max(time.perf_counter() - t0, 1e-7)
        inner[name] = max(1, int(round_time / once))
    times = {name: [] for name in steps}
    # the cyclic garbage collector off while timing (a collection lands in some round at
    # random; with PyTorch loaded one takes ~0.2 s), one collection before
    gc_was = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        for _ in range(rounds):
            for name, fn in steps.items():
                n = inner[name]
                if hasattr(fn, "timed"):
                    times[name].append(fn.timed(n) / n)
                    continue
                t0 = time.perf_counter()
                for _ in range(n):
                    fn()
                times[name].append((time.perf_counter() - t0) / n)
    finally:
        if gc_was:
            gc.enable()
    return times


def run(cases, impls, threads_list, quick=False, peak=None, out=None, tf_python=None):
    """Run the benchmark and return (info, result rows).

    ``numpy`` and ``tf`` run in worker processes (bench/worker.py): NumPy with the BLAS
    kernel OpenBLAS picks by itself, TensorFlow in the interpreter ``tf_python``.
    """
    import tinygrad_edu as tge

    out = out or sys.stdout
    rounds, round_time, warmup = (2, 0.02, 1) if quick else (7, 0.25, 3)
    threads = Threads()
    if peak is None:
        peak = measure_fma_peak(3 if quick else 15)
    info = dict(python=platform.python_version(), numpy=np.__version__,
                torch=getattr(_torch(), "__version__", None), machine=platform.machine(),
                cpu=_cpu_name(), fma_peak_gflops_per_core=peak, blas_threads=threads.how,
                tge=tge.backends.info(), quick=quick)
    out.write(f"# FMA peak (float32, one core): "
              f"{'%.1f GFLOP/s' % peak if peak else 'unknown (C kernels not built)'}\n")
    out.write(f"# NumPy BLAS threads: {threads.how};  torch: {info['torch'] or 'not installed'}\n")
    rows = []
    builders = _builders()
    for nt in threads_list:
        threads.set(nt)
        for case in cases:
            if quick and case in ("lstm100", "gemm1024"):
                continue
            steps, workers = {}, []
            for impl in impls:
                if impl in WORKER_IMPLS:
                    fn = _start_worker(impl, case, nt, tf_python, info, out)
                    workers += [fn] if fn is not None else []
                else:
                    fn = builders[impl](case)
                if fn is not None:
                    steps[impl] = fn
            if not steps:
                continue
            d = _data(case)
            try:
                times = time_case(steps, rounds, round_time, warmup)
            finally:
                for worker in workers:
                    worker.close()
            ref = statistics.median(times["torch"]) if "torch" in times else None
            for impl, ts in times.items():
                med = statistics.median(ts)
                row = dict(case=case, impl=impl, threads=nt, ms_median=med * 1e3,
                           ms_min=min(ts) * 1e3, samples_per_s=d["batch"] / med,
                           vs_torch=(med / ref) if ref else None)
                if "flops" in d:
                    row["gflops"] = d["flops"] / min(ts) / 1e9
                    if peak:
                        row["pct_peak"] = 100 * row["gflops"] / (peak * nt)
                rows.append(row)
            _print_rows([r for r in rows if r["case"] == case and r["threads"] == nt], out)
    tge.set_num_threads(threads_list[-1])
    return info, rows


WORKER_IMPLS = ("numpy", "tf")


def _start_worker(impl, case, threads, tf_python, info, out):
    """A WorkerStep for ``impl``/``case``, or None (no such case; TensorFlow not given or failing)."""
    if impl == "tf" and not tf_python:
        return None
    try:
        worker = WorkerStep(impl, case, threads, python=tf_python if impl == "tf" else None)
    except WorkerUnavailable as exc:
        if "no such case" not in str(exc):
            out.write(f"# {impl} skipped for {case}: {exc}\n")
        return None
    key = "numpy_blas" if impl == "numpy" else "tensorflow"
    if key not in info:
        info[key] = worker.info
        line = describe_blas(worker.info) if impl == "numpy" else \
            f"TensorFlow {worker.info.get('tensorflow')} (Keras {worker.info.get('keras')}), oneDNN {worker.info.get('onednn')}"
        out.write(f"# {impl} worker: {line}\n")
    return worker


_HEADER = (f"{'case':<12} {'impl':<10} {'thr':>3} {'ms/step':>9} {'best':>9} "
           f"{'samples/s':>10} {'vs torch':>8} {'GFLOP/s':>8} {'%peak':>6}")
_printed_header = []


def _print_rows(rows, out):
    if not _printed_header:
        out.write(_HEADER + "\n" + "-" * len(_HEADER) + "\n")
        _printed_header.append(True)
    for r in rows:
        vs = f"{r['vs_torch']:.2f}x" if r.get("vs_torch") else "-"
        gf = f"{r['gflops']:.1f}" if "gflops" in r else "-"
        pk = f"{r['pct_peak']:.0f}%" if "pct_peak" in r else "-"
        out.write(f"{r['case']:<12} {r['impl']:<10} {r['threads']:>3} {r['ms_median']:>9.3f} "
                  f"{r['ms_min']:>9.3f} {r['samples_per_s']:>10.0f} {vs:>8} {gf:>8} {pk:>6}\n")
    out.flush()


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


# ------------------------------------------------------------------------------------------
# Peak memory of CNN training steps, each library in a fresh process
# ------------------------------------------------------------------------------------------
_MEMORY_CHILD = r"""
import json, resource, sys, time
impl, steps, nt = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
from tinygrad_edu.bench import cases as B
B.Threads().set(nt)
fn = B.build_torch("cnn") if impl == "torch" else B.build_tge("cnn", impl[4:])
def status(key):  # kB from /proc/self/status (this process's memory, not inherited)
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
setup = status("VmRSS")
fn()
fn()
before = status("VmRSS")
try:  # reset the high-water mark to the current RSS (Linux >= 4.0)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
except OSError:
    pass
r0 = resource.getrusage(resource.RUSAGE_SELF)
t0 = time.perf_counter()
for _ in range(steps):
    fn()
dt = time.perf_counter() - t0
r1 = resource.getrusage(resource.RUSAGE_SELF)
peak = status("VmHWM")
print(json.dumps(dict(impl=impl, rss_setup_mb=setup / 2**20, rss_before_mb=before / 2**20,
                      peak_rss_mb=peak / 2**20, working_set_mb=(peak - setup) / 2**20,
                      step_peak_mb=(peak - before) / 2**20,
                      minor_faults_per_step=(r1.ru_minflt - r0.ru_minflt) / steps,
                      ms_per_step=dt / steps * 1e3)))
"""


def measure_memory(impls, steps=20, threads=1, out=None):
    """Memory of CNN training steps, one fresh process per library: the resident set with
    the model and data built, after two warm-up steps, its peak during the timed steps
    (VmHWM, reset after warm-up), "step memory" = that peak minus the first figure (what
    training adds), and the minor page faults per step (fresh pages mapped)."""
    import subprocess

    out = out or sys.stdout
    results = []
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    out.write(f"\n# CNN training step memory (batch 64, {steps} steps, {threads} thread(s))\n")
    out.write(f"{'impl':<10} {'RSS model+data':>15} {'after warm-up':>14} {'peak':>9} "
              f"{'step memory':>12} {'faults/step':>12} {'ms/step':>8}\n")
    for impl in impls:
        if impl in WORKER_IMPLS or (impl == "torch" and _torch() is None):
            continue
        proc = subprocess.run([sys.executable, "-c", _MEMORY_CHILD, impl, str(steps), str(threads)],
                              capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            out.write(f"{impl:<10} failed: {proc.stderr.strip().splitlines()[-1:]}\n")
            continue
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        results.append(r)
        out.write(f"{impl:<10} {r['rss_setup_mb']:>13.1f}MB {r['rss_before_mb']:>12.1f}MB "
                  f"{r['peak_rss_mb']:>7.1f}MB {r['working_set_mb']:>10.1f}MB "
                  f"{r['minor_faults_per_step']:>12.0f} {r['ms_per_step']:>8.2f}\n")
    return results


# ------------------------------------------------------------------------------------------
