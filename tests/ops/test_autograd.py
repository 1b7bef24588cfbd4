"""The autograd engine: graph walk, accumulation, reuse, no_grad, detach, dtypes, errors."""
import threading

import numpy as np
import pytest

import tinygrad_edu as tge
from tinygrad_edu import Tensor

from ..helpers import torch


def test_chain_of_100000_ops_does_not_hit_the_recursion_limit():
    x = Tensor([1.0], requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.sum().backward()
    assert x.grad.numpy()[0] == 1.0


def test_node_used_several_times_gets_the_sum_of_its_gradients():
    x = Tensor([2.0, 3.0], requires_grad=True, dtype="float64")
    y = x * x + x * 3 + x  # dy/dx = 2x + 4
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [8.0, 10.0])


def test_diamond_graph():
    x = Tensor(1.5, requires_grad=True, dtype="float64")
    a = x.exp()
    b = a * 2
    c = a.log()
    (b + c).backward()
    np.testing.assert_allclose(x.grad.item(), 2 * np.exp(1.5) + 1.0)


def test_gradients_accumulate_across_backward_calls():
    x = Tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 6.0])
    # the same graph may be walked twice when it is retained (PyTorch's retain_graph=True)
    y = (x * x).sum()
    x.grad = None
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 8.0])


def test_grads_of_two_leaves_sharing_an_upstream_array_are_independent():
    a = Tensor([1.0], requires_grad=True)
    b = Tensor([1.0], requires_grad=True)
    (a + b).sum().backward()
    a.grad += 5  # would corrupt b.grad if the array were shared
    assert b.grad.item() == 1.0


def test_no_grad_context_and_decorator():
    x = Tensor([1.0], requires_grad=True)
    with tge.no_grad():
        y = x * 2
        assert not tge.is_grad_enabled()
    assert tge.is_grad_enabled()
    assert not y.requires_grad and y._ctx is None

    @tge.no_grad()
    def f(t):
        return t * 2

    assert not f(x).requires_grad
    with tge.no_grad():
        with tge.enable_grad():
            assert (x * 2).requires_grad


def test_no_grad_is_per_thread():
    seen = {}

    def worker():
        seen["thread"] = tge.is_grad_enabled()

    with tge.no_grad():
        t = threading.Thread(target=worker)
        t.start()
        t.join()
    assert seen["thread"] is True


def test_inplace_update_of_parameters_under_no_grad():
    p = Tensor([1.0, 2.0], requires_grad=True)
    (p * p).sum().backward()
    with tge.no_grad():
        p -= 0.1 * p.grad
    np.testing.assert_allclose(p.numpy(), [0.8, 1.6], rtol=1e-6)
    assert p.requires_grad
    with pytest.raises(RuntimeError, match="in-place"):
        p += 1


def test_detach_cuts_the_graph():
    x = Tensor([1.0], requires_grad=True)
    y = (x * 2).detach()
    assert not y.requires_grad
    z = x * y
    z.sum().backward()
    assert x.grad.item() == 2.0


def test_backward_errors():
    with pytest.raises(RuntimeError, match="does not require grad"):
        Tensor([1.0]).sum().backward()
    x = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"shape \(2,\)"):
        (x * 2).backward()
    with pytest.raises(ValueError, match="does not match"):
        (x * 2).backward(Tensor([1.0]))
    (x * 2).backward(Tensor([1.0, 1.0]))
    np.testing.assert_allclose(x.grad.numpy(), [2, 2])


def test_error_inside_backward_leaves_grads_untouched():
    from tinygrad_edu.autograd import Function

    class Broken(Function):
        def forward(self, x):
            return x * 1

        def backward(self, g):
            raise ArithmeticError("boom")

    a = Tensor([1.0], requires_grad=True)
    b = Tensor([1.0], requires_grad=True)
    (a * 2).sum().backward()
    loss = (a * 3 + Broken.apply(b)).sum()
    with pytest.raises(ArithmeticError):
        loss.backward()
    assert a.grad.item() == 2.0 and b.grad is None


