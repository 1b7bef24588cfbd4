"""Anomaly mode inside a model: a layer whose backward makes an infinity is named, with the
line of the model that created the op, and nothing is accumulated or stepped.

(tests/utils/test_anomaly_graph.py covers single ops, the default-off switch and
TGE_DETECT_ANOMALY.)
"""
import numpy as np
import pytest

import tinygrad_edu as tge
from tinygrad_edu import Tensor, nn, optim
from tinygrad_edu.utils import AnomalyError, detect_anomaly


class RootFeatures(nn.Module):
    """sqrt(relu(x)): finite forward, but d sqrt/dx is infinite where relu gave 0."""

    def forward(self, x):
        return x.relu().sqrt()  # the line the anomaly report must point at


def _model_and_batch():
    tge.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 6), RootFeatures(), nn.Linear(6, 3))
    x = Tensor(np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32))
    y = Tensor(np.array([0, 1, 2, 1, 0]))
    return model, x, y


def test_without_anomaly_mode_the_nan_spreads_silently():
    model, x, y = _model_and_batch()
    with np.errstate(all="ignore"):
        nn.CrossEntropyLoss()(model(x), y).backward()
    assert np.isnan(model[0].weight.grad.numpy()).any()  # why anomaly mode exists


def test_anomaly_mode_names_the_layer_op_and_model_line():
    model, x, y = _model_and_batch()
    opt = optim.SGD(model.parameters(), lr=0.1)
    before = [p.numpy().copy() for p in model.parameters()]
    with detect_anomaly(), np.errstate(all="ignore"):
        loss = nn.CrossEntropyLoss()(model(x), y)  # forward is finite: no error yet
        with pytest.raises(AnomalyError) as info:
            loss.backward()
    message = str(info.value)
    first = message.splitlines()[0]
    assert first == "anomaly: Sqrt produced inf in its gradient (backward) (shape (5, 6))."
    # the one-line summary points at RootFeatures.forward in this file
    summary = message.splitlines()[1]
    assert summary.startswith("Your code made it at ") and "test_anomaly_model.py" in summary
    assert "in forward: return x.relu().sqrt()" in summary
    # the full forward trace follows, through the model's __call__ to the layer
    assert "The op was created here (forward trace):" in message
    assert "x.relu().sqrt()" in message.split("forward trace")[1]
    # nothing accumulated, so a step changes nothing
    assert all(p.grad is None for p in model.parameters())
    opt.step()
    for p, b in zip(model.parameters(), before):
        np.testing.assert_array_equal(p.numpy(), b)


def test_anomaly_mode_as_a_decorator_on_a_training_step():
    model, x, y = _model_and_batch()

    @detect_anomaly()
    def step():
        nn.CrossEntropyLoss()(model(x), y).backward()

    with np.errstate(all="ignore"), pytest.raises(AnomalyError, match="Sqrt"):
        step()
    # and it is off again afterwards
    with np.errstate(all="ignore"):
        nn.CrossEntropyLoss()(model(x), y).backward()


def test_anomaly_in_forward_inside_a_model_names_the_line():
    class LogLayer(nn.Module):
        def forward(self, x):
            return x.log()  # NaN for negative inputs: caught in forward

    model = nn.Sequential(nn.Identity(), LogLayer())
    with detect_anomaly(), np.errstate(all="ignore"), pytest.raises(AnomalyError) as info:
        model(Tensor([1.0, -1.0]))
    lines = str(info.value).splitlines()
    assert lines[0].startswith("anomaly: Log produced NaN in its forward output")
    assert "in forward: return x.log()" in lines[1]
