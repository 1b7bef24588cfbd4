"""Op cases in the style of tinygrad's test_ops (one helper, one line per case, forward and
backward against PyTorch), limited to the API this library has. Each case is written once
and run twice, with ``lib`` = tinygrad_edu and ``lib`` = torch, so the same PyTorch spelling
(``x.sum(1, keepdim=True)``, ``lib.einsum(...)``, ``F.conv2d(..., groups=2)``) must work on
both. Inputs are float64; outputs and every input gradient must agree to 1e-6 (relative).
"""
import math

import numpy as np
import pytest

import tinygrad_edu as tge

torch = pytest.importorskip("torch")

TOL = dict(rtol=1e-6, atol=1e-8)


def values(shape, seed, positive=False, separated=False):
    a = np.random.default_rng(seed).standard_normal(shape)
    if separated:  # no ties or kinks near the finite differences of max/sort/abs/relu
        a = np.sort(np.random.default_rng(seed).permutation(int(np.prod(shape))) + 0.5).reshape(shape)
        a = np.random.default_rng(seed + 7).permutation(a.reshape(-1)).reshape(shape) - int(np.prod(shape)) / 2
    return np.abs(a) + 0.5 if positive else a


def helper(shapes, fn, positive=False, separated=False, grad=True):
    """Run ``fn(lib, *inputs)`` on both libraries and compare outputs and input gradients."""
    arrays = [values(s, i, positive, separated) for i, s in enumerate(shapes)]
    ours = [tge.tensor(a, dtype=tge.float64, requires_grad=grad) for a in arrays]
    theirs = [torch.tensor(a, dtype=torch.float64, requires_grad=grad) for a in arrays]
    out, tout = fn(tge, *ours), fn(torch, *theirs)
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    touts = list(tout) if isinstance(tout, (tuple, list)) else [tout]
    assert len(outs) == len(touts)
    total, ttotal = 0, 0
    for i, (o, t) in enumerate(zip(outs, touts)):
        assert o.shape == tuple(t.shape), f"output {i}: {o.shape} vs torch {tuple(t.shape)}"
        np.testing.assert_allclose(o.numpy(), t.detach().numpy(), **TOL, err_msg=f"output {i}")
        if grad and o.dtype.kind == "f" and t.requires_grad:
            weights = np.random.default_rng(99 + i).standard_normal(o.shape)
            total = total + (o * tge.tensor(weights)).sum()
            ttotal = ttotal + (t * torch.tensor(weights)).sum()
    if grad and not isinstance(total, int):
        total.backward()
        ttotal.backward()
        for i, (a, ta) in enumerate(zip(ours, theirs)):
            if ta.grad is None:
                assert a.grad is None or not np.any(a.grad.numpy()), f"input {i}: torch has no gradient"
                continue
            np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), **TOL, err_msg=f"gradient of input {i}")


def F(lib):
    return lib.nn.functional


