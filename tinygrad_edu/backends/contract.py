"""The kernel contract: every kernel's name, signature, checks and NumPy twin, in one registry.

How to add a kernel (five files; nothing else lists kernels by hand)
---------------------------------------------------------------------
1. ``csrc/tge.h`` (or the family header it includes, e.g. ``csrc/tge_rnn.h``): declare
   ``tge_<name>_f32`` and ``tge_<name>_f64`` between the cdef markers (bump TGE_ABI_VERSION only when an existing signature changes).
2. ``csrc/<family>.c``: implement both, checking every length (see the conventions at the
   top of tge.h).  The build (backends/_build.py) compiles every ``csrc/*.c``; rebuild with
   ``python -m tinygrad_edu.backends._build``.
3. ``tinygrad_edu/backends/numpy_ref/<family>.py``: the NumPy twin, a plain function named
   ``<name>`` decorated with :func:`kernel`, which states its check once (``check=``: a
   function ``(*args, **kwargs) -> args`` that raises TypeError / ValueError naming the
   shapes and returns the positional arguments, normalised).  Write it against
   ``xp = array_module(x)`` and it is the GPU table's entry as well (``device_generic=True``,
   the default; else add an entry of the same name to backends/cupy_kernels.py).  Every
   module of numpy_ref/ is imported, so a new family file needs no import line.
   If the kernel is not elementwise (below), its C wrapper goes in
   ``backends/c/<family>.py``: a function named ``<name>`` taking the checked arguments.
4. the op (``tinygrad_edu/ops/<family>.py``): ``kernels_for(x).<name>(...)``
   (``from ..backends import kernels_for``; the only way to reach a table).
5. its test: the twin against PyTorch or the formula, the C entry against the twin
   (``tests/backends``); tests/backends/test_contract.py, the fuzz harness and the GPU table
   pick the kernel up from this registry.

An *elementwise* kernel (``@kernel(elementwise=True)``: every argument a float array of one
shape and dtype, one result of that shape, C signature ``(int64_t n, const T *in0,
int64_t in0_len, ..., T *out, int64_t out_len)``) needs neither a check nor a C wrapper: the
contract builds the check from the twin's parameter names and the C table builds the entry
(backends/c/__init__.py, :func:`elementwise`).

What the contract guarantees
----------------------------
* One check per kernel, run by every table before its implementation
  (:meth:`Kernel.bind`): the same TypeError / ValueError, naming the shapes, on the C,
  NumPy and GPU tables; the implementations may assume checked input.
* One name from the op to the C symbol: ``matmul`` -> ``numpy_ref.matmul`` ->
  ``c.matmul`` -> ``tge_matmul_f32``.
* tests/backends/test_contract.py fails when a kernel lacks its twin, its C symbol or its
  GPU entry, or when the header declares a kernel nobody registered.
"""
from __future__ import annotations

import dataclasses
import functools
import inspect
import os
import re

import numpy as np

from ..device import device_of, is_cupy_array

__all__ = ["Kernel", "KERNELS", "kernel", "audit", "check_arrays", "check_same_shape", "describe",
           "is_array", "header_kernels", "c_file_of", "CSRC", "HEADER"]

_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))

#: the C sources (absent in an installed copy: then the header-derived facts are empty)
CSRC = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                    "csrc")
HEADER = os.path.join(CSRC, "tge.h")


@dataclasses.dataclass(frozen=True)
class Kernel:
    """One kernel of the contract.

    name: the word used by the op, the tables and the C symbol ``tge_<name>_f32/_f64``;
    twin: the NumPy reference (unchecked: :meth:`bind` adds the check);
    check: ``check(*args, **kwargs) -> args`` raising TypeError / ValueError, returning the
        positional arguments the implementation receives (pairs normalised, defaults filled);
    family: the twin's file (numpy_ref/<family>.py), by convention also the C file's stem;
    elementwise: the C entry can be generated from the header (see the module docstring);
    device_generic: the twin is written against ``xp`` and is the GPU table's entry too.
    """

    name: str
    twin: object
    check: object
    family: str
    elementwise: bool = False
    device_generic: bool = True

    @property
    def signature(self) -> inspect.Signature:
        return inspect.signature(self.twin)

    def bind(self, impl):
        """``impl`` behind this kernel's check: what every table exposes."""
        check = self.check

        @functools.wraps(self.twin)  # the contract's name and signature on every table
        def run(*args, **kwargs):
            return impl(*check(*args, **kwargs))

        run.__doc__ = impl.__doc__ or self.twin.__doc__
        run.__module__ = impl.__module__
        run.kernel, run.impl = self, impl
        return run


