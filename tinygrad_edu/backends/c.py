"""The C kernel table: thin wrappers around the compiled module ``_tge_c`` (csrc/, cffi).

Same functions, signatures and errors as :mod:`.numpy_ref` (which documents what they
compute).  Each wrapper

1. validates dtypes, ranks and shapes with the shared ``numpy_ref.check_*`` helpers, so a
   bad call raises TypeError / ValueError naming the shapes before any C runs;
2. makes every input a C-contiguous aligned array (non-contiguous views work; a
   transposed view of a contiguous matrix is passed as a transpose flag, without a copy);
3. allocates the output, calls ``tge_<kernel>_f32`` / ``_f64`` (cffi releases the GIL
   during the call) and turns a non-zero return code into a RuntimeError.

Importing this module never fails: when the compiled module is missing, broken or out of
date, :data:`AVAILABLE` is False, :data:`LOAD_ERROR` says why, and every kernel raises a
RuntimeError that says how to build it.

``TGE_C_MODULE_DIR=folder`` loads the compiled module from that folder instead of from
this package (the sanitizer build of ``.ci/sanitizers``, made with ``TGE_SANITIZE=1
python -m tinygrad_edu.backends._build --out folder``); :data:`MODULE_PATH` says which
file was loaded.
"""
import glob
import importlib.machinery
import importlib.util
import os
import sys
import threading

import numpy as np

from . import numpy_ref as _ref

#: what tge_abi_version() returns in a module built from the current csrc/tge.h
ABI_VERSION = 1

BUILD_HINT = ("build it with `pip install -e .` in the source checkout, or rebuild it "
              "in place with `python -m tinygrad_edu.backends._build`")

_KERNELS = ("gemm", "conv2d_forward", "conv2d_backward_input", "conv2d_backward_weight",
            "max_pool2d_forward", "max_pool2d_backward", "avg_pool2d_forward",
            "avg_pool2d_backward", "gelu_forward", "gelu_backward", "relu_forward",
            "relu_backward", "lstm_forward", "lstm_backward", "adam_step", "sgd_step",
            "softmax_xent_forward", "softmax_xent_backward")
_REQUIRED = (["tge_abi_version", "tge_set_num_threads", "tge_get_num_threads",
              "tge_has_openmp", "tge_simd_path"]
             + [f"tge_{k}_{s}" for k in _KERNELS for s in ("f32", "f64")])

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
    name = f"{__package__}._tge_c"
    folder = os.environ.get("TGE_C_MODULE_DIR", "").strip()
    if folder:
        try:
            _tge_c = _load_from_folder(name, folder)
        except Exception as exc:
            return None, None, f"{type(exc).__name__}: {exc}"
        return _check_module(_tge_c)
    try:
        found = importlib.util.find_spec(name) is not None
    except Exception:  # a broken parent package; the import below will say more
        found = True
    if not found:
        return None, None, f"the compiled module {name} is not built"
    try:
        from . import _tge_c
    except Exception as exc:  # missing or unloadable: ImportError, OSError
        return None, None, f"{type(exc).__name__}: {exc}"
    return _check_module(_tge_c)


def _check_module(_tge_c):
    """(ffi, lib, None) when the module exports what this code calls, else an error."""
    missing = [name for name in _REQUIRED if not hasattr(_tge_c.lib, name)]
    if missing:
        return None, None, f"the compiled module is out of date (it lacks {missing[0]})"
    version = _tge_c.lib.tge_abi_version()
    if version != ABI_VERSION:
        return None, None, (f"the compiled module is out of date (ABI version {version}, "
                            f"expected {ABI_VERSION})")
    return _tge_c.ffi, _tge_c.lib, None


ffi, lib, LOAD_ERROR = _load()
#: True when the compiled kernels loaded and match this Python code
AVAILABLE = lib is not None
#: the file of the compiled module in use (None when it did not load)
MODULE_PATH = (getattr(sys.modules.get(f"{__package__}._tge_c"), "__file__", None)
               if AVAILABLE else None)

