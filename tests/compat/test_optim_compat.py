"""Adadelta, Adagrad, RMSprop and the schedulers against torch.optim, step by step.

Both frameworks start from the same weights and get the same gradients for 20 steps; the
weights (and the rates, and the state_dict layout) must agree after every step.
"""
import numpy as np
import pytest

from tinygrad_edu import Tensor, optim
from tinygrad_edu.optim import lr_scheduler

torch = pytest.importorskip("torch")

TOL = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-10, atol=1e-12)}
SHAPES = [(4, 3), (5,), (1,)]
STEPS = 20

CASES = [
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-5, weight_decay=0.1)),
    ("Adadelta", dict(maximize=True)),
    ("Adagrad", dict()),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.05, initial_accumulator_value=0.2)),
    ("RMSprop", dict()),
    ("RMSprop", dict(lr=0.01, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, centered=True, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.005, alpha=0.9, momentum=0.5, centered=True, maximize=True)),
]


def _weights(dtype):
    rng = np.random.default_rng(0)
    return [rng.standard_normal(s).astype(dtype) for s in SHAPES]


def _pair(name, kw, dtype):
    ws = _weights(dtype)
    ours = [Tensor(w.copy(), requires_grad=True) for w in ws]
    theirs = [torch.tensor(w.copy(), requires_grad=True) for w in ws]
    return ours, getattr(optim, name)(ours, **kw), theirs, getattr(torch.optim, name)(theirs, foreach=False, **kw)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("name,kw", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_update_rule_follows_torch(name, kw, dtype):
    ours, opt, theirs, topt = _pair(name, kw, dtype)
    rng = np.random.default_rng(1)
    for step in range(STEPS):
        for p, tp in zip(ours, theirs):
            g = rng.standard_normal(p.shape).astype(dtype)
            p.grad = Tensor(g)
            tp.grad = torch.tensor(g.copy())
        opt.step()
        topt.step()
        for p, tp in zip(ours, theirs):
            assert p.dtype == dtype
            np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), **TOL[dtype], err_msg=f"step {step + 1}")
    ours_sd, theirs_sd = opt.state_dict(), topt.state_dict()
    assert sorted(ours_sd["state"]) == sorted(theirs_sd["state"])
    for index, entries in theirs_sd["state"].items():
        assert set(ours_sd["state"][index]) == set(entries)
        for key, value in entries.items():
            np.testing.assert_allclose(np.asarray(ours_sd["state"][index][key]), value.numpy(), **TOL[dtype])
    for g, tg in zip(ours_sd["param_groups"], theirs_sd["param_groups"]):
        for key in ("lr", "weight_decay", "maximize", "params"):
            assert g[key] == tg[key]


def test_state_dict_round_trip_continues_identically():
    ours, opt, _, _ = _pair("RMSprop", dict(lr=0.01, momentum=0.9, centered=True), np.float64)
    for p in ours:
        p.grad = Tensor(np.ones(p.shape))
    opt.step()
    copies = [Tensor(p.numpy().copy(), requires_grad=True) for p in ours]
    opt2 = optim.RMSprop(copies, lr=0.01, momentum=0.9, centered=True)
    opt2.load_state_dict(opt.state_dict())
    for a, b in zip(ours, copies):
        a.grad = Tensor(np.full(a.shape, 0.5))
        b.grad = Tensor(np.full(b.shape, 0.5))
    opt.step()
    opt2.step()
    for a, b in zip(ours, copies):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


@pytest.mark.parametrize("bad", [dict(lr=-1.0), dict(rho=1.5), dict(eps=-1.0)])
def test_adadelta_rejects_bad_hyperparameters(bad):
    with pytest.raises(ValueError):
        optim.Adadelta([Tensor(np.zeros(2), requires_grad=True)], **bad)


# ------------------------------------------------------------------------------ schedulers
SCHEDULERS = [
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("MultiStepLR", dict(milestones=[2, 5, 5, 9], gamma=0.3)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=7, eta_min=0.001)),
    ("LambdaLR", dict(lr_lambda=lambda epoch: 1.0 / (1 + epoch))),
    ("OneCycleLR", dict(max_lr=0.5, total_steps=25)),
    ("OneCycleLR", dict(max_lr=0.5, total_steps=25, anneal_strategy="linear", three_phase=True)),
]


@pytest.mark.parametrize("opt_name", ["SGD", "Adam"])
@pytest.mark.parametrize("name,kw", SCHEDULERS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(SCHEDULERS)])
def test_scheduler_follows_torch(name, kw, opt_name):
    extra = dict(momentum=0.9) if opt_name == "SGD" else {}
    p, tp = Tensor(np.ones(3), requires_grad=True), torch.ones(3, requires_grad=True)
    opt = getattr(optim, opt_name)([p], lr=0.1, **extra)
    topt = getattr(torch.optim, opt_name)([tp], lr=0.1, **extra)
    sched = getattr(lr_scheduler, name)(opt, **kw)
    tsched = getattr(torch.optim.lr_scheduler, name)(topt, **kw)
    for epoch in range(20):
        np.testing.assert_allclose(sched.get_last_lr(), tsched.get_last_lr(), rtol=1e-12, err_msg=f"epoch {epoch}")
        np.testing.assert_allclose(opt.param_groups[0]["lr"], topt.param_groups[0]["lr"], rtol=1e-12)
        if name == "OneCycleLR":
            key = "betas" if opt_name == "Adam" else "momentum"
            np.testing.assert_allclose(opt.param_groups[0][key], topt.param_groups[0][key], rtol=1e-12)
        opt.step()
        topt.step()
        sched.step()
        tsched.step()


@pytest.mark.parametrize("kw", [dict(), dict(mode="max", patience=2, factor=0.5, cooldown=1),
                                dict(patience=1, threshold=0.1, threshold_mode="abs", min_lr=0.02)])
def test_reduce_lr_on_plateau_follows_torch(kw):
    p, tp = Tensor(np.ones(2), requires_grad=True), torch.ones(2, requires_grad=True)
    opt, topt = optim.SGD([p], lr=0.1), torch.optim.SGD([tp], lr=0.1)
    sched = lr_scheduler.ReduceLROnPlateau(opt, **kw)
    tsched = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **kw)
    metrics = [1.0, 0.9, 0.95, 0.95, 0.96, 0.89, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.5] * 2
    for m in metrics:
        sched.step(m)
        tsched.step(m)
        np.testing.assert_allclose(opt.param_groups[0]["lr"], topt.param_groups[0]["lr"], rtol=1e-12)
        assert sched.num_bad_epochs == tsched.num_bad_epochs


def test_multistep_closed_form_matches_chained():
    p = Tensor(np.ones(1), requires_grad=True)
    opt = optim.SGD([p], lr=1.0)
    sched = lr_scheduler.MultiStepLR(opt, milestones=[2, 4], gamma=0.1)
    for _ in range(5):
        sched.step()
    chained = opt.param_groups[0]["lr"]
    sched.step(5)
    assert opt.param_groups[0]["lr"] == pytest.approx(chained)
