"""Limits: impossible sizes are refused before anything is allocated, and an error in the
middle of a backward pass leaves the graph and every ``.grad`` consistent.

* A shape whose element count or byte size overflows 64 bits -> ValueError naming the shape
  (factories, reshape, the outputs of matmul / conv / pooling on both kernel tables).
* More bytes than the machine has (RAM + swap, or TGE_MEMORY_LIMIT) -> MemoryError, raised
  by us before NumPy allocates (with memory overcommit NumPy could otherwise "succeed" and
  the process be killed later, when the pages are touched).
* Backward: the engine adds leaf gradients only after the whole walk succeeded; a failing
  op leaves ``.grad`` as it was, and the same graph backpropagates correctly afterwards.
"""
import numpy as np
import pytest

import tinygrad_edu as tge
from tinygrad_edu import Tensor, limits
from tinygrad_edu.autograd import Function
from tinygrad_edu.backends import c as ck
from tinygrad_edu.backends import numpy_ref as ref

HUGE = 2**40  # (HUGE, HUGE) has 2**80 elements
TABLES = [ref] + ([ck] if ck.AVAILABLE else [])


@pytest.fixture
def memory_8g(monkeypatch):
    """Pretend the machine has 8 GiB, whatever it really has."""
    monkeypatch.setenv("TGE_MEMORY_LIMIT", "8G")


# ------------------------------------------------------------------------------------
# overflow -> ValueError
# ------------------------------------------------------------------------------------
@pytest.mark.parametrize("make", [
    lambda: Tensor.zeros(HUGE, HUGE), lambda: Tensor.ones(HUGE, HUGE, dtype="float64"),
    lambda: Tensor.full((HUGE, HUGE), 1.0), lambda: Tensor.rand(HUGE, HUGE),
    lambda: Tensor.randn(2**62, 4), lambda: Tensor.zeros(2**61),  # 2**64 bytes
    lambda: tge.zeros(2**31, 2**31, 2**2),
], ids=["zeros", "ones", "full", "rand", "randn", "bytes", "tge.zeros"])
def test_factories_refuse_overflowing_shapes(make):
    with pytest.raises(ValueError, match=r"shape \(.*\) .*larger than any array"):
        make()


def test_reshape_refuses_huge_targets():
    with pytest.raises(ValueError, match="too large"):
        Tensor.zeros(16).reshape(HUGE, HUGE)
    # 16 * (2**60 + 1) = 2**64 + 16 wraps around to 16 in 64-bit arithmetic (np.prod):
    # Python's integers see the truth
    with pytest.raises(ValueError, match="reshape: target shape .* too large"):
        Tensor.zeros(16).reshape(16, 2**60 + 1)
    with pytest.raises(ValueError, match="too large"):
        Tensor.zeros(0).reshape(HUGE, HUGE, 0)
    assert Tensor.zeros(0).reshape(HUGE, 0).shape == (HUGE, 0)  # legal: no element at all


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.__name__.rsplit(".", 1)[1])
def test_kernels_refuse_overflowing_outputs_before_allocating(table):
    a, b = np.zeros((HUGE, 0), np.float32), np.zeros((0, HUGE), np.float32)
    with pytest.raises(ValueError, match=r"matmul.*\(1099511627776, 0\).*larger than any"):
        table.matmul(a, b)
    # conv gradient asked for a huge input: channels 2**40 in an empty weight
    w = np.zeros((0, HUGE, 1, 1), np.float32)
    gy = np.zeros((HUGE, 0, 1, 1), np.float32)
    with pytest.raises(ValueError, match="larger than any"):
        table.conv2d_backward_input(gy, w, (HUGE, HUGE, 1, 1), (1, 1), (0, 0))


def test_tensor_matmul_of_empty_operands_with_huge_output():
    with pytest.raises(ValueError, match="matmul"):
        Tensor.zeros(HUGE, 0) @ Tensor.zeros(0, HUGE)
    # the legal empty products give zeros, as in PyTorch
    assert np.array_equal((Tensor.zeros(3, 0) @ Tensor.zeros(0, 4)).numpy(), np.zeros((3, 4)))


# ------------------------------------------------------------------------------------
# more than the machine has -> MemoryError
# ------------------------------------------------------------------------------------
def test_factories_raise_memory_error_beyond_the_machine(memory_8g):
    for make in (lambda: Tensor.zeros(2**36), lambda: Tensor.randn(2**36),  # 256 GiB
                 lambda: Tensor.eye(2**20), lambda: Tensor.arange(2**40)):
        with pytest.raises(MemoryError, match=r"needs .*GiB|TiB"):
            make()
    assert Tensor.zeros(1000, 1000).shape == (1000, 1000)  # well below: allocated


def test_the_real_machine_refuses_256_gib():
    """Without any override: Tensor.zeros(2**36) float32 is 256 GiB."""
    if limits.memory_limit() >= 2**38 or limits.memory_limit() == 0:
        pytest.skip(f"this machine reports {limits.memory_limit()} bytes")
    with pytest.raises(MemoryError, match="256.0 GiB"):
        Tensor.zeros(2**36)


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.__name__.rsplit(".", 1)[1])
def test_kernels_raise_memory_error_beyond_the_machine(table, memory_8g):
    a, b = np.zeros((2**20, 0), np.float32), np.zeros((0, 2**20), np.float32)  # 4 TiB out
    with pytest.raises(MemoryError, match="matmul"):
        table.matmul(a, b)


