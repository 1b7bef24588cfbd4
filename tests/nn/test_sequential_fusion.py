"""nn.Sequential's two exact rewrites: ReLU then MaxPool2d runs pool-first, and Linear then
ReLU runs as one node (F.linear_relu / ops.nn.LinearReLU).  Each must give the values and
gradients of calling the modules one by one (tolerance 0: the same arithmetic, except the
order of relu and max, which commute exactly), including NaN, ties at 0 and -0.0, and match
PyTorch; subclasses of the layers are left alone.
"""
import numpy as np
import pytest

import tinygrad_edu as tge
from tinygrad_edu import Tensor, nn

torch = pytest.importorskip("torch")


def one_by_one(seq, x):
    for m in seq:
        x = m(x)
    return x


def grads_of(model, x_np, g_np, call):
    x = Tensor(x_np, requires_grad=True)
    for p in model.parameters():
        p.grad = None
    y = call(model, x)
    y.backward(Tensor(g_np))
    return y.numpy(), [x.grad.numpy()] + [p.grad.numpy() for p in model.parameters()]


def cnn_like():
    tge.manual_seed(0)
    return nn.Sequential(nn.Conv2d(2, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 4, 3),
                         nn.ReLU(), nn.Flatten(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 3),
                         nn.ReLU())


@pytest.mark.parametrize("backend", ["c", "numpy"])
@pytest.mark.parametrize("values", ["normal", "ties", "special"])
def test_rewrites_equal_the_module_by_module_result(backend, values):
    if backend == "c" and not tge.backends.c_available():
        pytest.skip("C kernels not built")
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 2, 10, 10)).astype(np.float32)
    if values == "ties":   # many exact zeros and repeated values in the pooling windows
        x = np.round(x).astype(np.float32) * 0
    if values == "special":
        x[0, 0, 1, 1], x[1, 1, 4, 4], x[2, 0, 0, 0] = np.nan, -0.0, np.inf
    model = cnn_like()
    g = rng.standard_normal((3, 3)).astype(np.float32)
    before = tge.backend()
    tge.set_backend(backend)
    try:
        fused = grads_of(model, x, g, lambda m, t: m(t))
        plain = grads_of(model, x, g, one_by_one)
    finally:
        tge.set_backend(before)
    np.testing.assert_array_equal(fused[0], plain[0])
    for a, b in zip(fused[1], plain[1]):
        np.testing.assert_array_equal(a, b)


def test_matches_torch():
    model = cnn_like()
    tmodel = torch.nn.Sequential(torch.nn.Conv2d(2, 4, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                                 torch.nn.Conv2d(4, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(),
                                 torch.nn.Linear(16, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3),
                                 torch.nn.ReLU())
    tmodel.load_state_dict({k: torch.tensor(v) for k, v in model.state_dict().items()})
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 2, 10, 10)).astype(np.float32)
    g = rng.standard_normal((4, 3)).astype(np.float32)
    y, grads = grads_of(model, x, g, lambda m, t: m(t))
    xt = torch.tensor(x, requires_grad=True)
    yt = tmodel(xt)
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-5, atol=1e-6)
    want = [xt.grad.numpy()] + [p.grad.numpy() for p in tmodel.parameters()]
    for a, b in zip(grads, want):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_linear_relu_is_one_node_and_subclasses_are_left_alone():
    seq = nn.Sequential(nn.Linear(3, 4), nn.ReLU())
    y = seq(Tensor(np.ones((2, 3), np.float32), requires_grad=True))
    assert type(y._ctx).__name__ == "LinearReLU"

    class MyReLU(nn.ReLU):
        def forward(self, x):
            return super().forward(x) * 2

    seq = nn.Sequential(nn.Linear(3, 4), MyReLU())
    y = seq(Tensor(np.ones((2, 3), np.float32), requires_grad=True))
    assert type(y._ctx).__name__ != "LinearReLU"
    np.testing.assert_array_equal(y.numpy(), 2 * np.maximum(one_by_one(seq[:1], Tensor(np.ones((2, 3), np.float32))).numpy(), 0))
