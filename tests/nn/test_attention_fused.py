"""The fused self-attention core (ops/attention.py SelfAttention), which nn.MultiheadAttention
uses for self-attention without returned weights: it must give the composed path's values
and gradients (the path taken with need_weights=True), for every kind of mask, both layouts,
and with attention dropout in training mode (both draw the dropout seed alike, so under one
manual_seed they drop the same weights).  Float64, tolerance 1e-12.
"""
import numpy as np
import pytest

import tinygrad_edu as tge
from tinygrad_edu import Tensor, nn

E, HEADS, L, N = 8, 2, 5, 3
KEY_PAD = np.array([[False] * L, [False, False, False, True, True], [False, True, False, False, True]])
MASKS = {
    "none": {},
    "key_pad": dict(key_padding_mask=KEY_PAD),
    "causal": dict(attn_mask=np.triu(np.ones((L, L), dtype=bool), k=1)),
    "float_attn": dict(attn_mask=np.random.default_rng(7).standard_normal((L, L))),
    "per_head": dict(attn_mask=np.random.default_rng(9).random((N * HEADS, L, L)) < 0.3),
}


def run(need_weights, masks, batch_first, dropout, backend):
    tge.manual_seed(0)
    mha = nn.MultiheadAttention(E, HEADS, dropout=dropout, batch_first=batch_first).double()
    shape = (N, L, E) if batch_first else (L, N, E)
    x = Tensor(np.random.default_rng(1).standard_normal(shape), requires_grad=True)
    extra = {k: Tensor(v) for k, v in masks.items()}
    if "per_head" in masks or "attn_mask" in masks:
        extra["attn_mask"] = extra["attn_mask"].astype(np.float64) \
            if extra["attn_mask"].dtype.kind == "f" else extra["attn_mask"]
    tge.manual_seed(3)
    out, _ = mha(x, x, x, need_weights=need_weights, **extra)
    g = np.random.default_rng(2).standard_normal(out.shape)
    out.backward(Tensor(g))
    grads = [x.grad.numpy()] + [p.grad.numpy() for p in mha.parameters()]
    return out.numpy(), grads


@pytest.mark.parametrize("backend", ["c", "numpy"])
@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("mask", list(MASKS))
@pytest.mark.parametrize("dropout", [0.0, 0.3])
def test_fused_matches_composed(backend, batch_first, mask, dropout):
    if backend == "c" and not tge.backends.c_available():
        pytest.skip("C kernels not built")
    before = tge.backend()
    tge.set_backend(backend)
    try:
        fused = run(False, MASKS[mask], batch_first, dropout, backend)
        composed = run(True, MASKS[mask], batch_first, dropout, backend)
    finally:
        tge.set_backend(before)
    np.testing.assert_allclose(fused[0], composed[0], rtol=1e-12, atol=1e-12)
    for a, b in zip(fused[1], composed[1]):
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-12)
    if dropout:  # the dropout really dropped something: outputs differ from eval mode
        assert not np.allclose(fused[0], run(False, MASKS[mask], batch_first, 0.0, backend)[0])


def test_fused_path_is_one_graph_node():
    mha = nn.MultiheadAttention(E, HEADS, batch_first=True)
    x = Tensor(np.zeros((N, L, E), np.float32), requires_grad=True)
    out, weights = mha(x, x, x, need_weights=False, key_padding_mask=Tensor(KEY_PAD))
    assert weights is None
    node = out._ctx.next_fns[0]            # out_proj's Linear <- the attention core
    assert type(node).__name__ == "SelfAttention"
