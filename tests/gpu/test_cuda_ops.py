"""Every op of tests/ops/test_ops.py on the GPU, compared with the CPU backend; and the CuPy
kernel table on CuPy arrays against the NumPy reference. Needs CuPy and a GPU (the ``cuda``
fixture skips otherwise).

Each case runs the same function on the same inputs on "cpu" and on "cuda" (float64 and
float32) and compares the outputs and every input gradient. Tolerances: float64 rtol=1e-8 /
atol=1e-10 (CUDA's exp/log/tanh/erf are within a few ulp; sums run in another order);
float32 rtol=1e-4 / atol=1e-5.
"""
import numpy as np
import pytest

import tinygrad_edu as tge
import tinygrad_edu.nn.functional as F
from tinygrad_edu import Tensor
from tinygrad_edu.backends import cupy_kernels as gk
from tinygrad_edu.backends import numpy_ref as ref

from ..helpers import make_inputs
from ..ops.test_ops import FUNCTIONAL, MATMUL, MOVEMENT, REDUCTIONS, TARGETS, UNARY_AND_BINARY

pytestmark = pytest.mark.cuda

TOL = {np.float64: dict(rtol=1e-8, atol=1e-10), np.float32: dict(rtol=1e-4, atol=1e-5)}


def compare_devices(fn, shapes=None, arrays=None, low=-2.0, high=2.0, grad=True, seed=0):
    """Run ``fn`` (Tensors -> Tensor) on the CPU and on the GPU; outputs and gradients agree."""
    base = arrays if arrays is not None else make_inputs(shapes, low, high, seed)
    for dtype in (np.float64, np.float32):
        results = {}
        for dev in ("cpu", "cuda"):
            ins = [Tensor(a.astype(dtype), requires_grad=grad, device=dev) for a in base]
            out = fn(*ins)
            assert out.device == dev, f"the result is on {out.device}, expected {dev}"
            grads = []
            if grad:
                cot = np.random.default_rng(seed + 1).standard_normal(out.shape).astype(dtype)
                out.backward(Tensor(cot, device=dev))
                for t in ins:
                    assert t.grad is None or t.grad.device == dev
                    grads.append(None if t.grad is None else t.grad.numpy())
            results[dev] = (out.numpy(), grads)
        (cpu_out, cpu_grads), (gpu_out, gpu_grads) = results["cpu"], results["cuda"]
        assert gpu_out.dtype == cpu_out.dtype and gpu_out.shape == cpu_out.shape
        np.testing.assert_allclose(gpu_out, cpu_out, **TOL[dtype], err_msg=f"forward, {dtype.__name__}")
        for i, (g, c) in enumerate(zip(gpu_grads, cpu_grads)):
            assert (g is None) == (c is None), f"input {i}: gradient on one device only"
            if g is not None:
                np.testing.assert_allclose(g, c, **TOL[dtype], err_msg=f"grad of input {i}, {dtype.__name__}")


@pytest.mark.parametrize("name,ours,_ref,shapes,opts", UNARY_AND_BINARY, ids=[c[0] for c in UNARY_AND_BINARY])
def test_elementwise(cuda, name, ours, _ref, shapes, opts):
    compare_devices(ours, shapes, **opts)


@pytest.mark.parametrize("name,ours,_ref,shapes", REDUCTIONS, ids=[c[0] for c in REDUCTIONS])
def test_reductions(cuda, name, ours, _ref, shapes):
    compare_devices(ours, shapes)


@pytest.mark.parametrize("name,ours,_ref,shapes", MOVEMENT, ids=[c[0] for c in MOVEMENT])
def test_movement(cuda, name, ours, _ref, shapes):
    compare_devices(ours, shapes)


@pytest.mark.parametrize("name,shapes", MATMUL, ids=[c[0] for c in MATMUL])
def test_matmul(cuda, name, shapes):
    compare_devices(lambda a, b: a @ b, shapes)


@pytest.mark.parametrize("name,ours,_ref,shapes,opts", FUNCTIONAL, ids=[c[0] for c in FUNCTIONAL])
def test_functional(cuda, name, ours, _ref, shapes, opts):
    compare_devices(ours, shapes, **opts)


