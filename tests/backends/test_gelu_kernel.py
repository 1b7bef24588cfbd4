"""The exact-GELU kernels (csrc/activation.c and numpy_ref.gelu_*): C against the NumPy
reference, the reference against PyTorch, the errors, and the op that calls them.

This is the test of the worked example in docs/tutorials/08_writing_a_c_kernel.md.
Tolerances: C vs reference float32 rtol=atol=1e-6 (erff against math.erf rounded to
float32: a few ulp), float64 rtol=atol=1e-14; reference vs PyTorch float64 1e-12.
"""
import numpy as np
import pytest

import tinygrad_edu as tge
from tinygrad_edu import Tensor
from tinygrad_edu.backends import c as ck
from tinygrad_edu.backends import numpy_ref as ref
import tinygrad_edu.nn.functional as F

needs_c = pytest.mark.skipif(not ck.AVAILABLE, reason=f"C kernels not built: {ck.LOAD_ERROR}")

TOL = {np.float32: dict(rtol=1e-6, atol=1e-6), np.float64: dict(rtol=1e-14, atol=1e-14)}
SHAPES = [(), (1,), (7,), (3, 5), (2, 3, 4, 5), (0,), (4, 0, 3)]


def inputs(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = np.asarray(rng.standard_normal(shape) * 3, dtype=dtype)   # reaches both flat tails
    gy = np.asarray(rng.standard_normal(shape), dtype=dtype)
    return x, gy


# ------------------------------------------------------------------------------------
# C against the NumPy reference
# ------------------------------------------------------------------------------------

@needs_c
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_c_matches_reference(shape, dtype):
    x, gy = inputs(shape, dtype)
    for got, want in ((ck.gelu_forward(x), ref.gelu_forward(x)),
                      (ck.gelu_backward(gy, x), ref.gelu_backward(gy, x))):
        assert got.shape == want.shape == x.shape
        assert got.dtype == want.dtype == np.dtype(dtype)
        assert got.flags.c_contiguous
        np.testing.assert_allclose(got, want, **TOL[dtype])


@needs_c
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_c_non_contiguous_inputs(dtype):
    x, gy = inputs((6, 8), dtype)
    xt, gyt = x.T, gy[:, ::2]                      # a transposed and a strided view
    np.testing.assert_allclose(ck.gelu_forward(xt), ref.gelu_forward(xt), **TOL[dtype])
    np.testing.assert_allclose(ck.gelu_backward(gyt, x[:, 1::2]),
                               ref.gelu_backward(gyt, x[:, 1::2]), **TOL[dtype])


@needs_c
def test_c_special_values():
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 40.0, -40.0], dtype=np.float64)
    y = ck.gelu_forward(x)
    # as PyTorch: gelu(-inf) = -inf * 0 is NaN, NaN propagates, far tails are x and -0
    np.testing.assert_array_equal(y, [0.0, -0.0, np.inf, np.nan, np.nan, 40.0, -0.0])
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(ref.gelu_forward(x), y)
    gx = ck.gelu_backward(np.ones_like(x[:2]), x[:2])
    np.testing.assert_array_equal(gx, [0.5, 0.5])          # gelu'(0) = Phi(0) = 1/2


@needs_c
def test_c_result_does_not_depend_on_threads():
    x, gy = inputs((300_000,), np.float32)
    before = ck.get_num_threads()
    try:
        ck.set_num_threads(1)
        one = ck.gelu_forward(x), ck.gelu_backward(gy, x)
        ck.set_num_threads(4)
        four = ck.gelu_forward(x), ck.gelu_backward(gy, x)
    finally:
        ck.set_num_threads(before)
    for a, b in zip(one, four):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------------------------
# the reference against PyTorch
# ------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(5,), (3, 4, 2)], ids=str)
def test_reference_matches_torch(shape):
    torch = pytest.importorskip("torch")
    x, gy = inputs(shape, np.float64, seed=1)
    tx = torch.tensor(x, requires_grad=True)
    ty = torch.nn.functional.gelu(tx)
    ty.backward(torch.tensor(gy))
    np.testing.assert_allclose(ref.gelu_forward(x), ty.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ref.gelu_backward(gy, x), tx.grad.numpy(), rtol=1e-12, atol=1e-12)


