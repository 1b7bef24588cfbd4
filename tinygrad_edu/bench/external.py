"""Peers measured in a worker process (bench/worker.py): NumPy with its own BLAS kernel, TensorFlow.

A :class:`WorkerStep` stands in a benchmark round like any step function, except that the
parent asks the worker to time ``n`` steps (``timed(n)``) so the pipe is crossed once per
round, not once per step. Rounds still alternate with the in-process implementations.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "worker.py")

#: variables that hold OpenBLAS to an older kernel on some machines; removed for the NumPy worker only
OPENBLAS_PINS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


class WorkerUnavailable(RuntimeError):
    """The worker could not start or could not build the case; the message says why."""


class WorkerStep:
    """One case of one implementation, run in its own process.

    impl: "numpy" (this interpreter, OpenBLAS left to choose its kernel) or "tf" (``python``,
    an interpreter with tensorflow installed). threads: the worker's BLAS / intra-op threads.
    ``info``: what the worker reported (BLAS kernel, TensorFlow version).
    """

    def __init__(self, impl: str, case: str, threads: int, python: str | None = None):
        env = dict(os.environ)
        if impl == "numpy":
            for name in OPENBLAS_PINS:
                env.pop(name, None)
        env["PYTHONPATH"] = os.path.dirname(WORKER)
        self.impl, self.case = impl, case
        try:
            self.proc = subprocess.Popen([python or sys.executable, WORKER], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        except OSError as exc:
            raise WorkerUnavailable(f"{impl}: cannot start {python or sys.executable}: {exc}") from None
        reply = self._ask({"build": case, "impl": impl, "threads": int(threads)})
        if not reply.get("ok"):
            self.close()
            raise WorkerUnavailable(f"{impl} {case}: {reply.get('why')}")
        self.info = reply.get("info") or {}

    def _ask(self, request: dict) -> dict:
        try:
            self.proc.stdin.write(json.dumps(request) + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        except (BrokenPipeError, OSError):
            line = ""
        if not line:
            err = self.proc.stderr.read()[-2000:] if self.proc.poll() is not None else ""
            raise WorkerUnavailable(f"{self.impl} worker for {self.case} stopped: {err.strip() or 'no answer'}")
        return json.loads(line)

    def timed(self, n: int) -> float:
        """Seconds the worker took for ``n`` steps."""
        return float(self._ask({"run": int(n)})["seconds"])

    def __call__(self):
        self.timed(1)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def describe_blas(info: dict) -> str:
    """One line about the NumPy worker's BLAS: library, version, kernel, threads."""
    blas = info.get("blas")
    if not isinstance(blas, dict):
        return str(blas)
    return (f"{blas.get('internal_api')} {blas.get('version')}, kernel {blas.get('architecture')}, "
            f"{blas.get('num_threads')} thread(s); {' and '.join(OPENBLAS_PINS)} unset for this worker only")
