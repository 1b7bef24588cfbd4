"""Optimizers and schedulers against torch.optim: same start, same gradients, same weights.

Every comparison runs our optimizer and torch's (single-tensor implementation, foreach=False)
side by side for 20 steps, feeding both the same gradients, and compares the weights after
every step. Tolerances: float32 rtol 2e-6 / atol 1e-6 (PyTorch fuses some multiply-adds, NumPy
does not, so the last bit may differ), float64 rtol 1e-12 / atol 1e-12.
"""
import copy
import math

import numpy as np
import pytest

from tinygrad_edu import Tensor, no_grad, optim
from tinygrad_edu.nn.parameter import Parameter
from tinygrad_edu.optim import lr_scheduler

try:
    import torch
except ImportError:  # the comparisons with PyTorch are skipped, the rest still runs
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")

TOL = {np.float32: dict(rtol=2e-6, atol=1e-6), np.float64: dict(rtol=1e-12, atol=1e-12)}
SHAPES = [(5, 7), (7,), (1,)]
STEPS = 20

SGD_CASES = [
    dict(lr=0.1),
    dict(lr=0.05, momentum=0.9),
    dict(lr=0.05, momentum=0.9, dampening=0.3),
    dict(lr=0.05, momentum=0.9, nesterov=True),
    dict(lr=0.1, weight_decay=0.1),
    dict(lr=0.05, momentum=0.8, dampening=0.1, weight_decay=0.01),
    dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.05, maximize=True),
]
ADAM_CASES = [
    dict(),
    dict(lr=0.01, weight_decay=0.1),
    dict(lr=0.01, amsgrad=True),
    dict(lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.05, amsgrad=True),
    dict(lr=0.01, maximize=True),
]
ADAMW_CASES = [
    dict(),
    dict(lr=0.01, weight_decay=0.1),
    dict(lr=0.01, weight_decay=0.1, amsgrad=True),
]
CASES = (
    [("SGD", kw) for kw in SGD_CASES]
    + [("Adam", kw) for kw in ADAM_CASES]
    + [("AdamW", kw) for kw in ADAMW_CASES]
)


def _case_id(case):
    name, kw = case
    return name + "(" + ",".join(f"{k}={v}" for k, v in kw.items()) + ")"


def make_weights(dtype, seed=0, shapes=SHAPES):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


def gradient_sequence(dtype, steps=STEPS, seed=1, shapes=SHAPES):
    """A fixed list of gradients per step: steps x [array shaped like each weight]."""
    rng = np.random.default_rng(seed)
    return [[rng.standard_normal(s).astype(dtype) for s in shapes] for _ in range(steps)]


def make_pair(name, kw, weights):
    """Our optimizer and torch's on copies of the same weights."""
    ours = [Tensor(w, requires_grad=True) for w in weights]
    theirs = [torch.tensor(w.copy(), requires_grad=True) for w in weights]
    opt = getattr(optim, name)(ours, **kw)
    topt = getattr(torch.optim, name)(theirs, foreach=False, **kw)
    return ours, opt, theirs, topt


def feed(params, tparams, grads):
    for p, tp, g in zip(params, tparams, grads):
        p.grad = Tensor(g)
        tp.grad = torch.tensor(g.copy())


def assert_same_weights(params, tparams, dtype, msg=""):
    for i, (p, tp) in enumerate(zip(params, tparams)):
        assert p.dtype == dtype, f"parameter {i} changed dtype to {p.dtype}"
        np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), **TOL[dtype], err_msg=f"param {i} {msg}")


# ------------------------------------------------------------------------------------------
# the update rules against torch.optim
# ------------------------------------------------------------------------------------------
@needs_torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_follows_torch_for_20_steps(case, dtype):
    name, kw = case
    params, opt, tparams, topt = make_pair(name, kw, make_weights(dtype))
    arrays = [p.data for p in params]  # other code keeps references: they must see the update
    for step, grads in enumerate(gradient_sequence(dtype)):
        feed(params, tparams, grads)
        opt.step()
        topt.step()
        assert_same_weights(params, tparams, dtype, f"after step {step + 1}")
    assert all(p.data is a for p, a in zip(params, arrays)), "the parameter arrays were replaced, not updated in place"


