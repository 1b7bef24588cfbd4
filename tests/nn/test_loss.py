"""Loss modules: values against their NumPy formulas (always) and against torch.nn's (when
PyTorch is installed), input gradients against finite differences (float64, always) and
against torch.nn's, every reduction."""
import numpy as np
import pytest

from tinygrad_edu import Tensor, nn
from tinygrad_edu.utils.gradcheck import gradcheck

from ..helpers import torch
from ..ops import numpy_formulas as NPF

REDUCTIONS = ["mean", "sum", "none"]
TOL = {np.float64: dict(rtol=1e-10, atol=1e-12), np.float32: dict(rtol=1e-5, atol=1e-6)}


def run(ours, theirs, formula, x, target, dtype, target_float=False):
    """ours: our loss module; theirs: a function making torch's (called only when torch is
    installed); formula: (x, target) float64 arrays -> the expected loss (NumPy)."""
    def targets(make):
        return make(target.astype(dtype) if target_float else target)

    xt = Tensor(x.astype(dtype), requires_grad=True)
    out = ours(xt, targets(Tensor))
    expected = np.asarray(formula(x.astype(np.float64), target.astype(np.float64) if target_float else target))
    assert out.shape == expected.shape and out.dtype == dtype
    np.testing.assert_allclose(out.numpy(), expected, **TOL[np.float32], err_msg="value vs NumPy formula")
    x64 = Tensor(x.astype(np.float64), requires_grad=True)
    target64 = Tensor(target.astype(np.float64) if target_float else target)
    assert gradcheck(lambda v: ours(v, target64), [x64])
    if torch is None:
        return
    tx = torch.tensor(x.astype(dtype), requires_grad=True)
    tout = theirs()(tx, targets(torch.tensor))
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), **TOL[dtype])
    cot = np.random.default_rng(1).standard_normal(out.shape).astype(dtype)
    out.backward(Tensor(cot))
    tout.backward(torch.tensor(cot))
    np.testing.assert_allclose(xt.grad.numpy(), tx.grad.numpy(), **TOL[dtype])


rng = np.random.default_rng(0)
LOGITS = rng.standard_normal((6, 5)) * 3
LABELS = np.array([0, 4, 2, 2, 1, 3])
LABELS_IGNORED = np.array([0, -100, 2, 7 % 5, -100, 3])
PROBS = 1 / (1 + np.exp(-rng.standard_normal((4, 3)) * 2))
BINARY = (rng.random((4, 3)) > 0.5).astype(np.float64)


def nll(logp, labels, reduction, ignore_index=-100):
    """NLL from log-probabilities (N, C); the mean is over the targets that are not ignored."""
    keep = labels != ignore_index
    picked = -logp[np.arange(len(labels)), np.where(keep, labels, 0)] * keep
    return picked.sum() / keep.sum() if reduction == "mean" else NPF.reduce(picked, reduction)


def bce_weighted(x, t, reduction, w=1.0, pos=1.0, logits=False):
    """-w (pos t log p + (1 - t) log(1 - p)); from logits with log p = -log(1 + e^-x) and
    log(1 - p) = -x - log(1 + e^-x), which stay finite for large |x|."""
    if logits:
        log_p = -np.logaddexp(0.0, -x)
        log_1mp = -x + log_p
    else:
        log_p, log_1mp = np.log(x), np.log(1 - x)
    return NPF.reduce(-w * (pos * t * log_p + (1 - t) * log_1mp), reduction)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_loss(dtype, reduction):
    run(nn.CrossEntropyLoss(reduction=reduction), lambda: torch.nn.CrossEntropyLoss(reduction=reduction),
        lambda x, t: NPF.cross_entropy(x, t, reduction), LOGITS, LABELS, dtype)
    run(nn.CrossEntropyLoss(reduction=reduction, ignore_index=-100),
        lambda: torch.nn.CrossEntropyLoss(reduction=reduction, ignore_index=-100),
        lambda x, t: nll(NPF.log_softmax(x, 1), t, reduction), LOGITS, LABELS_IGNORED, dtype)


