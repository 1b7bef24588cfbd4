"""The command line of the side-by-side benchmark: tinygrad_edu (C and NumPy backends), hand-written NumPy, PyTorch.

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
import json
import os
import sys

from .cases import ALL_CASES, IMPLS
from .runner import measure_memory, run

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
    p.add_argument("--tf-python", metavar="PYTHON", default=os.environ.get("TGE_BENCH_TF_PYTHON"),
                   help="an interpreter with tensorflow installed (its own venv, e.g. tensorflow-cpu==2.21.0): "
                        "adds the 'tf' column, TensorFlow-Keras in a worker process ($TGE_BENCH_TF_PYTHON)")
    p.add_argument("--memory", action="store_true",
                   help="also measure peak RSS and page faults of CNN steps per library")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                   help="cuda: time the GPU rows instead (tinygrad_edu on CuPy next to PyTorch "
                        "CUDA; tinygrad_edu/bench/gpu.py); skipped with a message without a GPU")
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
    info, rows = run(cases, impls, threads_list, quick=args.quick, peak=args.peak, tf_python=args.tf_python)
    memory = measure_memory(impls, steps=3 if args.quick else 20) if args.memory else None
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"info": info, "results": rows, "memory": memory}, f, indent=1)
    return 0


def _main_gpu(args) -> int:
    """``--device cuda``: the GPU rows (bench/gpu.py); exit status 0 also when skipped."""
    from . import gpu as benchmark_gpu

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
