"""Every Tensor method and nn.functional op: forward against its NumPy formula
(tests/ops/numpy_formulas.py, on every run), gradient against finite differences (float64),
both against PyTorch (float64 and float32) when it is installed, on every kernel backend (the
``backend`` fixture)."""
import numpy as np
import pytest

import tinygrad_edu as tge
import tinygrad_edu.nn.functional as F
from tinygrad_edu import Tensor

from ..helpers import check_op, torch
from .numpy_formulas import FORMULAS
from . import numpy_formulas as NPF

if torch is not None:
    import torch.nn.functional as TF

T = None  # placeholder for "no torch reference"

# (name, ours, torch reference, input shapes, options)
UNARY_AND_BINARY = [
    ("add", lambda a, b: a + b, lambda a, b: a + b, [(3, 4), (3, 4)], {}),
    ("add_broadcast", lambda a, b: a + b, lambda a, b: a + b, [(2, 3, 4), (3, 1)], {}),
    ("radd_scalar", lambda a: 2.5 + a, lambda a: 2.5 + a, [(3,)], {}),
    ("sub_broadcast", lambda a, b: a - b, lambda a, b: a - b, [(4, 1), (1, 5)], {}),
    ("rsub_scalar", lambda a: 1.0 - a, lambda a: 1.0 - a, [(3, 2)], {}),
    ("mul_broadcast", lambda a, b: a * b, lambda a, b: a * b, [(2, 3, 4), (4,)], {}),
    ("div", lambda a, b: a / b, lambda a, b: a / b, [(3, 4), (3, 4)], dict(low=0.5, high=2.0)),
    ("rdiv_scalar", lambda a: 2.0 / a, lambda a: 2.0 / a, [(5,)], dict(low=0.5, high=2.0)),
    ("pow_scalar", lambda a: a**3, lambda a: a**3, [(3, 4)], {}),
    ("pow_tensor", lambda a, b: a**b, lambda a, b: a**b, [(3, 4), (3, 4)], dict(low=0.5, high=2.0)),
    ("rpow", lambda a: 2.0**a, lambda a: 2.0**a, [(4,)], {}),
    ("neg", lambda a: -a, lambda a: -a, [(2, 3)], {}),
    ("maximum", lambda a, b: a.maximum(b), lambda a, b: torch.maximum(a, b), [(3, 4), (3, 4)], {}),
    ("minimum", lambda a, b: a.minimum(b), lambda a, b: torch.minimum(a, b), [(3, 4), (1, 4)], {}),
    ("exp", lambda a: a.exp(), lambda a: a.exp(), [(3, 4)], {}),
    ("log", lambda a: a.log(), lambda a: a.log(), [(3, 4)], dict(low=0.1, high=3.0)),
    ("sqrt", lambda a: a.sqrt(), lambda a: a.sqrt(), [(3, 4)], dict(low=0.1, high=3.0)),
    ("abs", lambda a: a.abs(), lambda a: a.abs(), [(3, 4)], {}),
    ("tanh", lambda a: a.tanh(), lambda a: a.tanh(), [(3, 4)], {}),
    ("sigmoid", lambda a: a.sigmoid(), lambda a: a.sigmoid(), [(3, 4)], dict(low=-8, high=8)),
    ("relu", lambda a: a.relu(), lambda a: a.relu(), [(3, 4)], {}),
    ("clip", lambda a: a.clip(-0.5, 0.7), lambda a: a.clamp(-0.5, 0.7), [(4, 5)], {}),
    ("clip_lo", lambda a: a.clip(lo=0.1), lambda a: a.clamp(min=0.1), [(4, 5)], {}),
]