@needs_torch
@pytest.mark.parametrize("name,kw", [("SGD", dict(lr=0.05, momentum=0.9)), ("Adam", dict(lr=0.01)),
                                      ("AdamW", dict(lr=0.01, weight_decay=0.1))])
def test_follows_torch_on_an_mlp_loss(name, kw):
    """Gradients computed by backward() in each framework from the same small MLP regression."""
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((16, 4)), rng.standard_normal((16, 2))
    weights = [rng.standard_normal(s) * 0.5 for s in [(4, 8), (8,), (8, 2), (2,)]]
    params, opt, tparams, topt = make_pair(name, kw, weights)
    tx, ty = torch.tensor(x), torch.tensor(y)
    for step in range(STEPS):
        opt.zero_grad()
        topt.zero_grad()
        w1, b1, w2, b2 = params
        loss = ((((Tensor(x) @ w1 + b1).tanh() @ w2 + b2) - Tensor(y)) ** 2).mean()
        loss.backward()
        tw1, tb1, tw2, tb2 = tparams
        tloss = ((((tx @ tw1 + tb1).tanh() @ tw2 + tb2) - ty) ** 2).mean()
        tloss.backward()
        np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-12)
        opt.step()
        topt.step()
        assert_same_weights(params, tparams, np.float64, f"after step {step + 1}")


@needs_torch
@pytest.mark.parametrize("name,kw", [("SGD", dict(momentum=0.9)), ("Adam", dict(betas=(0.8, 0.9)))])
def test_param_groups_with_their_own_lr(name, kw):
    dtype = np.float64
    w = make_weights(dtype)
    ours = [Tensor(a, requires_grad=True) for a in w]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in w]
    groups = lambda ps: [{"params": ps[:2], "lr": 0.1}, {"params": ps[2:], "lr": 0.001, "weight_decay": 0.5}]
    opt = getattr(optim, name)(groups(ours), lr=0.01, **kw)
    topt = getattr(torch.optim, name)(groups(theirs), lr=0.01, foreach=False, **kw)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.001]
    assert opt.param_groups[0]["weight_decay"] == 0.0  # from the defaults
    for grads in gradient_sequence(dtype):
        feed(ours, theirs, grads)
        opt.step()
        topt.step()
    assert_same_weights(ours, theirs, dtype)


@needs_torch
@pytest.mark.parametrize("name", ["SGD", "Adam"])
def test_params_without_grad_are_skipped_like_torch(name):
    """Parameter 0 gets a gradient every step, parameter 1 every other step, 2 never."""
    dtype = np.float64
    kw = dict(lr=0.05, momentum=0.9) if name == "SGD" else dict(lr=0.05)
    params, opt, tparams, topt = make_pair(name, kw, make_weights(dtype))
    start = params[2].numpy().copy()
    for step, grads in enumerate(gradient_sequence(dtype)):
        for p in params + tparams:
            p.grad = None
        n = 2 if step % 2 == 0 else 1
        feed(params[:n], tparams[:n], grads[:n])
        opt.step()
        topt.step()
    assert_same_weights(params, tparams, dtype)
    np.testing.assert_array_equal(params[2].numpy(), start)
    assert params[2] not in opt.state
    if name == "Adam":
        assert opt.state[params[0]]["step"] == STEPS and opt.state[params[1]]["step"] == STEPS // 2


# ------------------------------------------------------------------------------------------
# in place, dtype, closure, zero_grad
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", [optim.SGD, optim.Adam, optim.AdamW])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_update_is_in_place_and_keeps_dtype(cls, dtype):
    p = Parameter(np.ones((3, 4), dtype=dtype))
    array = p.data
    view = array[1]  # e.g. a module holding a slice of the weights
    opt = cls([p], lr=0.1)
    p.grad = Tensor(np.full((3, 4), 0.5, dtype=dtype))
    opt.step()
    assert p.data is array and p.dtype == dtype
    assert np.all(view < 1.0), "a view of the parameter did not see the update"
    for entry in opt.state.get(p, {}).values():
        if isinstance(entry, np.ndarray):
            assert entry.dtype == dtype


def test_plain_sgd_by_hand():
    p = Tensor([1.0, -2.0], requires_grad=True)
    opt = optim.SGD([p], lr=0.5)
    (p * p).sum().backward()  # grad = 2p
    opt.step()
    np.testing.assert_allclose(p.numpy(), [0.0, 0.0])
    assert opt.state == {}  # plain SGD keeps no state


