"""The C kernel table: the compiled module ``_tge_c`` (csrc/, cffi) behind the contract.

Same functions, signatures and errors as :mod:`..numpy_ref` (which documents what they
compute): every entry runs the kernel's contract check first (:mod:`..contract`), then

1. makes every input a C-contiguous aligned array (non-contiguous views work; a
   transposed view of a contiguous matrix is passed as a transpose flag, without a copy);
2. allocates the output, calls ``tge_<kernel>_f32`` / ``_f64`` (cffi releases the GIL
   during the call) and turns a non-zero return code into a RuntimeError.

Which entries exist is derived, not listed: every kernel of the contract gets the wrapper
of the same name from a family file here (every module of this folder: gemm.py, conv.py,
pool.py, lstm.py, loss.py, optim.py, ...), and an *elementwise* kernel without one gets the generic wrapper below, built
from its C signature.  A kernel with neither has no C entry (tests/backends/test_contract.py
names it).

Importing this module never fails: when the compiled module is missing, broken or out of
date, :data:`AVAILABLE` is False, :data:`LOAD_ERROR` says why, and every kernel raises a
RuntimeError that says how to build it.  ``TGE_C_MODULE_DIR=folder`` loads the compiled
module from that folder instead (the sanitizer build of ``.ci/sanitizers``);
:data:`MODULE_PATH` says which file was loaded.
"""
import glob
import importlib.machinery
import importlib.util
import os
import sys

import numpy as np

from .. import numpy_ref  # noqa: F401 - registers every kernel of the contract
from ..contract import KERNELS

#: what tge_abi_version() returns in a module built from the current csrc/tge.h
ABI_VERSION = 2

BUILD_HINT = ("build it with `pip install -e .` in the source checkout, or rebuild it "
              "in place with `python -m tinygrad_edu.backends._build`")

_PARENT = __package__.rsplit(".", 1)[0]  # tinygrad_edu.backends, where _tge_c lives
_BASE = ["tge_abi_version", "tge_set_num_threads", "tge_get_num_threads", "tge_has_openmp",
         "tge_simd_path", "tge_conv2d_winograd"]
#: every C function this table calls: the base ones and both precisions of every kernel
_REQUIRED = _BASE + [f"tge_{k}_{s}" for k in sorted(KERNELS) for s in ("f32", "f64")]

#: the TGE_E* return codes of csrc/tge.h
ERRORS = {1: "invalid size or flag", 2: "buffer length does not match the shape",
          3: "size overflow", 4: "out of memory", 5: "index out of range"}


def _load_from_folder(name, folder):
    """Import the extension module `name` from the file _tge_c.<suffix> in `folder`."""
    if name in sys.modules and sys.modules[name] is None:  # blocked, as `import` would say
        raise ImportError(f"import of {name} halted; None in sys.modules")
    paths = [path for suffix in importlib.machinery.EXTENSION_SUFFIXES
             for path in sorted(glob.glob(os.path.join(glob.escape(folder), "_tge_c" + suffix)))]
    if not paths:
        raise ImportError(f"TGE_C_MODULE_DIR={folder!r} holds no compiled module _tge_c")
    spec = importlib.util.spec_from_file_location(name, paths[0])
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def _load():
    name = f"{_PARENT}._tge_c"
    folder = os.environ.get("TGE_C_MODULE_DIR", "").strip()
    if folder:
        try:
            module = _load_from_folder(name, folder)
        except Exception as exc:
            return None, None, f"{type(exc).__name__}: {exc}"
        return _check_module(module)
    try:
        found = importlib.util.find_spec(name) is not None
    except Exception:  # a broken parent package; the import below will say more
        found = True
    if not found:
        return None, None, f"the compiled module {name} is not built"
    try:
        module = importlib.import_module(name)
    except Exception as exc:  # missing or unloadable: ImportError, OSError
        return None, None, f"{type(exc).__name__}: {exc}"
    return _check_module(module)


def _check_module(module):
    """(ffi, lib, None) when the module has the base functions and this ABI, else an error.
    A kernel the module lacks (csrc/ changed, not rebuilt) fails alone when it is called."""
    missing = [name for name in _BASE if not hasattr(module.lib, name)]
    if missing:
        return None, None, f"the compiled module is out of date (it lacks {missing[0]})"
    version = module.lib.tge_abi_version()
    if version != ABI_VERSION:
        return None, None, (f"the compiled module is out of date (ABI version {version}, "
                            f"expected {ABI_VERSION})")
    return module.ffi, module.lib, None


ffi, lib, LOAD_ERROR = _load()
#: True when the compiled kernels loaded and match this Python code
AVAILABLE = lib is not None
#: the file of the compiled module in use (None when it did not load)
MODULE_PATH = getattr(sys.modules.get(f"{_PARENT}._tge_c"), "__file__", None) if AVAILABLE else None

# Steady-state training should reuse the previous step's memory instead of mapping fresh
# pages (see csrc/alloc.c): keep freed blocks up to 32 MiB in the heap, trim above 512 MiB.
# Once per process; TGE_MALLOC_TUNE=0 leaves the C library's allocator as it is.
if AVAILABLE and os.environ.get("TGE_MALLOC_TUNE", "1").strip() != "0" \
        and hasattr(lib, "tge_malloc_tune"):
    lib.tge_malloc_tune(32 << 20, 512 << 20)

