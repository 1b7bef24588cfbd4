"""Winograd's F(m x m, 3x3) convolution: the NumPy twin (numpy_ref/winograd.py, m = 2 and 4)
against the plain formula, and the C path (csrc/conv_winograd.inc, m = 4) against both.

The C kernels take the Winograd path for 3x3, stride-1 convolutions whose channel counts fill
most of a vector (at least 12 of 16 float32 lanes on each side) and whose 4x4 tiles waste
little, on AVX-512 CPUs; ``conv2d_winograd`` says whether a shape does, and
``TGE_CONV=direct`` turns it off.
"""
import numpy as np
import pytest

from tinygrad_edu.backends import c as ck
from tinygrad_edu.backends import numpy_ref as ref
from tinygrad_edu.backends.numpy_ref import winograd

from ..fuzz.harness.dense import exact_conv
from ..helpers import assert_same_for_thread_counts


# (n, c, h, w, o, padding)
TWIN_SHAPES = [
    (2, 3, 13, 13, 5, (0, 0)),   # odd output (11x11): a half tile on each edge
    (2, 4, 7, 8, 3, (1, 1)),     # "same" padding
    (1, 2, 5, 6, 4, (2, 1)),
    (3, 2, 3, 3, 2, (0, 0)),     # a single output per image
    (1, 1, 4, 9, 2, (1, 2)),
    (1, 2, 3, 3, 2, (3, 2)),     # padding past the kernel: outputs that see only zeros
]
# shapes the C kernels take the Winograd way (on AVX-512)
C_SHAPES = [
    (4, 32, 13, 13, 64, (0, 0)),  # the CNN's conv2 (batch cut down)
    (3, 16, 8, 7, 16, (1, 1)),
    (2, 16, 5, 6, 28, (2, 1)),    # 28 output channels: the last vector partly padding
    (5, 16, 4, 6, 16, (1, 1)),    # 4x6 outputs: a partial tile on the right
    (2, 64, 12, 12, 32, (1, 0)),
    (1, 32, 13, 13, 64, (3, 3)),  # padding 3: border outputs read only zeros
    (40, 16, 6, 6, 16, (0, 0)),   # one 4x4 tile per image: many images per chunk
]
# F(4x4, 3x3) rounds more than the direct sums (constants up to 8 and 1/24): ~5e-6 of the
# result's scale in float32 for these depths
TOL = {np.float32: 3e-5, np.float64: 1e-12}

needs_c = pytest.mark.skipif(not ck.AVAILABLE, reason=f"C kernels not built: {ck.LOAD_ERROR}")