def _on(t, like):
    return Tensor(t, device=like.device)


LOSSES = [
    ("cross_entropy", lambda x: F.cross_entropy(x, _on(TARGETS, x)), [(4, 5)]),
    ("cross_entropy_sum", lambda x: F.cross_entropy(x, _on(TARGETS, x), reduction="sum"), [(4, 5)]),
    ("cross_entropy_ignore_spatial",
     lambda x: F.cross_entropy(x, _on(np.array([[1, -100, 2], [0, 2, -100]]), x)), [(2, 3, 3)]),
    ("cross_entropy_numpy_target", lambda x: F.cross_entropy(x, TARGETS), [(4, 5)]),
    ("nll", lambda x: F.nll_loss(x.log_softmax(-1), _on(TARGETS, x), reduction="none"), [(4, 5)]),
    ("embedding", lambda w: F.embedding(_on(np.array([[0, 2, 2], [3, 1, 0]]), w), w), [(4, 3)]),
    ("embedding_padding", lambda w: F.embedding(np.array([[0, 1, 1]]), w, padding_idx=1), [(4, 2)]),
    ("sdpa_bool_mask", lambda q, k, v: F.scaled_dot_product_attention(
        q, k, v, attn_mask=np.tril(np.ones((3, 4), dtype=bool))), [(2, 3, 5), (2, 4, 5), (2, 4, 2)]),
    ("int_index", lambda a: a[Tensor([2, 0, 2], device=a.device)], [(3, 4)]),
    ("where_numpy_cond", lambda a, b: tge.where(np.array([True, False, True]), a, b), [(2, 3), (3,)]),
]


@pytest.mark.parametrize("name,fn,shapes", LOSSES, ids=[c[0] for c in LOSSES])
def test_losses_lookups_and_masks(cuda, name, fn, shapes):
    compare_devices(fn, shapes)


def test_non_float_ops_stay_on_the_gpu(cuda):
    a = Tensor(np.arange(12).reshape(3, 4), device="cuda")
    assert (a @ a.T).device == "cuda" and (a @ a.T).dtype == np.int64
    m = np.arange(12).reshape(3, 4)
    np.testing.assert_array_equal((a @ a.T).numpy(), m @ m.T)
    assert a.argmax(axis=1).device == "cuda"
    np.testing.assert_array_equal(a.argmax(axis=1).numpy(), [3, 3, 3])
    assert (a > 3).device == "cuda" and (a > 3).dtype == np.bool_
    assert a.float().device == "cuda" and a.float().dtype == np.float32
    assert a.sum().item() == 66


def test_inplace_updates_under_no_grad(cuda):
    p = Tensor(np.ones(3, np.float32), requires_grad=True, device="cuda")
    (p * 3).sum().backward()
    with tge.no_grad():
        p -= 0.5 * p.grad
        p *= 2.0
    assert p.device == "cuda"
    np.testing.assert_allclose(p.numpy(), [-1.0, -1.0, -1.0])


def test_dropout_on_the_gpu_is_random_scaled_and_reproducible(cuda):
    x = Tensor(np.ones((300, 200), np.float32), requires_grad=True, device="cuda")
    tge.manual_seed(5)
    y = F.dropout(x, 0.3)
    assert y.device == "cuda"
    kept = y.numpy() != 0
    assert abs(kept.mean() - 0.7) < 0.01
    np.testing.assert_allclose(y.numpy()[kept], 1 / 0.7, rtol=1e-6)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), y.numpy())
    tge.manual_seed(5)
    np.testing.assert_array_equal(F.dropout(x, 0.3).numpy(), y.numpy())


def test_mixing_real_devices_is_a_clear_error(cuda):
    c = Tensor(np.ones((3, 3), np.float32))
    g = c.to("cuda")
    for attempt in (lambda: c + g, lambda: g @ c, lambda: tge.cat([c, g]), lambda: tge.where(c > 0, g, g),
                    lambda: F.linear(g, c), lambda: F.mse_loss(g, c), lambda: F.embedding(Tensor([0]), g),
                    lambda: F.cross_entropy(g, Tensor([0, 1, 2]))):
        with pytest.raises(ValueError, match="different devices|on cpu"):
            attempt()