# Steady-state training should reuse the previous step's memory instead of mapping fresh
# pages (see csrc/alloc.c): keep freed blocks up to 32 MiB in the heap, trim above 512 MiB.
# Once per process; TGE_MALLOC_TUNE=0 leaves the C library's allocator as it is.
if AVAILABLE and os.environ.get("TGE_MALLOC_TUNE", "1").strip() != "0" \
        and hasattr(lib, "tge_malloc_tune"):
    lib.tge_malloc_tune(32 << 20, 512 << 20)

_CTYPES = {np.dtype(np.float32): ("float", "f32"), np.dtype(np.float64): ("double", "f64")}


def _require():
    if lib is None:
        raise RuntimeError(f"tinygrad_edu: the C kernels are not available ({LOAD_ERROR}); "
                           f"{BUILD_HINT}")


def _contiguous(arr):
    flags = getattr(arr, "flags", None)
    if type(arr) is np.ndarray and flags.c_contiguous and flags.aligned:
        return arr  # the common case, without np.require's argument handling
    return np.require(arr, requirements=("C_CONTIGUOUS", "ALIGNED"))


def _ptr(arr, ctype):
    """A C pointer to the data of the contiguous array `arr` (NULL when it is empty)."""
    if arr.size == 0:
        return ffi.NULL
    return ffi.from_buffer(f"{ctype}[]", arr)


_KERNEL_CACHE = {}


def _kernel(name, dtype):
    """(C type name, compiled function) of kernel ``name`` for ``dtype`` (looked up once)."""
    try:
        return _KERNEL_CACHE[name, dtype]
    except KeyError:
        ctype, suffix = _CTYPES[dtype]
        found = _KERNEL_CACHE[name, dtype] = (ctype, getattr(lib, f"tge_{name}_{suffix}"))
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
# Matrix product
# ------------------------------------------------------------------------------------

def _operand(arr, trans):
    """A C-contiguous array holding `arr` and the transpose flag to pass with it: a
    transposed view of a contiguous array is passed as that array plus the flag."""
    if arr.flags.c_contiguous and arr.flags.aligned:
        return arr, trans
    swapped = arr.swapaxes(-1, -2)
    if swapped.flags.c_contiguous and swapped.flags.aligned:
        return swapped, not trans
    return _contiguous(arr), trans


#: outputs up to this many bytes skip the allocation-limit check (no machine that runs
#: this has less memory): the small products of a training step pay no more than needed
_SMALL_OUTPUT_BYTES = 1 << 26


def _matmul_fast_shape(a, b, trans_a, trans_b):
    """(None, m, n, k) for the common call (2-D float arrays of one dtype, bool flags,
    matching inner sizes, a small output), else None: then the full checks run."""
    if type(a) is not np.ndarray or type(b) is not np.ndarray or a.ndim != 2 or b.ndim != 2 \
            or a.dtype is not b.dtype or a.dtype not in _CTYPES \
            or type(trans_a) is not bool or type(trans_b) is not bool:
        return None
    m, k = (a.shape[1], a.shape[0]) if trans_a else a.shape
    kb, n = (b.shape[1], b.shape[0]) if trans_b else b.shape
    if k != kb or m * n * a.itemsize > _SMALL_OUTPUT_BYTES:
        return None
    return None, m, n, k


def matmul(a, b, trans_a=False, trans_b=False):
    """``op(a) @ op(b)``; shapes and dtypes as in :func:`numpy_ref.matmul`."""
    shape = _matmul_fast_shape(a, b, trans_a, trans_b)
    batch, m, n, k = shape if shape is not None else _ref.check_matmul(a, b, trans_a, trans_b)
    _require()
    c = np.empty((m, n) if batch is None else (batch, m, n), dtype=a.dtype)
    if c.size == 0:
        return c
    a, trans_a = _operand(a, bool(trans_a))
    b, trans_b = _operand(b, bool(trans_b))
    ctype, fn = _kernel("gemm", a.dtype)
    rc = fn(1 if batch is None else batch, m, n, k,
            _ptr(a, ctype), a.size, int(trans_a), _ptr(b, ctype), b.size, int(trans_b),
            _ptr(c, ctype), c.size)
    _check_rc(rc, "matmul", f"a {a.shape} @ b {b.shape}")
    return c


