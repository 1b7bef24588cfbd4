"""The fast max-pooling paths of csrc/pool.c against the NumPy twin, bit for bit.

* forward, 2x2 windows with stride 2: the AVX-512 kernel (several whole rows per step when
  the rows are short, 16-output chunks when they are long, masked loads and stores for the
  rest) and the portable kernel that TGE_SIMD=avx2 / generic keeps, on every plane size
  from 2x2 to 27 x 65, with ties (few distinct values, +0.0 against -0.0), infinities and
  NaNs, also in the row and column that the windows leave unused;
* backward: the blocked zero-and-scatter, with repeated indices (overlapping windows),
  -0.0 gradients, several threads, and an index outside the plane on a raw call.
"""
import os
import subprocess
import sys

import numpy as np
import pytest

import tinygrad_edu as tge
from tinygrad_edu.backends import c as ck
from tinygrad_edu.backends import numpy_ref as ref

pytestmark = pytest.mark.skipif(not ck.AVAILABLE, reason=f"C kernels not built: {ck.LOAD_ERROR}")

HEIGHTS = [2, 3, 4, 5, 6, 7, 10, 11, 13, 26, 27]
WIDTHS = [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 15, 16, 17, 26, 27, 31, 32, 33, 34, 35,
          40, 64, 65]


