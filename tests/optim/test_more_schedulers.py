"""LinearLR and MultiplicativeLR against torch.optim.lr_scheduler, epoch by epoch."""
import numpy as np
import pytest

from tinygrad_edu import Tensor, optim
from tinygrad_edu.optim import lr_scheduler

torch = pytest.importorskip("torch")


def _pair(cls_name, kwargs, lr=0.5, groups=1):
    ours_p = [Tensor(np.zeros(2), requires_grad=True) for _ in range(groups)]
    theirs_p = [torch.zeros(2, requires_grad=True) for _ in range(groups)]
    opt = optim.SGD([{"params": [p], "lr": lr * (i + 1)} for i, p in enumerate(ours_p)], lr=lr)
    topt = torch.optim.SGD([{"params": [p], "lr": lr * (i + 1)} for i, p in enumerate(theirs_p)], lr=lr)
    return (opt, getattr(lr_scheduler, cls_name)(opt, **kwargs),
            topt, getattr(torch.optim.lr_scheduler, cls_name)(topt, **kwargs))


@pytest.mark.parametrize("name,kwargs", [
    ("LinearLR", dict()),
    ("LinearLR", dict(start_factor=0.1, end_factor=0.9, total_iters=4)),
    ("LinearLR", dict(start_factor=1.0, end_factor=0.0, total_iters=3)),
    ("MultiplicativeLR", dict(lr_lambda=lambda epoch: 0.9)),
    ("MultiplicativeLR", dict(lr_lambda=lambda epoch: 1.0 / (epoch + 1))),
])
@pytest.mark.parametrize("groups", [1, 2])
def test_rates_follow_torch(name, kwargs, groups):
    opt, sched, topt, tsched = _pair(name, kwargs, groups=groups)
    for epoch in range(9):
        np.testing.assert_allclose(sched.get_last_lr(), tsched.get_last_lr(), rtol=1e-12, err_msg=f"epoch {epoch}")
        opt.step(), topt.step()
        sched.step(), tsched.step()


def test_linear_closed_form_and_errors():
    opt, sched, topt, tsched = _pair("LinearLR", dict(start_factor=0.25, total_iters=4))
    sched.step(3)
    assert sched.get_last_lr() == pytest.approx([0.5 * (0.25 + 0.75 * 3 / 4)])
    with pytest.raises(ValueError, match="start_factor"):
        lr_scheduler.LinearLR(opt, start_factor=0.0)
    with pytest.raises(TypeError, match="lr_lambda"):
        lr_scheduler.MultiplicativeLR(opt, lr_lambda=3)
