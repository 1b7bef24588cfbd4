"""The idioms of the "Learning PyTorch with Examples" scripts (fitting a cubic to sin(x)),
run on tinygrad_edu and on PyTorch from the same initial weights, float64, 1e-6.

Covered: manual gradients on tensors (``linspace``, ``sin``, ``randn(())``, ``pow``,
in-place ``a -= lr * grad_a``, ``.item()``), autograd with ``no_grad`` updates and
``a.grad = None``, ``nn.Sequential(nn.Linear(3, 1), nn.Flatten(0, 1))`` on
``x.unsqueeze(-1).pow(p)``, ``MSELoss(reduction="sum")``, updates over ``model.parameters()``,
``model[0].weight[:, 0].item()``, ``optim.RMSprop`` / ``optim.SGD(momentum=...)``, a Module
with scalar ``nn.Parameter`` s, a PyTorch-style ``autograd.Function`` with ``ctx``, and a
network whose depth changes every step.
"""
import math
import random

import numpy as np
import pytest

import tinygrad_edu as tge

torch = pytest.importorskip("torch")

TOL = dict(rtol=1e-6, atol=1e-6)
STEPS = 150


def initial(n=4, seed=0):
    return [float(v) for v in np.random.default_rng(seed).standard_normal(n)]


def data(lib):
    x = lib.linspace(-math.pi, math.pi, 2000, dtype=lib.float64)
    return x, lib.sin(x)


def scalars(lib, values, requires_grad):
    return [lib.tensor(v, dtype=lib.float64, requires_grad=requires_grad) for v in values]


def run_manual(lib, values, lr=1e-6):
    x, y = data(lib)
    a, b, c, d = scalars(lib, values, False)
    losses = []
    for _ in range(STEPS):
        y_pred = a + b * x + c * x ** 2 + d * x ** 3
        losses.append((y_pred - y).pow(2).sum().item())
        grad_y_pred = 2.0 * (y_pred - y)
        grad_a, grad_b = grad_y_pred.sum(), (grad_y_pred * x).sum()
        grad_c, grad_d = (grad_y_pred * x ** 2).sum(), (grad_y_pred * x ** 3).sum()
        a -= lr * grad_a
        b -= lr * grad_b
        c -= lr * grad_c
        d -= lr * grad_d
    return losses, [t.item() for t in (a, b, c, d)]


def run_autograd(lib, values, lr=1e-6):
    x, y = data(lib)
    params = scalars(lib, values, True)
    losses = []
    for _ in range(STEPS):
        a, b, c, d = params
        loss = (a + b * x + c * x ** 2 + d * x ** 3 - y).pow(2).sum()
        losses.append(loss.item())
        loss.backward()
        with lib.no_grad():
            for p in params:
                p -= lr * p.grad
                p.grad = None
    return losses, [p.item() for p in params]


def build_sequential(lib, values):
    model = lib.nn.Sequential(lib.nn.Linear(3, 1), lib.nn.Flatten(0, 1)).double()
    state = {"0.weight": np.array([values[:3]]), "0.bias": np.array([values[3]])}
    model.load_state_dict({k: (torch.tensor(v) if lib is torch else v) for k, v in state.items()})
    return model


def features(lib, x):
    p = lib.tensor([1, 2, 3])
    return x.unsqueeze(-1).pow(p)


def run_nn(lib, values, lr=1e-6):
    x, y = data(lib)
    xx = features(lib, x)
    model = build_sequential(lib, values)
    loss_fn = lib.nn.MSELoss(reduction="sum")
    losses = []
    for _ in range(STEPS):
        loss = loss_fn(model(xx), y)
        losses.append(loss.item())
        model.zero_grad()
        loss.backward()
        with lib.no_grad():
            for param in model.parameters():
                param -= lr * param.grad
    layer = model[0]
    return losses, [layer.bias.item()] + [layer.weight[:, i].item() for i in range(3)]


