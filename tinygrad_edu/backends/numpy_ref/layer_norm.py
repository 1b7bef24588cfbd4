"""LayerNorm over the last axis of a (rows, d) matrix (C twin: csrc/layer_norm.c).

    mean = x.mean(1),  rstd = 1 / sqrt(((x - mean)^2).mean(1) + eps)   (biased variance)
    y    = (x - mean) * rstd * weight + bias
    dx   = rstd * (gxhat - mean(gxhat) - xhat * mean(gxhat * xhat)),  gxhat = g * weight
    dweight = sum over rows of g * xhat,  dbias = sum over rows of g

Written against ``xp``: the same functions are the GPU table's.  The op (ops/nn.py
LayerNorm) flattens any leading axes into rows and any normalised axes into d.
"""
import numpy as np

from ...device import array_module
from ..contract import check_arrays, describe, kernel


def _check_rows(op, **arrays):
    for name, a in arrays.items():
        if a is not None and a.ndim != (2 if name in ("x", "g") else 1):
            raise ValueError(f"{op}: {name} must be {'(rows, d)' if name in ('x', 'g') else '1-D'}, "
                             f"got {describe(a)}")


def check_layer_norm_forward(x, weight, bias, eps) -> tuple:
    op = "layer_norm_forward"
    check_arrays(op, x=x, **{k: v for k, v in (("weight", weight), ("bias", bias)) if v is not None})
    _check_rows(op, x=x, weight=weight, bias=bias)
    d = x.shape[1]
    if d < 1:
        raise ValueError(f"{op}: x {describe(x)} has no feature to normalise over")
    for name, a in (("weight", weight), ("bias", bias)):
        if a is not None and a.shape != (d,):
            raise ValueError(f"{op}: {name} {describe(a)} should be ({d},) for x {describe(x)}")
    eps = float(eps)
    if not eps >= 0:
        raise ValueError(f"{op}: eps must be >= 0, got {eps}")
    return x, weight, bias, eps


def check_layer_norm_backward(g, x, weight, mean, rstd, needs=(True, True, True)) -> tuple:
    op = "layer_norm_backward"
    arrays = dict(g=g, x=x, mean=mean, rstd=rstd)
    if weight is not None:
        arrays["weight"] = weight
    check_arrays(op, **arrays)
    _check_rows(op, g=g, x=x, weight=weight, mean=mean, rstd=rstd)
    rows, d = x.shape
    if g.shape != x.shape or mean.shape != (rows,) or rstd.shape != (rows,) or \
            (weight is not None and weight.shape != (d,)):
        raise ValueError(f"{op}: expected g and x (rows, d), mean and rstd (rows,), weight (d,); "
                         f"got g {describe(g)}, x {describe(x)}, mean {describe(mean)}, "
                         f"rstd {describe(rstd)}"
                         f"{'' if weight is None else ', weight ' + describe(weight)}")
    if d < 1:
        raise ValueError(f"{op}: x {describe(x)} has no feature to normalise over")
    needs = tuple(bool(n) for n in needs)
    if len(needs) != 3:
        raise ValueError(f"{op}: needs must hold three flags (x, weight, bias), got {needs}")
    return g, x, weight, mean, rstd, needs


@kernel(check_layer_norm_forward)
def layer_norm_forward(x, weight, bias, eps):
    """x: (rows, d); weight, bias: (d,) or None; eps >= 0.

    Returns (y (rows, d), mean (rows,), rstd (rows,)), all of x's dtype.
    """
    xp = array_module(x)
    # the sums in float64, as the C kernel: a constant row gets its exact mean
    mean = x.mean(axis=1, dtype=np.float64).astype(x.dtype)
    centered = x - mean[:, None]
    var = (centered * centered).mean(axis=1, dtype=np.float64).astype(x.dtype)
    rstd = 1 / xp.sqrt(var + x.dtype.type(eps))
    y = centered * rstd[:, None]
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y, mean, rstd


@kernel(check_layer_norm_backward)
def layer_norm_backward(g, x, weight, mean, rstd, needs=(True, True, True)):
    """g, x: (rows, d); weight: (d,) or None; mean, rstd: (rows,) from forward; needs: which
    of (gx, gweight, gbias) to compute.

    Returns (gx (rows, d) or None, gweight (d,) or None, gbias (d,) or None); gweight is
    None when weight is None.
    """
    xhat = (x - mean[:, None]) * rstd[:, None]
    gxhat = g * weight if weight is not None else g
    gx = gw = gb = None
    if needs[0]:
        gx = (gxhat - gxhat.mean(axis=1, keepdims=True)
              - xhat * (gxhat * xhat).mean(axis=1, keepdims=True)) * rstd[:, None]
    if needs[1] and weight is not None:
        gw = (g * xhat).sum(axis=0)
    if needs[2]:
        gb = g.sum(axis=0)
    return gx, gw, gb
