"""Elementwise operations: forward and backward of each, side by side.

Binary ops broadcast like NumPy. Their backward must undo the broadcast: if ``a`` of shape
(3, 1) was stretched to (3, 4), every one of the 4 copies contributed to the loss, so the
gradient of ``a`` is the sum over that axis (:func:`unbroadcast`).
"""
from __future__ import annotations


from ..autograd import Function
from ..backends import kernels_for
from ..device import array_module


def unbroadcast(grad, shape: tuple):
    """Sum ``grad`` over the axes that broadcasting added or stretched, giving ``shape``.

    grad: (*broadcast_shape); shape: the input's shape before broadcasting.
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    axes = list(range(extra))
    for i, size in enumerate(shape):
        if size == 1 and grad.shape[extra + i] != 1:
            axes.append(extra + i)
    if axes:
        grad = grad.sum(axis=tuple(axes), keepdims=True)
    return grad.reshape(shape)


# ---------------------------------------------------------------- binary arithmetic
class Add(Function):
    """out = a + b;  da = g,  db = g  (each unbroadcast)."""

    def forward(self, a, b):
        self.a_shape, self.b_shape = a.shape, b.shape
        return a + b

    def backward(self, g):
        return unbroadcast(g, self.a_shape), unbroadcast(g, self.b_shape)


class Sub(Function):
    """out = a - b;  da = g,  db = -g."""

    def forward(self, a, b):
        self.a_shape, self.b_shape = a.shape, b.shape
        return a - b

    def backward(self, g):
        return unbroadcast(g, self.a_shape), unbroadcast(-g, self.b_shape)


class Mul(Function):
    """out = a * b;  da = g * b,  db = g * a."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, g):
        da = unbroadcast(g * self.b, self.a.shape) if self.needs_input_grad[0] else None
        db = unbroadcast(g * self.a, self.b.shape) if self.needs_input_grad[1] else None
        return da, db


class Div(Function):
    """out = a / b;  da = g / b,  db = -g * a / b**2."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return a / b

    def backward(self, g):
        da = unbroadcast(g / self.b, self.a.shape) if self.needs_input_grad[0] else None
        db = (
            unbroadcast(-g * self.a / (self.b * self.b), self.b.shape)
            if self.needs_input_grad[1]
            else None
        )
        return da, db


class Pow(Function):
    """out = a ** b;  da = g * b * a**(b-1),  db = g * out * log(a) (where a > 0)."""

    def forward(self, a, b):
        self.a, self.b = a, b
        self.out = a**b
        return self.out

    def backward(self, g):
        xp = array_module(g)
        da = db = None
        if self.needs_input_grad[0]:
            da = unbroadcast(g * self.b * self.a ** (self.b - 1), self.a.shape)
        if self.needs_input_grad[1]:
            # d(a^b)/db = a^b log a; defined as 0 where a <= 0 (as PyTorch does for a == 0).
            safe_log = xp.log(xp.where(self.a > 0, self.a, 1))
            db = unbroadcast(g * self.out * safe_log, self.b.shape)
        return da, db


class Maximum(Function):
    """out = max(a, b); the gradient goes to the larger input, split equally on ties."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return array_module(a).maximum(a, b)

    def backward(self, g):
        a, b = self.a, self.b
        share_a = (a > b) + 0.5 * (a == b)
        return (
            unbroadcast(g * share_a.astype(g.dtype), a.shape),
            unbroadcast(g * (1 - share_a).astype(g.dtype), b.shape),
        )


