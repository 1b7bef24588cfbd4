"""The idioms of micrograd's engine tests, run on tinygrad_edu and compared with PyTorch.

micrograd's tests build small scalar expressions twice (micrograd, then torch) and compare
the value and the gradients. Here the same kind of expressions run on tinygrad_edu written
the way those tests write torch code: one-element tensors made with ``Tensor([v]).double()``
and ``requires_grad`` set afterwards, ``relu`` of negative values, reflected operators
(``2 * x``, ``10.0 / f``), ``**``, in-place ``+=`` on intermediate results, ``y.data.item()``
and ``x.grad.item()``, unbound methods (``Tensor.tanh``) used as functions, and the same
graphs on 0-d tensors. Each result must match PyTorch to 1e-6 (float64).
"""
import numpy as np
import pytest

import tinygrad_edu as tge

torch = pytest.importorskip("torch")

TOL = 1e-6


def leaf(lib, value, zero_d=False):
    """A float64 leaf holding ``value`` as the tests make it: 1-element, grad flag set later."""
    if zero_d:
        return lib.tensor(value, dtype=lib.float64, requires_grad=True)
    t = lib.Tensor([value]).double()
    t.requires_grad = True
    return t


def chain(x):
    """Sums, products, relu of positive and negative values, reflected scalars."""
    z = 3 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    return h + q + q * x + (-x).relu() * 2


def accumulate(a, b):
    """In-place updates of intermediate results, powers, divisions by tensors."""
    c = a + b
    d = a * b + b ** 3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e ** 2
    g = f / 2.0
    g += 10.0 / f
    return g


@pytest.mark.parametrize("zero_d", [False, True], ids=["one-element", "0-d"])
@pytest.mark.parametrize("start", [-4.0, 1.5])
def test_expression_chain_matches_torch(start, zero_d):
    x, tx = leaf(tge, start, zero_d), leaf(torch, start, zero_d)
    y, ty = chain(x), chain(tx)
    y.backward()
    ty.backward()
    assert y.shape == tuple(ty.shape)
    assert abs(y.data.item() - ty.data.item()) < TOL
    assert abs(x.grad.item() - tx.grad.item()) < TOL


@pytest.mark.parametrize("zero_d", [False, True], ids=["one-element", "0-d"])
def test_in_place_accumulation_matches_torch(zero_d):
    a, b = leaf(tge, -4.0, zero_d), leaf(tge, 2.0, zero_d)
    ta, tb = leaf(torch, -4.0, zero_d), leaf(torch, 2.0, zero_d)
    g, tg = accumulate(a, b), accumulate(ta, tb)
    g.backward()
    tg.backward()
    assert abs(g.data.item() - tg.data.item()) < TOL
    assert abs(a.grad.item() - ta.grad.item()) < TOL
    assert abs(b.grad.item() - tb.grad.item()) < TOL


@pytest.mark.parametrize("name", ["tanh", "exp", "relu", "sigmoid", "sin", "cos", "abs", "neg"])
def test_unbound_unary_methods_match_torch(name):
    ours, theirs = getattr(tge.Tensor, name), getattr(torch.Tensor, name)
    for value in (-1.0, 0.123, 2.0):
        x, tx = leaf(tge, value), leaf(torch, value)
        y, ty = ours(x), theirs(tx)
        y.backward()
        ty.backward()
        assert abs(y.data.item() - ty.data.item()) < TOL
        assert abs(x.grad.item() - tx.grad.item()) < TOL


def test_zero_d_relu_and_gelu_backward():
    """A 0-d graph through relu/gelu backpropagates (0-d arrays in their backward)."""
    for fn, tfn in ((lambda t: t.relu() * 3, lambda t: t.relu() * 3),
                    (lambda t: tge.nn.functional.gelu(t) * 3, lambda t: torch.nn.functional.gelu(t) * 3)):
        for value in (-4.0, 0.7):
            x = tge.Tensor(value, requires_grad=True, dtype="float64")
            tx = torch.tensor(value, requires_grad=True, dtype=torch.float64)
            fn(x).backward()
            tfn(tx).backward()
            assert x.grad.shape == () and abs(x.grad.item() - tx.grad.item()) < TOL
    np.testing.assert_allclose(tge.Tensor(-4.0).relu().numpy(), 0.0)
