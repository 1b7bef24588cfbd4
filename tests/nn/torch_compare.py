"""Compare a module with its torch.nn twin: same weights (copied through state_dict), then
outputs, input gradients and parameter gradients, in float32 and float64."""
from __future__ import annotations

import numpy as np
import pytest

from tinygrad_edu import Tensor

torch = pytest.importorskip("torch")

# rtol/atol per dtype: float64 agrees to round-off; float32 to a few ulps of the largest terms
TOL = {np.float64: dict(rtol=1e-10, atol=1e-10), np.float32: dict(rtol=1e-5, atol=1e-5)}


def torch_state(module) -> dict:
    """A torch module's state dict as NumPy arrays (what users do to port weights)."""
    return {k: v.detach().cpu().numpy() for k, v in module.state_dict().items()}


def _flatten(out):
    if out is None:
        return []
    if isinstance(out, (tuple, list)):
        return [leaf for item in out for leaf in _flatten(item)]
    return [out]


def _ours(a, dtype):
    if isinstance(a, np.ndarray) and a.dtype.kind == "f":
        return Tensor(a.astype(dtype), requires_grad=True)
    return Tensor(a) if isinstance(a, np.ndarray) else a


def _theirs(a, dtype):
    if isinstance(a, np.ndarray) and a.dtype.kind == "f":
        return torch.tensor(a.astype(dtype), requires_grad=True)
    return torch.tensor(a) if isinstance(a, np.ndarray) else a


def compare(ours, theirs, inputs, dtype, call=None, tol=None, grads=True, seed=0, check_keys=True):
    """Run ``call(module, *inputs)`` on both modules and compare everything.

    ours, theirs: freshly built modules (float32); converted to ``dtype`` here and ours gets
    theirs' weights. inputs: NumPy arrays (float ones require grad) or other objects passed
    through. Returns (our outputs, their outputs) as lists of arrays.
    """
    call = call or (lambda m, *xs: m(*xs))
    if check_keys:
        assert list(ours.state_dict()) == list(theirs.state_dict())
    if dtype == np.float64:
        ours.double()
        theirs.double()
    ours.load_state_dict(torch_state(theirs))
    tol = tol or TOL[dtype]
    ins = [_ours(a, dtype) for a in inputs]
    tins = [_theirs(a, dtype) for a in inputs]
    outs = _flatten(call(ours, *ins))
    touts = _flatten(call(theirs, *tins))
    assert len(outs) == len(touts), f"{len(outs)} outputs vs torch's {len(touts)}"
    for i, (o, t) in enumerate(zip(outs, touts)):
        assert o.shape == tuple(t.shape), f"output {i}: shape {o.shape} vs torch {tuple(t.shape)}"
        assert o.dtype == dtype, f"output {i}: dtype {o.dtype}"
        np.testing.assert_allclose(o.numpy(), t.detach().numpy(), **tol, err_msg=f"output {i}")
    if not grads:
        return outs, touts
    rng = np.random.default_rng(seed + 1)
    total, ttotal = None, None
    for o, t in zip(outs, touts):
        if not o.requires_grad:
            continue
        cot = rng.standard_normal(o.shape).astype(dtype)
        finite = np.isfinite(o.numpy())
        cot = np.where(finite, cot, 0).astype(dtype)
        term = (o * Tensor(cot)).sum()
        tterm = (torch.nan_to_num(t, nan=0.0, posinf=0.0, neginf=0.0) * torch.tensor(cot)).sum()
        total = term if total is None else total + term
        ttotal = tterm if ttotal is None else ttotal + tterm
    total.backward()
    ttotal.backward()
    for i, (a, ta) in enumerate(zip(ins, tins)):
        if isinstance(a, Tensor) and a.requires_grad:
            assert a.grad is not None, f"input {i} got no gradient"
            np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), **tol, err_msg=f"grad of input {i}")
    named = dict(theirs.named_parameters())
    ours_named = dict(ours.named_parameters())
    assert list(ours_named) == list(named), "parameter names differ from torch's"
    for name, p in ours_named.items():
        tp = named[name]
        if tp.grad is None:
            assert p.grad is None or np.all(p.grad.numpy() == 0), f"{name}: torch has no gradient"
            continue
        assert p.grad is not None, f"parameter {name} got no gradient"
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), **tol, err_msg=f"grad of {name}")
    return outs, touts