class Minimum(Function):
    """out = min(a, b); the gradient goes to the smaller input, split equally on ties."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return array_module(a).minimum(a, b)

    def backward(self, g):
        a, b = self.a, self.b
        share_a = (a < b) + 0.5 * (a == b)
        return (
            unbroadcast(g * share_a.astype(g.dtype), a.shape),
            unbroadcast(g * (1 - share_a).astype(g.dtype), b.shape),
        )


class Where(Function):
    """out = cond ? a : b (cond is a bool array, not differentiated)."""

    def forward(self, a, b, cond=None):
        self.cond, self.a_shape, self.b_shape = cond, a.shape, b.shape
        return array_module(a).where(cond, a, b)

    def backward(self, g):
        zero = g.dtype.type(0)
        return (
            unbroadcast(g * self.cond, self.a_shape) if self.needs_input_grad[0] else None,
            unbroadcast(array_module(g).where(self.cond, zero, g), self.b_shape)
            if self.needs_input_grad[1]
            else None,
        )


# ---------------------------------------------------------------- unary
class Neg(Function):
    """out = -x;  dx = -g."""

    def forward(self, x):
        return -x

    def backward(self, g):
        return (-g,)


class Exp(Function):
    """out = e^x;  dx = g * out."""

    def forward(self, x):
        self.out = array_module(x).exp(x)
        return self.out

    def backward(self, g):
        return (g * self.out,)


class Log(Function):
    """out = ln x;  dx = g / x."""

    def forward(self, x):
        self.x = x
        return array_module(x).log(x)

    def backward(self, g):
        return (g / self.x,)


class Sqrt(Function):
    """out = sqrt(x);  dx = g / (2 out)."""

    def forward(self, x):
        self.out = array_module(x).sqrt(x)
        return self.out

    def backward(self, g):
        return (g / (2 * self.out),)


class Abs(Function):
    """out = |x|;  dx = g * sign(x) (0 at x = 0, as PyTorch)."""

    def forward(self, x):
        self.x = x
        return array_module(x).abs(x)

    def backward(self, g):
        return (g * array_module(g).sign(self.x),)


class Tanh(Function):
    """out = tanh x;  dx = g * (1 - out^2)."""

    def forward(self, x):
        self.out = array_module(x).tanh(x)
        return self.out

    def backward(self, g):
        return (g * (1 - self.out * self.out),)


def stable_sigmoid(x):
    """1 / (1 + e^-x) without overflow: for x < 0 use e^x / (1 + e^x)."""
    xp = array_module(x)
    e = xp.exp(-xp.abs(x))  # in (0, 1], never overflows
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


class Sigmoid(Function):
    """out = 1 / (1 + e^-x);  dx = g * out * (1 - out)."""

    def forward(self, x):
        self.out = stable_sigmoid(x)
        return self.out

    def backward(self, g):
        return (g * self.out * (1 - self.out),)


class ReLU(Function):
    """out = max(x, 0) (0 where x <= 0, so relu(-inf) = 0; NaN stays NaN);  dx = g * (x > 0).

    One pass each way through the kernel table's ``relu_forward`` / ``relu_backward``
    (csrc/relu.c and its twin backends/numpy_ref/relu.py).  The kernels take float arrays;
    an integer tensor is clipped at 0 instead (it has no gradient).
    """

    def forward(self, x):
        self.x = x
        if x.dtype.kind in "biu":
            return x.clip(0, None)
        return kernels_for(x).relu_forward(x)

    def backward(self, g):
        return (kernels_for(g).relu_backward(g.astype(self.x.dtype, copy=False), self.x),)


class LeakyReLU(Function):
    """out = x if x > 0 else slope * x;  dx = g or slope * g."""

    def forward(self, x, negative_slope=0.01):
        self.mask = x > 0
        self.slope = negative_slope
        return array_module(x).where(self.mask, x, x * x.dtype.type(negative_slope))

    def backward(self, g):
        return (array_module(g).where(self.mask, g, g * g.dtype.type(self.slope)),)


class GELU(Function):
    """Gaussian error linear unit.

    exact ("none"): out = x * Phi(x) with Phi(x) = (1 + erf(x / sqrt 2)) / 2,
                    dx = g * (Phi(x) + x * phi(x)),  phi(x) = e^(-x^2/2) / sqrt(2 pi);
    "tanh":         out = x/2 * (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3),
                    dx = g * (0.5 (1 + t) + x/2 (1 - t^2) sqrt(2/pi) (1 + 3*0.044715 x^2)).

    Each form runs as one fused kernel per pass: ``gelu_forward(x)`` / ``gelu_backward(g, x)``
    (docs/tutorials/08_writing_a_c_kernel.md) and ``gelu_tanh_forward`` / ``gelu_tanh_backward``
    (csrc/gelu_tanh.c, GPT-2's activation) of the kernel table.
    """

    def forward(self, x, approximate="none"):
        self.x, self.approximate = x, approximate
        if approximate == "tanh":
            return kernels_for(x).gelu_tanh_forward(x)   # out = x/2 (1 + tanh(u))
        return kernels_for(x).gelu_forward(x)       # out = x * Phi(x)

    def backward(self, g):
        x = self.x
        if self.approximate == "tanh":
            return (kernels_for(g).gelu_tanh_backward(g.astype(x.dtype, copy=False), x),)
        # dx = g * (Phi(x) + x * phi(x)), phi(x) = e^(-x^2/2) / sqrt(2 pi)
        return (kernels_for(g).gelu_backward(g.astype(x.dtype, copy=False), x),)


class Clip(Function):
    """out = min(max(x, lo), hi);  dx = g inside [lo, hi], 0 outside (None = no bound)."""

    def forward(self, x, lo=None, hi=None):
        xp = array_module(x)
        self.mask = xp.ones(x.shape, dtype=bool)
        if lo is not None:
            self.mask &= x >= lo
        if hi is not None:
            self.mask &= x <= hi
        return xp.clip(x, lo, hi).astype(x.dtype, copy=False)

    def backward(self, g):
        return (g * self.mask,)


class Cast(Function):
    """out = x converted to ``dtype``;  dx = g converted back to x's dtype."""

    def forward(self, x, dtype=None):
        self.in_dtype = x.dtype
        return x.astype(dtype)

    def backward(self, g):
        return (g.astype(self.in_dtype),)
