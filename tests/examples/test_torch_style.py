"""``import tinygrad_edu as torch``: the PyTorch free functions the articles' loops use."""
import numpy as np
import pytest

import tinygrad_edu as torch


def test_randint_forms():
    torch.manual_seed(0)
    a = torch.randint(0, 10, (3, 4))
    assert a.shape == (3, 4) and a.dtype == np.int64
    assert 0 <= a.numpy().min() and a.numpy().max() < 10
    b = torch.randint(5, (6,))
    assert b.shape == (6,) and b.numpy().max() < 5
    torch.manual_seed(0)
    np.testing.assert_array_equal(torch.randint(0, 10, (3, 4)).numpy(), a.numpy())
    with pytest.raises(ValueError, match="low < high"):
        torch.randint(3, 3, (2,))


def test_max_with_dim_returns_values_and_indices():
    x = torch.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]], requires_grad=True)
    values, indices = torch.max(x, 1)
    np.testing.assert_array_equal(values.numpy(), [5.0, 7.0])
    np.testing.assert_array_equal(indices.numpy(), [1, 0])
    assert torch.max(x, dim=1).indices.dtype == np.int64
    values.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 1, 0], [1, 0, 0]])
    assert torch.max(x).item() == 7.0 and torch.min(x).item() == 0.0
    np.testing.assert_array_equal(torch.min(x, 0).indices.numpy(), [0, 1, 0])
    np.testing.assert_array_equal(torch.max(x, torch.tensor(4.0)).numpy(), [[4, 5, 4], [7, 4, 4]])
    np.testing.assert_array_equal(torch.argmax(x, dim=1).numpy(), [1, 0])


def test_accuracy_idiom():
    outputs = torch.tensor([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]])
    labels = torch.tensor([1, 0, 0])
    _, predicted = torch.max(outputs, 1)
    assert (predicted == labels).sum().item() / labels.size(0) == pytest.approx(2 / 3)
    assert torch.long is np.int64 and isinstance(torch.randperm(5).numpy(), np.ndarray)
