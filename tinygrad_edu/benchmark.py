"""Side-by-side benchmark: tinygrad_edu (C and NumPy backends), hand-written NumPy, PyTorch.

    python -m tinygrad_edu bench                        # everything, 1 and 2 threads
    python -m tinygrad_edu bench --threads 1 --cases mlp,cnn --json out.json
    python benches/compare.py --quick                   # the same, from a checkout

Every model case is one full training step (forward, loss, backward, optimizer step with
Adam) on the same model, batch and data in every library:

    op           one tiny op + backward: (a * b).sum().backward(), a, b (8, 8)
    mlp          MLP 100-64-64-10, batch 64, cross-entropy
    cnn          the articles' CNN on (64, 1, 28, 28), cross-entropy
    lstm10/100   Embedding(10000, 10) - LSTM(100) - Linear(1), batch 64, T = 10 / 100,
                 binary cross-entropy with logits
    transformer  TransformerClassifier(d_model 128, 4 heads, 2 layers, ff 512), batch 32,
                 T = 64, cross-entropy (dropout 0.1 on, as in training)
    gemm256 ...  a float32 square matrix product (kernel rows: GFLOP/s and % of FMA peak)
    conv1..3     forward + both backward passes of one CNN convolution (kernel rows)

Implementations: ``tge-c`` (tinygrad_edu, C kernels), ``tge-numpy`` (tinygrad_edu, NumPy
reference kernels), ``numpy`` (hand-written NumPy forward + backward + Adam, where that is
sensible: op, mlp, gemm) and ``torch`` (PyTorch, when installed).

How it measures: all implementations of one case run interleaved, round after round, so a
machine that other programs load slows them alike; each round times a batch of steps, and
the table shows the median and the best per-step time over the rounds. "vs torch" is the
median time divided by PyTorch's median in the same run (below 1: faster than PyTorch).
Thread counts are set for every library at once: ``tge.set_num_threads``,
``torch.set_num_threads`` and NumPy's BLAS (through threadpoolctl when installed, else
OpenBLAS's own ``openblas_set_num_threads`` found with ctypes; the table says which).
The FMA peak is measured at start by a C loop of independent fused multiply-adds
(``tge_fma_peak_gflops_f32``); ``--peak`` overrides it. docs/benchmarks.md explains the
table column by column.
"""
from __future__ import annotations

import argparse
import ctypes
import gc
import json
import os
import platform
import statistics
import sys
import time

import numpy as np

MODEL_CASES = ["op", "mlp", "cnn", "lstm10", "lstm100", "transformer"]
KERNEL_CASES = ["gemm256", "gemm512", "gemm1024", "conv1", "conv2", "conv3"]
ALL_CASES = MODEL_CASES + KERNEL_CASES
IMPLS = ["tge-c", "tge-numpy", "numpy", "torch"]


# ------------------------------------------------------------------------------------------
# Thread control for every library
# ------------------------------------------------------------------------------------------
class Threads:
    """Sets the thread count of tinygrad_edu's C kernels, PyTorch and NumPy's BLAS."""

    def __init__(self):
        self.how = "not controlled (install threadpoolctl)"
        self._limits = None
        self._blas_set = None
        try:
            import threadpoolctl  # noqa: F401

            self.how = "threadpoolctl"
        except ImportError:
            self._blas_set = _find_openblas_setter()
            if self._blas_set is not None:
                self.how = "openblas_set_num_threads (ctypes)"

    def set(self, n: int) -> None:
        import tinygrad_edu as tge

        tge.set_num_threads(n)
        torch = _torch()
        if torch is not None:
            torch.set_num_threads(n)
        if self.how == "threadpoolctl":
            import threadpoolctl

            if self._limits is not None:
                self._limits.restore_original_limits()
            self._limits = threadpoolctl.threadpool_limits(limits=n, user_api="blas")
        elif self._blas_set is not None:
            self._blas_set(n)


def _find_openblas_setter():
    """OpenBLAS's set_num_threads from the copy NumPy loaded (Linux), or None."""
    try:
        with open("/proc/self/maps", encoding="utf-8") as f:
            paths = {line.split()[-1] for line in f if "openblas" in line.lower() and "/" in line}
    except OSError:
        return None
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in ("scipy_openblas_set_num_threads64_", "openblas_set_num_threads64_",
                     "scipy_openblas_set_num_threads", "openblas_set_num_threads"):
            fn = getattr(lib, name, None)
            if fn is not None:
                fn.argtypes, fn.restype = [ctypes.c_int], None
                return fn
    return None


