"""The CuPy kernel table's logic, run on the CPU: backends/cupy_kernels.py is written against
``xp = array_module(x)``, so handed NumPy arrays it runs with NumPy. Here it is compared with
the NumPy reference kernel by kernel (random shapes, strides, paddings, ties and NaNs), for its
errors, and plugged in as the kernel table under the whole op layer (gradients checked against
finite differences and PyTorch, a CNN trained next to the reference backend).

What this cannot check is CuPy itself on a GPU (cuBLAS, the CUDA reductions, bincount's
atomics): that is test_cuda_*.py's job, skipped without a GPU.

Tolerances: float32 rtol=1e-4 / atol=1e-4 (sums of at most a few hundred terms, added in a
different order: GEMM instead of per-offset sums); float64 1e-10. Max pooling selects, so
values and indices must match exactly.
"""
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tinygrad_edu as tge
import tinygrad_edu.nn.functional as F
from tinygrad_edu import Tensor, backends, optim
from tinygrad_edu.backends import cupy_kernels as gk
from tinygrad_edu.backends import numpy_ref as ref
from tinygrad_edu.models import CNN

from ..helpers import check_op, torch, train_steps
from ..strategies import conv_cases, float_dtypes, layouts, pool_cases

if torch is not None:
    import torch.nn.functional as TF

TOL = {np.dtype(np.float32): dict(rtol=1e-4, atol=1e-4),
       np.dtype(np.float64): dict(rtol=1e-10, atol=1e-10)}
EXAMPLES = settings(max_examples=int(os.environ.get("TGE_HYPOTHESIS_EXAMPLES", 60)), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def array(rng, shape, dtype, layout="contiguous", ties=False):
    """Random data in one of three memory layouts: C order, Fortran order, every other column."""
    data = (rng.integers(-2, 3, size=shape) if ties else rng.standard_normal(shape)).astype(dtype)
    if layout == "fortran":
        return np.asfortranarray(data)
    if layout == "strided" and len(shape):
        wide = np.zeros(shape[:-1] + (2 * shape[-1],), dtype)
        wide[..., ::2] = data
        return wide[..., ::2]
    return data


def same(actual, expected):
    assert actual.dtype == expected.dtype and actual.shape == expected.shape
    assert actual.flags.c_contiguous
    np.testing.assert_allclose(actual, expected, **TOL[actual.dtype])




# ------------------------------------------------------------------------------------
# kernel by kernel against the reference
# ------------------------------------------------------------------------------------

@EXAMPLES
@given(batch=st.sampled_from([None, 1, 4]), m=st.integers(0, 30), n=st.integers(0, 30),
       k=st.integers(0, 30), trans_a=st.booleans(), trans_b=st.booleans(), dtype=float_dtypes,
       layout=layouts, seed=st.integers(0, 2**31))
def test_matmul(batch, m, n, k, trans_a, trans_b, dtype, layout, seed):
    rng = np.random.default_rng(seed)
    lead = () if batch is None else (batch,)
    a = array(rng, lead + ((k, m) if trans_a else (m, k)), dtype, layout)
    b = array(rng, lead + ((n, k) if trans_b else (k, n)), dtype)
    same(gk.matmul(a, b, trans_a, trans_b), ref.matmul(a, b, trans_a, trans_b))


@EXAMPLES
@given(case=conv_cases(max_hw=8))
def test_conv2d_forward_and_both_gradients(case):
    rng = np.random.default_rng(case["seed"])
    dtype, layout = case["dtype"], case["layout"]
    x = array(rng, (case["n"], case["c"], case["h"], case["w"]), dtype, layout)
    w = array(rng, (case["o"], case["c"], case["kh"], case["kw"]), dtype, layout)
    b = array(rng, (w.shape[0],), dtype) if case["bias"] else None
    s, p = case["stride"], case["padding"]
    y = gk.conv2d_forward(x, w, b, s, p)
    same(y, ref.conv2d_forward(x, w, b, s, p))
    gy = array(rng, y.shape, dtype, layout)
    same(gk.conv2d_backward_input(gy, w, x.shape, s, p), ref.conv2d_backward_input(gy, w, x.shape, s, p))
    same(gk.conv2d_backward_weight(gy, x, w.shape, s, p), ref.conv2d_backward_weight(gy, x, w.shape, s, p))


@pytest.mark.parametrize("n,c,o,hw,k,s,p", [(8, 1, 32, 28, 3, 1, 0), (4, 32, 64, 13, 3, 1, 0),
                                            (2, 3, 4, 17, 5, 2, 2), (1, 16, 8, 12, 1, 1, 0)])
def test_conv2d_cnn_sized_layers(n, c, o, hw, k, s, p):
    rng = np.random.default_rng(c)
    x, w, b = array(rng, (n, c, hw, hw), np.float64), array(rng, (o, c, k, k), np.float64), array(rng, (o,), np.float64)
    y = gk.conv2d_forward(x, w, b, (s, s), (p, p))
    same(y, ref.conv2d_forward(x, w, b, (s, s), (p, p)))
    gy = array(rng, y.shape, np.float64)
    same(gk.conv2d_backward_input(gy, w, x.shape, (s, s), (p, p)), ref.conv2d_backward_input(gy, w, x.shape, (s, s), (p, p)))
    same(gk.conv2d_backward_weight(gy, x, w.shape, (s, s), (p, p)), ref.conv2d_backward_weight(gy, x, w.shape, (s, s), (p, p)))


def test_im2col_rows_are_the_windows_and_col2im_is_its_adjoint():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 5, 4))
    kernel, stride, padding = (3, 2), (2, 1), (1, 1)
    cols = gk.im2col(x, kernel, stride, padding)
    oh, ow = (5 + 2 - 3) // 2 + 1, (4 + 2 - 2) // 1 + 1
    assert cols.shape == (2 * oh * ow, 3 * 3 * 2)
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    n, i, j = 1, 2, 3
    window = padded[n, :, i * 2:i * 2 + 3, j:j + 2]
    np.testing.assert_array_equal(cols[(n * oh + i) * ow + j], window.ravel())
    # <im2col(x), c> == <x, col2im(c)> for every x, c: col2im is the transpose of im2col
    c = rng.standard_normal(cols.shape)
    lhs = (cols * c).sum()
    rhs = (x * gk.col2im(c, x.shape, kernel, stride, padding)).sum()
    np.testing.assert_allclose(lhs, rhs, rtol=1e-12)