REDUCTIONS = [
    ("sum_all", lambda a: a.sum(), lambda a: a.sum(), [(3, 4)]),
    ("sum_axis", lambda a: a.sum(axis=1), lambda a: a.sum(dim=1), [(3, 4, 2)]),
    ("sum_axes_keep", lambda a: a.sum(axis=(0, 2), keepdims=True), lambda a: a.sum(dim=(0, 2), keepdim=True), [(3, 4, 2)]),
    ("mean_all", lambda a: a.mean(), lambda a: a.mean(), [(3, 4)]),
    ("mean_axis", lambda a: a.mean(axis=-1), lambda a: a.mean(dim=-1), [(3, 4)]),
    ("max_all", lambda a: a.max(), lambda a: a.amax(), [(3, 4)]),
    ("max_axis", lambda a: a.max(axis=0), lambda a: a.amax(dim=0), [(3, 4)]),
    ("min_axis_keep", lambda a: a.min(axis=1, keepdims=True), lambda a: a.amin(dim=1, keepdim=True), [(3, 4)]),
    ("var_all", lambda a: a.var(), lambda a: a.var(), [(3, 4)]),
    ("var_axis", lambda a: a.var(axis=1), lambda a: a.var(dim=1), [(3, 4)]),
    ("var_biased", lambda a: a.var(axis=0, correction=0), lambda a: a.var(dim=0, correction=0), [(5, 2)]),
    ("std", lambda a: a.std(axis=1), lambda a: a.std(dim=1), [(3, 5)]),
    ("softmax", lambda a: a.softmax(-1), lambda a: a.softmax(-1), [(3, 5)]),
    ("softmax_axis0", lambda a: a.softmax(0), lambda a: a.softmax(0), [(3, 5)]),
    ("log_softmax", lambda a: a.log_softmax(-1), lambda a: a.log_softmax(-1), [(2, 3, 5)]),
]

MOVEMENT = [
    ("reshape", lambda a: a.reshape(4, -1), lambda a: a.reshape(4, -1), [(2, 3, 4)]),
    ("view_tuple", lambda a: a.view((6, 4)), lambda a: a.view(6, 4), [(2, 3, 4)]),
    ("transpose", lambda a: a.transpose(0, 2), lambda a: a.transpose(0, 2), [(2, 3, 4)]),
    ("permute", lambda a: a.permute(2, 0, 1), lambda a: a.permute(2, 0, 1), [(2, 3, 4)]),
    ("T", lambda a: a.T, lambda a: a.T, [(2, 3)]),
    ("flatten", lambda a: a.flatten(1), lambda a: a.flatten(1), [(2, 3, 4)]),
    ("squeeze", lambda a: a.squeeze(1), lambda a: a.squeeze(1), [(2, 1, 4)]),
    ("squeeze_all", lambda a: a.squeeze(), lambda a: a.squeeze(), [(1, 3, 1)]),
    ("unsqueeze", lambda a: a.unsqueeze(-1), lambda a: a.unsqueeze(-1), [(2, 3)]),
    ("expand", lambda a: a.expand(2, 3, 4), lambda a: a.expand(2, 3, 4), [(3, 1)]),
    ("expand_minus1", lambda a: a.expand(5, -1), lambda a: a.expand(5, -1), [(1, 3)]),
    ("getitem_int", lambda a: a[1], lambda a: a[1], [(3, 4)]),
    ("getitem_slices", lambda a: a[:, 1:3, ::2], lambda a: a[:, 1:3, ::2], [(2, 4, 5)]),
    ("getitem_none_ellipsis", lambda a: a[None, ..., 0], lambda a: a[None, ..., 0], [(2, 3)]),
    ("getitem_negative", lambda a: a[-1, -2:], lambda a: a[-1, -2:], [(3, 4)]),
    ("getitem_gather_repeat", lambda a: a[np.array([0, 2, 0, 0])], lambda a: a[torch.tensor([0, 2, 0, 0])], [(3, 4)]),
    ("getitem_gather_2d", lambda a: a[np.array([0, 1]), np.array([2, 2])], lambda a: a[torch.tensor([0, 1]), torch.tensor([2, 2])], [(3, 4)]),
    ("getitem_bool", lambda a: a[a.numpy() > 0], lambda a: a[a.detach() > 0], [(3, 4)]),
    ("pad", lambda a: a.pad(((1, 0), (2, 1))), lambda a: TF.pad(a, (2, 1, 1, 0)), [(2, 3)]),
    ("pad_value", lambda a: a.pad(((0, 0), (1, 1)), value=2.0), lambda a: TF.pad(a, (1, 1), value=2.0), [(2, 3)]),
    ("F_pad", lambda a: F.pad(a, (1, 2)), lambda a: TF.pad(a, (1, 2)), [(2, 3, 4)]),
    ("cat", lambda a, b: tge.cat([a, b], axis=1), lambda a, b: torch.cat([a, b], dim=1), [(2, 3), (2, 2)]),
    ("stack", lambda a, b: tge.stack([a, b], axis=1), lambda a, b: torch.stack([a, b], dim=1), [(2, 3), (2, 3)]),
    ("where", lambda a, b: tge.where(a > b, a, b * 2), lambda a, b: torch.where(a > b, a, b * 2), [(3, 4), (3, 4)]),
    ("where_broadcast", lambda a, b: tge.where(a > 0, a, b), lambda a, b: torch.where(a > 0, a, b), [(3, 4), (4,)]),
]