#: every registered kernel by name (filled as numpy_ref's family files are imported)
KERNELS: dict = {}


def kernel(check=None, *, elementwise=False, device_generic=True):
    """Register the decorated twin; return it behind its check (what ``numpy_ref`` exports).

    check: see :class:`Kernel`; with ``elementwise=True`` it may be left out and is built
    from the twin's parameter names (float arrays of one shape and dtype).
    """
    def register(twin):
        name = twin.__name__
        if name in KERNELS:
            raise ValueError(f"kernel {name!r} is registered twice")
        chk = check if check is not None else _elementwise_check(name, twin)
        spec = Kernel(name=name, twin=twin, check=chk, family=twin.__module__.rsplit(".", 1)[-1],
                      elementwise=elementwise, device_generic=device_generic)
        KERNELS[name] = spec
        return spec.bind(twin)

    return register


def table(impls: dict) -> dict:
    """``{name: impl}`` -> ``{name: checked impl}`` for the registered names among them."""
    return {name: KERNELS[name].bind(fn) for name, fn in impls.items() if name in KERNELS}


# ------------------------------------------------------------------------------------
# Checks every kernel shares: float arrays of one dtype, on one device, of one shape
# ------------------------------------------------------------------------------------

def is_array(arr) -> bool:
    """A NumPy array, or a CuPy array when CuPy is loaded."""
    return isinstance(arr, np.ndarray) or is_cupy_array(arr)


def describe(arr) -> str:
    return f"{arr.dtype} {tuple(arr.shape)}"


def check_arrays(op: str, **arrays) -> np.dtype:
    """Every named array is a float32/float64 array, they share one dtype and one device;
    return the dtype."""
    dtype = None
    on_gpu = set()
    for name, arr in arrays.items():
        if not is_array(arr):
            raise TypeError(f"{op}: {name} must be an array, got {type(arr).__name__}")
        on_gpu.add(not isinstance(arr, np.ndarray))
        if arr.dtype not in _FLOAT_DTYPES:
            raise TypeError(f"{op}: {name} has dtype {arr.dtype} (shape {tuple(arr.shape)}); "
                            "only float32 and float64 are supported")
        if dtype is None:
            dtype = arr.dtype
        elif arr.dtype != dtype:
            described = ", ".join(f"{n} {describe(a)}" for n, a in arrays.items())
            raise TypeError(f"{op}: dtypes differ ({described}); cast them to one dtype")
    if len(on_gpu) > 1:
        where = ", ".join(f"{n} on {device_of(a)}" for n, a in arrays.items())
        raise ValueError(f"{op}: arrays on different devices ({where}); move them with .to()")
    return dtype


def check_same_shape(op: str, **arrays) -> None:
    """Float arrays of one dtype and one shape (elementwise kernels with several inputs)."""
    check_arrays(op, **arrays)
    if len({tuple(a.shape) for a in arrays.values()}) > 1:
        described = ", ".join(f"{n} {describe(a)}" for n, a in arrays.items())
        raise ValueError(f"{op}: shapes differ ({described})")


def _elementwise_check(op, twin):
    code = twin.__code__
    names = code.co_varnames[:code.co_argcount]

    def check(*args, **kwargs):
        if not kwargs and len(args) == len(names) and type(args[0]) is np.ndarray:
            # the common call, fast: NumPy arrays of one float dtype and one shape
            dtype, shape = args[0].dtype, args[0].shape
            if dtype in _FLOAT_DTYPES and (len(args) == 1 or all(
                    type(a) is np.ndarray and a.dtype is dtype and a.shape == shape for a in args[1:])):
                return args
        if kwargs:
            args = tuple(inspect.signature(twin).bind(*args, **kwargs).arguments.values())
        if len(args) != len(names):
            raise TypeError(f"{op}: expected {len(names)} arrays ({', '.join(names)}), "
                            f"got {len(args)}")
        check_same_shape(op, **dict(zip(names, args)))
        return args

    return check


