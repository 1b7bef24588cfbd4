"""In-place changes and version counters (issue 15, point 2).

Before version counters, changing a value that an op saved for backward (in place, under
no_grad, or through a ``detach()`` alias) gave silently wrong gradients ([11, 11] instead of
[1, 1]). Now every in-place change bumps ``t._version`` and backward refuses stale values with
PyTorch's message; in-place ops inside a graph become graph nodes, as in PyTorch. Each scenario
runs on tinygrad_edu with the expected numbers written out, and on PyTorch when it is there.
"""
import numpy as np
import pytest

from tinygrad_edu import Tensor, nn, optim

from ..helpers import grad_of

STALE = "one of the variables needed for gradient computation has been modified by an inplace operation"


# ---------------------------------------------------------------- stale saved values raise
def test_saved_value_changed_under_no_grad_raises(lib):
    x, w = lib.leaf([1.0, 2.0]), lib.leaf([3.0, 4.0])
    y = x * w  # saves w for dx
    with lib.no_grad():
        w += 10
    with pytest.raises(RuntimeError, match=STALE + r".*\[2\].* is at version 1; expected version 0"):
        y.sum().backward()
    assert x.grad is None and w.grad is None  # nothing half-accumulated


def test_saved_value_changed_through_a_detach_alias_raises(lib):
    x, w = lib.leaf([1.0, 2.0]), lib.leaf([3.0, 4.0])
    y = x * w
    alias = w.detach()
    alias += 10  # the same storage and the same version counter
    assert w._version == alias._version == 1
    with pytest.raises(RuntimeError, match=STALE):
        y.sum().backward()


def test_saved_output_changed_in_place_raises(lib):
    x = lib.leaf([1.0])
    y = x.exp()  # exp's backward uses its own output
    y += 1
    with pytest.raises(RuntimeError, match=STALE + r".*output 0 of Exp"):
        y.sum().backward()


def test_a_value_the_backward_does_not_need_may_change(lib):
    x = lib.leaf([1.0, 2.0])
    y = x * 1
    z = y * 2  # saves y, but needs it only for the gradient of the constant 2
    y += 5
    (z.sum() + y.sum()).backward()
    assert grad_of(x) == [3.0, 3.0]


def test_optimizer_step_bumps_the_version_and_old_graphs_refuse():
    w = nn.Parameter(Tensor([1.0, 2.0]))
    opt = optim.SGD([w], lr=0.1)
    loss = (w * w).sum()
    (w * 3).sum().backward()
    opt.step()
    assert w._version == 1
    with pytest.raises(RuntimeError, match=STALE):
        loss.backward()


# ---------------------------------------------------------------- in-place ops in a graph
def test_micrograd_sanity_check_with_in_place_adds(lib):
    """micrograd's own test (``c += 1`` on a non-leaf, then backward), value for value."""
    a, b = lib.leaf([2.0]), lib.leaf([-3.0])
    c = a * b
    c += 1
    c += 1 + c + (-a)
    d = a * b + b ** 3
    d += d * 2 + (b + a).relu()
    e = c - d
    f = e ** 2
    g = f / 2.0
    g = g + 10.0 / f
    g.sum().backward()
    np.testing.assert_allclose(float(g.sum().item()), 3872.0012, rtol=1e-6)
    np.testing.assert_allclose(grad_of(a), [176.0], rtol=1e-5)
    np.testing.assert_allclose(grad_of(b), [-7304.0], rtol=1e-5)


def test_each_in_place_op_is_a_graph_node(lib):
    x, v, s = lib.leaf([-1.0, 0.5, 2.0]), lib.leaf([5.0]), lib.leaf([1.0, 1.0, 1.0])
    z = x * 2
    z.clamp_(0, 1.5)                                 # [0, 1, 1.5]: only the middle passes
    z.masked_fill_(lib.const([True, False, False]), 7.0)
    z[2] = v[0] * 2                                  # index assignment
    q = x * 1
    q.copy_(s * 3)                                   # q's old value gets no gradient
    r = x * 1
    r.zero_()
    r.fill_(4.0)
    w = x * 1
    w *= lib.const([1.0, 2.0, 3.0])                  # *= and /= keep the old value they need
    w /= lib.const([2.0, 2.0, 2.0])
    w -= x
    (z.sum() + (q * q).sum() + (r * x).sum() + w.sum()).backward()
    assert grad_of(x) == [4.0 - 0.5, 2.0 + 4.0 + 0.0, 4.0 + 0.5]
    assert grad_of(v) == [2.0]
    assert grad_of(s) == [18.0, 18.0, 18.0]


def test_in_place_op_keeps_earlier_uses_on_the_old_history(lib):
    x = lib.leaf([1.0, 2.0])
    c = x * 1
    y = c + 1          # uses c before the change: its gradient goes to c's old history
    c.mul_(3)
    (y.sum() + c.sum()).backward()
    assert grad_of(x) == [4.0, 4.0]


def test_plain_tensor_becomes_part_of_the_graph(lib):
    w = lib.leaf([3.0, 4.0])
    buf = lib.const([2.0, 2.0])
    buf *= w
    assert buf.requires_grad
    buf.sum().backward()
    assert grad_of(w) == [2.0, 2.0]


def test_in_place_on_a_leaf_that_requires_grad_raises_outside_no_grad(lib):
    x = lib.leaf([1.0])
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place operation"):
        x += 1
    with lib.no_grad():
        x += 1
    assert float(x.detach()[0]) == 2.0


def test_integer_tensor_plus_a_float_raises_like_pytorch(lib):
    i = lib.const([1, 2])
    with pytest.raises(RuntimeError, match="can't be cast to the desired output type"):
        i += 0.5
    i += 2  # ints stay fine
    assert np.asarray(i).tolist() == [3, 4]


# ---------------------------------------------------------------- the counter itself
def test_every_in_place_op_bumps_the_version_and_detach_shares_it():
    t = Tensor([1.0, 2.0, 3.0])
    alias = t.detach()
    ops = [lambda: t.__iadd__(1), lambda: t.__isub__(1), lambda: t.__imul__(2), lambda: t.__itruediv__(2),
           lambda: t.masked_fill_(Tensor([True, False, False]), 0.0), lambda: t.zero_(),
           lambda: t.fill_(1.0), lambda: t.clamp_(0.0, 0.5), lambda: t.copy_(Tensor([4.0, 5.0, 6.0])),
           lambda: t.__setitem__(0, 9.0)]
    for n, op in enumerate(ops, start=1):
        op()
        assert t._version == n and alias._version == n
    assert t.numpy().tolist() == [9.0, 5.0, 6.0] and alias.numpy().tolist() == [9.0, 5.0, 6.0]
    assert Tensor([1.0])._version == 0 and (t + 1)._version == 0


def test_index_assignment_without_a_graph_writes_in_place():
    t = Tensor(np.zeros((2, 3), dtype=np.float32))
    view = t.data
    t[1] = Tensor([1.0, 2.0, 3.0])
    t[0, 1:] = 5
    assert view is t.data and t.numpy().tolist() == [[0.0, 5.0, 5.0], [1.0, 2.0, 3.0]]


def test_load_state_dict_and_init_bump_the_version():
    layer = nn.Linear(2, 2)
    before = layer.weight._version
    layer.load_state_dict(layer.state_dict())
    nn.init.zeros_(layer.bias)
    assert layer.weight._version == before + 1 and layer.bias._version >= 1