_TORCH = []


def _torch():
    """The torch module, or None when it is not installed (imported once)."""
    if not _TORCH:
        try:
            import torch

            _TORCH.append(torch)
        except ImportError:
            _TORCH.append(None)
    return _TORCH[0]


# ------------------------------------------------------------------------------------------
# The FMA peak
# ------------------------------------------------------------------------------------------
def measure_fma_peak(repeats: int = 15) -> float | None:
    """One core's float32 FMA throughput in GFLOP/s (best of ``repeats``), from the C loop."""
    from .backends import c

    if not c.AVAILABLE or not hasattr(c.lib, "tge_fma_peak_gflops_f32"):
        return None
    return max(float(c.lib.tge_fma_peak_gflops_f32(2_000_000)) for _ in range(repeats))


# ------------------------------------------------------------------------------------------
# Data shared by all implementations of a case
# ------------------------------------------------------------------------------------------
def _data(case: str):
    rng = np.random.default_rng(0)
    if case == "op":
        return dict(a=rng.standard_normal((8, 8)).astype(np.float32),
                    b=rng.standard_normal((8, 8)).astype(np.float32), batch=1)
    if case == "mlp":
        return dict(x=rng.standard_normal((64, 100)).astype(np.float32),
                    y=rng.integers(0, 10, 64).astype(np.int64), batch=64)
    if case == "cnn":
        return dict(x=rng.random((64, 1, 28, 28)).astype(np.float32),
                    y=rng.integers(0, 10, 64).astype(np.int64), batch=64)
    if case in ("lstm10", "lstm100"):
        t = 10 if case == "lstm10" else 100
        return dict(ids=rng.integers(1, 10000, (64, t)).astype(np.int64),
                    y=rng.integers(0, 2, (64, 1)).astype(np.float32), batch=64)
    if case == "transformer":
        return dict(ids=rng.integers(1, 10000, (32, 64)).astype(np.int64),
                    y=rng.integers(0, 2, 32).astype(np.int64), batch=32)
    if case.startswith("gemm"):
        n = int(case[4:])
        return dict(a=rng.standard_normal((n, n)).astype(np.float32),
                    b=rng.standard_normal((n, n)).astype(np.float32), batch=1,
                    flops=2.0 * n ** 3)
    if case.startswith("conv"):
        c, hw, o = {"conv1": (1, 28, 32), "conv2": (32, 13, 64), "conv3": (64, 5, 64)}[case]
        oh = hw - 2
        return dict(x=rng.standard_normal((64, c, hw, hw)).astype(np.float32),
                    w=rng.standard_normal((o, c, 3, 3)).astype(np.float32) * 0.1,
                    b=np.zeros(o, np.float32),
                    gy=rng.standard_normal((64, o, oh, oh)).astype(np.float32), batch=64,
                    flops=3 * 2.0 * 64 * o * oh * oh * c * 9)
    raise ValueError(case)


# ------------------------------------------------------------------------------------------
# tinygrad_edu
# ------------------------------------------------------------------------------------------
def _tge_model(case: str):
    import tinygrad_edu as tge
    from tinygrad_edu import nn
    from tinygrad_edu.models import CNN, MLP, LSTMClassifier, TransformerClassifier

    tge.manual_seed(0)
    if case == "mlp":
        return MLP(100, (64, 64), 10), nn.CrossEntropyLoss()
    if case == "cnn":
        return CNN(), nn.CrossEntropyLoss()
    if case in ("lstm10", "lstm100"):
        return LSTMClassifier(10000, 10, 100, 1), nn.BCEWithLogitsLoss()
    if case == "transformer":
        return (TransformerClassifier(10000, 2, d_model=128, nhead=4, num_layers=2,
                                      dim_feedforward=512, dropout=0.1),
                nn.CrossEntropyLoss())
    raise ValueError(case)


