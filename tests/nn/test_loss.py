"""Loss modules against torch.nn's: values and input gradients, every reduction."""
import numpy as np
import pytest

from tinygrad_edu import Tensor, nn

torch = pytest.importorskip("torch")

REDUCTIONS = ["mean", "sum", "none"]
TOL = {np.float64: dict(rtol=1e-10, atol=1e-12), np.float32: dict(rtol=1e-5, atol=1e-6)}


def run(ours, theirs, x, target, dtype, target_float=False):
    xt = Tensor(x.astype(dtype), requires_grad=True)
    tx = torch.tensor(x.astype(dtype), requires_grad=True)
    if target_float:
        target_ours, target_theirs = Tensor(target.astype(dtype)), torch.tensor(target.astype(dtype))
    else:
        target_ours, target_theirs = Tensor(target), torch.tensor(target)
    out, tout = ours(xt, target_ours), theirs(tx, target_theirs)
    assert out.shape == tuple(tout.shape) and out.dtype == dtype
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


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_loss(dtype, reduction):
    run(nn.CrossEntropyLoss(reduction=reduction), torch.nn.CrossEntropyLoss(reduction=reduction), LOGITS, LABELS, dtype)
    run(nn.CrossEntropyLoss(reduction=reduction, ignore_index=-100),
        torch.nn.CrossEntropyLoss(reduction=reduction, ignore_index=-100), LOGITS, LABELS_IGNORED, dtype)


def test_cross_entropy_loss_spatial_and_probabilities():
    x = rng.standard_normal((2, 3, 4, 5))
    y = rng.integers(0, 3, size=(2, 4, 5))
    run(nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss(), x, y, np.float64)
    soft = np.random.default_rng(2).dirichlet(np.ones(5), size=6)
    run(nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss(), LOGITS, soft, np.float64, target_float=True)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss(reduction):
    logp = LOGITS - np.log(np.exp(LOGITS).sum(1, keepdims=True))
    run(nn.NLLLoss(reduction=reduction), torch.nn.NLLLoss(reduction=reduction), logp, LABELS, np.float64)
    run(nn.NLLLoss(ignore_index=2, reduction=reduction), torch.nn.NLLLoss(ignore_index=2, reduction=reduction),
        logp, LABELS, np.float32)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_losses(dtype, reduction):
    run(nn.BCELoss(reduction=reduction), torch.nn.BCELoss(reduction=reduction), PROBS, BINARY, dtype, True)
    run(nn.BCEWithLogitsLoss(reduction=reduction), torch.nn.BCEWithLogitsLoss(reduction=reduction),
        LOGITS[:4, :3], BINARY, dtype, True)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_weights(reduction):
    w = np.array([0.5, 2.0, 1.0])
    pos = np.array([3.0, 0.5, 1.0])
    run(nn.BCELoss(weight=w, reduction=reduction), torch.nn.BCELoss(weight=torch.tensor(w), reduction=reduction),
        PROBS, BINARY, np.float64, True)
    run(nn.BCEWithLogitsLoss(weight=w, pos_weight=pos, reduction=reduction),
        torch.nn.BCEWithLogitsLoss(weight=torch.tensor(w), pos_weight=torch.tensor(pos), reduction=reduction),
        LOGITS[:4, :3] * 10, BINARY, np.float64, True)
    assert list(nn.BCEWithLogitsLoss(weight=w, pos_weight=pos).state_dict()) == ["weight", "pos_weight"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_regression_losses(dtype, reduction):
    target = rng.standard_normal((4, 3))
    run(nn.MSELoss(reduction=reduction), torch.nn.MSELoss(reduction=reduction), PROBS, target, dtype, True)
    run(nn.L1Loss(reduction=reduction), torch.nn.L1Loss(reduction=reduction), PROBS, target, dtype, True)


def test_loss_argument_errors():
    with pytest.raises(ValueError, match="reduction"):
        nn.MSELoss(reduction="avg")
    with pytest.raises(NotImplementedError):
        nn.CrossEntropyLoss(label_smoothing=0.1)
    with pytest.raises(ValueError, match=r"logits \(6, 5\) need target of shape \(6,\)"):
        nn.CrossEntropyLoss()(Tensor(LOGITS), Tensor(np.zeros((6, 2), np.int64)))
    assert repr(nn.MSELoss(reduction="sum")) == "MSELoss(reduction='sum')"
