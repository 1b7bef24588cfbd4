"""The side-by-side benchmark: tinygrad_edu (C and NumPy backends), hand-written NumPy, PyTorch.

    python -m tinygrad_edu bench            # or python -m tinygrad_edu.bench, benches/compare.py
    python -m tinygrad_edu bench --device cuda

Modules, each importing only the ones above it (no circle):

    cases     the data, models and one step function per case and library; thread control
    runner    timing in interleaved rounds, the table, peak memory per library
    gpu       the GPU rows (CuPy next to PyTorch CUDA), from the same cases
    main      the command line (``main(argv)``)
"""
from .cases import ALL_CASES, IMPLS, KERNEL_CASES, MODEL_CASES, Threads, build_numpy, build_tge, build_torch
from .main import main
from .runner import measure_memory, run

__all__ = ["ALL_CASES", "IMPLS", "KERNEL_CASES", "MODEL_CASES", "Threads", "build_numpy", "build_tge",
           "build_torch", "main", "measure_memory", "run"]