@EXAMPLES
@given(case=pool_cases(max_hw=8))
def test_pooling_forward_and_gradients(case):
    rng = np.random.default_rng(case["seed"])
    dtype, layout = case["dtype"], case["layout"]
    x = array(rng, (case["n"], case["c"], case["h"], case["w"]), dtype, layout,
              case["values"] == "ties")
    if case["nan"] and x.size:
        x[rng.random(x.shape) < 0.15] = np.nan
    k, s, p = case["kernel"], case["stride"], case["padding"]
    y, idx = gk.max_pool2d_forward(x, k, s, p)
    y_ref, idx_ref = ref.max_pool2d_forward(x, k, s, p)
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(idx, idx_ref)
    assert y.dtype == x.dtype and idx.dtype == np.int64
    gy = array(rng, y.shape, dtype, layout)
    same(gk.max_pool2d_backward(gy, idx, x.shape), ref.max_pool2d_backward(gy, idx, x.shape))
    x = np.nan_to_num(x)
    same(gk.avg_pool2d_forward(x, k, s, p), ref.avg_pool2d_forward(x, k, s, p))
    same(gk.avg_pool2d_backward(gy, x.shape, k, s, p), ref.avg_pool2d_backward(gy, x.shape, k, s, p))


def test_max_pool_first_maximum_and_first_nan_win():
    row = np.array([[[[2.0, 2.0, 1.0, 2.0]]]], np.float32)
    y, idx = gk.max_pool2d_forward(row, (1, 4), (1, 1), (0, 0))
    assert y.item() == 2.0 and idx.item() == 0
    row = np.array([[[[1.0, np.nan, 5.0, np.nan]]]], np.float32)
    y, idx = gk.max_pool2d_forward(row, (1, 4), (1, 1), (0, 0))
    assert np.isnan(y.item()) and idx.item() == 1
    # a window that is mostly padding still picks a real cell, even when every value is -inf
    x = np.full((1, 1, 2, 2), -np.inf, np.float32)
    y, idx = gk.max_pool2d_forward(x, (3, 3), (2, 2), (1, 1))
    assert idx.item() == 0 and y.item() == -np.inf


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gelu_forward_and_backward(dtype):
    if not hasattr(ref, "gelu_forward"):
        pytest.skip("the reference table has no fused GELU")
    rng = np.random.default_rng(4)
    x = array(rng, (3, 7), dtype, "strided") * 3
    gy = array(rng, (3, 7), dtype)
    tol = dict(rtol=1e-6, atol=1e-7) if dtype == np.float32 else dict(rtol=1e-13, atol=1e-15)
    y = gk.gelu_forward(x)
    assert y.dtype == x.dtype and y.flags.c_contiguous
    np.testing.assert_allclose(y, ref.gelu_forward(x), **tol)
    np.testing.assert_allclose(gk.gelu_backward(gy, x), ref.gelu_backward(gy, x), **tol)
    assert gk.gelu_forward(np.zeros((0, 2), dtype)).shape == (0, 2)