CASES = {
    # arithmetic, with broadcasting and 0-d operands
    "add_sub_mul_div": ([(4, 5), (4, 5)], lambda T, x, y: (x + y, x - y, x * y, x / (y.abs() + 1), T.add(x, y, alpha=2))),
    "broadcast": ([(4, 5), (4, 1), (5,), ()], lambda T, a, b, c, d: a * b + c - d / 2),
    "scalars_both_sides": ([(3, 4)], lambda T, x: (2 - x, x * -1, 255 * x, 3 / (x.abs() + 1), x ** 2, 2 ** x)),
    "zero_d": ([(), ()], lambda T, x, y: (x * y + x.relu() * 3, T.maximum(x, y), x.neg())),
    "method_forms": ([(3, 4), (3, 4)], lambda T, x, y: (x.add(y), x.sub(y), x.mul(y), x.div(y.abs() + 1), x.pow(2),
                                                       x.neg(), x.square())),
    "maximum_minimum": ([(5, 6), (5, 6)], lambda T, x, y: (T.maximum(x, y), T.minimum(x, y), x.max(y), x.min(y))),
    "clamp": ([(4, 5)], lambda T, x: (x.clamp(min=-0.5, max=0.5), x.clamp(min=0), T.clamp(x, max=0.1),
                                      x.clip(-1, 1))),
    # unary
    "unary": ([(4, 5)], lambda T, x: (x.exp(), x.tanh(), x.sigmoid(), x.relu(), x.sin(), x.cos(), abs(x),
                                      T.sin(x), T.exp(x))),
    "unary_positive": ([(4, 5)], lambda T, x: (x.log(), x.sqrt(), T.log(x), T.sqrt(x), x.pow(0.5)), {"positive": True}),
    "activations": ([(4, 5)], lambda T, x: (F(T).silu(x), F(T).softplus(x), F(T).gelu(x), F(T).leaky_relu(x, 0.2),
                                            F(T).gelu(x, approximate="tanh"), F(T).softplus(x * 20, beta=0.5))),
    # reductions with dim / keepdim
    "sum_mean": ([(3, 4, 5)], lambda T, x: (x.sum(), x.sum(1), x.sum(dim=(0, 2), keepdim=True), x.mean(-1),
                                            x.mean(0, keepdim=True), T.sum(x, 2), T.mean(x, dim=1))),
    "max_min_dim": ([(3, 4, 5)], lambda T, x: (x.max(), x.min(), x.max(1)[0], x.max(1)[1], x.min(dim=2, keepdim=True).values,
                                               x.min(2, True).indices, T.max(x, 0).values, T.argmax(x, 1), x.argmin(dim=0, keepdim=True)),
                    {"separated": True}),
    "amax_amin": ([(3, 4, 5)], lambda T, x: (x.amax(1), x.amin((0, 2), keepdim=True)), {"separated": True}),
    "var_std": ([(4, 6)], lambda T, x: (x.var(), x.var(1), x.std(0, keepdim=True), x.var(1, unbiased=False),
                                        x.std(dim=1, correction=0))),
    "logsumexp_prod": ([(3, 5)], lambda T, x: (x.logsumexp(1), T.logsumexp(x, dim=0, keepdim=True), x.prod(1),
                                               x.prod(), T.prod(x, 0, keepdim=True))),
    "prod_with_zero": ([(2, 4)], lambda T, x: (x * T.tensor([[1.0, 0.0, 1.0, 1.0], [0.0, 1.0, 0.0, 1.0]],
                                                              dtype=T.float64)).prod(1)),
    "softmax": ([(3, 5)], lambda T, x: (x.softmax(1), x.log_softmax(dim=-1), F(T).softmax(x, dim=0),
                                        F(T).log_softmax(x, 1))),
    "cumsum": ([(3, 4)], lambda T, x: (x.cumsum(1), T.cumsum(x, dim=0), x.cumsum(-1))),
    # shapes
    "movement": ([(2, 3, 4)], lambda T, x: (x.reshape(6, 4), x.view(-1), x.permute(2, 0, 1), T.permute(x, (1, 0, 2)),
                                            x.transpose(0, 2), x.flatten(1), T.flatten(x), x.unsqueeze(1).squeeze(1),
                                            x[:, 1:, ::2], x[1], x[..., None, 2])),
    "expand_repeat": ([(3, 1), (4,)], lambda T, x, y: (x.expand(3, 4), x.expand(2, 3, 5), y.repeat(2), y.repeat(2, 3),
                                                       x.repeat(1, 2, 2), x.expand_as(T.zeros(3, 4)))),
    "view_as_contiguous": ([(2, 6), (3, 4)], lambda T, x, y: (x.view_as(y), x.t().contiguous(), x.reshape_as(y))),
    "chunk_split": ([(5, 6)], lambda T, x: (*x.chunk(2, 0), *x.chunk(4, dim=1), *x.split(2), *x.split([1, 5], dim=1),
                                            *T.chunk(x, 3, 1))),
    "cat_stack": ([(2, 3), (2, 3)], lambda T, x, y: (T.cat([x, y]), T.cat((x, y), dim=1), T.stack([x, y], 2))),
    "pad": ([(2, 3, 4)], lambda T, x: (F(T).pad(x, (1, 2)), F(T).pad(x, (0, 1, 2, 0), value=0.5))),
    "where_masked_fill": ([(4, 5), (4, 5)], lambda T, x, y: (T.where(x > 0, x, y), x.masked_fill(y > 0.3, -2.0),
                                                             T.masked_fill(x, T.tensor([True, False, True, False, True]), 0.0))),
    "comparisons": ([(3, 4), (3, 4)], lambda T, x, y: (x.eq(y), x.ne(x), x.lt(y), x.le(y), x.gt(0), x.ge(y), x == x,
                                                       T.gt(x, y), (x > 0).any(), (x > -9).all(1), x.any(dim=0)), {"grad": False}),
    # indexing, sorting
    "gather": ([(3, 5)], lambda T, x: (x.gather(1, T.tensor([[0, 4], [1, 1], [3, 2]])),
                                       T.gather(x, 0, T.tensor([[2, 0, 1, 1, 0]])))),
    "scatter_add": ([(3, 5), (2, 5)], lambda T, x, s: (x.scatter_add(0, T.tensor([[0, 2, 0, 1, 2], [0, 0, 1, 1, 1]]), s),
                                                       T.scatter_add(x, 1, T.tensor([[4, 4], [0, 1], [2, 2]]), s[:, :2].t()[:, :2].repeat(2, 1)[:3]))),
    "sort_topk": ([(4, 6)], lambda T, x: (*x.sort(1), *x.sort(0, descending=True), *x.topk(3), *x.topk(2, dim=0, largest=False),
                                          T.sort(x, dim=1).values, x.argsort(1)), {"separated": True}),
    # matrix products, einsum
    "matmul": ([(2, 3, 4), (4, 5), (3, 3), (4,)], lambda T, a, b, c, v: (a @ b, c @ a, T.matmul(v, b), a.bmm(a.transpose(1, 2)),
                                                                       c.mm(c), T.mm(b.t(), b))),
    "einsum": ([(2, 3, 4), (2, 4, 5), (3, 3), (4,)], lambda T, a, b, c, v: (
        T.einsum("bij,bjk->bik", a, b), T.einsum("ii->i", c), T.einsum("ii", c), T.einsum("bij->j", a),
        T.einsum("...j,j->...", a, v), T.einsum("ij,ij->", c, c), T.einsum("i,j->ij", v, v), T.einsum("ij->ji", c),
        T.einsum("bij,k->bk", a, v), T.einsum("ij,jk", c, c))),
    # layers
    "linear": ([(4, 3), (2, 3), (2,)], lambda T, x, w, b: (F(T).linear(x, w, b), F(T).linear(x, w))),
    "conv2d": ([(2, 4, 7, 6), (6, 2, 3, 3), (6,)], lambda T, x, w, b: (
        F(T).conv2d(x, w, b, groups=2), F(T).conv2d(x, w, b, stride=2, padding=1, groups=2),
        F(T).conv2d(x, w, None, dilation=(2, 1), padding=(2, 0), groups=2),
        F(T).conv2d(x[:, :2], w, b, padding="same"))),
    "conv1d_transpose": ([(2, 4, 9), (6, 4, 3), (4, 3, 2, 2)], lambda T, x, w, wt: (
        F(T).conv1d(x, w, stride=2, padding=1), F(T).conv1d(x, w[:, :2], dilation=2, groups=2),
        F(T).conv_transpose2d(x.reshape(2, 4, 3, 3), wt, stride=2, output_padding=1),
        F(T).conv_transpose2d(x.reshape(2, 4, 3, 3), wt[:, :1].repeat(1, 1, 1, 1), groups=2, padding=1))),
    "pooling": ([(2, 3, 7, 8)], lambda T, x: (F(T).max_pool2d(x, 2), F(T).avg_pool2d(x, 3, stride=2, padding=1),
                                              F(T).adaptive_avg_pool2d(x, (3, 5)), F(T).adaptive_avg_pool2d(x, 1),
                                              F(T).max_pool2d(x, (2, 3), stride=1)), {"separated": True}),
    "normalization": ([(4, 3, 5), (3,), (3,), (5,)], lambda T, x, w, b, g: (
        F(T).batch_norm(x, None, None, w, b, training=True), F(T).layer_norm(x, (5,), g, g * 0.5),
        F(T).batch_norm(x, T.zeros(3, dtype=T.float64), T.ones(3, dtype=T.float64) * 2, w, b))),
    "losses": ([(6, 4), (6, 4)], lambda T, x, y: (
        F(T).cross_entropy(x, T.tensor([0, 3, 1, 2, 2, 0]), label_smoothing=0.1),
        F(T).cross_entropy(x, y.softmax(1), label_smoothing=0.25, reduction="sum"),
        F(T).nll_loss(x.log_softmax(1), T.tensor([1, 1, 0, 3, 2, 0]), reduction="sum"),
        F(T).mse_loss(x, y), F(T).binary_cross_entropy_with_logits(x, y.sigmoid()), F(T).l1_loss(x, y))),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_op_matches_torch(name):
    shapes, fn, *options = CASES[name]
    helper(shapes, fn, **(options[0] if options else {}))


def test_free_functions_and_creation_match_torch():
    for lib in (tge, torch):
        assert lib.linspace(-math.pi, math.pi, 5).dtype == (np.float32 if lib is tge else torch.float32)
    np.testing.assert_allclose(tge.linspace(-2, 3, 11).numpy(), torch.linspace(-2, 3, 11).numpy())
    np.testing.assert_array_equal(tge.arange(2, 11, 3).numpy(), torch.arange(2, 11, 3).numpy())
    np.testing.assert_array_equal(tge.eye(3, 4).numpy(), torch.eye(3, 4).numpy())
    np.testing.assert_array_equal(F(tge).one_hot(tge.tensor([2, 0, 1]), 4).numpy(),
                                  F(torch).one_hot(torch.tensor([2, 0, 1]), 4).numpy())
    x = np.array([5, 6, 7, 0, -5, -6, -7])
    for mode in ("trunc", "floor", None):
        for d in (3, -2, 2.5):
            np.testing.assert_allclose(tge.tensor(x).div(d, rounding_mode=mode).numpy(),
                                       torch.tensor(x).div(d, rounding_mode=mode).numpy())
    t = tge.tensor([[1.5, 2.0], [3.0, 4.0]])
    assert t.tolist() == [[1.5, 2.0], [3.0, 4.0]] and t.numel() == 4 and tge.numel(t) == 4
    assert t[1, 0].item() == 3.0 and tge.is_tensor(t) and not tge.is_tensor(t.numpy())
    with pytest.raises(ValueError, match="einsum"):
        tge.einsum("ij,jk->ik", t)
    with pytest.raises(ValueError, match="rounding_mode"):
        t.div(2, rounding_mode="typo")


EXTRA_CASES = {
    "triangles_flip": ([(3, 4), (2, 3, 3)], lambda T, x, y: (x.tril(), T.triu(x, 1), x.tril(-1), y.triu(), x.flip(0),
                                                             T.flip(x, (0, 1)), y.flip(-1))),
    "rounding_checks": ([(3, 4)], lambda T, x: ((x * 3).floor(), (x * 3).ceil(), T.round(x * 3), x.sign(),
                                                (x / 0).isnan(), (x / 0).isinf(), T.isfinite(x)), {"grad": False}),
    "dot_outer": ([(5,), (5,), (3,)], lambda T, a, b, c: (a.dot(b), T.dot(a, b), T.outer(a, c), a.outer(b))),
    "elu_pool1d": ([(2, 3, 9)], lambda T, x: (F(T).elu(x), F(T).elu(x * 50, alpha=0.5), T.nn.ELU(0.3)(x),
                                              F(T).max_pool1d(x, 2), F(T).avg_pool1d(x, 3, stride=2, padding=1),
                                              T.nn.MaxPool1d(3, stride=1)(x), T.nn.AvgPool1d(2)(x),
                                              T.nn.Unflatten(2, (3, 3))(x)), {"separated": True}),
}


@pytest.mark.parametrize("name", sorted(EXTRA_CASES))
def test_more_ops_match_torch(name):
    shapes, fn, *options = EXTRA_CASES[name]
    helper(shapes, fn, **(options[0] if options else {}))