# ------------------------------------------------------------------------------------
# Convolution
# ------------------------------------------------------------------------------------

def _conv_params(x_shape, w_shape, stride, padding, y_shape):
    n, c, h, w = x_shape
    o, _, kh, kw = w_shape
    return ffi.new("tge_conv2d_params *", {
        "n": n, "c": c, "h": h, "w": w, "o": o, "kh": kh, "kw": kw,
        "sh": stride[0], "sw": stride[1], "ph": padding[0], "pw": padding[1],
        "oh": y_shape[2], "ow": y_shape[3]})


def conv2d_forward(x, w, b, stride, padding):
    """Convolution forward; shapes as in :func:`numpy_ref.conv2d_forward`."""
    stride, padding, y_shape = _ref.check_conv2d_forward(x, w, b, stride, padding)
    _require()
    y = np.empty(y_shape, dtype=x.dtype)
    if y.size == 0:
        return y
    x, w = _contiguous(x), _contiguous(w)
    ctype, fn = _kernel("conv2d_forward", x.dtype)
    if b is None:
        bias, bias_len = ffi.NULL, 0
    else:
        b = _contiguous(b)
        bias, bias_len = _ptr(b, ctype), b.size
    params = _conv_params(x.shape, w.shape, stride, padding, y_shape)
    rc = fn(params, _ptr(x, ctype), x.size, _ptr(w, ctype), w.size, bias, bias_len,
            _ptr(y, ctype), y.size)
    _check_rc(rc, "conv2d", f"x {x.shape}, weight {w.shape}, stride {stride}, "
                            f"padding {padding}")
    return y


def conv2d_backward_input(gy, w, x_shape, stride, padding):
    """Convolution gradient for x; shapes as in :func:`numpy_ref.conv2d_backward_input`."""
    x_shape, stride, padding, y_shape = _ref.check_conv2d_backward_input(
        gy, w, x_shape, stride, padding)
    _require()
    gx = np.empty(x_shape, dtype=gy.dtype)
    if gx.size == 0:
        return gx
    gy, w = _contiguous(gy), _contiguous(w)
    ctype, fn = _kernel("conv2d_backward_input", gy.dtype)
    params = _conv_params(x_shape, w.shape, stride, padding, y_shape)
    rc = fn(params, _ptr(gy, ctype), gy.size, _ptr(w, ctype), w.size, _ptr(gx, ctype),
            gx.size)
    _check_rc(rc, "conv2d_backward_input",
              f"gy {gy.shape}, weight {w.shape}, x_shape {x_shape}")
    return gx


def conv2d_backward_weight(gy, x, w_shape, stride, padding):
    """Convolution gradient for the weight; shapes as in
    :func:`numpy_ref.conv2d_backward_weight`."""
    w_shape, stride, padding, y_shape = _ref.check_conv2d_backward_weight(
        gy, x, w_shape, stride, padding)
    _require()
    gw = np.empty(w_shape, dtype=gy.dtype)
    if gw.size == 0:
        return gw
    gy, x = _contiguous(gy), _contiguous(x)
    ctype, fn = _kernel("conv2d_backward_weight", gy.dtype)
    params = _conv_params(x.shape, w_shape, stride, padding, y_shape)
    rc = fn(params, _ptr(gy, ctype), gy.size, _ptr(x, ctype), x.size, _ptr(gw, ctype),
            gw.size)
    _check_rc(rc, "conv2d_backward_weight",
              f"gy {gy.shape}, x {x.shape}, w_shape {w_shape}")
    return gw


# ------------------------------------------------------------------------------------
# Pooling
# ------------------------------------------------------------------------------------