def test_cross_entropy_loss_spatial_and_probabilities():
    x = rng.standard_normal((2, 3, 4, 5))
    y = rng.integers(0, 3, size=(2, 4, 5))
    run(nn.CrossEntropyLoss(), lambda: torch.nn.CrossEntropyLoss(), NPF.cross_entropy, x, y, np.float64)
    soft = np.random.default_rng(2).dirichlet(np.ones(5), size=6)
    run(nn.CrossEntropyLoss(), lambda: torch.nn.CrossEntropyLoss(), NPF.cross_entropy, LOGITS, soft,
        np.float64, target_float=True)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss(reduction):
    logp = LOGITS - np.log(np.exp(LOGITS).sum(1, keepdims=True))
    run(nn.NLLLoss(reduction=reduction), lambda: torch.nn.NLLLoss(reduction=reduction),
        lambda x, t: nll(x, t, reduction), logp, LABELS, np.float64)
    run(nn.NLLLoss(ignore_index=2, reduction=reduction),
        lambda: torch.nn.NLLLoss(ignore_index=2, reduction=reduction),
        lambda x, t: nll(x, t, reduction, ignore_index=2), logp, LABELS, np.float32)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_losses(dtype, reduction):
    run(nn.BCELoss(reduction=reduction), lambda: torch.nn.BCELoss(reduction=reduction),
        lambda p, t: bce_weighted(p, t, reduction), PROBS, BINARY, dtype, True)
    run(nn.BCEWithLogitsLoss(reduction=reduction), lambda: torch.nn.BCEWithLogitsLoss(reduction=reduction),
        lambda x, t: bce_weighted(x, t, reduction, logits=True), LOGITS[:4, :3], BINARY, dtype, True)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_weights(reduction):
    w = np.array([0.5, 2.0, 1.0])
    pos = np.array([3.0, 0.5, 1.0])
    run(nn.BCELoss(weight=w, reduction=reduction),
        lambda: torch.nn.BCELoss(weight=torch.tensor(w), reduction=reduction),
        lambda p, t: bce_weighted(p, t, reduction, w=w), PROBS, BINARY, np.float64, True)
    run(nn.BCEWithLogitsLoss(weight=w, pos_weight=pos, reduction=reduction),
        lambda: torch.nn.BCEWithLogitsLoss(weight=torch.tensor(w), pos_weight=torch.tensor(pos), reduction=reduction),
        lambda x, t: bce_weighted(x, t, reduction, w=w, pos=pos, logits=True), LOGITS[:4, :3] * 10, BINARY,
        np.float64, True)
    assert list(nn.BCEWithLogitsLoss(weight=w, pos_weight=pos).state_dict()) == ["weight", "pos_weight"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_regression_losses(dtype, reduction):
    target = rng.standard_normal((4, 3))
    run(nn.MSELoss(reduction=reduction), lambda: torch.nn.MSELoss(reduction=reduction),
        lambda a, b: NPF.reduce((a - b) ** 2, reduction), PROBS, target, dtype, True)
    run(nn.L1Loss(reduction=reduction), lambda: torch.nn.L1Loss(reduction=reduction),
        lambda a, b: NPF.reduce(np.abs(a - b), reduction), PROBS, target, dtype, True)


def test_loss_argument_errors():
    with pytest.raises(ValueError, match="reduction"):
        nn.MSELoss(reduction="avg")
    with pytest.raises(NotImplementedError):
        nn.CrossEntropyLoss(label_smoothing=0.1)
    with pytest.raises(ValueError, match=r"logits \(6, 5\) need target of shape \(6,\)"):
        nn.CrossEntropyLoss()(Tensor(LOGITS), Tensor(np.zeros((6, 2), np.int64)))
    assert repr(nn.MSELoss(reduction="sum")) == "MSELoss(reduction='sum')"
