"""C wrappers of the convolution (csrc/conv.c): forward and both gradients."""
import numpy as np

from .. import c as C
from ..numpy_ref.conv import conv2d_output_shape


def _params(x_shape, w_shape, stride, padding, y_shape):
    n, c, h, w = x_shape
    o, _, kh, kw = w_shape
    return C.ffi.new("tge_conv2d_params *", {
        "n": n, "c": c, "h": h, "w": w, "o": o, "kh": kh, "kw": kw,
        "sh": stride[0], "sw": stride[1], "ph": padding[0], "pw": padding[1],
        "oh": y_shape[2], "ow": y_shape[3]})


def conv2d_forward(x, w, b, stride, padding):
    """Convolution forward (checked by the contract); see numpy_ref.conv2d_forward."""
    C._require()
    y_shape = conv2d_output_shape(x.shape, w.shape, stride, padding)
    y = np.empty(y_shape, dtype=x.dtype)
    if y.size == 0:
        return y
    x, w = C._contiguous(x), C._contiguous(w)
    ctype, fn = C._kernel("conv2d_forward", x.dtype)
    if b is None:
        bias, bias_len = C.ffi.NULL, 0
    else:
        b = C._contiguous(b)
        bias, bias_len = C._ptr(b, ctype), b.size
    rc = fn(_params(x.shape, w.shape, stride, padding, y_shape), C._ptr(x, ctype), x.size,
            C._ptr(w, ctype), w.size, bias, bias_len, C._ptr(y, ctype), y.size)
    C._check_rc(rc, "conv2d", f"x {x.shape}, weight {w.shape}, stride {stride}, "
                              f"padding {padding}")
    return y


def conv2d_backward_input(gy, w, x_shape, stride, padding):
    """Convolution gradient for x; see numpy_ref.conv2d_backward_input."""
    C._require()
    gx = np.empty(x_shape, dtype=gy.dtype)
    if gx.size == 0:
        return gx
    gy, w = C._contiguous(gy), C._contiguous(w)
    ctype, fn = C._kernel("conv2d_backward_input", gy.dtype)
    rc = fn(_params(x_shape, w.shape, stride, padding, gy.shape), C._ptr(gy, ctype), gy.size,
            C._ptr(w, ctype), w.size, C._ptr(gx, ctype), gx.size)
    C._check_rc(rc, "conv2d_backward_input",
                f"gy {gy.shape}, weight {w.shape}, x_shape {x_shape}")
    return gx


def conv2d_backward_weight(gy, x, w_shape, stride, padding):
    """Convolution gradient for the weight; see numpy_ref.conv2d_backward_weight."""
    C._require()
    gw = np.empty(w_shape, dtype=gy.dtype)
    if gw.size == 0:
        return gw
    gy, x = C._contiguous(gy), C._contiguous(x)
    ctype, fn = C._kernel("conv2d_backward_weight", gy.dtype)
    rc = fn(_params(x.shape, w_shape, stride, padding, gy.shape), C._ptr(gy, ctype), gy.size,
            C._ptr(x, ctype), x.size, C._ptr(gw, ctype), gw.size)
    C._check_rc(rc, "conv2d_backward_weight",
                f"gy {gy.shape}, x {x.shape}, w_shape {w_shape}")
    return gw


def conv2d_winograd(x_shape, w_shape, stride, padding, dtype) -> bool:
    """Whether the three kernels above compute this convolution by Winograd's F(2x2, 3x3)
    (csrc/conv_winograd.inc; inputs with NaN or inf still take the direct path)."""
    C._require()
    y_shape = conv2d_output_shape(x_shape, w_shape, stride, padding)
    params = _params(x_shape, w_shape, stride, padding, y_shape)
    return bool(C.lib.tge_conv2d_winograd(params, np.dtype(dtype).itemsize))