def _pool_params(x_shape, kernel_size, stride, padding, y_shape):
    n, c, h, w = x_shape
    return ffi.new("tge_pool2d_params *", {
        "n": n, "c": c, "h": h, "w": w, "kh": kernel_size[0], "kw": kernel_size[1],
        "sh": stride[0], "sw": stride[1], "ph": padding[0], "pw": padding[1],
        "oh": y_shape[2], "ow": y_shape[3]})


def max_pool2d_forward(x, kernel_size, stride, padding):
    """Max pooling -> (y, indices); as in :func:`numpy_ref.max_pool2d_forward`."""
    kernel_size, stride, padding, y_shape = _ref.check_pool2d_forward(
        "max_pool2d", x, kernel_size, stride, padding)
    _require()
    y = np.empty(y_shape, dtype=x.dtype)
    indices = np.empty(y_shape, dtype=np.int64)
    if y.size == 0:
        return y, indices
    x = _contiguous(x)
    ctype, fn = _kernel("max_pool2d_forward", x.dtype)
    params = _pool_params(x.shape, kernel_size, stride, padding, y_shape)
    rc = fn(params, _ptr(x, ctype), x.size, _ptr(y, ctype), y.size,
            _ptr(indices, "int64_t"), indices.size)
    _check_rc(rc, "max_pool2d", f"x {x.shape}, kernel {kernel_size}, stride {stride}, "
                                f"padding {padding}")
    return y, indices


def max_pool2d_backward(gy, indices, x_shape):
    """Max pooling gradient; as in :func:`numpy_ref.max_pool2d_backward`."""
    x_shape = _ref.check_max_pool2d_backward(gy, indices, x_shape)
    _require()
    gx = np.empty(x_shape, dtype=gy.dtype)
    if gx.size == 0:
        return gx
    gy, indices = _contiguous(gy), _contiguous(indices)
    ctype, fn = _kernel("max_pool2d_backward", gy.dtype)
    n, c, h, w = x_shape
    rc = fn(n * c, h * w, gy.shape[2] * gy.shape[3], _ptr(gy, ctype), gy.size,
            _ptr(indices, "int64_t"), indices.size, _ptr(gx, ctype), gx.size)
    _check_rc(rc, "max_pool2d_backward", f"gy {gy.shape}, x_shape {x_shape}")
    return gx


def avg_pool2d_forward(x, kernel_size, stride, padding):
    """Average pooling; as in :func:`numpy_ref.avg_pool2d_forward`."""
    kernel_size, stride, padding, y_shape = _ref.check_pool2d_forward(
        "avg_pool2d", x, kernel_size, stride, padding)
    _require()
    y = np.empty(y_shape, dtype=x.dtype)
    if y.size == 0:
        return y
    x = _contiguous(x)
    ctype, fn = _kernel("avg_pool2d_forward", x.dtype)
    params = _pool_params(x.shape, kernel_size, stride, padding, y_shape)
    rc = fn(params, _ptr(x, ctype), x.size, _ptr(y, ctype), y.size)
    _check_rc(rc, "avg_pool2d", f"x {x.shape}, kernel {kernel_size}, stride {stride}, "
                                f"padding {padding}")
    return y


def avg_pool2d_backward(gy, x_shape, kernel_size, stride, padding):
    """Average pooling gradient; as in :func:`numpy_ref.avg_pool2d_backward`."""
    x_shape, kernel_size, stride, padding, y_shape = _ref.check_avg_pool2d_backward(
        gy, x_shape, kernel_size, stride, padding)
    _require()
    gx = np.empty(x_shape, dtype=gy.dtype)
    if gx.size == 0:
        return gx
    gy = _contiguous(gy)
    ctype, fn = _kernel("avg_pool2d_backward", gy.dtype)
    params = _pool_params(x_shape, kernel_size, stride, padding, y_shape)
    rc = fn(params, _ptr(gy, ctype), gy.size, _ptr(gx, ctype), gx.size)
    _check_rc(rc, "avg_pool2d_backward", f"gy {gy.shape}, x_shape {x_shape}")
    return gx


