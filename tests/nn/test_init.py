"""Initialisation: nn.init against torch.nn.init's formulas, and the layers' default
initialisation against PyTorch's statistics (bounds, mean, standard deviation)."""
import math

import numpy as np
import pytest

import tinygrad_edu as tge
from tinygrad_edu import Tensor, nn
from tinygrad_edu.nn import init

from ..helpers import torch

# only the comparisons with PyTorch need it; everything else runs without it
needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")


def stats_like_torch(ours: np.ndarray, theirs, rel=0.03, bounded=True):
    """Within ``rel``, the same spread as the torch tensor, and (for a bounded distribution)
    the same bounds."""
    t = theirs.detach().numpy()
    assert ours.shape == t.shape
    assert abs(ours.std() - t.std()) < rel * t.std()
    assert abs(ours.mean() - t.mean()) < 5 * t.std() / math.sqrt(t.size) + 1e-12  # 5 standard errors
    if bounded:
        assert np.abs(ours).max() <= np.abs(t).max() * (1 + rel) + 1e-12


@needs_torch
@pytest.mark.parametrize("nonlinearity,param", [("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None),
                                                ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2),
                                                ("selu", None)])
def test_calculate_gain_matches_torch(nonlinearity, param):
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(torch.nn.init.calculate_gain(nonlinearity, param))


def test_calculate_gain_rejects_unknown():
    with pytest.raises(ValueError, match="unsupported"):
        init.calculate_gain("swish")


@needs_torch
def test_linear_default_init_matches_torch():
    torch.manual_seed(0)
    theirs = torch.nn.Linear(1000, 500)
    ours = nn.Linear(1000, 500)
    stats_like_torch(ours.weight.numpy(), theirs.weight)
    stats_like_torch(ours.bias.numpy(), theirs.bias, rel=0.1)  # only 500 values
    bound = 1 / math.sqrt(1000)
    assert np.abs(ours.weight.numpy()).max() <= bound and np.abs(ours.bias.numpy()).max() <= bound
    assert ours.weight.numpy().std() == pytest.approx(bound / math.sqrt(3), rel=0.01)


@needs_torch
def test_conv_default_init_matches_torch():
    torch.manual_seed(0)
    theirs = torch.nn.Conv2d(32, 64, 3)
    ours = nn.Conv2d(32, 64, 3)
    stats_like_torch(ours.weight.numpy(), theirs.weight)
    assert np.abs(ours.weight.numpy()).max() <= 1 / math.sqrt(32 * 9)
    assert np.abs(ours.bias.numpy()).max() <= 1 / math.sqrt(32 * 9)


@needs_torch
def test_embedding_and_lstm_default_init_match_torch():
    torch.manual_seed(0)
    stats_like_torch(nn.Embedding(3000, 64).weight.numpy(), torch.nn.Embedding(3000, 64).weight, bounded=False)
    ours, theirs = nn.LSTM(100, 128), torch.nn.LSTM(100, 128)
    for (name, p), (_, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        stats_like_torch(p.numpy(), tp, rel=0.1 if p.ndim == 1 else 0.03)


@pytest.mark.parametrize(
    "ours,theirs,shape",
    [
        (lambda t: init.xavier_uniform_(t), lambda t: torch.nn.init.xavier_uniform_(t), (400, 300)),
        (lambda t: init.xavier_uniform_(t, gain=2.0), lambda t: torch.nn.init.xavier_uniform_(t, gain=2.0), (64, 32, 3, 3)),
        (lambda t: init.xavier_normal_(t), lambda t: torch.nn.init.xavier_normal_(t), (400, 300)),
        (lambda t: init.kaiming_uniform_(t, nonlinearity="relu"), lambda t: torch.nn.init.kaiming_uniform_(t, nonlinearity="relu"), (400, 300)),
        (lambda t: init.kaiming_uniform_(t, a=math.sqrt(5)), lambda t: torch.nn.init.kaiming_uniform_(t, a=math.sqrt(5)), (400, 300)),
        (lambda t: init.kaiming_normal_(t, mode="fan_out"), lambda t: torch.nn.init.kaiming_normal_(t, mode="fan_out"), (64, 32, 3, 3)),
        (lambda t: init.normal_(t, 0.5, 2.0), lambda t: torch.nn.init.normal_(t, 0.5, 2.0), (300, 300)),
        (lambda t: init.uniform_(t, -3, 1), lambda t: torch.nn.init.uniform_(t, -3, 1), (300, 300)),
        (lambda t: init.trunc_normal_(t, std=0.02, a=-0.04, b=0.04), lambda t: torch.nn.init.trunc_normal_(t, std=0.02, a=-0.04, b=0.04), (300, 300)),
    ],
    ids=["xavier_uniform", "xavier_uniform_conv", "xavier_normal", "kaiming_uniform_relu", "kaiming_uniform_sqrt5",
         "kaiming_normal_fan_out", "normal", "uniform", "trunc_normal"],
)
@needs_torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_initialisers_match_torch_statistics(ours, theirs, shape, dtype, request):
    t = Tensor.zeros(*shape, dtype=dtype)
    assert ours(t) is t and t.dtype == dtype
    torch.manual_seed(0)
    stats_like_torch(t.numpy(), theirs(torch.empty(shape)), bounded="normal" not in request.node.name or "trunc" in request.node.name)


def test_constant_zeros_ones_eye():
    t = Tensor.zeros(3, 4)
    assert np.all(init.constant_(t, 2.5).numpy() == 2.5)
    assert np.all(init.ones_(t).numpy() == 1)
    assert np.all(init.zeros_(t).numpy() == 0)
    np.testing.assert_array_equal(init.eye_(t).numpy(), np.eye(3, 4))


@pytest.mark.parametrize("shape", [(6, 6), (4, 10), (10, 4), (8, 2, 3)])
def test_orthogonal(shape):
    t = init.orthogonal_(Tensor.zeros(*shape), gain=2.0)
    flat = t.numpy().reshape(shape[0], -1).astype(np.float64)
    rows, cols = flat.shape
    gram = flat @ flat.T if rows <= cols else flat.T @ flat
    np.testing.assert_allclose(gram, 4.0 * np.eye(min(rows, cols)), atol=1e-5)


def test_init_works_on_parameters_in_place_and_without_grad():
    lin = nn.Linear(5, 5)
    w = lin.weight
    out = lin(Tensor.ones(1, 5)).sum()  # a graph that holds the weight
    init.zeros_(lin.weight)
    assert lin.weight is w and np.all(w.numpy() == 0) and w.requires_grad and w.grad is None
    out.backward()  # the old graph still runs


def test_initialisers_are_reproducible_with_manual_seed():
    tge.manual_seed(42)
    a = nn.Linear(20, 30).weight.numpy().copy()
    tge.manual_seed(42)
    b = nn.Linear(20, 30).weight.numpy()
    np.testing.assert_array_equal(a, b)


def test_fan_errors():
    with pytest.raises(ValueError, match=r"at least 2 dimensions.*\(5,\)"):
        init.xavier_uniform_(Tensor.zeros(5))
    with pytest.raises(ValueError, match="mode"):
        init.kaiming_normal_(Tensor.zeros(3, 3), mode="fan_avg")
    with pytest.raises(TypeError, match="float"):
        init.normal_(Tensor(np.zeros(3, np.int64)))
