"""Dropout, embedding, one-hot, normalisation and attention in nn.functional."""
from __future__ import annotations

import math

import numpy as np

from ... import rng
from ...autograd import is_grad_enabled, no_grad
from ...device import array_module, is_cupy_array
from ...ops import nn as NNOps
from ...ops.attention import CausalSelfAttention
from ...ops import normalization as NormOps
from ...tensor import Tensor, where
from ._checks import _float, _same_device, _same_dtype

def dropout(x: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Zero each element with probability p and scale the rest by 1/(1-p) (identity when not training).
    Any shape; returns x's shape."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: probability p must be in [0, 1], got {p}")
    x = _float(x, "x", "dropout")
    if not training or p == 0.0:
        return x
    return NNOps.Dropout.apply(x, p=float(p))


def dropout2d(x: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Zero whole channels: each (sample, channel) plane is dropped with probability p, the
    others scaled by 1/(1-p). x: (N, C, H, W) (a 3-D (N, C, L) input is treated the same way,
    one mask value per (n, c), as PyTorch does) -> x's shape. Identity when not training."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout2d: probability p must be in [0, 1], got {p}")
    x = _float(x, "x", "dropout2d")
    if x.ndim not in (3, 4):
        raise ValueError(f"dropout2d: expected x (N, C, H, W) or (N, C, L), got {x.shape}")
    if not training or p == 0.0:
        return x
    xp = array_module(x.data)
    keep = rng.random(x.shape[:2] + (1,) * (x.ndim - 2), xp) >= p
    scale = 0.0 if p >= 1 else 1.0 / (1.0 - p)
    return x * Tensor((keep * scale).astype(x.dtype), device=x.device)


def one_hot(ids, num_classes: int = -1) -> Tensor:
    """Class indices -> one-hot rows. ids: int64 (*) -> int64 (*, num_classes); num_classes=-1
    means max(ids) + 1. Not differentiable (the result is integers)."""
    ids = ids if isinstance(ids, Tensor) else Tensor(np.asarray(ids))
    if ids.dtype.kind not in "iu":
        raise TypeError(f"one_hot: expects an integer (int64) tensor, got {ids.dtype}")
    a = ids.numpy()
    if num_classes == -1:
        num_classes = int(a.max()) + 1 if a.size else 0
    if a.size and (a.min() < 0 or a.max() >= num_classes):
        raise ValueError(f"one_hot: class values must lie in [0, {num_classes}), got [{a.min()}, {a.max()}]")
    return Tensor(np.eye(num_classes, dtype=np.int64)[a], device=ids.device)


def batch_norm(x: Tensor, running_mean, running_var, weight=None, bias=None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalise each channel (axis 1) over the batch and every other axis, then * weight + bias.

    x: (N, C) or (N, C, *); running_mean, running_var, weight, bias: (C,) tensors or None.
    training=True uses the batch's own mean and biased variance and updates the running
    estimates in place: r = (1 - momentum) * r + momentum * batch_stat (the variance with
    Bessel's correction, as PyTorch). training=False uses the running estimates (which must
    then be given). Returns x's shape.
    """
    x = _float(x, "x", "batch_norm")
    if x.ndim < 2:
        raise ValueError(f"batch_norm: expected x (N, C) or (N, C, *), got {x.shape}")
    c = x.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != (c,):
            raise ValueError(f"batch_norm: {name} shape {tuple(t.shape)} should be ({c},) for x {x.shape}")
    _same_dtype("batch_norm", x=x, weight=weight, bias=bias)
    axes = (0,) + tuple(range(2, x.ndim))
    if training or running_mean is None or running_var is None:
        count = x.numel() // c
        if count <= 1:
            raise ValueError(f"batch_norm: expected more than 1 value per channel when training, got input {x.shape}")
        mean, var = x.data.mean(axis=axes), x.data.var(axis=axes)
        if training and running_mean is not None and running_var is not None:
            with no_grad():
                m = float(momentum)
                running_mean.data[...] = (1 - m) * running_mean.data + m * mean.astype(running_mean.dtype)
                unbiased = var * (count / (count - 1))
                running_var.data[...] = (1 - m) * running_var.data + m * unbiased.astype(running_var.dtype)
        batch_stats = True
    else:
        mean, var, batch_stats = running_mean.data, running_var.data, False
    affine = [p for p in (weight, bias) if p is not None]
    return NormOps.BatchNorm.apply(x, *affine, mean=mean, var=var, eps=float(eps), batch_stats=batch_stats,
                                   has_weight=weight is not None, has_bias=bias is not None)


def embedding(ids, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """Rows of ``weight`` picked by ``ids``.  ids: int64 (*), weight: (V, D) -> (*, D)."""
    weight = _float(weight, "weight", "embedding")
    if not isinstance(ids, Tensor):
        ids = Tensor(ids if is_cupy_array(ids) else np.asarray(ids), device=weight.device)
    _same_device("embedding", ids=ids, weight=weight)
    if ids.dtype.kind not in "iu":
        raise TypeError(f"embedding: ids must be integers, got {ids.dtype} with shape {ids.shape}")
    if weight.ndim != 2:
        raise ValueError(f"embedding: weight must be (num_embeddings, dim), got {weight.shape}")
    vocab = weight.shape[0]
    if ids.numel() and (int(ids.data.min()) < 0 or int(ids.data.max()) >= vocab):
        raise IndexError(
            f"embedding: ids must lie in [0, {vocab}) for weight {weight.shape}, "
            f"got values in [{int(ids.data.min())}, {int(ids.data.max())}]"
        )
    if padding_idx is not None:
        if not isinstance(padding_idx, (int, np.integer)) or isinstance(padding_idx, bool):
            raise TypeError(f"embedding: padding_idx must be an int or None, got {type(padding_idx).__name__}")
        if not -vocab <= padding_idx < vocab:
            raise ValueError(
                f"embedding: padding_idx {padding_idx} must lie in [-{vocab}, {vocab}) for weight {weight.shape}"
            )
        padding_idx = int(padding_idx) + (vocab if padding_idx < 0 else 0)
    return NNOps.Embedding.apply(weight, ids=ids.data, padding_idx=padding_idx)


def layer_norm(x: Tensor, normalized_shape, weight=None, bias=None, eps: float = 1e-5) -> Tensor:
    """Normalise over the trailing ``normalized_shape`` axes, then ``* weight + bias``.
    x: (*, *normalized_shape), weight, bias: normalized_shape -> x's shape."""
    x = _float(x, "x", "layer_norm")
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if not shape:  # PyTorch refuses it too (it would normalise nothing)
        raise ValueError(f"layer_norm: normalized_shape must have at least one size, got {normalized_shape!r} "
                         f"for input {x.shape}")
    if x.shape[x.ndim - len(shape):] != shape or len(shape) > x.ndim:
        raise ValueError(f"layer_norm: input {x.shape} does not end with normalized_shape {shape}")
    for name, p in (("weight", weight), ("bias", bias)):
        if p is not None and p.shape != shape:
            raise ValueError(f"layer_norm: {name} shape {p.shape} should be {shape}")
    _same_dtype("layer_norm", x=x, weight=weight, bias=bias)
    affine = [p for p in (weight, bias) if p is not None]
    return NNOps.LayerNorm.apply(
        x, *affine, n_axes=len(shape), eps=float(eps), has_weight=weight is not None, has_bias=bias is not None
    )


def scaled_dot_product_attention(q, k, v, attn_mask=None, dropout_p: float = 0.0, is_causal: bool = False,
                                 scale: float | None = None, training: bool = True) -> Tensor:
    """softmax(q @ k^T * scale + mask) @ v.

    q: (*, L, E), k: (*, S, E), v: (*, S, Ev) -> (*, L, Ev); scale defaults to 1/sqrt(E).
    attn_mask: bool (True = may attend, as PyTorch) or float (added to the scores),
    broadcastable to (*, L, S). is_causal: position i attends to positions <= i.
    A query row whose keys are all masked out gives zeros (and zero gradients), as PyTorch.
    """
    q, k, v = (_float(t, n, "scaled_dot_product_attention") for t, n in ((q, "q"), (k, "k"), (v, "v")))
    for name, t in (("q", q), ("k", k), ("v", v)):
        if t.ndim < 2:
            raise ValueError(
                f"scaled_dot_product_attention: {name} must be (*, L, E) with at least 2 dimensions, "
                f"got shape {t.shape}"
            )
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise ValueError(
            f"scaled_dot_product_attention: q {q.shape}, k {k.shape}, v {v.shape}: need q[-1] == k[-1] "
            f"and k[-2] == v[-2]"
        )
    _same_dtype("scaled_dot_product_attention", q=q, k=k, v=v)
    L, S = q.shape[-2], k.shape[-2]
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    scores = (q @ k.transpose(-2, -1)) * scale
    if is_causal:
        if attn_mask is not None:
            raise ValueError("scaled_dot_product_attention: give attn_mask or is_causal, not both")
        attn_mask = Tensor(np.tril(np.ones((L, S), dtype=bool)), device=q.device)
    if attn_mask is not None:
        mask = attn_mask if isinstance(attn_mask, Tensor) else Tensor(
            attn_mask if is_cupy_array(attn_mask) else np.asarray(attn_mask), device=q.device)
        _same_device("scaled_dot_product_attention", q=q, attn_mask=mask)
        try:
            np.broadcast_shapes(mask.shape, scores.shape)
        except ValueError:
            raise ValueError(f"scaled_dot_product_attention: mask {mask.shape} does not broadcast to scores {scores.shape}") from None
        if mask.dtype == np.bool_:
            scores = where(mask, scores, float("-inf"))
        else:
            scores = scores + mask.astype(scores.dtype)
        # A query row that may attend to nothing gives zeros, as PyTorch 2.13 does, not the
        # NaN of softmax over all -inf; its scores are set to 0 first so that the backward
        # (which multiplies by the softmax) stays finite too.
        dead = (scores.data == float("-inf")).all(axis=-1, keepdims=True)
        if dead.any():
            dead = Tensor(dead, device=q.device)
            weights = where(dead, 0.0, where(dead, 0.0, scores).softmax(-1))
            if dropout_p > 0.0:
                weights = dropout(weights, dropout_p, training)
            return weights @ v
    weights = scores.softmax(-1)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p, training)
    return weights @ v


def causal_self_attention(qkv, n_head: int, scale: float | None = None, cache=None):
    """Causal multi-head self-attention of a packed projection: qkv Tensor (B, T, 3E) holding
    [q | k | v] -> Tensor (B, T, E), each position attending to itself and the ones before it
    (one fused kernel forward and backward: ``ops.attention.CausalSelfAttention``). ``cache``:
    (buffer (B, T_max, 3E), start) for generation with a key/value cache, under no_grad.

    Raises ValueError for a qkv that is not 3-D with a last axis divisible by 3 * n_head, a
    cache buffer of the wrong shape or dtype, or a cache too short for start + T rows;
    TypeError for a non-float qkv; RuntimeError for a cache while gradients are recorded.
    """
    if not isinstance(qkv, Tensor):
        raise TypeError(f"causal_self_attention: qkv must be a Tensor, got {type(qkv).__name__}")
    if qkv.dtype not in (np.float32, np.float64):
        raise TypeError(f"causal_self_attention: qkv must be float32 or float64, got {qkv.dtype}")
    if isinstance(n_head, bool) or not isinstance(n_head, (int, np.integer)) or n_head < 1:
        raise ValueError(f"causal_self_attention: n_head must be a positive int, got {n_head!r}")
    if qkv.ndim != 3 or qkv.shape[-1] % (3 * n_head):
        raise ValueError(f"causal_self_attention: qkv must be (B, T, 3E) with E divisible by n_head {n_head}, "
                         f"got shape {qkv.shape}")
    E = qkv.shape[-1] // 3
    scale = 1.0 / float(np.sqrt(E // n_head)) if scale is None else float(scale)
    if cache is not None:
        buffer, start = cache
        B, T, _ = qkv.shape
        if buffer.dtype != qkv.dtype or buffer.ndim != 3 or buffer.shape[0] != B or buffer.shape[2] != 3 * E:
            raise ValueError(f"causal_self_attention: cache buffer {buffer.shape} {buffer.dtype} does not fit "
                             f"qkv {qkv.shape} {qkv.dtype}")
        if not 0 <= start or start + T > buffer.shape[1]:
            raise ValueError(f"causal_self_attention: cache holds {buffer.shape[1]} positions, "
                             f"{start} used + {T} new do not fit")
        if is_grad_enabled() and qkv.requires_grad:
            raise RuntimeError("causal_self_attention: the key/value cache is for inference; run under tge.no_grad()")
    return CausalSelfAttention.apply(qkv, n_head=int(n_head), scale=scale, cache=cache)
