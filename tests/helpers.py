"""Test helpers: one call checks an op's forward and backward three ways.

``check_op(ours, reference, shapes)``
  1. gradcheck: our backward against central finite differences, float64;
  2. PyTorch: our forward and gradients against torch's on the same inputs, float64 and float32
     (skipped when torch is not installed);
The backend fixture runs each test on the NumPy and on the C kernels, which compares the two.
"""
import numpy as np
import pytest

from tinygrad_edu import Tensor
from tinygrad_edu.utils.gradcheck import gradcheck

try:
    import torch
except ImportError:  # the PyTorch comparisons are skipped, everything else still runs
    torch = None

TOL = {np.float64: dict(rtol=1e-9, atol=1e-10), np.float32: dict(rtol=2e-5, atol=2e-5)}


def make_inputs(shapes, low=-2.0, high=2.0, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return [rng.uniform(low, high, size=s).astype(dtype) for s in shapes]


def check_op(ours, reference, shapes, low=-2.0, high=2.0, grad=True, seed=0, arrays=None,
             float32_tol=None, gradcheck_args=None):
    """Compare ``ours`` (Tensors -> Tensor) with ``reference`` (torch tensors -> torch tensor)."""
    base = arrays if arrays is not None else make_inputs(shapes, low, high, seed)
    # 1. finite differences, float64
    if grad:
        inputs = [Tensor(a.astype(np.float64), requires_grad=True) for a in base]
        gradcheck(ours, inputs, **(gradcheck_args or {}))
    # 2. PyTorch
    if torch is None or reference is None:
        return
    for dtype in (np.float64, np.float32):
        tol = dict(TOL[dtype])
        if dtype == np.float32 and float32_tol:
            tol.update(float32_tol)
        ins = [Tensor(a.astype(dtype), requires_grad=grad) for a in base]
        tins = [torch.tensor(a.astype(dtype), requires_grad=grad) for a in base]
        out = ours(*ins)
        tout = reference(*tins)
        assert out.shape == tuple(tout.shape), f"shape {out.shape} vs torch {tuple(tout.shape)}"
        assert out.dtype == dtype
        np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), **tol, err_msg="forward")
        if grad:
            cot = np.random.default_rng(seed + 1).standard_normal(out.shape).astype(dtype)
            out.backward(Tensor(cot))
            tout.backward(torch.tensor(cot))
            for i, (t, tt) in enumerate(zip(ins, tins)):
                if tt.grad is None:
                    assert t.grad is None or np.all(t.grad.numpy() == 0)
                    continue
                assert t.grad is not None, f"input {i} got no gradient"
                np.testing.assert_allclose(t.grad.numpy(), tt.grad.numpy(), **tol, err_msg=f"grad of input {i}")