def build_tge(case: str, backend: str):
    """A step function for tinygrad_edu on ``backend`` ("c" or "numpy"), or None."""
    import tinygrad_edu as tge
    from tinygrad_edu import Tensor, optim
    from tinygrad_edu.backends import kernels

    if backend == "c":
        from tinygrad_edu.backends import c

        if not c.AVAILABLE:
            return None
    set_backend = tge.set_backend
    d = _data(case)
    if case == "op":
        a = Tensor(d["a"], requires_grad=True)
        b = Tensor(d["b"], requires_grad=True)

        def step():
            set_backend(backend)
            a.grad = b.grad = None
            (a * b).sum().backward()

        return step
    if case.startswith("gemm"):
        if backend == "numpy":
            return None  # the NumPy reference matmul is np.matmul: the "numpy" row
        x, y = d["a"], d["b"]

        def step():
            set_backend(backend)
            kernels().matmul(x, y)

        return step
    if case.startswith("conv"):
        if backend == "numpy":
            return None  # minutes per step: the reference is written for reading
        x, w, b, gy = d["x"], d["w"], d["b"], d["gy"]

        def step():
            set_backend(backend)
            k = kernels()
            k.conv2d_forward(x, w, b, (1, 1), (0, 0))
            k.conv2d_backward_input(gy, w, x.shape, (1, 1), (0, 0))
            k.conv2d_backward_weight(gy, x, w.shape, (1, 1), (0, 0))

        return step

    model, loss_fn = _tge_model(case)
    model.train()
    opt = optim.Adam(model.parameters(), lr=1e-3)
    x = Tensor(d["x"]) if "x" in d else Tensor(d["ids"])
    y = Tensor(d["y"])

    def step():
        set_backend(backend)
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return step


# ------------------------------------------------------------------------------------------
# PyTorch
# ------------------------------------------------------------------------------------------
def _torch_model(case: str):
    torch = _torch()
    tnn = torch.nn
    torch.manual_seed(0)
    if case == "mlp":
        return (tnn.Sequential(tnn.Linear(100, 64), tnn.ReLU(), tnn.Linear(64, 64), tnn.ReLU(),
                               tnn.Linear(64, 10)), tnn.CrossEntropyLoss())
    if case == "cnn":
        return (tnn.Sequential(tnn.Conv2d(1, 32, 3), tnn.ReLU(), tnn.MaxPool2d(2),
                               tnn.Conv2d(32, 64, 3), tnn.ReLU(), tnn.MaxPool2d(2),
                               tnn.Conv2d(64, 64, 3), tnn.ReLU(), tnn.Flatten(),
                               tnn.Linear(576, 64), tnn.ReLU(), tnn.Linear(64, 10)),
                tnn.CrossEntropyLoss())
    if case in ("lstm10", "lstm100"):
        class LSTMClassifier(tnn.Module):
            def __init__(self):
                super().__init__()
                self.embedding = tnn.Embedding(10000, 10)
                self.lstm = tnn.LSTM(10, 100, batch_first=True)
                self.fc = tnn.Linear(100, 1)

            def forward(self, ids):
                _, (h, _) = self.lstm(self.embedding(ids))
                return self.fc(h[-1])

        return LSTMClassifier(), tnn.BCEWithLogitsLoss()
    if case == "transformer":
        class TransformerClassifier(tnn.Module):
            def __init__(self):
                super().__init__()
                self.token_embedding = tnn.Embedding(10000, 128, padding_idx=0)
                self.position_embedding = tnn.Embedding(512, 128)
                self.dropout = tnn.Dropout(0.1)
                layer = tnn.TransformerEncoderLayer(128, 4, 512, 0.1, batch_first=True)
                self.encoder = tnn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
                self.fc = tnn.Linear(128, 2)

            def forward(self, ids):
                pos = torch.arange(ids.shape[1], device=ids.device)
                x = self.dropout(self.token_embedding(ids) + self.position_embedding(pos))
                padding = ids == 0
                h = self.encoder(x, src_key_padding_mask=padding)
                keep = (~padding).to(h.dtype)[:, :, None]
                return self.fc((h * keep).sum(1) / keep.sum(1))

        return TransformerClassifier(), tnn.CrossEntropyLoss()
    raise ValueError(case)


