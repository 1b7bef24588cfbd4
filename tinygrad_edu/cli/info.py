"""``python -m tinygrad_edu info``: what this installation runs on.

Version, Python and NumPy, the kernel backend and whether the C kernels are built (with
their SIMD path and OpenMP), the thread count, the CPU and its vector features (avx2,
avx512f, fma from /proc/cpuinfo), CUDA through CuPy, and where the datasets were found.
"""
from __future__ import annotations

import json
import os
import platform

__all__ = ["collect", "cpu_info", "run_info"]

FEATURES = ("avx2", "avx512f", "fma")


def cpu_info() -> dict:
    """{"model": str, "cores": int, "features": {"avx2": bool | None, ...}}; None when unknown
    (no /proc/cpuinfo, e.g. on macOS or Windows)."""
    model, flags = platform.processor() or platform.machine(), None
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name" and model in ("", platform.machine(), platform.processor()):
                    model = value.strip()
                elif key in ("flags", "Features") and flags is None:
                    flags = set(value.split())
    except OSError:
        pass
    features = {name: (None if flags is None else name in flags) for name in FEATURES}
    return {"model": model, "cores": os.cpu_count() or 1, "features": features}


def _data_status() -> dict:
    """Where MNIST and rt-polarity were found, without downloading anything."""
    status = {}
    try:
        from tinygrad_edu.data._files import find_files, search_dirs
        from tinygrad_edu.data.text import RT_POLARITY_FILES
        from tinygrad_edu.data.vision import TEST_IMAGES, TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS
    except ImportError:
        return {"mnist": None, "rt-polarity": None}
    for name, files in (("mnist", [TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS]),
                        ("rt-polarity", RT_POLARITY_FILES)):
        found = find_files(files, search_dirs(name))
        status[name] = str(next(iter(found.values())).parent) if found else None
    return status


def collect() -> dict:
    """Every fact shown by ``info``, as a dict (what ``info --json`` prints)."""
    import numpy

    import tinygrad_edu as tge
    from tinygrad_edu import backends

    kernels = backends.info()
    facts = {
        "version": tge.__version__,
        "python": f"{platform.python_version()} ({platform.python_implementation()})",
        "platform": f"{platform.system()} {platform.machine()}",
        "numpy": numpy.__version__,
        "backend": kernels["backend"],
        "c_kernels_built": bool(kernels.get("c_available")),
        "simd": kernels.get("simd"),
        "openmp": kernels.get("openmp"),
        "c_error": kernels.get("c_error"),
        "threads": kernels["num_threads"],
        "cpu": cpu_info(),
        "cuda": bool(tge.cuda_is_available()),
        "data": _data_status(),
    }
    return facts


def _yes(flag) -> str:
    return "unknown" if flag is None else ("yes" if flag else "no")


def run_info(as_json: bool = False) -> int:
    facts = collect()
    if as_json:
        print(json.dumps(facts, indent=2))
        return 0
    cpu = facts["cpu"]
    features = ", ".join(f"{name} {_yes(v)}" for name, v in cpu["features"].items())
    if facts["c_kernels_built"]:
        c_line = f"yes (SIMD path: {facts['simd']}, OpenMP: {_yes(facts['openmp'])})"
    else:
        c_line = f"no ({facts['c_error']}); the NumPy reference kernels are used"
    data = facts["data"]
    mnist = data.get("mnist") or "not found (train --model cnn/mlp uses the built-in synthetic digits)"
    rt = data.get("rt-polarity") or "not found (train --model lstm/transformer uses built-in synthetic sentences)"
    lines = [
        f"tinygrad_edu {facts['version']}",
        f"Python:       {facts['python']} on {facts['platform']}",
        f"NumPy:        {facts['numpy']}",
        f"backend:      {facts['backend']} (set with TGE_BACKEND or tinygrad_edu.set_backend)",
        f"C kernels:    {c_line}",
        f"threads:      {facts['threads']} (TGE_NUM_THREADS or train --threads; {cpu['cores']} CPU cores)",
        f"CPU:          {cpu['model']}",
        f"CPU features: {features}",
        f"CUDA (CuPy):  {'available' if facts['cuda'] else 'not available'}",
        f"MNIST:        {mnist}",
        f"rt-polarity:  {rt}",
    ]
    print("\n".join(lines))
    return 0