def test_step_runs_the_closure_with_grad_on_and_returns_its_loss():
    p = Tensor([3.0], requires_grad=True)
    opt = optim.SGD([p], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    with no_grad():
        loss = opt.step(closure)
    assert loss.item() == 9.0
    np.testing.assert_allclose(p.numpy(), [3.0 - 0.1 * 6.0], rtol=1e-6)


def test_zero_grad():
    a, b = Tensor([1.0, 2.0], requires_grad=True), Tensor([3.0], requires_grad=True)
    opt = optim.SGD([a, b], lr=0.1)
    (a.sum() * b.sum()).backward()
    grad_array = a.grad.data
    opt.zero_grad(set_to_none=False)
    assert a.grad.data is grad_array and np.all(grad_array == 0) and np.all(b.grad.numpy() == 0)
    opt.zero_grad()
    assert a.grad is None and b.grad is None
    opt.zero_grad()  # nothing to clear: fine
    opt.step()  # every grad is None: nothing moves
    np.testing.assert_array_equal(a.numpy(), [1.0, 2.0])


def test_wrong_gradient_shape_is_a_clear_error():
    p = Tensor(np.zeros((2, 3)), requires_grad=True)
    p.grad = Tensor(np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(3, 2\)"):
        optim.Adam([p]).step()


def test_add_param_group_takes_the_defaults():
    a, b = Tensor([1.0], requires_grad=True), Tensor([1.0], requires_grad=True)
    opt = optim.Adam([a], lr=0.01, betas=(0.5, 0.6))
    opt.add_param_group({"params": b, "lr": 0.1, "name": "head"})
    assert opt.param_groups[1]["betas"] == (0.5, 0.6) and opt.param_groups[1]["name"] == "head"
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})
    with pytest.raises(ValueError, match="Invalid learning rate: -1"):
        opt.add_param_group({"params": [Tensor([1.0], requires_grad=True)], "lr": -1})


def test_repr_lists_the_groups():
    text = repr(optim.SGD([Tensor([1.0], requires_grad=True)], lr=0.1, momentum=0.9))
    assert text.startswith("SGD (") and "Parameter Group 0" in text and "momentum: 0.9" in text


# ------------------------------------------------------------------------------------------
# validation
# ------------------------------------------------------------------------------------------
def _p():
    return [Tensor(np.zeros(3), requires_grad=True)]


@pytest.mark.parametrize("make,match", [
    (lambda: optim.SGD(_p(), lr=-0.1), "Invalid learning rate: -0.1"),
    (lambda: optim.SGD(_p(), momentum=-0.5), "Invalid momentum value: -0.5"),
    (lambda: optim.SGD(_p(), weight_decay=-1e-4), "Invalid weight_decay value: -0.0001"),
    (lambda: optim.SGD(_p(), nesterov=True), "Nesterov momentum requires a momentum and zero dampening"),
    (lambda: optim.SGD(_p(), momentum=0.9, dampening=0.1, nesterov=True), "Nesterov"),
    (lambda: optim.Adam(_p(), lr=-1e-3), "Invalid learning rate: -0.001"),
    (lambda: optim.Adam(_p(), eps=-1e-8), "Invalid epsilon value: -1e-08"),
    (lambda: optim.Adam(_p(), betas=(1.0, 0.999)), "Invalid beta parameter at index 0: 1.0"),
    (lambda: optim.Adam(_p(), betas=(-0.1, 0.999)), "Invalid beta parameter at index 0: -0.1"),
    (lambda: optim.Adam(_p(), betas=(0.9, 1.5)), "Invalid beta parameter at index 1: 1.5"),
    (lambda: optim.Adam(_p(), betas=(0.9,)), "betas must be a pair"),
    (lambda: optim.Adam(_p(), weight_decay=-0.1), "Invalid weight_decay value: -0.1"),
    (lambda: optim.AdamW(_p(), lr=float("nan")), "Invalid learning rate"),
    (lambda: optim.AdamW(_p(), weight_decay=-0.01), "Invalid weight_decay value: -0.01"),
    (lambda: optim.SGD([], lr=0.1), "empty parameter list"),
    (lambda: optim.SGD([{"params": []}], lr=0.1), "empty parameter list"),
    (lambda: optim.SGD(_p() * 2, lr=0.1), "more than once"),
    (lambda: optim.SGD([Tensor([1.0], requires_grad=True) * 2], lr=0.1), "non-leaf"),
    (lambda: optim.SGD([{"lr": 0.1}]), "'params'"),
])
def test_invalid_arguments_raise_value_error(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("make,match", [
    (lambda: optim.SGD(Tensor([1.0], requires_grad=True)), "single Tensor"),
    (lambda: optim.SGD({Tensor([1.0], requires_grad=True)}), "not a set"),
    (lambda: optim.SGD([np.zeros(3)]), "only optimize Tensors"),
    (lambda: optim.SGD([Tensor([1, 2])]), "float tensors"),
    (lambda: optim.SGD(_p(), lr="0.1"), "real number"),
])
def test_invalid_argument_types_raise_type_error(make, match):
    with pytest.raises(TypeError, match=match):
        make()


def test_zero_hyperparameters_are_allowed():
    for make in (lambda ps: optim.SGD(ps, lr=0.0), lambda ps: optim.Adam(ps, lr=0.0, betas=(0.0, 0.0), eps=0.0)):
        params = _p()
        params[0].grad = Tensor(np.ones(3))
        make(params).step()  # lr 0: the step runs and leaves the parameter where it was
        np.testing.assert_array_equal(params[0].numpy(), np.zeros(3))


# ------------------------------------------------------------------------------------------
# state_dict
# ------------------------------------------------------------------------------------------
RESUME_CASES = [
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.01, amsgrad=True)),
    ("AdamW", dict(lr=0.01)),
]