# ------------------------------------------------------------------------------------
# Activations
# ------------------------------------------------------------------------------------

def gelu_forward(x):
    """The exact GELU, y = x * Phi(x); as in :func:`numpy_ref.gelu_forward`."""
    _ref.check_arrays("gelu_forward", x=x)
    _require()
    y = np.empty(x.shape, dtype=x.dtype)
    if y.size == 0:
        return y
    x = _contiguous(x)
    ctype, fn = _kernel("gelu_forward", x.dtype)
    rc = fn(x.size, _ptr(x, ctype), x.size, _ptr(y, ctype), y.size)
    _check_rc(rc, "gelu_forward", f"x {x.shape}")
    return y


def gelu_backward(gy, x):
    """gx = gy * (Phi(x) + x * phi(x)); as in :func:`numpy_ref.gelu_backward`."""
    _ref.check_gelu_backward(gy, x)
    _require()
    gx = np.empty(x.shape, dtype=x.dtype)
    if gx.size == 0:
        return gx
    gy, x = _contiguous(gy), _contiguous(x)
    ctype, fn = _kernel("gelu_backward", x.dtype)
    rc = fn(x.size, _ptr(gy, ctype), gy.size, _ptr(x, ctype), x.size, _ptr(gx, ctype), gx.size)
    _check_rc(rc, "gelu_backward", f"gy {gy.shape}, x {x.shape}")
    return gx


# ------------------------------------------------------------------------------------
# One LSTM layer over a whole sequence
# ------------------------------------------------------------------------------------

def _lstm_params(s, n, h, reverse):
    return ffi.new("tge_lstm_params *", {"steps": s, "batch": n, "hidden": h,
                                         "reverse": 1 if reverse else 0})


def lstm_forward(xw, w_hh, h0, c0, reverse=False):
    """One LSTM layer -> (out, c_all, gates); as in :func:`numpy_ref.lstm_forward`."""
    s, n, h = _ref.check_lstm("lstm_forward", xw, w_hh, h0, c0)
    _require()
    xw, w_hh, h0, c0 = (_contiguous(a) for a in (xw, w_hh, h0, c0))
    out = np.empty((s, n, h), xw.dtype)
    c_all = np.empty((s, n, h), xw.dtype)
    gates = np.empty(xw.shape, xw.dtype)
    ctype, fn = _kernel("lstm_forward", xw.dtype)
    rc = fn(_lstm_params(s, n, h, reverse), _ptr(xw, ctype), xw.size, _ptr(w_hh, ctype),
            w_hh.size, _ptr(h0, ctype), h0.size, _ptr(c0, ctype), c0.size, _ptr(out, ctype),
            out.size, _ptr(c_all, ctype), c_all.size, _ptr(gates, ctype), gates.size)
    _check_rc(rc, "lstm_forward", f"xw {xw.shape}, w_hh {w_hh.shape}")
    return out, c_all, gates


def lstm_backward(w_hh, h0, c0, out, c_all, gates, g_out, g_cn=None, reverse=False):
    """Gradients of :func:`lstm_forward`; as in :func:`numpy_ref.lstm_backward`."""
    s, n, h = _ref.check_lstm_backward(w_hh, h0, c0, out, c_all, gates, g_out, g_cn)
    _require()
    arrays = [_contiguous(a) for a in (w_hh, h0, c0, out, c_all, gates, g_out)]
    g_cn = None if g_cn is None else _contiguous(g_cn)
    g_xw = np.empty(gates.shape, gates.dtype)
    g_h0 = np.empty((n, h), gates.dtype)
    g_c0 = np.empty((n, h), gates.dtype)
    g_w_hh = np.empty(w_hh.shape, gates.dtype)
    ctype, fn = _kernel("lstm_backward", gates.dtype)
    args = [_lstm_params(s, n, h, reverse)]
    for a in arrays:
        args += [_ptr(a, ctype), a.size]
    args += [ffi.NULL, 0] if g_cn is None else [_ptr(g_cn, ctype), g_cn.size]
    for a in (g_xw, g_h0, g_c0, g_w_hh):
        args += [_ptr(a, ctype), a.size]
    _check_rc(fn(*args), "lstm_backward", f"gates {gates.shape}, w_hh {w_hh.shape}")
    return g_xw, g_h0, g_c0, g_w_hh