def test_memory_limit_override(monkeypatch):
    monkeypatch.setenv("TGE_MEMORY_LIMIT", "0")  # off: only the overflow check remains
    assert limits.memory_limit() == 0
    monkeypatch.setenv("TGE_MEMORY_LIMIT", "1.5M")
    assert limits.memory_limit() == 3 * 2**19
    with pytest.raises(MemoryError):
        Tensor.zeros(1 << 20)  # 4 MiB
    monkeypatch.setenv("TGE_MEMORY_LIMIT", "lots")  # malformed: the detected size applies
    assert limits.memory_limit() == limits._detect_memory()


def test_numpy_itself_fails_cleanly_past_our_check():
    """What is left to NumPy (an allocation below our limit but above what is free) is a
    MemoryError too, never a crash: simulated with a limit above the real machine."""
    with pytest.raises(MemoryError):
        np.empty(2**60, dtype=np.uint8)  # 1 EiB: refused by the OS


# ------------------------------------------------------------------------------------
# errors inside backward
# ------------------------------------------------------------------------------------
class FailOnce(Function):
    """y = 3x; its backward raises the first time (a kernel running out of memory, say)."""

    failures = 1

    def forward(self, x):
        return 3 * x

    def backward(self, g):
        if FailOnce.failures > 0:
            FailOnce.failures -= 1
            raise MemoryError("simulated: out of memory inside backward")
        return (3 * g,)


def _graph(a, b):
    """A graph with a shared node, a leaf used twice and the failing op in the middle."""
    h = (a * b).tanh()
    return (FailOnce.apply(h) * a + h.sum() * b).sum()


def test_failed_backward_leaves_grads_untouched_then_succeeds():
    rng = np.random.default_rng(0)
    a0, b0 = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    a, b = Tensor(a0, requires_grad=True), Tensor(b0, requires_grad=True)
    loss = _graph(a, b)
    FailOnce.failures = 1
    with pytest.raises(MemoryError, match="simulated"):
        loss.backward()
    assert a.grad is None and b.grad is None
    loss.backward()  # the same graph, now succeeding
    ra, rb = Tensor(a0, requires_grad=True), Tensor(b0, requires_grad=True)
    _graph(ra, rb).backward()
    np.testing.assert_allclose(a.grad.numpy(), ra.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(b.grad.numpy(), rb.grad.numpy(), rtol=1e-12)


def test_failed_backward_keeps_earlier_accumulated_grads():
    rng = np.random.default_rng(1)
    a0, b0 = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    a, b = Tensor(a0, requires_grad=True), Tensor(b0, requires_grad=True)
    FailOnce.failures = 0
    _graph(a, b).backward()  # accumulate once
    first_a, first_b = a.grad.numpy().copy(), b.grad.numpy().copy()
    FailOnce.failures = 1
    with pytest.raises(MemoryError):
        _graph(a, b).backward()
    np.testing.assert_array_equal(a.grad.numpy(), first_a)  # not half-accumulated
    np.testing.assert_array_equal(b.grad.numpy(), first_b)
    _graph(a, b).backward()
    np.testing.assert_allclose(a.grad.numpy(), 2 * first_a, rtol=1e-12)
    np.testing.assert_allclose(b.grad.numpy(), 2 * first_b, rtol=1e-12)


def test_kernel_error_mid_backward_in_a_model(monkeypatch, backend):
    """A real kernel failing in a CNN's backward (the weight gradient of the convolution):
    nothing is accumulated, the optimizer state is untouched, and the retried step gives
    the same parameters as a step that never failed."""
    from tinygrad_edu import nn, optim
    from tinygrad_edu.backends import kernels

    def build():
        tge.manual_seed(0)
        return nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                             nn.Linear(8, 3))

    x = Tensor(np.random.default_rng(0).standard_normal((4, 1, 6, 6)).astype(np.float32))
    y = Tensor(np.array([0, 1, 2, 1]))
    model, clean = build(), build()
    opt = optim.Adam(model.parameters(), lr=0.01)
    table = kernels()
    real = table.conv2d_backward_weight

    def broken(*args, **kwargs):
        raise MemoryError("simulated: no memory for the weight gradient")

    loss = nn.CrossEntropyLoss()(model(x), y)
    monkeypatch.setattr(table, "conv2d_backward_weight", broken)
    with pytest.raises(MemoryError):
        loss.backward()
    assert all(p.grad is None for p in model.parameters())
    monkeypatch.setattr(table, "conv2d_backward_weight", real)
    loss.backward()
    opt.step()

    clean_opt = optim.Adam(clean.parameters(), lr=0.01)
    nn.CrossEntropyLoss()(clean(x), y).backward()
    clean_opt.step()
    for p, q in zip(model.parameters(), clean.parameters()):
        np.testing.assert_array_equal(p.numpy(), q.numpy())