MATMUL = [
    ("mm", [(3, 4), (4, 5)]),
    ("mv", [(3, 4), (4,)]),
    ("vm", [(4,), (4, 5)]),
    ("dot", [(4,), (4,)]),
    ("batched_2d", [(2, 3, 4), (4, 5)]),
    ("batched", [(2, 3, 4), (2, 4, 5)]),
    ("broadcast_batch", [(2, 1, 3, 4), (3, 4, 5)]),
    ("matrix_times_batch", [(3, 4), (2, 4, 5)]),
    ("vector_times_batch", [(4,), (2, 4, 5)]),
]


@pytest.mark.parametrize("name,ours,ref,shapes,opts", UNARY_AND_BINARY, ids=[c[0] for c in UNARY_AND_BINARY])
def test_elementwise(backend, name, ours, ref, shapes, opts):
    check_op(ours, ref, shapes, numpy_ref=FORMULAS[name], **opts)


@pytest.mark.parametrize("name,ours,ref,shapes", REDUCTIONS, ids=[c[0] for c in REDUCTIONS])
def test_reductions(backend, name, ours, ref, shapes):
    check_op(ours, ref, shapes, numpy_ref=FORMULAS[name])


@pytest.mark.parametrize("name,ours,ref,shapes", MOVEMENT, ids=[c[0] for c in MOVEMENT])
def test_movement(backend, name, ours, ref, shapes):
    check_op(ours, ref, shapes, numpy_ref=FORMULAS[name])


@pytest.mark.parametrize("name,shapes", MATMUL, ids=[c[0] for c in MATMUL])
def test_matmul(backend, name, shapes):
    check_op(lambda a, b: a @ b, lambda a, b: a @ b, shapes, numpy_ref=np.matmul)


def test_matmul_transposed_and_noncontiguous_inputs(backend):
    check_op(lambda a, b: a.T @ b[:, ::2], lambda a, b: a.T @ b[:, ::2], [(4, 3), (4, 6)],
             numpy_ref=lambda a, b: a.T @ b[:, ::2])


def test_max_ties_share_gradient():
    x = Tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]], requires_grad=True)
    x.max(axis=1).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 0.5, 0.5], [0.5, 0.5, 0]])
    y = Tensor([1.0, 1.0, 1.0, 0.0], requires_grad=True)
    y.min().backward()
    np.testing.assert_array_equal(y.grad.numpy(), [0, 0, 0, 1])
    if torch is not None:
        tx = torch.tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]], requires_grad=True)
        tx.amax(dim=1).sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())