@pytest.mark.parametrize("name,kw", RESUME_CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_state_dict_round_trip_resumes_exactly(name, kw, dtype):
    """Stop after 10 steps, save, load into a fresh optimizer on fresh tensors, go on 10 steps:
    the result is bit for bit that of 20 uninterrupted steps."""
    weights, grads = make_weights(dtype), gradient_sequence(dtype)
    cls = getattr(optim, name)

    straight = [Tensor(w, requires_grad=True) for w in weights]
    opt = cls(straight, **kw)
    for step_grads in grads:
        for p, g in zip(straight, step_grads):
            p.grad = Tensor(g)
        opt.step()

    first = [Tensor(w, requires_grad=True) for w in weights]
    opt1 = cls(first, **kw)
    for step_grads in grads[:10]:
        for p, g in zip(first, step_grads):
            p.grad = Tensor(g)
        opt1.step()
    saved = opt1.state_dict()
    saved_weights = [p.numpy().copy() for p in first]
    for p in first:  # training the first optimizer further must not change what was saved
        p.grad = Tensor(np.ones(p.shape, dtype))
    opt1.step()

    second = [Tensor(w, requires_grad=True) for w in saved_weights]
    opt2 = cls(second, lr=123.0)  # the hyper-parameters come from the state dict
    opt2.load_state_dict(saved)
    assert opt2.param_groups[0]["lr"] == kw["lr"]
    for step_grads in grads[10:]:
        for p, g in zip(second, step_grads):
            p.grad = Tensor(g)
        opt2.step()
    for a, b in zip(straight, second):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


@needs_torch
@pytest.mark.parametrize("name,kw", [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("Adam", dict()),
    ("Adam", dict(amsgrad=True)),
    ("AdamW", dict(weight_decay=0.1)),
])
def test_state_dict_layout_matches_torch(name, kw):
    dtype = np.float32
    params, opt, tparams, topt = make_pair(name, kw, make_weights(dtype))
    # a second group, to check the numbering across groups
    opt.add_param_group({"params": [Tensor(np.zeros(2, dtype), requires_grad=True)], "lr": 0.5})
    topt.add_param_group({"params": [torch.zeros(2, requires_grad=True)], "lr": 0.5})
    for grads in gradient_sequence(dtype, steps=3):
        feed(params, tparams, grads)
        opt.step()
        topt.step()
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert set(sd) == set(tsd) == {"state", "param_groups"}
    assert sorted(sd["state"]) == sorted(tsd["state"])
    for index, entries in sd["state"].items():
        assert list(entries) == list(tsd["state"][index]), f"state keys of parameter {index}"
        for key, value in entries.items():
            ref = tsd["state"][index][key]
            if key == "step":
                assert value == int(ref.item())
            else:
                assert isinstance(value, np.ndarray) and value.dtype == dtype
                np.testing.assert_allclose(value, ref.numpy(), **TOL[dtype])
    assert [g["params"] for g in sd["param_groups"]] == [g["params"] for g in tsd["param_groups"]] == [[0, 1, 2], [3]]
    for group, tgroup in zip(sd["param_groups"], tsd["param_groups"]):
        assert set(group) <= set(tgroup), f"group keys torch lacks: {set(group) - set(tgroup)}"
        for key in group:
            if key != "params":
                assert group[key] == tgroup[key], key


def _trained_adam(dtype=np.float64):
    params = [Tensor(w, requires_grad=True) for w in make_weights(dtype)]
    opt = optim.Adam(params, lr=0.01)
    for p in params:
        p.grad = Tensor(np.ones(p.shape, dtype))
    opt.step()
    return params, opt


def test_load_state_dict_copies_and_casts():
    _, opt = _trained_adam(np.float64)
    sd = opt.state_dict()
    params32 = [Tensor(w, requires_grad=True) for w in make_weights(np.float32)]
    opt32 = optim.Adam(params32)
    opt32.load_state_dict(sd)
    loaded = opt32.state[params32[0]]["exp_avg"]
    assert loaded.dtype == np.float32
    sd["state"][0]["exp_avg"][...] = 99.0  # changing the dict afterwards leaves the optimizer alone
    assert not np.any(loaded == 99.0)
    sd["param_groups"][0]["betas"] = (0.1, 0.2)
    assert opt32.param_groups[0]["betas"] == (0.9, 0.999)


def test_state_dict_survives_string_indices():
    """A state dict that went through JSON-like storage has string keys: still loads."""
    params, opt = _trained_adam()
    sd = opt.state_dict()
    sd["state"] = {str(k): v for k, v in sd["state"].items()}
    fresh = optim.Adam([Tensor(p.numpy(), requires_grad=True) for p in params])
    fresh.load_state_dict(sd)
    assert len(fresh.state) == 3


@pytest.mark.parametrize("edit,match", [
    (lambda sd: sd["param_groups"].append(copy.deepcopy(sd["param_groups"][0])), "2 parameter groups"),
    (lambda sd: sd["param_groups"][0]["params"].pop(), "has 2 parameters in the state dict and 3"),
    (lambda sd: sd["state"][1].update(exp_avg=np.zeros((7, 1))), r"shape \(7, 1\).*shape \(7,\)"),
    (lambda sd: sd["state"][0].update(momentum_buffer=np.zeros((5, 7))), "'momentum_buffer'.*another optimizer"),
    (lambda sd: sd["state"].update({7: {"step": 1}}), "index 7"),
    (lambda sd: sd["param_groups"][0].update(lr=-1.0), "Invalid learning rate"),
    (lambda sd: sd.pop("state"), "'state' and 'param_groups'"),
])
def test_load_state_dict_refuses_mismatches_and_changes_nothing(edit, match):
    params, opt = _trained_adam()
    sd = opt.state_dict()
    edit(sd)
    fresh_params = [Tensor(p.numpy(), requires_grad=True) for p in params]
    fresh = optim.Adam(fresh_params, lr=0.5)
    with pytest.raises(ValueError, match=match):
        fresh.load_state_dict(sd)
    assert fresh.state == {} and fresh.param_groups[0]["lr"] == 0.5


# ------------------------------------------------------------------------------------------
# schedulers against torch.optim.lr_scheduler
# ------------------------------------------------------------------------------------------
SCHEDULERS = [
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=4, eta_min=0.001)),  # goes past T_max: down and up again
    ("CosineAnnealingLR", dict(T_max=10)),
    ("LambdaLR", dict(lr_lambda=lambda epoch: 0.95 ** epoch)),
    ("LambdaLR", dict(lr_lambda=[lambda e: 1 / (e + 1), lambda e: min(1.0, (e + 1) / 4)])),
]