# ------------------------------------------------------------------------------------
# refusals: the same exceptions and messages as the reference
# ------------------------------------------------------------------------------------

f32 = np.float32
_x, _w = np.ones((2, 3, 8, 8), f32), np.ones((4, 3, 3, 3), f32)
_y, _idx = ref.max_pool2d_forward(_x, (2, 2), (2, 2), (0, 0))
_bad_idx = _idx.copy()
_bad_idx[0, 0, 0, 0] = 64
BAD_CALLS = {
    "matmul_inner": ("matmul", (np.ones((3, 4), f32), np.ones((5, 2), f32))),
    "matmul_dtypes": ("matmul", (np.ones((3, 4), f32), np.ones((4, 2)))),
    "matmul_int": ("matmul", (np.ones((3, 4), np.int64), np.ones((4, 2), np.int64))),
    "matmul_ndim": ("matmul", (np.ones((2, 3, 4), f32), np.ones((4, 2), f32))),
    "matmul_batch": ("matmul", (np.ones((2, 3, 4), f32), np.ones((3, 4, 2), f32))),
    "matmul_flag": ("matmul", (np.ones((3, 4), f32), np.ones((4, 2), f32), "yes")),
    "conv_channels": ("conv2d_forward", (_x, np.ones((4, 5, 3, 3), f32), None, (1, 1), (0, 0))),
    "conv_too_big": ("conv2d_forward", (_x, np.ones((4, 3, 9, 9), f32), None, (1, 1), (0, 0))),
    "conv_bias": ("conv2d_forward", (_x, _w, np.ones(3, f32), (1, 1), (0, 0))),
    "conv_dtypes": ("conv2d_forward", (_x, _w.astype(np.float64), None, (1, 1), (0, 0))),
    "conv_3d": ("conv2d_forward", (_x[0], _w, None, (1, 1), (0, 0))),
    "conv_stride": ("conv2d_forward", (_x, _w, None, (0, 1), (0, 0))),
    "conv_stride_type": ("conv2d_forward", (_x, _w, None, 1, (0, 0))),
    "conv_gx_shape": ("conv2d_backward_input", (np.ones((2, 4, 5, 5), f32), _w, _x.shape, (1, 1), (0, 0))),
    "conv_gw_shape": ("conv2d_backward_weight", (np.ones((2, 4, 6, 6), f32), _x, (4, 2, 3, 3), (1, 1), (0, 0))),
    "pool_padding": ("max_pool2d_forward", (_x, (3, 3), (1, 1), (2, 0))),
    "pool_too_big": ("avg_pool2d_forward", (_x, (10, 2), (1, 1), (0, 0))),
    "pool_f16": ("avg_pool2d_forward", (_x.astype(np.float16), (2, 2), (2, 2), (0, 0))),
    "maxpool_idx_shape": ("max_pool2d_backward", (_y, _idx[:, :, :2], _x.shape)),
    "maxpool_idx_dtype": ("max_pool2d_backward", (_y, _idx.astype(np.int32), _x.shape)),
    "maxpool_idx_range": ("max_pool2d_backward", (_y, _bad_idx, _x.shape)),
    "avgpool_gy_shape": ("avg_pool2d_backward", (_y[:, :, :3], _x.shape, (2, 2), (2, 2), (0, 0))),
    "gelu_int": ("gelu_forward", (np.ones(3, np.int64),)),
    "gelu_grad_shape": ("gelu_backward", (np.ones(3, f32), np.ones(4, f32))),
    "gelu_grad_dtypes": ("gelu_backward", (np.ones(3, f32), np.ones(3))),
}


@pytest.mark.parametrize("case", sorted(BAD_CALLS))
def test_refuses_what_the_reference_refuses_with_the_same_message(case):
    name, args = BAD_CALLS[case]
    if not hasattr(ref, name):
        pytest.skip(f"the reference table has no {name}")
    with pytest.raises((TypeError, ValueError)) as expected:
        getattr(ref, name)(*args)
    with pytest.raises(expected.type) as ours:
        getattr(gk, name)(*args)
    assert str(ours.value) == str(expected.value)


def test_refuses_non_arrays_naming_their_type():
    with pytest.raises(TypeError, match="b must be an array, got list"):
        gk.matmul(np.ones((1, 1), f32), [[1.0]])
    with pytest.raises(TypeError, match="indices must be an array, got NoneType"):
        gk.max_pool2d_backward(_y, None, _x.shape)