def test_interop_with_cupy_arrays(cuda):
    cp = cuda
    arr = cp.arange(6, dtype=cp.float32).reshape(2, 3)
    t = Tensor(arr)
    assert t.device == "cuda" and t.dtype == np.float32
    arr[0, 0] = 100  # Tensor(...) copies
    assert t.numpy()[0, 0] == 0
    shared = Tensor.from_dlpack(arr)
    assert shared.device == "cuda" and shared.numpy()[0, 0] == 100
    back = cp.from_dlpack(t)
    assert isinstance(back, cp.ndarray) and back.shape == (2, 3)
    assert type(t.numpy()) is np.ndarray and type(np.asarray(t)) is np.ndarray


# ------------------------------------------------------------------------------------
# the CuPy kernel table on CuPy arrays against the NumPy reference
# ------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kernel_table_on_cupy_arrays(cuda, dtype):
    cp = cuda
    rng = np.random.default_rng(0)
    tol = TOL[dtype]
    a, b = rng.standard_normal((2, 33, 17)).astype(dtype), rng.standard_normal((2, 40, 17)).astype(dtype)
    np.testing.assert_allclose(cp.asnumpy(gk.matmul(cp.asarray(a), cp.asarray(b), False, True)),
                               ref.matmul(a, b, False, True), **tol)
    x, w, bias = (rng.standard_normal(s).astype(dtype) for s in ((3, 4, 11, 10), (5, 4, 3, 2), (5,)))
    for stride, padding in (((1, 1), (0, 0)), ((2, 1), (1, 1)), ((1, 3), (2, 0))):
        y = gk.conv2d_forward(cp.asarray(x), cp.asarray(w), cp.asarray(bias), stride, padding)
        y_ref = ref.conv2d_forward(x, w, bias, stride, padding)
        np.testing.assert_allclose(cp.asnumpy(y), y_ref, **tol)
        gy = rng.standard_normal(y_ref.shape).astype(dtype)
        np.testing.assert_allclose(
            cp.asnumpy(gk.conv2d_backward_input(cp.asarray(gy), cp.asarray(w), x.shape, stride, padding)),
            ref.conv2d_backward_input(gy, w, x.shape, stride, padding), **tol)
        np.testing.assert_allclose(
            cp.asnumpy(gk.conv2d_backward_weight(cp.asarray(gy), cp.asarray(x), w.shape, stride, padding)),
            ref.conv2d_backward_weight(gy, x, w.shape, stride, padding), **tol)
    x = rng.integers(-2, 3, size=(2, 3, 9, 8)).astype(dtype)  # ties
    x[0, 0, 0, :3] = np.nan
    for kernel, stride, padding in (((2, 2), (2, 2), (0, 0)), ((3, 3), (2, 1), (1, 1))):
        y, idx = gk.max_pool2d_forward(cp.asarray(x), kernel, stride, padding)
        y_ref, idx_ref = ref.max_pool2d_forward(x, kernel, stride, padding)
        np.testing.assert_array_equal(cp.asnumpy(y), y_ref)
        np.testing.assert_array_equal(cp.asnumpy(idx), idx_ref)
        gy = rng.standard_normal(y_ref.shape).astype(dtype)
        np.testing.assert_allclose(cp.asnumpy(gk.max_pool2d_backward(cp.asarray(gy), idx, x.shape)),
                                   ref.max_pool2d_backward(gy, idx_ref, x.shape), **tol)
        xc = np.nan_to_num(x)
        np.testing.assert_allclose(cp.asnumpy(gk.avg_pool2d_forward(cp.asarray(xc), kernel, stride, padding)),
                                   ref.avg_pool2d_forward(xc, kernel, stride, padding), **tol)
        np.testing.assert_allclose(
            cp.asnumpy(gk.avg_pool2d_backward(cp.asarray(gy), x.shape, kernel, stride, padding)),
            ref.avg_pool2d_backward(gy, x.shape, kernel, stride, padding), **tol)


def test_kernel_table_refuses_host_and_device_arrays_together(cuda):
    a = np.ones((2, 2), np.float32)
    with pytest.raises(ValueError, match="different devices"):
        gk.matmul(a, cuda.asarray(a))