# ------------------------------------------------------------------------- nn.functional
FUNCTIONAL = [
    ("leaky_relu", lambda a: F.leaky_relu(a, 0.2), lambda a: TF.leaky_relu(a, 0.2), [(3, 4)], {}),
    ("gelu", lambda a: F.gelu(a), lambda a: TF.gelu(a), [(3, 4)], dict(low=-4, high=4)),
    ("gelu_tanh", lambda a: F.gelu(a, approximate="tanh"), lambda a: TF.gelu(a, approximate="tanh"), [(3, 4)], dict(low=-4, high=4)),
    ("sigmoid", F.sigmoid, lambda a: torch.sigmoid(a), [(3, 4)], {}),
    ("tanh", F.tanh, lambda a: torch.tanh(a), [(3, 4)], {}),
    ("softmax", lambda a: F.softmax(a, dim=1), lambda a: TF.softmax(a, dim=1), [(2, 3, 4)], {}),
    ("log_softmax", lambda a: F.log_softmax(a, -1), lambda a: TF.log_softmax(a, -1), [(2, 5)], {}),
    ("linear", lambda x, w, b: F.linear(x, w, b), lambda x, w, b: TF.linear(x, w, b), [(4, 3), (5, 3), (5,)], {}),
    ("linear_3d_nobias", lambda x, w: F.linear(x, w), lambda x, w: TF.linear(x, w), [(2, 4, 3), (5, 3)], {}),
    ("conv2d", lambda x, w, b: F.conv2d(x, w, b), lambda x, w, b: TF.conv2d(x, w, b), [(2, 3, 6, 5), (4, 3, 3, 3), (4,)], {}),
    ("conv2d_stride_pad", lambda x, w: F.conv2d(x, w, stride=2, padding=1), lambda x, w: TF.conv2d(x, w, stride=2, padding=1), [(2, 2, 7, 6), (3, 2, 3, 2)], {}),
    ("conv2d_asym", lambda x, w, b: F.conv2d(x, w, b, stride=(1, 2), padding=(2, 0)), lambda x, w, b: TF.conv2d(x, w, b, stride=(1, 2), padding=(2, 0)), [(1, 2, 5, 7), (2, 2, 1, 3), (2,)], {}),
    ("conv2d_1x1", lambda x, w: F.conv2d(x, w), lambda x, w: TF.conv2d(x, w), [(2, 3, 4, 4), (5, 3, 1, 1)], {}),
    ("conv2d_unbatched", lambda x, w: F.conv2d(x, w, padding=1), lambda x, w: TF.conv2d(x, w, padding=1), [(2, 4, 4), (3, 2, 3, 3)], {}),
    ("max_pool2d", lambda x: F.max_pool2d(x, 2), lambda x: TF.max_pool2d(x, 2), [(2, 3, 6, 5)], {}),
    ("max_pool2d_stride_pad", lambda x: F.max_pool2d(x, 3, stride=2, padding=1), lambda x: TF.max_pool2d(x, 3, stride=2, padding=1), [(2, 2, 7, 7)], {}),
    ("avg_pool2d", lambda x: F.avg_pool2d(x, 2), lambda x: TF.avg_pool2d(x, 2), [(2, 3, 6, 5)], {}),
    ("avg_pool2d_stride_pad", lambda x: F.avg_pool2d(x, (3, 2), stride=(2, 1), padding=1), lambda x: TF.avg_pool2d(x, (3, 2), stride=(2, 1), padding=1), [(1, 2, 7, 6)], {}),
    ("layer_norm", lambda x, w, b: F.layer_norm(x, (4,), w, b), lambda x, w, b: TF.layer_norm(x, (4,), w, b), [(3, 4), (4,), (4,)], {}),
    ("layer_norm_2axes", lambda x: F.layer_norm(x, (3, 4), eps=1e-3), lambda x: TF.layer_norm(x, (3, 4), eps=1e-3), [(2, 3, 4)], {}),
    ("sdpa", lambda q, k, v: F.scaled_dot_product_attention(q, k, v), lambda q, k, v: TF.scaled_dot_product_attention(q, k, v), [(2, 3, 4), (2, 5, 4), (2, 5, 6)], {}),
    ("sdpa_causal", lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True), lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, is_causal=True), [(2, 2, 4, 3), (2, 2, 4, 3), (2, 2, 4, 3)], {}),
    ("mse", lambda a, b: F.mse_loss(a, b), lambda a, b: TF.mse_loss(a, b), [(3, 4), (3, 4)], {}),
    ("mse_sum", lambda a, b: F.mse_loss(a, b, reduction="sum"), lambda a, b: TF.mse_loss(a, b, reduction="sum"), [(3, 4), (3, 4)], {}),
    ("mse_none", lambda a, b: F.mse_loss(a, b, reduction="none"), lambda a, b: TF.mse_loss(a, b, reduction="none"), [(3, 4), (3, 4)], {}),
    ("bce", lambda p, t: F.binary_cross_entropy(p, t), lambda p, t: TF.binary_cross_entropy(p, t), [(4, 3), (4, 3)], dict(low=0.05, high=0.95)),
    ("bce_none", lambda p, t: F.binary_cross_entropy(p, t, reduction="none"), lambda p, t: TF.binary_cross_entropy(p, t, reduction="none"), [(5,), (5,)], dict(low=0.05, high=0.95)),
    ("bce_logits", lambda x, t: F.binary_cross_entropy_with_logits(x, t), lambda x, t: TF.binary_cross_entropy_with_logits(x, t), [(4, 3), (4, 3)], dict(low=0.0, high=1.0)),
    ("l1", lambda a, b: F.l1_loss(a, b), lambda a, b: TF.l1_loss(a, b), [(3, 4), (3, 4)], {}),
]