# ------------------------------------------------------------------------------------
# Rectifier
# ------------------------------------------------------------------------------------

def relu_forward(x):
    """y = x * (x > 0); as in :func:`numpy_ref.relu_forward`."""
    _ref.check_arrays("relu_forward", x=x)
    _require()
    y = np.empty(x.shape, dtype=x.dtype)
    if y.size == 0:
        return y
    x = _contiguous(x)
    ctype, fn = _kernel("relu_forward", x.dtype)
    _check_rc(fn(x.size, _ptr(x, ctype), x.size, _ptr(y, ctype), y.size), "relu_forward",
              f"x {x.shape}")
    return y


def relu_backward(gy, x):
    """gx = gy * (x > 0); as in :func:`numpy_ref.relu_backward`."""
    _ref.check_same_shape("relu_backward", gy=gy, x=x)
    _require()
    gx = np.empty(x.shape, dtype=x.dtype)
    if gx.size == 0:
        return gx
    gy, x = _contiguous(gy), _contiguous(x)
    ctype, fn = _kernel("relu_backward", x.dtype)
    rc = fn(x.size, _ptr(gy, ctype), gy.size, _ptr(x, ctype), x.size, _ptr(gx, ctype), gx.size)
    _check_rc(rc, "relu_backward", f"gy {gy.shape}, x {x.shape}")
    return gx


# ------------------------------------------------------------------------------------
# Optimizer steps over all parameters of a group (csrc/optim.c; the reference is the
# optimizers' own `_update`, in tinygrad_edu/optim)
# ------------------------------------------------------------------------------------

def _optim_arrays(op, dtype, groups):
    """Check that every array of each list is a C-contiguous, writeable (except the
    gradients) ndarray of ``dtype`` shaped like its parameter; return the sizes."""
    params = groups[0][1]
    sizes = [p.size for p in params]
    for name, arrays, writeable in groups:
        if len(arrays) != len(params):
            raise ValueError(f"{op}: {len(arrays)} {name} for {len(params)} parameters")
        for i, a in enumerate(arrays):
            if not isinstance(a, np.ndarray) or a.dtype != dtype or not a.flags.c_contiguous \
                    or a.shape != params[i].shape or (writeable and not a.flags.writeable):
                raise ValueError(f"{op}: {name}[{i}] must be a C-contiguous "
                                 f"{'writeable ' if writeable else ''}{dtype} array shaped "
                                 f"{params[i].shape}, got {_ref._describe(a)}")
    return sizes


def _optim_flags(op, name, values, count, minimum):
    """One int per parameter, each >= minimum: C reads ``count`` of them, so a shorter list
    would be read past its end (found by the fuzzer, tests/fuzz)."""
    try:
        values = [int(v) for v in values]
    except TypeError:
        raise TypeError(f"{op}: {name} must be a list of ints, got {values!r}") from None
    if len(values) != count:
        raise ValueError(f"{op}: {len(values)} {name} for {count} parameters")
    if any(v < minimum for v in values):
        raise ValueError(f"{op}: every entry of {name} must be >= {minimum}, got {values}")
    return values


def _pointer_array(ctype, arrays):
    return ffi.new(f"{ctype} *[]", [_ptr(a, ctype) for a in arrays])


# The pointer arrays of an optimizer's persistent arrays (parameters and state), built once
# and reused while the same array objects come back (keyed by their ids; the cache holds
# the arrays, so no id can be reused by another array while its entry lives, and NumPy
# refuses to resize an array in place while another reference to it exists).
_PERSISTENT = {}
_PERSISTENT_MAX = 16
# two threads stepping optimizers at once: without it, one could evict (pop(next(iter)))
# while the other inserts, "dictionary changed size during iteration"
_PERSISTENT_LOCK = threading.Lock()


