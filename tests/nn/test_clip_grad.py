"""nn.utils.clip_grad_norm_ / clip_grad_value_ against torch.nn.utils on the same gradients."""
import numpy as np
import pytest

from tinygrad_edu import Tensor, nn

torch = pytest.importorskip("torch")


def grads(scale, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) * scale for s in ((3, 4), (5,), (2, 2, 2))]


def pair(values):
    ours = [Tensor(np.zeros_like(v), requires_grad=True) for v in values]
    theirs = [torch.zeros(v.shape, dtype=torch.float64, requires_grad=True) for v in values]
    for p, tp, v in zip(ours, theirs, values):
        p.grad, tp.grad = Tensor(v.copy()), torch.tensor(v.copy())
    return ours, theirs


@pytest.mark.parametrize("scale", [0.01, 3.0])
@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf"), 3])
def test_clip_grad_norm_matches_torch(scale, norm_type):
    ours, theirs = pair(grads(scale))
    total = nn.utils.clip_grad_norm_(ours, max_norm=1.5, norm_type=norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(theirs, max_norm=1.5, norm_type=norm_type)
    np.testing.assert_allclose(total.item(), ttotal.item(), rtol=1e-12)
    assert total.shape == () and total.dtype == np.float64
    for p, tp in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-12)


def test_clip_grad_value_and_edge_cases():
    ours, theirs = pair(grads(2.0))
    nn.utils.clip_grad_value_(ours, 0.5)
    torch.nn.utils.clip_grad_value_(theirs, 0.5)
    for p, tp in zip(ours, theirs):
        np.testing.assert_array_equal(p.grad.numpy(), tp.grad.numpy())
    single = Tensor(np.zeros(2), requires_grad=True)
    single.grad = Tensor(np.array([3.0, 4.0]))
    assert nn.utils.clip_grad_norm_(single, 1.0).item() == pytest.approx(5.0)
    np.testing.assert_allclose(single.grad.numpy(), [0.6, 0.8], rtol=1e-6)
    assert nn.utils.clip_grad_norm_([Tensor(np.zeros(2), requires_grad=True)], 1.0).item() == 0.0
    bad = Tensor(np.zeros(2), requires_grad=True)
    bad.grad = Tensor(np.array([np.inf, 1.0]))
    with pytest.raises(RuntimeError, match="error_if_nonfinite"):
        nn.utils.clip_grad_norm_([bad], 1.0, error_if_nonfinite=True)


def test_clip_inside_a_training_step():
    model = nn.Linear(3, 2).double()
    x = Tensor(np.random.default_rng(0).standard_normal((4, 3)) * 100)
    (model(x) ** 2).sum().backward()
    nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    total = np.sqrt(sum((p.grad.numpy() ** 2).sum() for p in model.parameters()))
    assert total == pytest.approx(1.0, rel=1e-5)