# ------------------------------------------------------------------------------------
# Facts derived from csrc/: which kernels the header declares, which file defines each
# ------------------------------------------------------------------------------------

_DECL = re.compile(r"\btge_(\w+)_f32\s*\(")


def header_kernels(header: str = HEADER) -> list:
    """Names ``<name>`` of every kernel declared in csrc/tge.h (both ``tge_<name>_f32`` and
    ``tge_<name>_f64``), sorted."""
    from ._build import read_cdef  # cffi is a build dependency; read_cdef needs only text

    if not os.path.isfile(header):
        return []
    cdef = read_cdef(header)
    return sorted(n for n in set(_DECL.findall(cdef)) if re.search(rf"\btge_{n}_f64\s*\(", cdef))


def c_file_of(name: str, csrc: str = CSRC):
    """The csrc/*.c file that defines ``tge_<name>_*`` (directly, through a macro, or in an
    .inc file it includes), or None."""
    pattern = re.compile(rf"\b(?:int\s+tge_{name}_(?:f32|##)|SFX\(tge_{name}\))")
    if not os.path.isdir(csrc):
        return None
    found = None
    for fname in sorted(os.listdir(csrc)):
        if fname.endswith((".c", ".inc")):
            with open(os.path.join(csrc, fname), encoding="utf-8") as f:
                if pattern.search(f.read()):
                    found = fname
                    break
    if found is None or found.endswith(".c"):
        return found
    for fname in sorted(os.listdir(csrc)):  # the .c file that includes the .inc
        if fname.endswith(".c"):
            with open(os.path.join(csrc, fname), encoding="utf-8") as f:
                text = f.read()
            if f'#include "{found}"' in text or _includes_via(csrc, text, found):
                return fname
    return None


def _includes_via(csrc, text, target) -> bool:
    """True when ``text`` includes an .inc file that includes ``target`` (one level)."""
    for inc in re.findall(r'#include "(\w+\.inc)"', text):
        path = os.path.join(csrc, inc)
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as f:
                if f'#include "{target}"' in f.read():
                    return True
    return False


# ------------------------------------------------------------------------------------
# The audit the tests run: every kernel has its twin, its C entry and its GPU entry
# ------------------------------------------------------------------------------------

def audit(kernels: dict = None, declared=None, c_impls=None, gpu_impls=None) -> list:
    """Problems with the kernel tables, one sentence each (empty when all is well).

    A kernel declared in csrc/tge.h without a twin, a registered kernel without a
    declaration, a C file, a C table entry or a GPU table entry.  The arguments default to
    the real registry, header and tables (the tests pass others to see each problem found).
    """
    from . import c, cupy_kernels

    kernels = KERNELS if kernels is None else kernels
    declared = set(header_kernels() if declared is None else declared)
    c_impls = c.implementations() if c_impls is None else c_impls
    gpu_impls = cupy_kernels.implementations() if gpu_impls is None else gpu_impls
    problems = [f"tge_{name}_f32/_f64 is declared in csrc/tge.h but has no NumPy twin "
                f"registered with @kernel" for name in sorted(declared - set(kernels))]
    for name in sorted(kernels):
        if declared and name not in declared:
            problems.append(f"{name}: no tge_{name}_f32/_f64 declaration in csrc/tge.h")
        elif declared and c_file_of(name) is None:
            problems.append(f"{name}: no csrc/*.c file defines tge_{name}_f32")
        if name not in c_impls:
            problems.append(f"{name}: no C table entry (a wrapper named {name} in "
                            "backends/c/<family>.py, or elementwise=True)")
        if name not in gpu_impls:
            problems.append(f"{name}: no GPU table entry (write the twin against xp, or add "
                            f"{name} to backends/cupy_kernels.py)")
    return problems