def _persistent_pointers(op, dtype, ctype, named_lists):
    """(sizes cdata, [pointer array per list]) for lists of persistent arrays, checked
    the first time a set of arrays is seen."""
    key = (op, dtype) + tuple(id(a) for _, arrays in named_lists for a in arrays)
    with _PERSISTENT_LOCK:
        entry = _PERSISTENT.get(key)
        if entry is None:
            sizes = _optim_arrays(op, dtype,
                                  [(name, arrays, True) for name, arrays in named_lists])
            if len(_PERSISTENT) >= _PERSISTENT_MAX:
                _PERSISTENT.pop(next(iter(_PERSISTENT)))
            entry = _PERSISTENT[key] = (
                [list(arrays) for _, arrays in named_lists], sizes, ffi.new("int64_t[]", sizes),
                [_pointer_array(ctype, arrays) for _, arrays in named_lists])
    return entry[1], entry[2], entry[3]


def _grad_pointers(op, dtype, ctype, params, grads, sizes):
    if len(grads) != len(params):
        raise ValueError(f"{op}: {len(grads)} grads for {len(params)} parameters")
    for i, g in enumerate(grads):
        if type(g) is not np.ndarray or g.dtype != dtype or not g.flags.c_contiguous \
                or g.size != sizes[i] or g.shape != params[i].shape:
            raise ValueError(f"{op}: grads[{i}] must be a C-contiguous {dtype} array shaped "
                             f"{params[i].shape}, got {_ref._describe(g)}")
    return _pointer_array(ctype, grads)


def adam_step(hp, params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps):
    """Adam / AdamW on every array of ``params`` in place, in one C call.

    hp: dict with lr, betas, eps, weight_decay, amsgrad, maximize and decoupled (AdamW);
    params, grads, exp_avgs, exp_avg_sqs (and max_exp_avg_sqs when amsgrad, else None):
    lists of C-contiguous arrays of one float dtype, each list entry shaped like its
    parameter; steps: the step number of each parameter after this update (>= 1).
    Same arithmetic as optim.Adam._update.
    """
    _require()
    if not params:
        return
    dtype = params[0].dtype
    if dtype not in _CTYPES:
        raise TypeError(f"adam_step: parameters must be float32 or float64, got {dtype}")
    lists = [("params", params), ("exp_avgs", exp_avgs), ("exp_avg_sqs", exp_avg_sqs)]
    if hp["amsgrad"]:
        lists.append(("max_exp_avg_sqs", max_exp_avg_sqs))
    ctype, fn = _kernel("adam_step", dtype)
    sizes, c_sizes, ptrs = _persistent_pointers("adam_step", dtype, ctype, lists)
    c_grads = _grad_pointers("adam_step", dtype, ctype, params, grads, sizes)
    steps = _optim_flags("adam_step", "steps", steps, len(params), minimum=1)
    beta1, beta2 = (float(b) for b in hp["betas"])
    c_hp = ffi.new("tge_adam_params *", {
        "lr": float(hp["lr"]), "beta1": beta1, "beta2": beta2, "eps": float(hp["eps"]),
        "weight_decay": float(hp["weight_decay"]), "decoupled": int(bool(hp["decoupled"])),
        "amsgrad": int(bool(hp["amsgrad"])), "maximize": int(bool(hp["maximize"]))})
    maxes = ptrs[3] if hp["amsgrad"] else ffi.NULL
    rc = fn(c_hp, len(params), ptrs[0], c_grads, ptrs[1], ptrs[2], maxes, c_sizes,
            ffi.new("int64_t[]", steps))
    _check_rc(rc, "adam_step", f"{len(params)} parameters")