def build_torch(case: str):
    torch = _torch()
    if torch is None:
        return None
    d = _data(case)
    if case == "op":
        a = torch.tensor(d["a"], requires_grad=True)
        b = torch.tensor(d["b"], requires_grad=True)

        def step():
            a.grad = b.grad = None
            (a * b).sum().backward()

        return step
    if case.startswith("gemm"):
        x, y = torch.from_numpy(d["a"]), torch.from_numpy(d["b"])

        def step():
            torch.mm(x, y)

        return step
    if case.startswith("conv"):
        x = torch.from_numpy(d["x"]).requires_grad_(True)
        w = torch.from_numpy(d["w"]).requires_grad_(True)
        b = torch.from_numpy(d["b"]).requires_grad_(True)
        gy = torch.from_numpy(d["gy"])

        def step():
            x.grad = w.grad = b.grad = None
            torch.nn.functional.conv2d(x, w, b).backward(gy)

        return step
    model, loss_fn = _torch_model(case)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.from_numpy(d["x"]) if "x" in d else torch.from_numpy(d["ids"])
    y = torch.from_numpy(d["y"])

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return step


# ------------------------------------------------------------------------------------------
# Hand-written NumPy (forward, backward and Adam written out)
# ------------------------------------------------------------------------------------------
class _NumpyAdam:
    """Adam on a list of arrays, PyTorch's update rule, in float32."""

    def __init__(self, params, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
        self.params, self.lr, self.b1, self.b2, self.eps = params, lr, b1, b2, eps
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.t = 0

    def step(self, grads):
        self.t += 1
        c1, c2 = 1 - self.b1 ** self.t, (1 - self.b2 ** self.t) ** 0.5
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            m *= self.b1
            m += (1 - self.b1) * g
            v *= self.b2
            v += (1 - self.b2) * g * g
            p -= (self.lr / c1) * m / (np.sqrt(v) / c2 + self.eps)


def build_numpy(case: str):
    d = _data(case)
    if case == "op":
        a, b = d["a"], d["b"]

        def step():
            out = (a * b).sum()
            ga, gb = b * 1.0, a * 1.0  # d(sum(a*b))/da = b, /db = a
            return out, ga, gb

        return step
    if case.startswith("gemm"):
        x, y = d["a"], d["b"]
        return lambda: np.matmul(x, y)
    if case != "mlp":
        return None
    rng = np.random.default_rng(1)
    sizes = [(100, 64), (64, 64), (64, 10)]
    params = []
    for fan_in, fan_out in sizes:
        bound = 1 / fan_in ** 0.5
        params += [rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32),
                   rng.uniform(-bound, bound, fan_out).astype(np.float32)]
    opt = _NumpyAdam(params)
    x, y = d["x"], d["y"]
    rows = np.arange(len(y))

    def step():
        w1, b1, w2, b2, w3, b3 = params
        h1 = np.maximum(x @ w1.T + b1, 0)
        h2 = np.maximum(h1 @ w2.T + b2, 0)
        z = h2 @ w3.T + b3
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        p = e / e.sum(axis=1, keepdims=True)
        loss = -np.log(p[rows, y]).mean()
        g = p
        g[rows, y] -= 1
        g /= len(y)                                   # d loss / d z
        gw3, gb3 = g.T @ h2, g.sum(0)
        g = (g @ w3) * (h2 > 0)
        gw2, gb2 = g.T @ h1, g.sum(0)
        g = (g @ w2) * (h1 > 0)
        gw1, gb1 = g.T @ x, g.sum(0)
        opt.step([gw1, gb1, gw2, gb2, gw3, gb3])
        return loss

    return step


# ------------------------------------------------------------------------------------------
# Timing
# ------------------------------------------------------------------------------------------
def _builders():
    return {"tge-c": lambda c: build_tge(c, "c"), "tge-numpy": lambda c: build_tge(c, "numpy"),
            "numpy": build_numpy, "torch": build_torch}


def time_case(steps: dict, rounds: int, round_time: float, warmup: int) -> dict:
    """Per-step times (seconds) of each step function, measured in interleaved rounds."""
    inner = {}
    for name, fn in steps.items():
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
                t0 = time.perf_counter()
                for _ in range(n):
                    fn()
                times[name].append((time.perf_counter() - t0) / n)
    finally:
        if gc_was:
            gc.enable()
    return times


