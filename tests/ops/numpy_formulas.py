"""The forward value of every op of tests/ops/test_ops.py as a plain NumPy formula.

``check_op(..., numpy_ref=FORMULAS[name])`` compares our forward pass with these on every run,
so that forward values are checked even where PyTorch is not installed (PyTorch, when present,
checks forward and gradients a second time). The formulas are written from the definitions,
loops where that is clearer, independent of the library's kernels.
"""
import math

import numpy as np

_erf = np.vectorize(math.erf)


def softmax(a, axis):
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(a, axis):
    shifted = a - a.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def conv2d(x, w, b=None, stride=1, padding=0):
    """x (N, C, H, W) or (C, H, W), w (O, C, KH, KW) -> (N, O, OH, OW): a loop over positions."""
    unbatched = x.ndim == 3
    x = x[None] if unbatched else x
    sh, sw = (stride, stride) if np.isscalar(stride) else stride
    ph, pw = (padding, padding) if np.isscalar(padding) else padding
    x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    n, _, h, wd = x.shape
    o, _, kh, kw = w.shape
    oh, ow = (h - kh) // sh + 1, (wd - kw) // sw + 1
    out = np.zeros((n, o, oh, ow), dtype=x.dtype)
    for i in range(oh):
        for j in range(ow):
            patch = x[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw]
            out[:, :, i, j] = np.einsum("nckl,ockl->no", patch, w)
    if b is not None:
        out += b[None, :, None, None]
    return out[0] if unbatched else out


def pool2d(x, kernel, stride=None, padding=0, kind="max"):
    """x (N, C, H, W) -> (N, C, OH, OW); padding counts as -inf (max) or 0 (average, in the count)."""
    kh, kw = (kernel, kernel) if np.isscalar(kernel) else kernel
    stride = (kh, kw) if stride is None else stride
    sh, sw = (stride, stride) if np.isscalar(stride) else stride
    ph, pw = (padding, padding) if np.isscalar(padding) else padding
    fill = -np.inf if kind == "max" else 0.0
    x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    oh, ow = (x.shape[2] - kh) // sh + 1, (x.shape[3] - kw) // sw + 1
    out = np.zeros(x.shape[:2] + (oh, ow), dtype=x.dtype)
    for i in range(oh):
        for j in range(ow):
            window = x[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw]
            out[:, :, i, j] = window.max(axis=(2, 3)) if kind == "max" else window.mean(axis=(2, 3))
    return out


def layer_norm(x, axes, w=None, b=None, eps=1e-5):
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    y = (x - mean) / np.sqrt(var + eps)
    return y * (1 if w is None else w) + (0 if b is None else b)


def sdpa(q, k, v, mask=None, causal=False):
    """softmax(q k^T / sqrt(d) + mask) v; a bool mask is True where attention is allowed."""
    scores = q @ np.swapaxes(k, -1, -2) / math.sqrt(q.shape[-1])
    if causal:
        mask = np.tril(np.ones(scores.shape[-2:], dtype=bool))
    if mask is not None:
        scores = np.where(mask, scores, -np.inf) if mask.dtype == bool else scores + mask
    return softmax(scores, -1) @ v


def reduce(values, reduction):
    return {"mean": values.mean(), "sum": values.sum(), "none": values}[reduction]


def cross_entropy(x, targets, reduction="mean", ignore_index=-100):
    """x (N, C) or (N, C, d); integer targets (N,) / (N, d), or probabilities like x."""
    logp = log_softmax(x, 1)
    if targets.dtype.kind == "f":
        return reduce(-(targets * logp).sum(axis=1), reduction)
    keep = targets != ignore_index
    safe = np.where(keep, targets, 0)
    picked = -np.take_along_axis(logp, np.expand_dims(safe, 1), axis=1).squeeze(1) * keep
    if reduction == "mean":
        return picked.sum() / keep.sum()
    return reduce(picked, reduction)


def nll_loss(logp, targets, reduction="mean"):
    return reduce(-logp[np.arange(len(targets)), targets], reduction)


def bce(p, t, reduction="mean"):
    return reduce(-(t * np.log(p) + (1 - t) * np.log(1 - p)), reduction)


def bce_logits(x, t):
    return bce(sigmoid(x), t)


