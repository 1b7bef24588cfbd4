"""The GPU rows of the side-by-side benchmark (``--device cuda`` of :mod:`tinygrad_edu.bench`).

    python -m tinygrad_edu.bench --device cuda
    python -m tinygrad_edu.bench --device cuda --quick --cases cnn,gemm1024,conv2

The cases are :mod:`tinygrad_edu.bench`'s (same models, batches and data), run on one GPU:

    tge-cuda     tinygrad_edu with its tensors on "cuda" (CuPy kernels: cuBLAS GEMM,
                 im2col + GEMM convolution, CuPy elementwise and reduction kernels)
    torch-cuda   PyTorch on "cuda" (cuBLAS / cuDNN), when PyTorch with CUDA is installed

Every step ends with a device synchronisation, so a step's time is the time until its GPU
work has finished (as in a training loop that reads the loss each step). Kernel rows
(gemm*, conv*) call the kernel table directly on device arrays, like the CPU rows do.
"vs torch" divides by torch-cuda's median in the same run.

Without CuPy or without a GPU, :func:`run` prints one line saying why and returns no rows;
without PyTorch's CUDA build the torch-cuda rows are left out, with a note.
"""
from __future__ import annotations

import statistics
import sys

import numpy as np

from . import cases as B
from . import gpu_models
from . import runner as R

GPU_CASES = ["op", "mlp", "cnn", "lstm10", "lstm100", "transformer", "bert", "gpt", "gemm256", "gemm512",
             "gemm1024", "gemm2048", "conv1", "conv2", "conv3"]   # bert, gpt: bench/gpu_models.py
GPU_IMPLS = ["tge-cuda", "torch-cuda"]


def _data(case: str) -> dict:
    if case in gpu_models.CASES:
        return gpu_models.data(case)
    if case == "gemm2048":
        rng = np.random.default_rng(0)
        return dict(a=rng.standard_normal((2048, 2048)).astype(np.float32),
                    b=rng.standard_normal((2048, 2048)).astype(np.float32), batch=1,
                    flops=2.0 * 2048 ** 3)
    return B._data(case)


def _cupy_or_reason():
    """(cupy, None) when a GPU is usable, else (None, why not)."""
    from ..device import _import_cupy

    try:
        return _import_cupy(), None
    except RuntimeError as exc:
        return None, str(exc)


def _torch_cuda():
    torch = B._torch()
    if torch is None or not torch.cuda.is_available():
        return None
    return torch


def build_tge_cuda(case: str):
    """A step function for tinygrad_edu on the GPU, or None when no GPU is usable."""
    cp, _ = _cupy_or_reason()
    if cp is None:
        return None
    import tinygrad_edu as tge
    from tinygrad_edu import Tensor, optim
    from tinygrad_edu.backends import cupy_kernels as gk

    sync = cp.cuda.Device().synchronize
    if case in gpu_models.CASES:
        return gpu_models.build_tge(case, sync)
    d = _data(case)
    if case == "op":
        a = Tensor(d["a"], requires_grad=True, device="cuda")
        b = Tensor(d["b"], requires_grad=True, device="cuda")

        def step():
            a.grad = b.grad = None
            (a * b).sum().backward()
            sync()

        return step
    if case.startswith("gemm"):
        x, y = cp.asarray(d["a"]), cp.asarray(d["b"])

        def step():
            gk.matmul(x, y)
            sync()

        return step
    if case.startswith("conv"):
        x, w, bias, gy = (cp.asarray(d[k]) for k in ("x", "w", "b", "gy"))

        def step():
            gk.conv2d_forward(x, w, bias, (1, 1), (0, 0))
            gk.conv2d_backward_input(gy, w, x.shape, (1, 1), (0, 0))
            gk.conv2d_backward_weight(gy, x, w.shape, (1, 1), (0, 0))
            sync()

        return step
    model, loss_fn = B._tge_model(case)
    model.to("cuda").train()
    opt = optim.Adam(model.parameters(), lr=1e-3)
    x = Tensor(d["x"] if "x" in d else d["ids"], device="cuda")
    y = Tensor(d["y"], device="cuda")
    tge.manual_seed(0)

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        sync()
        return loss

    return step


