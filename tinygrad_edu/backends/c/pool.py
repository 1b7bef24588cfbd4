"""C wrappers of max and average pooling (csrc/pool.c)."""
import numpy as np

from .. import c as C
from ..numpy_ref.pool import pool2d_output_shape


def _params(x_shape, kernel_size, stride, padding, y_shape):
    n, c, h, w = x_shape
    return C.ffi.new("tge_pool2d_params *", {
        "n": n, "c": c, "h": h, "w": w, "kh": kernel_size[0], "kw": kernel_size[1],
        "sh": stride[0], "sw": stride[1], "ph": padding[0], "pw": padding[1],
        "oh": y_shape[2], "ow": y_shape[3]})


def max_pool2d_forward(x, kernel_size, stride, padding):
    """Max pooling -> (y, indices); see numpy_ref.max_pool2d_forward."""
    C._require()
    y_shape = pool2d_output_shape(x.shape, kernel_size, stride, padding)
    y = np.empty(y_shape, dtype=x.dtype)
    indices = np.empty(y_shape, dtype=np.int64)
    if y.size == 0:
        return y, indices
    x = C._contiguous(x)
    ctype, fn = C._kernel("max_pool2d_forward", x.dtype)
    rc = fn(_params(x.shape, kernel_size, stride, padding, y_shape), C._ptr(x, ctype), x.size,
            C._ptr(y, ctype), y.size, C._ptr(indices, "int64_t"), indices.size)
    C._check_rc(rc, "max_pool2d", f"x {x.shape}, kernel {kernel_size}, stride {stride}, "
                                  f"padding {padding}")
    return y, indices


def max_pool2d_backward(gy, indices, x_shape):
    """Max pooling gradient; see numpy_ref.max_pool2d_backward."""
    C._require()
    gx = np.empty(x_shape, dtype=gy.dtype)
    if gx.size == 0:
        return gx
    gy, indices = C._contiguous(gy), C._contiguous(indices)
    ctype, fn = C._kernel("max_pool2d_backward", gy.dtype)
    n, c, h, w = x_shape
    rc = fn(n * c, h * w, gy.shape[2] * gy.shape[3], C._ptr(gy, ctype), gy.size,
            C._ptr(indices, "int64_t"), indices.size, C._ptr(gx, ctype), gx.size)
    C._check_rc(rc, "max_pool2d_backward", f"gy {gy.shape}, x_shape {x_shape}")
    return gx


def avg_pool2d_forward(x, kernel_size, stride, padding):
    """Average pooling; see numpy_ref.avg_pool2d_forward."""
    C._require()
    y_shape = pool2d_output_shape(x.shape, kernel_size, stride, padding)
    y = np.empty(y_shape, dtype=x.dtype)
    if y.size == 0:
        return y
    x = C._contiguous(x)
    ctype, fn = C._kernel("avg_pool2d_forward", x.dtype)
    rc = fn(_params(x.shape, kernel_size, stride, padding, y_shape), C._ptr(x, ctype), x.size,
            C._ptr(y, ctype), y.size)
    C._check_rc(rc, "avg_pool2d", f"x {x.shape}, kernel {kernel_size}, stride {stride}, "
                                  f"padding {padding}")
    return y


def avg_pool2d_backward(gy, x_shape, kernel_size, stride, padding):
    """Average pooling gradient; see numpy_ref.avg_pool2d_backward."""
    C._require()
    gx = np.empty(x_shape, dtype=gy.dtype)
    if gx.size == 0:
        return gx
    gy = C._contiguous(gy)
    ctype, fn = C._kernel("avg_pool2d_backward", gy.dtype)
    rc = fn(_params(x_shape, kernel_size, stride, padding, gy.shape), C._ptr(gy, ctype),
            gy.size, C._ptr(gx, ctype), gx.size)
    C._check_rc(rc, "avg_pool2d_backward", f"gy {gy.shape}, x_shape {x_shape}")
    return gx