def run(cases, impls, threads_list, quick=False, peak=None, out=None):
    """Run the benchmark and return the list of result rows (dicts)."""
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
            steps = {}
            for impl in impls:
                fn = builders[impl](case)
                if fn is not None:
                    steps[impl] = fn
            if not steps:
                continue
            d = _data(case)
            times = time_case(steps, rounds, round_time, warmup)
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
from tinygrad_edu import benchmark as B
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
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    out.write(f"\n# CNN training step memory (batch 64, {steps} steps, {threads} thread(s))\n")
    out.write(f"{'impl':<10} {'RSS model+data':>15} {'after warm-up':>14} {'peak':>9} "
              f"{'step memory':>12} {'faults/step':>12} {'ms/step':>8}\n")
    for impl in impls:
        if impl == "numpy" or (impl == "torch" and _torch() is None):
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
# Command line
# ------------------------------------------------------------------------------------------
def _parser():
    p = argparse.ArgumentParser(
        prog="python -m tinygrad_edu bench",
        description="Time training steps and kernels of tinygrad_edu (C and NumPy backends), "
                    "hand-written NumPy and PyTorch side by side.")
    p.add_argument("--threads", default="1,2",
                   help="comma-separated thread counts (default 1,2)")
    p.add_argument("--cases", default=",".join(ALL_CASES),
                   help=f"comma-separated cases (default all: {','.join(ALL_CASES)})")
    p.add_argument("--impls", default=",".join(IMPLS),
                   help=f"comma-separated implementations (default {','.join(IMPLS)})")
    p.add_argument("--quick", action="store_true", help="a short smoke run (2 short rounds)")
    p.add_argument("--json", metavar="PATH", help="write the results as JSON to PATH")
    p.add_argument("--peak", type=float, default=None,
                   help="FMA peak per core in GFLOP/s (default: measured)")
    p.add_argument("--memory", action="store_true",
                   help="also measure peak RSS and page faults of CNN steps per library")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                   help="cuda: time the GPU rows instead (tinygrad_edu on CuPy next to PyTorch "
                        "CUDA; tinygrad_edu/benchmark_gpu.py); skipped with a message without a GPU")
    return p


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    if args.device == "cuda":
        return _main_gpu(args)
    try:
        threads_list = [int(t) for t in args.threads.split(",") if t.strip()]
    except ValueError:
        sys.stderr.write(f"bench: --threads must be comma-separated ints, got {args.threads!r}\n")
        return 2
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    impls = [i.strip() for i in args.impls.split(",") if i.strip()]
    bad = [c for c in cases if c not in ALL_CASES] + [i for i in impls if i not in IMPLS]
    if bad or not threads_list or min(threads_list) < 1:
        sys.stderr.write(f"bench: unknown case/implementation {bad} (cases: {ALL_CASES}; "
                         f"implementations: {IMPLS}) or bad --threads\n")
        return 2
    info, rows = run(cases, impls, threads_list, quick=args.quick, peak=args.peak)
    memory = measure_memory(impls, steps=3 if args.quick else 20) if args.memory else None
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"info": info, "results": rows, "memory": memory}, f, indent=1)
    return 0


def _main_gpu(args) -> int:
    """``--device cuda``: the GPU rows (benchmark_gpu.py); exit status 0 also when skipped."""
    from . import benchmark_gpu

    all_cases = args.cases == ",".join(ALL_CASES)
    cases = None if all_cases else [c.strip() for c in args.cases.split(",") if c.strip()]
    impls = None if args.impls == ",".join(IMPLS) else [
        {"tge-c": "tge-cuda", "tge-numpy": "tge-cuda", "torch": "torch-cuda"}.get(i.strip(), i.strip())
        for i in args.impls.split(",") if i.strip()]
    bad = [c for c in cases or [] if c not in benchmark_gpu.GPU_CASES] + \
          [i for i in impls or [] if i not in benchmark_gpu.GPU_IMPLS]
    if bad:
        sys.stderr.write(f"bench --device cuda: unknown case/implementation {bad} (cases: "
                         f"{benchmark_gpu.GPU_CASES}; implementations: {benchmark_gpu.GPU_IMPLS})\n")
        return 2
    info, rows = benchmark_gpu.run(cases, impls, quick=args.quick)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"info": info, "results": rows, "memory": None}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
