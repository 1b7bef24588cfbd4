"""Backward's graph life cycle and its options (issue 15, point 4), gradient hooks and
``autograd.grad``.

Before: a second ``backward()`` through the same graph silently added the gradients again, and
``retain_graph=`` / ``create_graph=`` were a TypeError. Now the saved arrays are freed after a
backward and a second walk raises PyTorch's error unless ``retain_graph=True``. Scenarios run
on tinygrad_edu with the expected numbers written out, and on PyTorch when it is there.
"""
import numpy as np
import pytest

import tinygrad_edu as tge
from tinygrad_edu import Tensor

from ..helpers import grad_of

SECOND_TIME = "Trying to backward through the graph a second time"


def _arr(g):
    return np.asarray(g.detach() if hasattr(g, "detach") else g).tolist()


def test_second_backward_raises_and_grads_are_added_once(lib):
    x = lib.leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match=SECOND_TIME):
        y.backward()
    assert grad_of(x) == [2.0, 4.0]


def test_retain_graph_allows_a_second_backward(lib):
    x = lib.leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert grad_of(x) == [4.0, 8.0]


def test_two_losses_sharing_a_subgraph_need_retain_graph(lib):
    x = lib.leaf([1.0, 2.0])
    h = x.exp()
    h.sum().backward(retain_graph=True)
    (h * 2).sum().backward()
    np.testing.assert_allclose(grad_of(x), 3 * np.exp([1.0, 2.0]), rtol=1e-6)
    x2 = lib.leaf([1.0])
    h2 = x2.exp()
    h2.sum().backward()
    with pytest.raises(RuntimeError, match=SECOND_TIME):
        (h2 * 2).sum().backward()


def test_the_graph_can_still_be_looked_at_after_backward():
    x = Tensor([1.0], requires_grad=True)
    y = (x * 2).exp().sum()
    y.backward()
    assert y._ctx.name == "Sum" and y._ctx.parents[0]._ctx.name == "Exp"
    assert "Exp" in tge.utils.draw_graph(y)


def test_create_graph_is_refused_with_a_clear_message():
    x = Tensor([1.0], requires_grad=True)
    with pytest.raises(NotImplementedError, match="create_graph=True"):
        (x * x).sum().backward(create_graph=True)
    assert x.grad is None


def test_inputs_limits_accumulation(lib):
    a, b = lib.leaf([1.0]), lib.leaf([3.0])
    mid = a * b
    (mid * 2).sum().backward(inputs=[a])
    assert grad_of(a) == [6.0] and b.grad is None


def test_autograd_grad(lib):
    grad = lib.t.autograd.grad
    a, b = lib.leaf([1.0, 2.0]), lib.leaf([3.0])
    mid = a * b
    out = (mid * mid).sum()
    assert [_arr(g) for g in grad(out, [mid], retain_graph=True)] == [[6.0, 12.0]]
    assert [_arr(g) for g in grad(out, [a, b])] == [[18.0, 36.0], [30.0]]
    assert a.grad is None and b.grad is None  # .grad is left alone
    with pytest.raises(RuntimeError, match=SECOND_TIME):
        grad(out, [a])
    unused = lib.leaf([1.0])
    with pytest.raises(RuntimeError):
        grad((a * b).sum(), [unused])
    assert grad((a * b).sum(), [unused], allow_unused=True) == (None,)


def test_register_hook_sees_and_may_replace_the_gradient(lib):
    x = lib.leaf([1.0, 2.0])
    seen = []
    handle = x.register_hook(lambda g: seen.append(_arr(g)) or g * 2)
    y = x * x
    y.register_hook(lambda g: seen.append(_arr(g)))
    y.sum().backward()
    assert seen == [[1.0, 1.0], [2.0, 4.0]]
    assert grad_of(x) == [4.0, 8.0]
    handle.remove()
    x.grad = None
    (x * 3).sum().backward()
    assert grad_of(x) == [3.0, 3.0]
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        lib.const([1.0]).register_hook(lambda g: g)


def test_post_accumulate_grad_hook_runs_after_the_grad_is_added(lib):
    x = lib.leaf([1.0, 2.0])
    calls = []
    handle = x.register_post_accumulate_grad_hook(lambda t: calls.append(_arr(t.grad)))
    (x * 2).sum().backward()
    (x * 3).sum().backward()
    assert calls == [[2.0, 2.0], [5.0, 5.0]]
    handle.remove()
    (x * 1).sum().backward()
    assert len(calls) == 2
    with pytest.raises(RuntimeError, match="non-leaf"):
        (x * 1).register_post_accumulate_grad_hook(lambda t: None)


def test_post_accumulate_hook_can_step_a_parameter_during_backward():
    """The pattern of optimizers in backward (and of data-parallel gradient averaging)."""
    w = tge.nn.Parameter(Tensor([1.0, 2.0]))

    def step(p):
        with tge.no_grad():
            p -= 0.5 * p.grad
        p.grad = None

    w.register_post_accumulate_grad_hook(step)
    (w * w).sum().backward()
    assert w.numpy().tolist() == [0.0, 0.0] and w.grad is None


def test_post_accumulate_hook_runs_as_soon_as_the_leaf_is_complete(lib):
    """A hooked leaf is accumulated (and its hook runs) as soon as the last op that uses it has
    run its backward, before the walk reaches the ops nearer the inputs, as in PyTorch: this is
    what lets data-parallel training overlap its all-reduce with the rest of backward."""
    x = lib.leaf([1.0, 2.0])
    w_out, w_in = lib.leaf([3.0, 4.0]), lib.leaf([5.0, 6.0])
    events = []
    w_out.register_post_accumulate_grad_hook(lambda t: events.append(("w_out done", x.grad is None)))
    w_in.register_post_accumulate_grad_hook(lambda t: events.append(("w_in done", x.grad is None)))
    h = x * w_in            # nearer the inputs: its backward runs last
    (h * w_out * 2).sum().backward()
    assert events[0] == ("w_out done", True)    # before the walk reached h's backward and x
    assert [e[0] for e in events] == ["w_out done", "w_in done"]
    assert grad_of(w_out) == [10.0, 24.0] and grad_of(w_in) == [6.0, 16.0] and grad_of(x) == [30.0, 48.0]


def test_a_failing_backward_leaves_unhooked_leaves_untouched():
    """Leaves without post-accumulate hooks keep the all-or-nothing rule."""
    from tinygrad_edu.autograd import Function

    class Boom(Function):
        def forward(self, a):
            return a * 1.0

        def backward(self, g):
            raise ValueError("boom")

    x = Tensor([1.0, 2.0], requires_grad=True)
    y = Tensor([3.0, 4.0], requires_grad=True)
    with pytest.raises(ValueError, match="boom"):
        (Boom.apply(x) * y).sum().backward()
    assert x.grad is None and y.grad is None
