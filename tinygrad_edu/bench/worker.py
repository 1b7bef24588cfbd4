"""A benchmark step server that runs in its own process: hand-written NumPy or TensorFlow-Keras.

Why a separate process: two of the peers cannot be measured fairly inside the benchmark's
own interpreter.

* NumPy's OpenBLAS picks its kernel when it is loaded, from ``OPENBLAS_CORETYPE`` and
  ``OPENBLAS_L2_SIZE``. Some machines set these (older OpenBLAS builds misbehave on their
  processors), which holds a current NumPy to a slower kernel. The ``numpy`` worker starts
  with both variables removed, so it runs the kernel OpenBLAS would pick by itself, and it
  reports that kernel (threadpoolctl's ``architecture``). Tests and CI never unset them.
* TensorFlow lives in its own virtual environment (``--tf-python``) and fixes its thread
  pools when it starts.

The parent (:mod:`tinygrad_edu.bench.external`) speaks JSON lines on stdin/stdout:

    {"build": "mlp", "impl": "numpy", "threads": 1} -> {"ok": true, "info": {...}}
                                                    or {"ok": false, "why": "..."}
    {"run": 25}                                     -> {"seconds": 0.0123}   (all 25 steps)

This file imports nothing from tinygrad_edu (the TensorFlow interpreter need not have it):
it is run as ``python worker.py`` with its own folder on ``sys.path``.
"""
import json
import os
import sys
import time


def _numpy_step(case: str, threads: int):
    import cases  # this folder's cases.py: NumPy-only at import time

    info = {"blas": None, "openblas_env": {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}}
    try:
        import threadpoolctl

        threadpoolctl.threadpool_limits(limits=threads, user_api="blas")
        blas = [d for d in threadpoolctl.threadpool_info() if d.get("user_api") == "blas"]
        if blas:
            info["blas"] = {k: blas[0].get(k) for k in ("internal_api", "version", "architecture", "num_threads")}
    except ImportError:
        info["blas"] = "threadpoolctl not installed: thread count and kernel unknown"
    step = cases.build_numpy(case)
    return step, info


def _tf_step(case: str, threads: int):
    import tf_cases

    return tf_cases.build(case, threads)


BUILDERS = {"numpy": _numpy_step, "tf": _tf_step}


def serve(stdin=sys.stdin, stdout=sys.stdout) -> None:
    """Answer requests until stdin closes."""
    step = None
    for line in stdin:
        request = json.loads(line)
        if "build" in request:
            try:
                step, info = BUILDERS[request["impl"]](request["build"], int(request["threads"]))
                reply = {"ok": step is not None, "info": info,
                         "why": None if step is not None else "no such case for this implementation"}
            except Exception as exc:  # report any failure to build to the parent
                reply = {"ok": False, "why": f"{type(exc).__name__}: {exc}"}
        else:
            n = int(request["run"])
            t0 = time.perf_counter()
            for _ in range(n):
                step()
            reply = {"seconds": time.perf_counter() - t0}
        stdout.write(json.dumps(reply) + "\n")
        stdout.flush()


if __name__ == "__main__":
    serve()