def run_optim(lib, values, lr=1e-3):
    x, y = data(lib)
    xx = features(lib, x)
    model = build_sequential(lib, values)
    loss_fn = lib.nn.MSELoss(reduction="sum")
    optimizer = lib.optim.RMSprop(model.parameters(), lr=lr)
    losses = []
    for _ in range(STEPS):
        loss = loss_fn(model(xx), y)
        losses.append(loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return losses, [p.item() for p in model[0].weight[0]] + [model[0].bias.item()]


def polynomial_module(lib, values):
    class Polynomial3(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b, self.c, self.d = (lib.nn.Parameter(lib.tensor(v, dtype=lib.float64)) for v in values)

        def forward(self, x):
            return self.a + self.b * x + self.c * x ** 2 + self.d * x ** 3

        def string(self):
            return f"y = {self.a.item()} + {self.b.item()} x + {self.c.item()} x^2 + {self.d.item()} x^3"

    return Polynomial3()


def run_module(lib, values, lr=1e-6):
    x, y = data(lib)
    model = polynomial_module(lib, values)
    criterion = lib.nn.MSELoss(reduction="sum")
    optimizer = lib.optim.SGD(model.parameters(), lr=lr)
    losses = []
    for _ in range(STEPS):
        loss = criterion(model(x), y)
        losses.append(loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert model.string().startswith("y = ")
    return losses, [p.item() for p in model.parameters()]


def legendre(lib):
    class LegendrePolynomial3(lib.autograd.Function):
        @staticmethod
        def forward(ctx, input):
            ctx.save_for_backward(input)
            return 0.5 * (5 * input ** 3 - 3 * input)

        @staticmethod
        def backward(ctx, grad_output):
            input, = ctx.saved_tensors
            return grad_output * 1.5 * (5 * input ** 2 - 1)

    return LegendrePolynomial3


def run_custom_function(lib, values, lr=5e-6):
    x, y = data(lib)
    a, b, c, d = (lib.full((), v, dtype=lib.float64, requires_grad=True) for v in (0.0, -1.0, 0.0, 0.3))
    P3 = legendre(lib).apply
    losses = []
    for _ in range(STEPS):
        y_pred = a + b * P3(c + d * x)
        loss = (y_pred - y).pow(2).sum()
        losses.append(loss.item())
        loss.backward()
        with lib.no_grad():
            for p in (a, b, c, d):
                p -= lr * p.grad
                p.grad = None
    return losses, [p.item() for p in (a, b, c, d)]


def run_dynamic(lib, values, lr=1e-8):
    class DynamicNet(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b, self.c, self.d, self.e = (lib.nn.Parameter(lib.tensor(v, dtype=lib.float64))
                                                      for v in values + [0.1])

        def forward(self, x):
            y = self.a + self.b * x + self.c * x ** 2 + self.d * x ** 3
            for exp in range(4, chooser.randint(4, 6)):
                y = y + self.e * x ** exp
            return y

    chooser = random.Random(3)  # the same depths for both libraries
    x, y = data(lib)
    model = DynamicNet()
    criterion = lib.nn.MSELoss(reduction="sum")
    optimizer = lib.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    losses = []
    for _ in range(STEPS):
        loss = criterion(model(x), y)
        losses.append(loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return losses, [p.item() for p in model.parameters()]


@pytest.mark.parametrize("script", [run_manual, run_autograd, run_nn, run_optim, run_module,
                                    run_custom_function, run_dynamic],
                         ids=lambda f: f.__name__[4:])
def test_script_matches_torch(script):
    values = initial(4)
    losses, params = script(tge, values)
    tlosses, tparams = script(torch, values)
    np.testing.assert_allclose(losses, tlosses, **TOL)
    np.testing.assert_allclose(params, tparams, **TOL)
    assert losses[-1] < losses[0]  # it learns


def test_custom_function_gradcheck_and_errors():
    from tinygrad_edu.utils import gradcheck

    P3 = legendre(tge).apply
    x = tge.Tensor(np.linspace(-1, 1, 7), requires_grad=True)
    assert gradcheck(lambda t: P3(t * 0.5), [x])

    class Bad(tge.autograd.Function):
        @staticmethod
        def forward(ctx, t):
            return t * 2

        @staticmethod
        def backward(ctx, g):
            return g.sum()

    with pytest.raises(RuntimeError, match="gradient 0 has shape"):
        Bad.apply(x).sum().backward()