@pytest.mark.parametrize("name,ours,ref,shapes,opts", FUNCTIONAL, ids=[c[0] for c in FUNCTIONAL])
def test_functional(backend, name, ours, ref, shapes, opts):
    check_op(ours, ref, shapes, numpy_ref=FORMULAS.get(f"F.{name}", FORMULAS.get(name)), **opts)


TARGETS = np.array([1, 0, 4, 2])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy(backend, reduction):
    check_op(
        lambda x: F.cross_entropy(x, Tensor(TARGETS), reduction=reduction),
        (lambda x: TF.cross_entropy(x, torch.tensor(TARGETS), reduction=reduction)) if torch else None,
        [(4, 5)],
        numpy_ref=lambda x: NPF.cross_entropy(x, TARGETS, reduction),
        low=-3,
        high=3,
    )


def test_cross_entropy_ignore_index_and_spatial(backend):
    targets = np.array([[1, -100, 2], [0, 2, -100]])
    check_op(
        lambda x: F.cross_entropy(x, Tensor(targets)),
        (lambda x: TF.cross_entropy(x, torch.tensor(targets))) if torch else None,
        [(2, 3, 3)],
        numpy_ref=lambda x: NPF.cross_entropy(x, targets),
    )


def test_cross_entropy_probability_targets(backend):
    probs = np.random.default_rng(3).dirichlet(np.ones(5), size=4)
    check_op(
        lambda x: F.cross_entropy(x, Tensor(probs.astype(x.dtype))),
        (lambda x: TF.cross_entropy(x, torch.tensor(probs.astype(np.float64)).to(x.dtype))) if torch else None,
        [(4, 5)],
        numpy_ref=lambda x: NPF.cross_entropy(x, probs),
    )


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_loss(backend, reduction):
    check_op(
        lambda x: F.nll_loss(x.log_softmax(-1), Tensor(TARGETS), reduction=reduction),
        (lambda x: TF.nll_loss(x.log_softmax(-1), torch.tensor(TARGETS), reduction=reduction)) if torch else None,
        [(4, 5)],
        numpy_ref=lambda x: NPF.nll_loss(NPF.log_softmax(x, -1), TARGETS, reduction),
    )


def test_embedding(backend):
    ids = np.array([[0, 2, 2], [3, 1, 0]])
    check_op(
        lambda w: F.embedding(Tensor(ids), w),
        (lambda w: TF.embedding(torch.tensor(ids), w)) if torch else None,
        [(4, 3)],
        numpy_ref=lambda w: w[ids],
    )


