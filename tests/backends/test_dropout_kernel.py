"""The dropout kernel (csrc/dropout.c and numpy_ref.dropout): the C mask is bit for bit the
NumPy twin's, the keep rate is 1 - p, the same call on the gradient is the backward pass, the
result does not depend on the thread count, and F.dropout is reproducible under manual_seed.
"""
import numpy as np
import pytest

import tinygrad_edu as tge
from tinygrad_edu import Tensor
from tinygrad_edu.backends import c as ck
from tinygrad_edu.backends import numpy_ref as ref
import tinygrad_edu.nn.functional as F

from ..helpers import assert_same_for_thread_counts


needs_c = pytest.mark.skipif(not ck.AVAILABLE, reason=f"C kernels not built: {ck.LOAD_ERROR}")


@needs_c
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("shape", [(0,), (1,), (7,), (3, 5), (2, 3, 4, 5), (4097,)], ids=str)
@pytest.mark.parametrize("p", [0.0, 0.1, 0.5, 1.0])
def test_c_equals_reference_bit_for_bit(shape, dtype, p):
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    got, want = ck.dropout(x, 2 ** 62 + 12345, p), ref.dropout(x, 2 ** 62 + 12345, p)
    assert got.shape == want.shape == x.shape and got.dtype == want.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_keep_rate_and_scale(p):
    x = np.ones(200_000, np.float32)
    y = ref.dropout(x, 7, p)
    kept = y != 0
    # binomial standard deviation of the kept fraction: sqrt(p (1 - p) / n) <= 0.0012
    assert abs(kept.mean() - (1 - p)) < 0.006
    np.testing.assert_allclose(y[kept], np.float32(1 / (1 - p)))
    assert not np.array_equal(ref.dropout(x, 8, p) != 0, kept)  # another seed, another mask


def test_p_edges_and_nonfinite():
    x = np.array([1.0, -2.0, np.inf, np.nan], np.float64)
    np.testing.assert_array_equal(ref.dropout(x, 3, 0.0), x)       # p = 0: identity
    y = ref.dropout(x, 3, 1.0)                                     # p = 1: x * 0
    np.testing.assert_array_equal(y[:2], 0.0)
    assert np.isnan(y[2]) and np.isnan(y[3])                       # inf * 0, as PyTorch


@needs_c
def test_c_result_does_not_depend_on_thread_count():
    x = np.random.default_rng(1).standard_normal(3_000_001).astype(np.float32)
    assert_same_for_thread_counts(lambda: ck.dropout(x, 99, 0.3))


@pytest.mark.parametrize("table", ["numpy", "c"])
def test_errors(table):
    if table == "c" and not ck.AVAILABLE:
        pytest.skip("C kernels not built")
    k = ck if table == "c" else ref
    x = np.zeros(3, np.float32)
    with pytest.raises(ValueError, match="seed"):
        k.dropout(x, -1, 0.5)
    with pytest.raises(ValueError, match="probability"):
        k.dropout(x, 1, 1.5)
    with pytest.raises(TypeError, match="int64"):
        k.dropout(np.zeros(3, np.int64), 1, 0.5)


@pytest.mark.parametrize("backend", ["numpy", "c"])
def test_functional_dropout_gradient_uses_the_forward_mask(backend):
    if backend == "c" and not ck.AVAILABLE:
        pytest.skip("C kernels not built")
    before = tge.backend()
    tge.set_backend(backend)
    try:
        tge.manual_seed(5)
        x = Tensor(np.random.default_rng(2).standard_normal((64, 33)).astype(np.float32),
                   requires_grad=True)
        y = F.dropout(x, 0.25, True)
        g = np.random.default_rng(3).standard_normal(x.shape).astype(np.float32)
        y.backward(Tensor(g))
        factor = y.numpy() / x.numpy()   # the mask times 1 / (1 - p), per element
        np.testing.assert_allclose(x.grad.numpy(), g * factor, rtol=1e-6)
        assert set(np.unique(np.round(factor, 5))) <= {0.0, np.float32(round(1 / 0.75, 5))}
        tge.manual_seed(5)
        np.testing.assert_array_equal(F.dropout(x, 0.25, True).numpy(), y.numpy())
    finally:
        tge.set_backend(before)