FORMULAS = {
    # elementwise
    "add": lambda a, b: a + b, "add_broadcast": lambda a, b: a + b, "radd_scalar": lambda a: 2.5 + a,
    "sub_broadcast": lambda a, b: a - b, "rsub_scalar": lambda a: 1.0 - a,
    "mul_broadcast": lambda a, b: a * b, "div": lambda a, b: a / b, "rdiv_scalar": lambda a: 2.0 / a,
    "pow_scalar": lambda a: a ** 3, "pow_tensor": lambda a, b: a ** b, "rpow": lambda a: 2.0 ** a,
    "neg": lambda a: -a, "maximum": np.maximum, "minimum": np.minimum, "exp": np.exp, "log": np.log,
    "sqrt": np.sqrt, "abs": np.abs, "tanh": np.tanh, "sigmoid": sigmoid,
    "relu": lambda a: np.maximum(a, 0), "clip": lambda a: np.clip(a, -0.5, 0.7),
    "clip_lo": lambda a: np.maximum(a, 0.1),
    # reductions
    "sum_all": lambda a: a.sum(), "sum_axis": lambda a: a.sum(axis=1),
    "sum_axes_keep": lambda a: a.sum(axis=(0, 2), keepdims=True), "mean_all": lambda a: a.mean(),
    "mean_axis": lambda a: a.mean(axis=-1), "max_all": lambda a: a.max(), "max_axis": lambda a: a.max(axis=0),
    "min_axis_keep": lambda a: a.min(axis=1, keepdims=True), "var_all": lambda a: a.var(ddof=1),
    "var_axis": lambda a: a.var(axis=1, ddof=1), "var_biased": lambda a: a.var(axis=0),
    "std": lambda a: a.std(axis=1, ddof=1), "softmax": lambda a: softmax(a, -1),
    "softmax_axis0": lambda a: softmax(a, 0), "log_softmax": lambda a: log_softmax(a, -1),
    # movement
    "reshape": lambda a: a.reshape(4, -1), "view_tuple": lambda a: a.reshape(6, 4),
    "transpose": lambda a: a.swapaxes(0, 2), "permute": lambda a: a.transpose(2, 0, 1), "T": lambda a: a.T,
    "flatten": lambda a: a.reshape(a.shape[0], -1), "squeeze": lambda a: a.squeeze(1),
    "squeeze_all": lambda a: a.squeeze(), "unsqueeze": lambda a: a[..., None],
    "expand": lambda a: np.broadcast_to(a, (2, 3, 4)), "expand_minus1": lambda a: np.broadcast_to(a, (5, 3)),
    "getitem_int": lambda a: a[1], "getitem_slices": lambda a: a[:, 1:3, ::2],
    "getitem_none_ellipsis": lambda a: a[None, ..., 0], "getitem_negative": lambda a: a[-1, -2:],
    "getitem_gather_repeat": lambda a: a[[0, 2, 0, 0]], "getitem_gather_2d": lambda a: a[[0, 1], [2, 2]],
    "getitem_bool": lambda a: a[a > 0], "pad": lambda a: np.pad(a, ((1, 0), (2, 1))),
    "pad_value": lambda a: np.pad(a, ((0, 0), (1, 1)), constant_values=2.0),
    "F_pad": lambda a: np.pad(a, ((0, 0), (0, 0), (1, 2))),
    "cat": lambda a, b: np.concatenate([a, b], axis=1), "stack": lambda a, b: np.stack([a, b], axis=1),
    "where": lambda a, b: np.where(a > b, a, b * 2), "where_broadcast": lambda a, b: np.where(a > 0, a, b),
    "matmul": np.matmul,
    # nn.functional
    "leaky_relu": lambda a: np.where(a > 0, a, 0.2 * a),
    "gelu": lambda a: 0.5 * a * (1 + _erf(a / math.sqrt(2))),
    "gelu_tanh": lambda a: 0.5 * a * (1 + np.tanh(math.sqrt(2 / math.pi) * (a + 0.044715 * a ** 3))),
    "F.sigmoid": sigmoid, "F.tanh": np.tanh, "F.softmax": lambda a: softmax(a, 1),
    "F.log_softmax": lambda a: log_softmax(a, -1),
    "linear": lambda x, w, b: x @ w.T + b, "linear_3d_nobias": lambda x, w: x @ w.T,
    "conv2d": conv2d, "conv2d_stride_pad": lambda x, w: conv2d(x, w, stride=2, padding=1),
    "conv2d_asym": lambda x, w, b: conv2d(x, w, b, stride=(1, 2), padding=(2, 0)),
    "conv2d_1x1": conv2d, "conv2d_unbatched": lambda x, w: conv2d(x, w, padding=1),
    "max_pool2d": lambda x: pool2d(x, 2), "max_pool2d_stride_pad": lambda x: pool2d(x, 3, 2, 1),
    "avg_pool2d": lambda x: pool2d(x, 2, kind="avg"),
    "avg_pool2d_stride_pad": lambda x: pool2d(x, (3, 2), (2, 1), 1, kind="avg"),
    "layer_norm": lambda x, w, b: layer_norm(x, (-1,), w, b),
    "layer_norm_2axes": lambda x: layer_norm(x, (-2, -1), eps=1e-3),
    "sdpa": sdpa, "sdpa_causal": lambda q, k, v: sdpa(q, k, v, causal=True),
    "mse": lambda a, b: ((a - b) ** 2).mean(), "mse_sum": lambda a, b: ((a - b) ** 2).sum(),
    "mse_none": lambda a, b: (a - b) ** 2, "bce": bce, "bce_none": lambda p, t: bce(p, t, "none"),
    "bce_logits": bce_logits, "l1": lambda a, b: np.abs(a - b).mean(),
}