def _scheduler_pair(name, kw):
    a, b = Tensor([1.0], requires_grad=True), Tensor([1.0], requires_grad=True)
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.01}], lr=0.1, momentum=0.9)
    ta, tb = torch.ones(1, requires_grad=True), torch.ones(1, requires_grad=True)
    topt = torch.optim.SGD([{"params": [ta]}, {"params": [tb], "lr": 0.01}], lr=0.1, momentum=0.9)
    return opt, getattr(lr_scheduler, name)(opt, **kw), topt, getattr(torch.optim.lr_scheduler, name)(topt, **kw)


@needs_torch
@pytest.mark.parametrize("name,kw", SCHEDULERS, ids=lambda v: v if isinstance(v, str) else None)
def test_scheduler_follows_torch_for_10_epochs(name, kw):
    opt, sched, topt, tsched = _scheduler_pair(name, kw)
    assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12)
    for epoch in range(10):
        opt.step()
        topt.step()
        sched.step()
        tsched.step()
        assert sched.last_epoch == tsched.last_epoch == epoch + 1
        assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12, abs=1e-15), f"epoch {epoch + 1}"
        assert [g["lr"] for g in opt.param_groups] == sched.get_last_lr()
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.01]


@needs_torch
@pytest.mark.parametrize("name,kw", SCHEDULERS[:4], ids=lambda v: v if isinstance(v, str) else None)
def test_scheduler_step_with_epoch_uses_the_closed_form(name, kw):
    import warnings

    opt, sched, topt, tsched = _scheduler_pair(name, kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch deprecates step(epoch)
        for epoch in [5, 2, 9]:
            sched.step(epoch)
            tsched.step(epoch)
            assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12, abs=1e-15)