def test_embedding_padding_idx_gets_no_gradient():
    w = Tensor(np.ones((4, 2)), requires_grad=True)
    F.embedding(Tensor([[0, 1, 1]]), w, padding_idx=1).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [[1, 1], [0, 0], [0, 0], [0, 0]])


@pytest.mark.parametrize("mask_kind", ["bool", "float"])
def test_sdpa_masks(backend, mask_kind):
    rng = np.random.default_rng(5)
    allowed = rng.random((3, 4)) > 0.3
    allowed[:, 0] = True  # every query may attend somewhere
    mask = allowed if mask_kind == "bool" else np.where(allowed, 0.0, -1e9)
    check_op(
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=Tensor(mask.astype(q.dtype) if mask_kind == "float" else mask)),
        (lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, attn_mask=torch.tensor(mask.astype(np.float64) if mask_kind == "float" else mask).to(q.dtype if mask_kind == "float" else torch.bool))) if torch else None,
        [(2, 3, 5), (2, 4, 5), (2, 4, 2)],
        numpy_ref=lambda q, k, v: NPF.sdpa(q, k, v, mask),
    )


def test_dropout_statistics_and_gradient():
    x = Tensor(np.ones((200, 100)), requires_grad=True)
    y = F.dropout(x, 0.3)
    kept = y.numpy() != 0
    assert abs(kept.mean() - 0.7) < 0.02
    np.testing.assert_allclose(y.numpy()[kept], 1 / 0.7)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), y.numpy())
    assert F.dropout(x, 0.3, training=False) is x
    assert np.all(F.dropout(x, 1.0).numpy() == 0)


def test_dropout_reproducible_under_manual_seed():
    tge.manual_seed(7)
    a = F.dropout(Tensor.ones(50), 0.5).numpy()
    tge.manual_seed(7)
    b = F.dropout(Tensor.ones(50), 0.5).numpy()
    np.testing.assert_array_equal(a, b)


def test_softmax_and_cross_entropy_stay_finite_for_huge_logits(backend):
    logits = Tensor([[1000.0, 0.0, -1000.0], [1000.0, 1000.0, 999.0]], requires_grad=True)
    p = logits.softmax(-1)
    assert np.isfinite(p.numpy()).all()
    loss = F.cross_entropy(logits, Tensor([2, 0]))
    assert np.isfinite(loss.item())
    loss.backward()
    assert np.isfinite(logits.grad.numpy()).all()
    assert np.isfinite(F.log_softmax(logits, -1).numpy()).all()
    assert np.isfinite(F.binary_cross_entropy_with_logits(Tensor([1000.0, -1000.0]), Tensor([0.0, 1.0])).item())
    assert np.isfinite(F.sigmoid(Tensor([-1000.0, 1000.0])).numpy()).all()


def test_leaky_relu_gelu_composition_reference():
    """The fused losses equal their unfused composition."""
    x = Tensor(np.random.default_rng(0).standard_normal((4, 5)), requires_grad=True)
    t = Tensor(TARGETS)
    fused = F.cross_entropy(x, t)
    composed = -(x.log_softmax(-1)[np.arange(4), TARGETS]).mean()
    np.testing.assert_allclose(fused.item(), composed.item(), rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(3, 4, 5, 5), (8, 32, 26, 26)])
def test_conv2d_bias_gradient_small_and_large(dtype, shape):
    """Conv2d's bias gradient, the sum of gy over (n, i, j): small gradients through the batch
    sum first, large ones (>= 2**16 values, the second shape) in one einsum pass; both
    against the float64 sum, in gy's dtype."""
    from tinygrad_edu.ops.conv import _bias_grad

    gy = np.random.default_rng(3).standard_normal(shape).astype(dtype)
    got = _bias_grad(gy)
    assert got.dtype == dtype and got.shape == (shape[1],)
    tol = dict(rtol=1e-5, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(got, gy.astype(np.float64).sum(axis=(0, 2, 3)), **tol)