def test_every_kernel_of_the_contract_is_in_the_gpu_table():
    """A kernel added to the contract is in this table: its own GPU version (cupy_kernels.OWN)
    or its twin, written against xp; tests/backends/test_contract.py checks the same for
    every table."""
    from tinygrad_edu.backends.contract import KERNELS

    table = gk.implementations()
    assert sorted(table) == sorted(KERNELS)
    for name, spec in KERNELS.items():
        assert table[name] is (spec.twin if name not in gk.OWN else getattr(gk, f"_{name}"))
        assert getattr(gk, name).kernel is spec


# ------------------------------------------------------------------------------------
# the whole op layer on top of this table (the table installed as if it were a CPU backend)
# ------------------------------------------------------------------------------------

@pytest.fixture
def cupy_table(monkeypatch):
    """Route every kernel call of the ops through cupy_kernels (running with NumPy)."""
    monkeypatch.setitem(backends._TABLES, "cupy-on-numpy", gk)
    monkeypatch.setattr(backends, "_active", "cupy-on-numpy")
    assert backends.kernels() is gk
    yield gk


OPS = [
    ("matmul", lambda a, b: a @ b, lambda a, b: a @ b, [(3, 4), (4, 5)]),
    ("matmul_batched", lambda a, b: a @ b, lambda a, b: a @ b, [(2, 1, 3, 4), (3, 4, 2)]),
    ("matmul_transposed", lambda a, b: a.T @ b[:, ::2], lambda a, b: a.T @ b[:, ::2], [(4, 3), (4, 6)]),
    ("linear", lambda x, w, b: F.linear(x, w, b), lambda x, w, b: TF.linear(x, w, b), [(2, 4, 3), (5, 3), (5,)]),
    ("conv2d", lambda x, w, b: F.conv2d(x, w, b), lambda x, w, b: TF.conv2d(x, w, b), [(2, 3, 6, 5), (4, 3, 3, 3), (4,)]),
    ("conv2d_stride_pad", lambda x, w: F.conv2d(x, w, stride=(2, 1), padding=(1, 2)),
     lambda x, w: TF.conv2d(x, w, stride=(2, 1), padding=(1, 2)), [(2, 2, 7, 6), (3, 2, 3, 2)]),
    ("max_pool2d", lambda x: F.max_pool2d(x, 2), lambda x: TF.max_pool2d(x, 2), [(2, 3, 6, 5)]),
    ("max_pool2d_overlap", lambda x: F.max_pool2d(x, 3, stride=1, padding=1),
     lambda x: TF.max_pool2d(x, 3, stride=1, padding=1), [(1, 2, 5, 5)]),
    ("avg_pool2d", lambda x: F.avg_pool2d(x, (3, 2), stride=(2, 1), padding=1),
     lambda x: TF.avg_pool2d(x, (3, 2), stride=(2, 1), padding=1), [(1, 2, 7, 6)]),
    ("gelu", lambda x: F.gelu(x), lambda x: TF.gelu(x), [(3, 4)]),
    ("sdpa", lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
     lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, is_causal=True), [(2, 4, 3), (2, 4, 3), (2, 4, 5)]),
]


@pytest.mark.parametrize("name,ours,reference,shapes", OPS, ids=[c[0] for c in OPS])
def test_ops_on_the_cupy_table(cupy_table, name, ours, reference, shapes):
    check_op(ours, reference if torch is not None else None, shapes)


def _train_cnn(steps=3):
    tge.manual_seed(0)
    model = CNN()
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)  # Adam would magnify round-off
    data = np.random.default_rng(0)
    batches = ((Tensor(data.random((8, 1, 28, 28)).astype(np.float32)), Tensor(data.integers(0, 10, 8)))
               for _ in range(steps))
    return train_steps(model, opt, batches), model.state_dict()


def test_cnn_training_on_the_cupy_table_matches_the_reference_backend(monkeypatch):
    monkeypatch.setattr(backends, "_active", "numpy")
    losses_ref, state_ref = _train_cnn()
    monkeypatch.setitem(backends._TABLES, "cupy-on-numpy", gk)
    monkeypatch.setattr(backends, "_active", "cupy-on-numpy")
    losses, state = _train_cnn()
    np.testing.assert_allclose(losses, losses_ref, rtol=1e-5)
    for k in state_ref:
        np.testing.assert_allclose(state[k], state_ref[k], rtol=1e-4, atol=1e-5, err_msg=k)