def test_cosine_reaches_eta_min_at_t_max():
    p = Tensor([1.0], requires_grad=True)
    opt = optim.SGD([p], lr=1.0)
    sched = lr_scheduler.CosineAnnealingLR(opt, T_max=5, eta_min=0.1)
    lrs = [opt.param_groups[0]["lr"]]
    for _ in range(5):
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    expected = [0.1 + 0.9 * (1 + math.cos(math.pi * t / 5)) / 2 for t in range(6)]
    np.testing.assert_allclose(lrs, expected, rtol=1e-12)


def test_the_optimizer_uses_the_scheduled_rate():
    p = Tensor([0.0], requires_grad=True)
    opt = optim.SGD([p], lr=1.0)
    sched = lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    for _ in range(3):  # rates 1, 0.5, 0.25 with gradient 1
        p.grad = Tensor([1.0])
        opt.step()
        sched.step()
    np.testing.assert_allclose(p.numpy(), [-1.75])


def test_scheduler_state_dict_resumes():
    p = Tensor([1.0], requires_grad=True)
    opt = optim.SGD([p], lr=1.0)
    sched = lr_scheduler.ExponentialLR(opt, gamma=0.5)
    for _ in range(3):
        sched.step()
    saved_opt, saved = opt.state_dict(), sched.state_dict()
    assert "optimizer" not in saved and saved["last_epoch"] == 3

    opt2 = optim.SGD([Tensor([1.0], requires_grad=True)], lr=1.0)
    opt2.load_state_dict(saved_opt)  # brings lr 0.125 and initial_lr 1.0
    sched2 = lr_scheduler.ExponentialLR(opt2, gamma=0.5, last_epoch=saved["last_epoch"] - 1)
    sched2.load_state_dict(saved)
    sched.step()
    sched2.step()
    assert sched2.get_last_lr() == sched.get_last_lr() == [1.0 / 16]


def test_scheduler_errors():
    opt = optim.SGD(_p(), lr=0.1)
    with pytest.raises(TypeError, match="not an Optimizer"):
        lr_scheduler.StepLR("adam", step_size=1)
    with pytest.raises(ValueError, match="step_size"):
        lr_scheduler.StepLR(opt, step_size=0)
    with pytest.raises(ValueError, match="T_max"):
        lr_scheduler.CosineAnnealingLR(opt, T_max=0)
    with pytest.raises(ValueError, match="expected 1 lr_lambdas"):
        lr_scheduler.LambdaLR(opt, lr_lambda=[lambda e: 1.0, lambda e: 1.0])
    with pytest.raises(KeyError, match="initial_lr"):
        lr_scheduler.ExponentialLR(optim.SGD(_p(), lr=0.1), gamma=0.9, last_epoch=3)
    sched = lr_scheduler.LambdaLR(opt, lr_lambda=lambda e: 1.0)
    assert "lr_lambdas" not in sched.state_dict()