def sgd_step(hp, params, grads, momentum_buffers, first):
    """SGD (momentum, dampening, Nesterov, weight decay) on every array of ``params`` in
    place, in one C call.  momentum_buffers: list of arrays (None when momentum is 0);
    first[i]: buffer i is new and is set to the gradient.  Same arithmetic as
    optim.SGD._update."""
    _require()
    if not params:
        return
    dtype = params[0].dtype
    if dtype not in _CTYPES:
        raise TypeError(f"sgd_step: parameters must be float32 or float64, got {dtype}")
    momentum = float(hp["momentum"])
    lists = [("params", params)]
    if momentum != 0:
        lists.append(("momentum_buffers", momentum_buffers))
    ctype, fn = _kernel("sgd_step", dtype)
    sizes, c_sizes, ptrs = _persistent_pointers("sgd_step", dtype, ctype, lists)
    c_grads = _grad_pointers("sgd_step", dtype, ctype, params, grads, sizes)
    if momentum != 0:
        first = _optim_flags("sgd_step", "first", first, len(params), minimum=0)
    c_hp = ffi.new("tge_sgd_params *", {
        "lr": float(hp["lr"]), "momentum": momentum, "dampening": float(hp["dampening"]),
        "weight_decay": float(hp["weight_decay"]), "nesterov": int(bool(hp["nesterov"])),
        "maximize": int(bool(hp["maximize"]))})
    bufs = ptrs[1] if momentum != 0 else ffi.NULL
    flags = ffi.new("int64_t[]", [int(bool(f)) for f in first]) if momentum != 0 else ffi.NULL
    rc = fn(c_hp, len(params), ptrs[0], c_grads, bufs, flags, c_sizes)
    _check_rc(rc, "sgd_step", f"{len(params)} parameters")


# ------------------------------------------------------------------------------------
# Softmax cross-entropy with class targets
# ------------------------------------------------------------------------------------

def softmax_xent_forward(logits, target, ignore_index=-100):
    """(logp, losses); as in :func:`numpy_ref.softmax_xent_forward`."""
    # shapes and dtypes here; the targets are checked by the kernel (TGE_EINDEX, nothing
    # written), and only then, for the message, by the reference check
    _ref.check_softmax_xent("softmax_xent_forward", logits, target)
    _require()
    n, c = logits.shape
    logits, target = _contiguous(logits), _contiguous(target)
    logp = np.empty((n, c), logits.dtype)
    losses = np.empty(n, logits.dtype)
    ctype, fn = _kernel("softmax_xent_forward", logits.dtype)
    rc = fn(n, c, _ptr(logits, ctype), logits.size, _ptr(target, "int64_t"), target.size,
            int(ignore_index), _ptr(logp, ctype), logp.size, _ptr(losses, ctype), losses.size)
    if rc == 5:  # TGE_EINDEX: a target outside [0, C) that is not ignore_index
        _ref.check_softmax_xent("softmax_xent_forward", logits, target, ignore_index=ignore_index)
    _check_rc(rc, "softmax_xent_forward", f"logits {logits.shape}, target values outside "
                                          f"[0, {c}) or ignore_index")
    return logp, losses


def softmax_xent_backward(logp, target, ignore_index, g):
    """glogits; as in :func:`numpy_ref.softmax_xent_backward`."""
    _ref.check_softmax_xent("softmax_xent_backward", logp, target, g)  # targets: as forward
    _require()
    n, c = logp.shape
    logp, target, g = _contiguous(logp), _contiguous(target), _contiguous(g)
    glogits = np.empty((n, c), logp.dtype)
    ctype, fn = _kernel("softmax_xent_backward", logp.dtype)
    rc = fn(n, c, _ptr(logp, ctype), logp.size, _ptr(target, "int64_t"), target.size,
            int(ignore_index), _ptr(g, ctype), g.size, _ptr(glogits, ctype), glogits.size)
    if rc == 5:  # TGE_EINDEX
        _ref.check_softmax_xent("softmax_xent_backward", logp, target, g, ignore_index=ignore_index)
    _check_rc(rc, "softmax_xent_backward", f"logp {logp.shape}")
    return glogits
