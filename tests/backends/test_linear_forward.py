"""linear_forward (x @ w^T + bias, the bias added as each tile of y leaves the product) against
the product followed by the bias, the NumPy twin, and bad input."""
import numpy as np
import pytest

from tinygrad_edu.backends import c as ck
from tinygrad_edu.backends import numpy_ref as ref

from ..helpers import assert_same_for_thread_counts

pytestmark = pytest.mark.skipif(not ck.AVAILABLE, reason=f"C kernels not built: {ck.LOAD_ERROR}")

# (m, n, k): the GPT's layers, a thin output (the transposed product), one tile, sizes past
# the depth block (several depth blocks: the bias only after the last) and past the column block
SHAPES = [(2048, 384, 128), (300, 10, 50), (7, 5, 3), (12, 32, 1), (40, 70, 900), (9, 1100, 20),
          (1, 1, 1)]


def _operands(dtype, m, n, k, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((m, k)).astype(dtype), rng.standard_normal((n, k)).astype(dtype),
            rng.standard_normal(n).astype(dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES)
def test_same_bits_as_the_product_then_the_bias(dtype, shape):
    x, w, b = _operands(dtype, *shape)
    y = ck.linear_forward(x, w, b)
    assert y.dtype == dtype and y.shape == shape[:2] and y.flags.c_contiguous
    np.testing.assert_array_equal(y, ck.matmul(x, w, False, True) + b)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(y, ref.linear_forward(x, w, b), rtol=tol, atol=tol * shape[2])
    np.testing.assert_allclose(ref.linear_forward(x, w, b), x @ w.T + b, rtol=tol, atol=tol * shape[2])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(2048, 384, 128), (300, 10, 50), (40, 70, 900)])
def test_a_keras_kernel_view_is_read_in_place(dtype, shape):
    """w given as kernel.T, kernel (K, N) contiguous (the Keras Dense layer): passed with the
    transpose flag cleared, no copy; the same bits as the product with the kernel."""
    x, w, b = _operands(dtype, *shape)
    kernel = np.ascontiguousarray(w.T)
    y = ck.linear_forward(x, kernel.T, b)
    np.testing.assert_array_equal(y, ck.matmul(x, kernel, False, False) + b)
    np.testing.assert_array_equal(y, ck.linear_forward(x, w, b))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_thread_count_changes_no_bit(dtype):
    x, w, b = _operands(dtype, 500, 96, 200, seed=1)
    assert_same_for_thread_counts(lambda: ck.linear_forward(x, w, b), counts=(1, 2, 3))


def test_views_and_empty_sizes():
    x, w, b = _operands(np.float32, 30, 20, 10, seed=2)
    xs, ws = np.ascontiguousarray(x[::-1, :5]), np.ascontiguousarray(w[:, ::2])
    np.testing.assert_array_equal(ck.linear_forward(x[::-1, :5], w[:, ::2], b[::-1]),
                                  ck.matmul(xs, ws, False, True) + b[::-1])
    assert ck.linear_forward(x[:0], w, b).shape == (0, 20)
    np.testing.assert_array_equal(ck.linear_forward(x[:, :0], w[:, :0], b), np.broadcast_to(b, (30, 20)))


@pytest.mark.parametrize("table", [ck, ref])
def test_bad_input_names_the_shapes(table):
    x, w, b = _operands(np.float32, 6, 4, 3)
    with pytest.raises(ValueError, match=r"x \(6, 3\) @ w \(4, 2\)"):
        table.linear_forward(x, w[:, :2], b)
    with pytest.raises(ValueError, match=r"bias \(3,\)"):
        table.linear_forward(x, w, b[:3])
    with pytest.raises(ValueError, match="must be 2-D"):
        table.linear_forward(x[None], w, b)
    with pytest.raises(TypeError, match="dtypes differ"):
        table.linear_forward(x, w.astype(np.float64), b)
    with pytest.raises(TypeError, match="int64"):
        table.linear_forward(x.astype(np.int64), w, b)