def tricky(rng, shape, dtype, nans=True):
    """Few distinct values (many ties, +0.0 and -0.0 among them), infinities, and NaNs
    anywhere, including cells that no 2x2 window reads."""
    values = np.array([-1.0, -0.0, 0.0, 1.0, 2.0, -np.inf, np.inf], dtype=dtype)
    x = values[rng.integers(0, 5, size=shape)]  # mostly the finite ones
    flat = x.reshape(-1)
    flat[rng.integers(0, flat.size, max(1, flat.size // 200))] = values[rng.integers(5, 7)]
    if nans:
        flat[rng.integers(0, flat.size, max(1, flat.size // 100))] = np.nan
        x[..., -1] = np.where(rng.random(x.shape[:-1]) < 0.3, np.nan, x[..., -1])
        x[..., -1, :] = np.where(rng.random(x.shape[:-2] + x.shape[-1:]) < 0.3, np.nan,
                                 x[..., -1, :])
    return x


def assert_bitwise(a, b):
    """Equal arrays, bit for bit (NaN payloads and the sign of zero included)."""
    assert a.dtype == b.dtype and a.shape == b.shape
    ints = {4: np.uint32, 8: np.uint64}[a.dtype.itemsize]
    np.testing.assert_array_equal(a.view(ints), b.view(ints))


def check_forward_2x2(dtype, seed=0):
    """Every plane size of HEIGHTS x WIDTHS, with and without NaN."""
    rng = np.random.default_rng(seed)
    for h in HEIGHTS:
        for w in WIDTHS:
            for nans in (False, True):
                x = tricky(rng, (2, 3, h, w), dtype, nans)
                y, idx = ck.max_pool2d_forward(x, (2, 2), (2, 2), (0, 0))
                y_r, idx_r = ref.max_pool2d_forward(x, (2, 2), (2, 2), (0, 0))
                np.testing.assert_array_equal(idx, idx_r, err_msg=f"{h}x{w} nans={nans}")
                assert_bitwise(y, y_r)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_pool_2x2_every_plane_size(dtype):
    check_forward_2x2(dtype)


@pytest.mark.parametrize("path", ["avx2", "generic"])
def test_max_pool_2x2_portable_kernel(path):
    """TGE_SIMD below AVX-512 keeps the portable 2x2 kernel: the same results."""
    code = ("import numpy as np\n"
            "from tests.backends.test_pool_fast import check_forward_2x2\n"
            "from tinygrad_edu.backends import c\n"
            "check_forward_2x2(np.float32, seed=1)\n"
            "print(c.simd_path())\n")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ, TGE_SIMD=path)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=120, cwd=root)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() in (path, "generic")


@pytest.mark.parametrize("shape", [(64, 32, 26, 26), (64, 64, 11, 11), (3, 5, 27, 27),
                                   (1, 1, 2, 2), (7, 1, 3, 70), (2, 600, 5, 5)])
def test_max_pool_2x2_cnn_shapes_and_threads(shape):
    """The articles' CNN shapes and a few odd ones, one and two threads."""
    rng = np.random.default_rng(sum(shape))
    x = tricky(rng, shape, np.float32)
    y_r, idx_r = ref.max_pool2d_forward(x, (2, 2), (2, 2), (0, 0))
    threads = tge.get_num_threads()
    try:
        for nt in (1, 2):
            tge.set_num_threads(nt)
            y, idx = ck.max_pool2d_forward(x, (2, 2), (2, 2), (0, 0))
            np.testing.assert_array_equal(idx, idx_r)
            assert_bitwise(y, y_r)
    finally:
        tge.set_num_threads(threads)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("window", [((2, 2), (2, 2), (0, 0)), ((3, 3), (1, 1), (1, 1)),
                                    ((3, 3), (2, 2), (0, 0)), ((1, 1), (1, 1), (0, 0))])
def test_max_pool_backward_bitwise(dtype, window):
    """gx = 0, then += gy at the indices in order: repeated indices (overlapping windows)
    add up in the same order, and -0.0 gradients become +0.0, as in the twin."""
    rng = np.random.default_rng(3)
    threads = tge.get_num_threads()
    try:
        for shape in [(64, 32, 26, 26), (64, 64, 11, 11), (2, 3, 5, 7), (1, 1, 1, 1),
                      (3, 700, 2, 3)]:
            if shape[2] < window[0][0] or shape[3] < window[0][1]:
                continue
            x = tricky(rng, shape, dtype, nans=False)
            _, idx = ref.max_pool2d_forward(x, *window)
            gy = rng.standard_normal(idx.shape).astype(dtype)
            gy.reshape(-1)[::7] = -0.0
            gx_r = ref.max_pool2d_backward(gy, idx, shape)
            for nt in (1, 2):
                tge.set_num_threads(nt)
                assert_bitwise(ck.max_pool2d_backward(gy, idx, shape), gx_r)
    finally:
        tge.set_num_threads(threads)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_pool_backward_raw_bad_index(dtype):
    """A raw call with an index outside its plane: TGE_EINDEX, that plane all zero, and
    nothing written outside gx (the other planes keep their gradients)."""
    ctype, sfx = ("float", "f32") if dtype == np.float32 else ("double", "f64")
    planes, in_plane, out_plane = 40, 121, 25
    rng = np.random.default_rng(5)
    gy = rng.standard_normal(planes * out_plane).astype(dtype)
    idx = rng.integers(0, in_plane, planes * out_plane).astype(np.int64)
    idx[17 * out_plane + 3] = in_plane
    gx = np.full(planes * in_plane + 8, 7.0, dtype)  # 8 guard values past the end
    rc = getattr(ck.lib, f"tge_max_pool2d_backward_{sfx}")(
        planes, in_plane, out_plane, ck._ptr(gy, ctype), gy.size, ck._ptr(idx, "int64_t"),
        idx.size, ck._ptr(gx, ctype), planes * in_plane)
    assert rc == 5
    assert np.all(gx[17 * in_plane:18 * in_plane] == 0)
    assert np.all(gx[-8:] == 7.0)
    good = idx.copy()
    good[17 * out_plane + 3] = 0
    expected = ref.max_pool2d_backward(gy.reshape(planes, 1, 5, 5), good.reshape(planes, 1, 5, 5),
                                       (planes, 1, 11, 11)).reshape(planes, in_plane)
    expected[17] = 0
    assert_bitwise(gx[:-8].reshape(planes, in_plane), expected)