@needs_c
def test_c_float32_matches_torch():
    torch = pytest.importorskip("torch")
    x, gy = inputs((1000,), np.float32, seed=2)
    tx = torch.tensor(x, requires_grad=True)
    ty = torch.nn.functional.gelu(tx)
    ty.backward(torch.tensor(gy))
    np.testing.assert_allclose(ck.gelu_forward(x), ty.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ck.gelu_backward(gy, x), tx.grad.numpy(), rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------------------------
# errors: Python refuses first, naming the shapes; the C side returns codes
# ------------------------------------------------------------------------------------

@pytest.mark.parametrize("table", [ref, pytest.param(ck, marks=needs_c)], ids=["numpy", "c"])
def test_wrappers_refuse_bad_inputs(table):
    x = np.zeros((2, 3), np.float32)
    with pytest.raises(TypeError, match="float32 and float64"):
        table.gelu_forward(np.zeros(3, np.int64))
    with pytest.raises(TypeError, match="dtypes differ"):
        table.gelu_backward(x.astype(np.float64), x)
    with pytest.raises(ValueError, match=r"shapes differ \(gy float32 \(3, 2\), x float32 \(2, 3\)\)"):
        table.gelu_backward(np.zeros((3, 2), np.float32), x)
    with pytest.raises(TypeError, match="must be an array, got"):
        table.gelu_forward([1.0, 2.0])


@needs_c
def test_c_entry_points_return_error_codes():
    lib, ffi = ck.lib, ck.ffi
    buf32 = ffi.new("float[]", 4)
    buf64 = ffi.new("double[]", 4)
    assert lib.tge_gelu_forward_f32(4, buf32, 4, buf32, 4) == 0
    assert lib.tge_gelu_forward_f32(-1, buf32, -1, buf32, -1) == 1     # TGE_EINVAL
    assert lib.tge_gelu_forward_f32(4, buf32, 3, buf32, 4) == 2        # TGE_ESIZE
    assert lib.tge_gelu_forward_f64(4, buf64, 4, buf64, 5) == 2
    assert lib.tge_gelu_forward_f64(4, ffi.NULL, 4, buf64, 4) == 1     # NULL with n > 0
    assert lib.tge_gelu_forward_f64(0, ffi.NULL, 0, ffi.NULL, 0) == 0  # empty is fine
    assert lib.tge_gelu_backward_f32(4, buf32, 4, buf32, 4, buf32, 3) == 2
    assert lib.tge_gelu_backward_f64(4, buf64, 4, ffi.NULL, 4, buf64, 4) == 1
    assert lib.tge_gelu_backward_f64(4, buf64, 4, buf64, 4, buf64, 4) == 0


# ------------------------------------------------------------------------------------
# the op: F.gelu goes through the active table's kernels
# ------------------------------------------------------------------------------------

def test_gelu_op_calls_the_table_kernels(backend, monkeypatch):
    table = tge.backends.kernels()
    calls = []
    for name in ("gelu_forward", "gelu_backward"):
        original = getattr(table, name)
        monkeypatch.setattr(table, name,
                            lambda *a, _f=original, _n=name: calls.append(_n) or _f(*a))
    x = Tensor([[-1.0, 0.0, 2.0]], requires_grad=True)
    y = F.gelu(x)
    y.sum().backward()
    assert calls == ["gelu_forward", "gelu_backward"]
    np.testing.assert_allclose(y.numpy(), ref.gelu_forward(x.numpy()), rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), ref.gelu_backward(np.ones((1, 3), np.float32),
                                                                 x.numpy()), rtol=1e-6)


def test_gelu_op_gradcheck_float64(backend):
    from tinygrad_edu.utils.gradcheck import gradcheck

    x = Tensor(np.linspace(-4, 4, 12).reshape(3, 4), requires_grad=True, dtype="float64")
    gradcheck(lambda t: F.gelu(t), [x])