_CTYPES = {np.dtype(np.float32): ("float", "f32"), np.dtype(np.float64): ("double", "f64")}


# ------------------------------------------------------------------------------------
# What every wrapper uses
# ------------------------------------------------------------------------------------

def _require():
    if lib is None:
        raise RuntimeError(f"tinygrad_edu: the C kernels are not available ({LOAD_ERROR}); "
                           f"{BUILD_HINT}")


def _contiguous(arr):
    flags = getattr(arr, "flags", None)
    if type(arr) is np.ndarray and flags.c_contiguous and flags.aligned:
        return arr  # the common case, without np.require's argument handling
    return np.require(arr, requirements=("C_CONTIGUOUS", "ALIGNED"))


_ARRAY_TYPES = {}  # "float" -> the cffi type float[] (parsed once, not per call)


def _ptr(arr, ctype):
    """A C pointer to the data of the contiguous array `arr` (NULL when it is empty)."""
    if arr.size == 0:
        return ffi.NULL
    tp = _ARRAY_TYPES.get(ctype)
    if tp is None:
        tp = _ARRAY_TYPES[ctype] = ffi.typeof(f"{ctype}[]")
    return ffi.from_buffer(tp, arr)


_KERNEL_CACHE = {}


def _kernel(name, dtype):
    """(C type name, compiled function ``tge_<name>_<f32|f64>``), looked up once."""
    try:
        return _KERNEL_CACHE[name, dtype]
    except KeyError:
        ctype, suffix = _CTYPES[dtype]
        fn = getattr(lib, f"tge_{name}_{suffix}", None)
        if fn is None:
            raise RuntimeError(f"{name}: the compiled module lacks tge_{name}_{suffix} (csrc/ "
                               f"changed since it was built); {BUILD_HINT}") from None
        found = _KERNEL_CACHE[name, dtype] = (ctype, fn)
        return found


def _check_rc(rc, op, detail):
    if rc != 0:
        raise RuntimeError(f"{op}: the C kernel refused {detail}: error {rc} "
                           f"({ERRORS.get(rc, 'unknown')})")


# ------------------------------------------------------------------------------------
# Threads and build information
# ------------------------------------------------------------------------------------

def set_num_threads(n: int) -> None:
    """Threads the C kernels may use (n >= 1; 0 restores the OpenMP default)."""
    _require()
    _check_rc(lib.tge_set_num_threads(int(n)), "set_num_threads", f"n={n}")


def get_num_threads() -> int:
    _require()
    return int(lib.tge_get_num_threads())


def simd_path() -> str:
    """The GEMM micro-kernel this CPU runs: "avx512", "avx2" or "generic"."""
    _require()
    return ffi.string(lib.tge_simd_path()).decode()


def has_openmp() -> bool:
    _require()
    return bool(lib.tge_has_openmp())


# ------------------------------------------------------------------------------------
# The generic wrapper of an elementwise kernel: (n, in, in_len, ..., out, out_len)
# ------------------------------------------------------------------------------------

_LAYOUT_OK = set()  # (kernel, C type) whose C signature was seen to fit the layout


def elementwise(name: str):
    """The C entry of elementwise kernel ``name``: inputs of one shape and dtype (checked by
    the contract), one output of that shape, ``tge_<name>_<sfx>(n, in0, in0_len, ...,
    out, out_len)``."""
    def run(*arrays):
        _require()
        out = np.empty(arrays[0].shape, dtype=arrays[0].dtype)
        if out.size == 0:
            return out
        ctype, fn = _kernel(name, out.dtype)
        args = [out.size]
        for a in arrays:
            a = _contiguous(a)
            args += [_ptr(a, ctype), a.size]
        if (name, ctype) not in _LAYOUT_OK:
            if len(ffi.typeof(fn).args) != len(args) + 2:
                raise RuntimeError(f"{name}: tge_{name} in csrc/tge.h does not have the elementwise "
                                   f"layout (n, {len(arrays)} inputs with lengths, out, "
                                   "out_len)")
            _LAYOUT_OK.add((name, ctype))
        rc = fn(*args, _ptr(out, ctype), out.size)
        if rc:
            _check_rc(rc, name, ", ".join([str(tuple(a.shape)) for a in arrays]))
        return out

    run.__name__ = run.__qualname__ = name
    run.__doc__ = f"C kernel tge_{name}_f32/_f64; see numpy_ref.{name}."
    return run


# ------------------------------------------------------------------------------------
# The table: one checked entry per kernel of the contract that has a C implementation
# ------------------------------------------------------------------------------------

import importlib  # noqa: E402
import pkgutil  # noqa: E402

#: the family files of this folder (every module not starting with "_"; they use the
#: helpers above, so they are imported here, at the end)
_FAMILIES = tuple(importlib.import_module(f"{__name__}.{m.name}")
                  for m in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name)
                  if not m.name.startswith("_"))


def implementations() -> dict:
    """``{kernel name: unchecked C implementation}`` for every kernel of the contract that
    has one: the wrapper of that name in a family file, else the generic elementwise one."""
    impls = {}
    for name, spec in KERNELS.items():
        found = [getattr(f, name) for f in _FAMILIES if callable(getattr(f, name, None))]
        if found:
            impls[name] = found[0]
        elif spec.elementwise:
            impls[name] = elementwise(name)
    return impls


globals().update({name: KERNELS[name].bind(fn) for name, fn in implementations().items()})