def build_torch_cuda(case: str):
    """A step function for PyTorch on the GPU, or None without PyTorch's CUDA."""
    torch = _torch_cuda()
    if torch is None:
        return None
    dev = torch.device("cuda")
    sync = torch.cuda.synchronize
    if case in gpu_models.CASES:
        return gpu_models.build_torch(case, torch, sync)
    d = _data(case)
    if case == "op":
        a = torch.tensor(d["a"], device=dev, requires_grad=True)
        b = torch.tensor(d["b"], device=dev, requires_grad=True)

        def step():
            a.grad = b.grad = None
            (a * b).sum().backward()
            sync()

        return step
    if case.startswith("gemm"):
        x, y = torch.from_numpy(d["a"]).to(dev), torch.from_numpy(d["b"]).to(dev)

        def step():
            torch.mm(x, y)
            sync()

        return step
    if case.startswith("conv"):
        x, w, bias = (torch.from_numpy(d[k]).to(dev).requires_grad_(True) for k in ("x", "w", "b"))
        gy = torch.from_numpy(d["gy"]).to(dev)

        def step():
            x.grad = w.grad = bias.grad = None
            torch.nn.functional.conv2d(x, w, bias).backward(gy)
            sync()

        return step
    model, loss_fn = B._torch_model(case)
    model.to(dev).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.from_numpy(d["x"] if "x" in d else d["ids"]).to(dev)
    y = torch.from_numpy(d["y"]).to(dev)

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        sync()
        return loss

    return step


def run(cases=None, impls=None, quick=False, out=sys.stdout):
    """Time the GPU rows; returns (info, rows) like :func:`.benchmark.run` (no rows and
    ``info["skipped"]`` = the reason when no GPU is usable)."""
    cases = [c for c in (cases or GPU_CASES) if c in GPU_CASES]
    impls = [i for i in (impls or GPU_IMPLS) if i in GPU_IMPLS]
    cp, reason = _cupy_or_reason()
    info = dict(device="cuda", quick=quick)
    if cp is None:
        out.write(f"# GPU benchmark skipped: {reason}\n")
        info["skipped"] = reason
        return info, []
    props = cp.cuda.runtime.getDeviceProperties(cp.cuda.Device().id)
    name = props.get("name", b"?")
    info.update(gpu=name.decode() if isinstance(name, bytes) else str(name),
                cupy=cp.__version__, torch=getattr(B._torch(), "__version__", None))
    out.write(f"# GPU: {info['gpu']}; CuPy {info['cupy']}\n")
    if "torch-cuda" in impls and _torch_cuda() is None:
        out.write("# torch-cuda rows left out: PyTorch with CUDA is not installed\n")
    elif "torch-cuda" in impls:   # cuDNN convolutions may use TF32 on Ampere and later; cuBLAS does not
        torch = _torch_cuda()
        info["torch_tf32"] = dict(matmul=bool(torch.backends.cuda.matmul.allow_tf32),
                                  cudnn=bool(torch.backends.cudnn.allow_tf32))
    builders = {"tge-cuda": build_tge_cuda, "torch-cuda": build_torch_cuda}
    gpu_models.configure(quick)
    rounds, round_time, warmup = (2, 0.02, 2) if quick else (7, 0.25, 5)
    rows = []
    for case in cases:
        if quick and case in ("lstm100", "gemm2048"):
            continue
        try:   # one broken row must not cost the others (a GPU run is rare): report it, go on
            steps = {impl: fn for impl in impls if (fn := builders[impl](case)) is not None}
            if not steps:
                continue
            d = _data(case)
            times = R.time_case(steps, rounds, round_time, warmup)
        except Exception as exc:  # noqa: BLE001 - recorded in info["failed"] and printed
            message = f"{type(exc).__name__}: {exc}"
            info.setdefault("failed", {})[case] = message
            out.write(f"# {case} failed: {message}\n")
            continue
        ref = statistics.median(times["torch-cuda"]) if "torch-cuda" in times else None
        for impl, ts in times.items():
            med = statistics.median(ts)
            row = dict(case=case, impl=impl, threads=0, ms_median=med * 1e3, ms_min=min(ts) * 1e3,
                       samples_per_s=d["batch"] / med, vs_torch=(med / ref) if ref else None,
                       device="cuda")
            if "flops" in d:
                row["gflops"] = d["flops"] / min(ts) / 1e9
            rows.append(row)
        R._print_rows([r for r in rows if r["case"] == case], out)
    pool = getattr(cp, "get_default_memory_pool", None)
    if pool is not None:   # what CuPy's caching allocator holds after the run
        info["cupy_pool_bytes"] = int(pool().total_bytes())
    return info, rows
