"""Kernel tables and the one function that picks one: :func:`kernels_for`.

Three tables expose every kernel of the contract (:mod:`.contract`: names, signatures,
checks and NumPy twins) under the same names and signatures:

* :mod:`.c` - the C kernels in csrc/, compiled through cffi (the default when built);
* :mod:`.numpy_ref` - the NumPy reference, written for reading; the tests compare the C
  kernels against it;
* :mod:`.cupy_kernels` - the GPU table, for CuPy arrays.

Ops, nn and optim call ``kernels_for(array).<kernel>(...)`` and nothing else: it returns the
GPU table for a CuPy array and the active CPU table otherwise.  The CPU choice comes from
the environment variable ``TGE_BACKEND`` ("c" or "numpy"; default "c" when the compiled
module loads) and :func:`set_backend`.  If the C module does not load, importing still
works: the NumPy table is used and one warning says how to build the C one (none when
``TGE_BACKEND=numpy`` asks for NumPy anyway).

The C kernels' thread count starts from ``TGE_NUM_THREADS`` (else OpenMP's default:
``OMP_NUM_THREADS`` or the number of cores); :func:`set_num_threads` changes it.
"""
import operator
import os
import warnings

import numpy as np

# Idle OpenMP workers spin only briefly, then sleep: on a loaded machine a worker spinning
# for milliseconds at each barrier burns the CPU its own team needs, and a sleeping one gets
# the CPU back at once when woken (csrc/threads.c also sizes each team to the free CPUs).
# libgomp reads this when the C module loads, so it is set first; a user's own setting wins.
if not any(k in os.environ for k in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")):
    os.environ["GOMP_SPINCOUNT"] = "10000"

from . import c, contract, numpy_ref  # noqa: E402 - after the OpenMP setting above

__all__ = ["kernels_for", "kernels", "backend", "set_backend", "c_available", "set_num_threads",
           "get_num_threads", "info", "c", "numpy_ref"]

_TABLES = {"c": c, "numpy": numpy_ref}
_active = "numpy"
_num_threads = None  # the requested count, remembered for when C is not built


def c_available() -> bool:
    """True when the compiled C kernels loaded (and match this version of the code)."""
    return c.AVAILABLE


def backend() -> str:
    """The active kernel backend: "c" or "numpy"."""
    return _active


def set_backend(name: str) -> None:
    """Make "c" or "numpy" the active kernel table.

    Raises ValueError for any other name, RuntimeError for "c" when it is not built.
    """
    global _active
    if name not in _TABLES:
        raise ValueError(f"set_backend: unknown backend {name!r}; expected 'c' or 'numpy'")
    if name == "c" and not c.AVAILABLE:
        raise RuntimeError(f"set_backend('c'): the C kernels are not available "
                           f"({c.LOAD_ERROR}); {c.BUILD_HINT}")
    _active = name


def kernels():
    """The active CPU kernel table (the module :mod:`.c` or :mod:`.numpy_ref`)."""
    return _TABLES[_active]


def kernels_for(array):
    """The kernel table for the device (and backend) holding ``array``: the active CPU
    table for a NumPy array, :mod:`.cupy_kernels` for a CuPy array.  The one place where a
    table is chosen."""
    if isinstance(array, (np.ndarray, np.generic)):
        return _TABLES[_active]
    from . import cupy_kernels

    return cupy_kernels


def _openmp_default() -> int:
    try:
        n = int(os.environ.get("OMP_NUM_THREADS", "").split(",")[0])
    except ValueError:
        n = 0
    return n if n >= 1 else (os.cpu_count() or 1)


def set_num_threads(n: int) -> None:
    """Use n >= 1 threads in the C kernels (small problems always run on one)."""
    global _num_threads
    if isinstance(n, bool):
        raise TypeError("set_num_threads: n must be an int, got bool")
    try:
        n = operator.index(n)
    except TypeError:
        raise TypeError(f"set_num_threads: n must be an int, got {type(n).__name__}") from None
    if n < 1:
        raise ValueError(f"set_num_threads: n must be >= 1, got {n}")
    if c.AVAILABLE:
        c.set_num_threads(n)
    _num_threads = n


def get_num_threads() -> int:
    """The thread count of the C kernels."""
    if c.AVAILABLE:
        return c.get_num_threads()
    return _num_threads if _num_threads is not None else _openmp_default()


def info() -> dict:
    """What is in use, for `tge info`-style reports and bug reports."""
    out = {"backend": _active, "c_available": c.AVAILABLE, "num_threads": get_num_threads()}
    if c.AVAILABLE:
        out.update(simd=c.simd_path(), openmp=c.has_openmp())
        # teams shrink to the CPUs free of other work (csrc/threads.c; TGE_ADAPTIVE_THREADS=0: off)
        out.update(adaptive_threads=bool(c.lib.tge_get_adaptive_threads()), cpus_free=c.lib.tge_cpus_free())
    else:
        out.update(c_error=c.LOAD_ERROR)
    return out


def _configure_from_environment() -> None:
    """Apply TGE_BACKEND and TGE_NUM_THREADS; at most one warning for all problems."""
    global _active
    problems = []
    requested = os.environ.get("TGE_BACKEND", "").strip().lower()
    if requested not in ("", "c", "numpy"):
        problems.append(f"TGE_BACKEND={requested!r} is not 'c' or 'numpy' and is ignored")
        requested = ""
    if requested == "numpy":
        _active = "numpy"
    elif c.AVAILABLE:
        _active = "c"
    else:
        _active = "numpy"
        problems.append(f"the C kernels are not available ({c.LOAD_ERROR}), so the slower "
                        f"NumPy reference kernels are used; {c.BUILD_HINT}")

    threads = os.environ.get("TGE_NUM_THREADS", "").strip()
    if threads:
        try:
            set_num_threads(int(threads))
        except ValueError:
            problems.append(f"TGE_NUM_THREADS={threads!r} is not an int >= 1 and is ignored")

    if problems:
        warnings.warn("tinygrad_edu: " + "; ".join(problems), RuntimeWarning, stacklevel=3)


_configure_from_environment()


# ``torch.backends.mps.is_available()`` / ``torch.backends.cudnn.deterministic = True`` in
# PyTorch scripts: answered by tinygrad_edu.torch_device (imported last: it needs nothing here).
from ..torch_device import cudnn, mps  # noqa: E402
