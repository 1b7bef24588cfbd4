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
"""
import importlib.util

import numpy as np

from . import numpy_ref as _ref

#: what tge_abi_version() returns in a module built from the current csrc/tge.h
ABI_VERSION = 1

BUILD_HINT = ("build it with `pip install -e .` in the source checkout, or rebuild it "
              "in place with `python -m tinygrad_edu.backends._build`")

_KERNELS = ("gemm", "conv2d_forward", "conv2d_backward_input", "conv2d_backward_weight",
            "max_pool2d_forward", "max_pool2d_backward", "avg_pool2d_forward",
            "avg_pool2d_backward")
_REQUIRED = (["tge_abi_version", "tge_set_num_threads", "tge_get_num_threads",
              "tge_has_openmp", "tge_simd_path"]
             + [f"tge_{k}_{s}" for k in _KERNELS for s in ("f32", "f64")])

#: the TGE_E* return codes of csrc/tge.h
ERRORS = {1: "invalid size or flag", 2: "buffer length does not match the shape",
          3: "size overflow", 4: "out of memory", 5: "index out of range"}


def _load():
    name = f"{__package__}._tge_c"
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

_CTYPES = {np.dtype(np.float32): ("float", "f32"), np.dtype(np.float64): ("double", "f64")}


def _require():
    if lib is None:
        raise RuntimeError(f"tinygrad_edu: the C kernels are not available ({LOAD_ERROR}); "
                           f"{BUILD_HINT}")


def _contiguous(arr):
    return np.require(arr, requirements=("C_CONTIGUOUS", "ALIGNED"))


def _ptr(arr, ctype):
    """A C pointer to the data of the contiguous array `arr` (NULL when it is empty)."""
    if arr.size == 0:
        return ffi.NULL
    return ffi.from_buffer(f"{ctype}[]", arr)


def _kernel(name, dtype):
    ctype, suffix = _CTYPES[dtype]
    return ctype, getattr(lib, f"tge_{name}_{suffix}")


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


def matmul(a, b, trans_a=False, trans_b=False):
    """``op(a) @ op(b)``; shapes and dtypes as in :func:`numpy_ref.matmul`."""
    batch, m, n, k = _ref.check_matmul(a, b, trans_a, trans_b)
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
