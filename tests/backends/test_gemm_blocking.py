"""The blocked float32/float64 GEMM (csrc/gemm*) at the boundaries of its blocking.

On AVX-512 the product picks, per shape and operand layout: the 12 x 32 or the 8 x 48
register tile (12 x 16 / 8 x 24 for float64), A micro-panels in the row layout (A not
transposed) or the column layout (A transposed), 8- and 4-row kernels for the last row
panel, kernels that read an unpacked A (C at most 32 columns wide), A packed once for
all column blocks, and blocks of kc = 384 (float64: 256) depth, 96 rows of A and 512
(float64: 384) columns of B.  These tests cross every one of those boundaries, for all four transpose
combinations, and check the claims the code relies on: every kernel variant adds each
element's products in the same order, so a row of C does not depend on how many other
rows are computed with it, nor on the thread count.  On other CPUs the same shapes test
the AVX2 or generic path.
"""
import numpy as np
import pytest

from tinygrad_edu import backends
from tinygrad_edu.backends import c as ck

pytestmark = pytest.mark.skipif(not ck.AVAILABLE, reason=f"C kernels not built: {ck.LOAD_ERROR}")

# row counts around the tiles (4, 8, 12, 24 rows) and the 96-row A block
ROWS = [1, 3, 4, 5, 8, 9, 12, 13, 20, 64, 95, 96, 97, 191, 192, 196, 200]
# depth around kc (float32 384, float64 256) and several blocks
DEPTHS = [1, 10, 255, 256, 257, 383, 384, 385, 800]
# columns around the tiles (32, 48 / 16, 24) and the 512 / 384-column B block
COLS = [1, 9, 31, 32, 33, 48, 383, 384, 385, 511, 512, 513, 600]


def _operands(rng, m, n, k, ta, tb, dtype):
    a = rng.standard_normal((m, k))
    b = rng.standard_normal((k, n))
    A = np.ascontiguousarray(a.T if ta else a).astype(dtype)
    B = np.ascontiguousarray(b.T if tb else b).astype(dtype)
    exact = (A.T if ta else A).astype(np.float64) @ (B.T if tb else B).astype(np.float64)
    return A, B, exact


def _check(m, n, k, ta, tb, dtype):
    rng = np.random.default_rng(m * 10007 + n * 101 + k + 7 * ta + 13 * tb)
    A, B, exact = _operands(rng, m, n, k, ta, tb, dtype)
    got = ck.matmul(A, B, ta, tb)
    assert got.shape == (m, n) and got.dtype == dtype
    # float32: each term ~1, k terms; the error grows like sqrt(k) * eps * |terms|
    tol = 2e-6 * np.sqrt(k) * 8 if dtype == np.float32 else 1e-12 * np.sqrt(k) * 8
    err = np.max(np.abs(got - exact)) if got.size else 0.0
    assert err <= tol * max(1.0, np.max(np.abs(exact))), (m, n, k, ta, tb, err)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("ta,tb", [(0, 0), (1, 0), (0, 1), (1, 1)])
@pytest.mark.parametrize("m", ROWS)
def test_rows_around_tiles_and_blocks(m, ta, tb, dtype):
    for n, k in [(33, 385), (100, 257), (512, 10)]:
        _check(m, n, k, bool(ta), bool(tb), dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("ta,tb", [(0, 0), (1, 1)])
@pytest.mark.parametrize("k", DEPTHS)
def test_depth_around_kc(k, ta, tb, dtype):
    for m, n in [(13, 40), (64, 100), (200, 33)]:
        _check(m, n, k, bool(ta), bool(tb), dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("ta,tb", [(0, 0), (0, 1), (1, 0)])
@pytest.mark.parametrize("n", COLS)
def test_columns_around_nc(n, ta, tb, dtype):
    for m, k in [(24, 70), (64, 390)]:
        _check(m, n, k, bool(ta), bool(tb), dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_large_blocks_every_layout(dtype):
    """More than one block in every direction at once (five 96-row A blocks, three depth
    blocks, three B blocks: A packed once per depth block), with edge tiles on both
    sides."""
    for ta in (False, True):
        for tb in (False, True):
            _check(397, 1037, 801, ta, tb, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("ta", [False, True])
@pytest.mark.parametrize("n", [130, 32])
def test_row_of_c_does_not_depend_on_the_other_rows(n, ta, dtype):
    """Rows 0..m-1 of a product computed with m rows, with more rows, and alone in their
    last row panel are bit-identical: the 12-row, 8-row and 4-row kernels, the 8 x 48 tile
    (m = 64), the kernel that reads an unpacked A (n = 32: one column panel) and either A
    layout add each element's products in the same order."""
    rng = np.random.default_rng(5)
    k = 900
    a = rng.standard_normal((400, k)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    full = ck.matmul(np.ascontiguousarray(a.T) if ta else a, b, ta, False)
    for m in (4, 8, 12, 64, 100, 196, 397):
        part = a[:m]
        got = ck.matmul(np.ascontiguousarray(part.T) if ta else part, b, ta, False)
        np.testing.assert_array_equal(got, full[:m])
    # and the other operand layout of A gives the same bits too
    other = ck.matmul(a if ta else np.ascontiguousarray(a.T), b, not ta, False)
    np.testing.assert_array_equal(other, full)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_thread_count_does_not_change_bits(dtype):
    rng = np.random.default_rng(9)
    a = rng.standard_normal((517, 700)).astype(dtype)
    b = rng.standard_normal((700, 611)).astype(dtype)
    before = backends.get_num_threads()
    try:
        backends.set_num_threads(1)
        one = ck.matmul(a, b, False, False)
        backends.set_num_threads(2)
        two = ck.matmul(a, b, False, False)
    finally:
        backends.set_num_threads(before)
    np.testing.assert_array_equal(one, two)
