"""BatchNorm's normalisation and its backward over (N, C, L) (C twin: csrc/batch_norm.c).

The statistics (mean and biased variance per channel C, over N and L) are computed by the
caller (nn.functional.batch_norm, which also updates the running estimates); these kernels
apply them and differentiate through them:

    inv = 1 / sqrt(var + eps),  xhat = (x - mean) * inv,  y = xhat * weight + bias
    gb = sum g,  gw = sum g * xhat                      (over N and L, per channel)
    batch statistics:  gx = inv * weight * (g - gb / M - xhat * gw / M),  M = N * L
    fixed statistics:  gx = inv * weight * g

Written against ``xp``: the same functions are the GPU table's.
"""
from ...device import array_module
from ..contract import check_arrays, describe, kernel


def _check_channels(op, x, **per_channel):
    if x.ndim != 3:
        raise ValueError(f"{op}: x must be (N, C, L), got {describe(x)}")
    c = x.shape[1]
    for name, a in per_channel.items():
        if a.shape != (c,):
            raise ValueError(f"{op}: {name} {describe(a)} should be ({c},) for x {describe(x)}")


def _eps(op, eps) -> float:
    eps = float(eps)
    if not eps >= 0:
        raise ValueError(f"{op}: eps must be >= 0, got {eps}")
    return eps


def check_batch_norm_forward(x, mean, var, weight, bias, eps) -> tuple:
    op = "batch_norm_forward"
    check_arrays(op, x=x, mean=mean, var=var, weight=weight, bias=bias)
    _check_channels(op, x, mean=mean, var=var, weight=weight, bias=bias)
    return x, mean, var, weight, bias, _eps(op, eps)


def check_batch_norm_backward(g, x, mean, var, weight, eps, batch_stats=True) -> tuple:
    op = "batch_norm_backward"
    check_arrays(op, g=g, x=x, mean=mean, var=var, weight=weight)
    _check_channels(op, x, mean=mean, var=var, weight=weight)
    if g.shape != x.shape:
        raise ValueError(f"{op}: g {describe(g)} must have x's shape {tuple(x.shape)}")
    return g, x, mean, var, weight, _eps(op, eps), bool(batch_stats)


@kernel(check_batch_norm_forward)
def batch_norm_forward(x, mean, var, weight, bias, eps):
    """y = (x - mean) / sqrt(var + eps) * weight + bias per channel.  x: (N, C, L);
    mean, var, weight, bias: (C,).  Returns y (N, C, L)."""
    xp = array_module(x)
    inv = 1 / xp.sqrt(var + x.dtype.type(eps))
    scale = (inv * weight).reshape(1, -1, 1)
    shift = (bias - mean * inv * weight).reshape(1, -1, 1)
    return (x * scale + shift).astype(x.dtype, copy=False)


@kernel(check_batch_norm_backward)
def batch_norm_backward(g, x, mean, var, weight, eps, batch_stats=True):
    """Gradients of :func:`batch_norm_forward` (with the statistics themselves functions of x
    when ``batch_stats``).  g, x: (N, C, L).  Returns (gx (N, C, L), gw (C,), gb (C,))."""
    xp = array_module(x)
    inv = (1 / xp.sqrt(var + x.dtype.type(eps))).reshape(1, -1, 1)
    xhat = (x - mean.reshape(1, -1, 1)) * inv
    gb = g.sum(axis=(0, 2))
    gw = (g * xhat).sum(axis=(0, 2))
    scale = inv * weight.reshape(1, -1, 1)
    if batch_stats:
        m = x.shape[0] * x.shape[2]
        gx = scale * (g - (gb / m).reshape(1, -1, 1) - xhat * (gw / m).reshape(1, -1, 1))
    else:
        gx = scale * g
    return gx.astype(x.dtype, copy=False), gw.astype(x.dtype, copy=False), gb.astype(x.dtype, copy=False)