def test_requires_grad_only_for_floats():
    with pytest.raises(TypeError, match="float"):
        Tensor([1, 2], requires_grad=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept_through_forward_and_backward(dtype):
    x = Tensor(np.ones((2, 3), dtype=dtype), requires_grad=True)
    w = Tensor(np.ones((3, 4), dtype=dtype), requires_grad=True)
    y = ((x @ w).relu().exp() * 0.5 + 1.0).log_softmax(-1).mean()
    assert y.dtype == dtype
    y.backward()
    assert x.grad.dtype == dtype and w.grad.dtype == dtype


def test_mixed_float_dtypes_promote_and_gradients_keep_leaf_dtype():
    a = Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    b = Tensor(np.ones(3, dtype=np.float64), requires_grad=True)
    c = a * b
    assert c.dtype == np.float64
    c.sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64


def test_constructor_dtype_rules():
    assert Tensor(1.5).dtype == np.float32
    assert Tensor([1.0, 2.0]).dtype == np.float32
    assert Tensor(np.zeros(2, np.float64)).dtype == np.float64
    assert Tensor(np.zeros(2, np.float16)).dtype == np.float32
    assert Tensor([1, 2]).dtype == np.int64
    assert Tensor(np.array([1, 2], np.uint8)).dtype == np.int64
    assert Tensor([True, False]).dtype == np.bool_
    assert Tensor([1, 2], dtype="float64").dtype == np.float64
    assert Tensor([1, 2], dtype=np.float32).dtype == np.float32
    t = Tensor(np.ones(2, np.float32))
    assert (np.float64(2.5) * t).dtype == np.float32
    assert (t * np.float64(2.5)).dtype == np.float32
    assert (Tensor([1, 2]) * 0.5).dtype == np.float32
    assert (Tensor([1, 2]) / 2).dtype == np.float32
    with pytest.raises(TypeError):
        Tensor(["a"])
    with pytest.raises(TypeError, match="unknown dtype"):
        Tensor([1.0], dtype="float128x")


def test_factories_and_seed():
    tge.manual_seed(3)
    a = Tensor.randn(2, 3)
    tge.manual_seed(3)
    b = Tensor.randn((2, 3))
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert a.dtype == np.float32
    assert Tensor.zeros(2, 3, dtype="float64").dtype == np.float64
    assert Tensor.ones(3, requires_grad=True).requires_grad
    np.testing.assert_array_equal(Tensor.full((2, 2), 7.0).numpy(), np.full((2, 2), 7.0))
    assert Tensor.arange(5).dtype == np.int64 and Tensor.arange(0.0, 1.0, 0.25).shape == (4,)
    np.testing.assert_array_equal(Tensor.eye(3).numpy(), np.eye(3))
    r = Tensor.rand(1000)
    assert 0 <= r.numpy().min() and r.numpy().max() < 1
    with pytest.raises(ValueError, match="negative"):
        Tensor.zeros(-1, 2)


def test_interop_numpy_item_repr_dlpack():
    t = Tensor([[1.0, 2.0]])
    assert np.asarray(t).shape == (1, 2)
    assert t.numpy().dtype == np.float32
    assert Tensor([3.5]).item() == 3.5
    with pytest.raises(ValueError, match="one-element"):
        t.item()
    assert "tensor(" in repr(t) and "requires_grad" in repr(Tensor([1.0], requires_grad=True))
    back = Tensor.from_dlpack(np.arange(4.0))
    np.testing.assert_array_equal(back.numpy(), np.arange(4.0))
    np.testing.assert_array_equal(np.from_dlpack(t), t.numpy())
    if torch is not None:
        tt = torch.from_dlpack(Tensor(np.arange(3.0)))
        assert tt.tolist() == [0.0, 1.0, 2.0]
        assert Tensor.from_dlpack(torch.arange(3.0)).tolist() == [0.0, 1.0, 2.0]


def test_comparisons_argmax_astype_are_not_differentiable():
    x = Tensor([[1.0, 5.0, 3.0]], requires_grad=True)
    assert (x > 2).dtype == np.bool_ and not (x > 2).requires_grad
    assert (x == 5.0).numpy().tolist() == [[False, True, False]]
    assert x.argmax(axis=1).numpy().tolist() == [1]
    assert x.argmax(axis=1).dtype == np.int64
    assert x.astype("int64").dtype == np.int64 and not x.astype("int64").requires_grad
    assert x.astype("float64").requires_grad  # float -> float keeps the graph, as PyTorch's .to()


def test_device_errors_without_cuda():
    if tge.cuda_is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(RuntimeError, match="cuda"):
        Tensor([1.0]).to("cuda")
    with pytest.raises(ValueError, match="unknown device"):
        Tensor([1.0]).to("tpu")
    assert Tensor([1.0]).to("cpu").device == "cpu"


# ------------------------------------------------------------------------- bad input
def test_shape_errors_name_the_shapes():
    a, b = Tensor.ones(3, 4), Tensor.ones(5, 2)
    with pytest.raises(ValueError, match=r"\(3, 4\) @ \(5, 2\): inner sizes 4 and 5 differ"):
        a @ b
    with pytest.raises(ValueError, match=r"\(2, 3, 4\).*\(5, 4, 2\)"):
        Tensor.ones(2, 3, 4) @ Tensor.ones(5, 4, 2)
    with pytest.raises(ValueError, match=r"\(3, 4\).*\(2, 5\)"):
        a.reshape(2, 5)
    with pytest.raises(ValueError, match="cat"):
        tge.cat([Tensor.ones(2, 3), Tensor.ones(3, 2)], axis=0)
    with pytest.raises(ValueError, match="stack"):
        tge.stack([Tensor.ones(2, 3), Tensor.ones(3, 2)])
    with pytest.raises(ValueError, match="expand"):
        Tensor.ones(3, 2).expand(3, 4)
    with pytest.raises(ValueError, match="axis 5"):
        a.sum(axis=5)
    with pytest.raises(IndexError, match=r"shape \(3, 4\)"):
        a[7]
    with pytest.raises(ValueError, match="permutation"):
        a.permute(0, 0)


def test_empty_batches_work():
    x = Tensor.zeros(0, 4, requires_grad=True)
    w = Tensor.ones(4, 3, requires_grad=True)
    y = (x @ w).relu()
    assert y.shape == (0, 3)
    y.sum().backward()
    assert x.grad.shape == (0, 4) and np.all(w.grad.numpy() == 0)