def _data(n, c, h, w, o, padding, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    wt = rng.standard_normal((o, c, 3, 3)).astype(dtype)
    b = rng.standard_normal(o).astype(dtype)
    oh, ow = h + 2 * padding[0] - 2, w + 2 * padding[1] - 2
    gy = rng.standard_normal((n, o, oh, ow)).astype(dtype)
    return x, wt, b, gy


def _assert_near(got, exp, dtype, what):
    """Agreement relative to the result's scale (Winograd's rounding differs from the
    direct sum's, so not bit for bit)."""
    scale = max(1.0, float(np.abs(exp).max()))
    err = float(np.abs(got.astype(np.float64) - exp.astype(np.float64)).max()) / scale
    assert err <= TOL[dtype], f"{what}: relative error {err:.2e} > {TOL[dtype]:.0e}"


@pytest.mark.parametrize("m", [2, 4])
@pytest.mark.parametrize("shape", TWIN_SHAPES)
def test_twin_equals_the_formula(shape, m):
    x, wt, b, gy = _data(*shape, np.float64)
    padding = shape[5]
    _assert_near(winograd.conv2d_forward(x, wt, b, padding, m),
                 ref.conv2d_forward(x, wt, b, (1, 1), padding), np.float64, "forward")
    _assert_near(winograd.conv2d_backward_input(gy, wt, x.shape, padding, m),
                 ref.conv2d_backward_input(gy, wt, x.shape, (1, 1), padding), np.float64,
                 "input gradient")
    _assert_near(winograd.conv2d_backward_weight(gy, x, padding, m),
                 ref.conv2d_backward_weight(gy, x, wt.shape, (1, 1), padding), np.float64,
                 "weight gradient")


@pytest.mark.parametrize("m", [2, 4])
def test_twin_matrices_are_minimal_filtering(m):
    """One dimension: AT ((G g) * (BT d)) is the m-output, 3-tap correlation of d with g."""
    bt, g_mat, at = winograd.TRANSFORMS[m]
    rng = np.random.default_rng(1)
    d, g = rng.standard_normal(m + 2), rng.standard_normal(3)
    direct = np.array([d[i:i + 3] @ g for i in range(m)])
    np.testing.assert_allclose(at @ ((g_mat @ g) * (bt @ d)), direct, rtol=1e-13, atol=1e-13)


def _takes_winograd(shape, dtype):
    n, c, h, w, o, padding = shape
    return ck.conv.conv2d_winograd((n, c, h, w), (o, c, 3, 3), (1, 1), padding, dtype)


@needs_c
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", C_SHAPES)
def test_c_winograd_matches_twin_and_direct(shape, dtype, monkeypatch):
    if not _takes_winograd(shape, dtype):
        pytest.skip("this CPU or shape takes the direct / im2col path")
    x, wt, b, gy = _data(*shape, dtype)
    padding = shape[5]
    got = (ck.conv2d_forward(x, wt, b, (1, 1), padding),
           ck.conv2d_backward_input(gy, wt, x.shape, (1, 1), padding),
           ck.conv2d_backward_weight(gy, x, wt.shape, (1, 1), padding))
    x64, w64, b64, g64 = (a.astype(np.float64) for a in (x, wt, b, gy))
    twin = (winograd.conv2d_forward(x64, w64, b64, padding),
            winograd.conv2d_backward_input(g64, w64, x.shape, padding),
            winograd.conv2d_backward_weight(g64, x64, padding))
    monkeypatch.setenv("TGE_CONV", "direct")
    assert not _takes_winograd(shape, dtype)
    direct = (ck.conv2d_forward(x, wt, b, (1, 1), padding),
              ck.conv2d_backward_input(gy, wt, x.shape, (1, 1), padding),
              ck.conv2d_backward_weight(gy, x, wt.shape, (1, 1), padding))
    for what, a, t, d in zip(("forward", "input gradient", "weight gradient"), got, twin, direct):
        assert a.dtype == dtype and a.shape == d.shape and a.flags.c_contiguous
        _assert_near(a, t, dtype, f"{what} vs twin")
        _assert_near(a, d, dtype, f"{what} vs direct path")


@needs_c
def test_which_shapes_take_winograd():
    if not _takes_winograd((4, 32, 13, 13, 64, (0, 0)), np.float32):
        pytest.skip("no AVX-512 here: every shape takes the direct / im2col path")
    ok = ck.conv.conv2d_winograd
    assert ok((64, 64, 5, 5), (64, 64, 3, 3), (1, 1), (0, 0), np.float32) is False  # 3x3 out
    assert ok((64, 64, 4, 4), (64, 64, 3, 3), (1, 1), (0, 0), np.float32) is False  # 2x2 out
    assert ok((8, 32, 13, 13), (64, 32, 3, 3), (2, 2), (0, 0), np.float32) is False  # stride
    assert ok((8, 32, 13, 13), (64, 32, 5, 5), (1, 1), (0, 0), np.float32) is False  # 5x5
    assert ok((8, 8, 13, 13), (64, 8, 3, 3), (1, 1), (0, 0), np.float32) is False    # 8 lanes
    assert ok((8, 16, 13, 13), (64, 16, 3, 3), (1, 1), (1, 1), np.float64) is True


@needs_c
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_thread_count_does_not_change_bits(dtype):
    shape = (7, 32, 13, 13, 64, (1, 1))
    if not _takes_winograd(shape, dtype):
        pytest.skip("this CPU takes the direct / im2col path")
    x, wt, b, gy = _data(*shape, dtype, seed=3)
    assert_same_for_thread_counts(
        lambda: (ck.conv2d_forward(x, wt, b, (1, 1), (1, 1)),
                 ck.conv2d_backward_input(gy, wt, x.shape, (1, 1), (1, 1)),
                 ck.conv2d_backward_weight(gy, x, wt.shape, (1, 1), (1, 1))), (1, 2, 3))


@needs_c
@pytest.mark.parametrize("special", [np.inf, -np.inf, np.nan])
def test_non_finite_inputs_take_the_direct_path(special):
    """inf - inf inside the transforms would put NaN where the sums give inf: such inputs
    go the direct way, so NaN and inf land where IEEE arithmetic of the loops puts them."""
    shape = (2, 16, 12, 12, 16, (1, 1))
    if not _takes_winograd(shape, np.float32):
        pytest.skip("this CPU takes the direct / im2col path")
    x, wt, b, gy = _data(*shape, np.float32, seed=5)
    x[0, 3, 4, 4] = special
    x[1, 0, 0, 11] = special
    gy[0, 2, 3, 3] = special
    y_ref, gx_ref, gw_ref = exact_conv(x, wt, b, gy, (1, 1), (1, 1))
    for got, exp in ((ck.conv2d_forward(x, wt, b, (1, 1), (1, 1)), y_ref),
                     (ck.conv2d_backward_input(gy, wt, x.shape, (1, 1), (1, 1)), gx_ref),
                     (ck.conv2d_backward_weight(gy, x, wt.shape, (1, 1), (1, 1)), gw_ref)):
        np.testing.assert_array_equal(np.isnan(got), np.isnan(exp))
        np.testing.assert_array_equal(np.isinf(got), np.isinf(exp))
        finite = np.isfinite(exp)
        np.testing.assert_allclose(got[finite], exp[finite], rtol=1e-4, atol=1e-4)
