"""The direct convolutions (csrc/conv_direct.inc) against the NumPy twin and the im2col path.

On a CPU with AVX-512 the float kernels take the direct path when the channel counts fill
most of a vector (at least 12 of 16 float32 lanes, 6 of 8 float64 lanes; forward also
needs C*KH*KW >= 32 and a kernel larger than 1x1, or, below that depth, stride 1: the
shallow forward of conv_wide.inc).  ``TGE_CONV=im2col`` (read at every call) turns it
off, which is how these tests compare the two paths.  Elsewhere both runs take the im2col
path and the tests still check it against the twin.
"""
import numpy as np
import pytest

from tinygrad_edu.backends import c as ck
from tinygrad_edu.backends import numpy_ref as ref
from tinygrad_edu.backends.numpy_ref.conv import conv2d_output_shape

from ..fuzz.harness.common import SPECIALS
from ..fuzz.harness.dense import exact_conv
from ..helpers import assert_same_for_thread_counts


pytestmark = pytest.mark.skipif(not ck.AVAILABLE, reason=f"C kernels not built: {ck.LOAD_ERROR}")

TOL = {np.float32: dict(rtol=2e-4, atol=2e-4), np.float64: dict(rtol=1e-10, atol=1e-10)}

# (n, c, h, w, o, kh, kw, stride, padding)
SHAPES = [
    (3, 1, 28, 28, 32, 3, 3, (1, 1), (0, 0)),    # the CNN's layers (batch cut down)
    (3, 32, 13, 13, 64, 3, 3, (1, 1), (0, 0)),   # depth 288: three depth chunks
    (30, 64, 5, 5, 64, 3, 3, (1, 1), (0, 0)),    # input gradient in groups of 12 images
    (2, 13, 9, 7, 17, 3, 2, (1, 1), (1, 0)),     # channels not whole vectors, padding
    (2, 16, 8, 8, 24, 3, 3, (2, 1), (1, 1)),     # stride 2
    (2, 12, 11, 9, 40, 5, 3, (2, 3), (2, 1)),    # both strides, kernel wider than stride
    (2, 20, 6, 6, 14, 1, 1, (1, 1), (0, 0)),     # pointwise (direct gradients only)
    (1, 16, 4, 4, 70, 4, 4, (1, 1), (3, 3)),     # padding up to the kernel size - 1
    (2, 8, 7, 7, 16, 3, 3, (3, 3), (0, 0)),      # stride 3: windows that skip columns
    (2, 3, 10, 12, 20, 3, 3, (1, 1), (1, 1)),    # shallow (depth 27) and padded: conv_wide
    (2, 2, 9, 9, 7, 2, 3, (1, 1), (0, 1)),       # shallow, 7 outputs (a partial row tile)
]


def _run(x, w, b, s, p, gy, path, monkeypatch):
    monkeypatch.setenv("TGE_CONV", path)
    return (ck.conv2d_forward(x, w, b, s, p), ck.conv2d_backward_input(gy, w, x.shape, s, p),
            ck.conv2d_backward_weight(gy, x, w.shape, s, p))


def _data(shape, dtype, seed=0):
    n, c, h, wd, o, kh, kw, s, p = shape
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, wd)).astype(dtype)
    w = rng.standard_normal((o, c, kh, kw)).astype(dtype)
    b = rng.standard_normal(o).astype(dtype)
    y_shape = conv2d_output_shape(x.shape, w.shape, s, p)
    gy = rng.standard_normal(y_shape).astype(dtype)
    return x, w, b, gy, s, p


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES)
def test_direct_matches_twin_and_im2col(shape, dtype, monkeypatch):
    x, w, b, gy, s, p = _data(shape, dtype)
    direct = _run(x, w, b, s, p, gy, "direct", monkeypatch)
    im2col = _run(x, w, b, s, p, gy, "im2col", monkeypatch)
    twin = (ref.conv2d_forward(x, w, b, s, p), ref.conv2d_backward_input(gy, w, x.shape, s, p),
            ref.conv2d_backward_weight(gy, x, w.shape, s, p))
    for got, other, want, what in zip(direct, im2col, twin, ("y", "gx", "gw")):
        assert got.shape == want.shape and got.dtype == want.dtype, what
        np.testing.assert_allclose(got, want, err_msg=what, **TOL[dtype])
        np.testing.assert_allclose(other, want, err_msg=what, **TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [SHAPES[1], SHAPES[3], SHAPES[7]])
def test_direct_special_values_follow_ieee(shape, dtype, monkeypatch):
    """NaN / inf / -0.0 / denormals: what plain IEEE arithmetic over the zero-padded input
    gives (the padding zeros meet the weight in forward and the weight gradient; the input
    gradient adds only the taps inside the image), as the fuzz target checks it."""
    x, w, b, gy, s, p = _data(shape, dtype, seed=3)
    rng = np.random.default_rng(4)
    for arr in (x, w, gy):
        mask = rng.random(arr.shape) < 0.002  # sparse: most outputs stay finite
        arr[mask] = rng.choice(np.array(SPECIALS), size=int(mask.sum())).astype(dtype)
    with np.errstate(all="ignore"):
        y_ref, gx_ref, gw_ref = exact_conv(x, w, b, gy, s, p)
    assert np.isfinite(y_ref).mean() > 0.1 and not np.isfinite(y_ref).all()
    for path in ("direct", "im2col"):
        y, gx, gw = _run(x, w, b, s, p, gy, path, monkeypatch)
        for got, want, what in ((y, y_ref, "y"), (gx, gx_ref, "gx"), (gw, gw_ref, "gw")):
            np.testing.assert_allclose(got, want, equal_nan=True, err_msg=f"{path} {what}",
                                       rtol=1e-3 if dtype == np.float32 else 1e-9, atol=1e-3)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_direct_same_bits_for_every_thread_count(dtype, monkeypatch):
    """Threads take whole images (forward, input gradient) or whole row tiles of the weight
    gradient: every sum keeps its order, so the bits do not depend on the count."""
    monkeypatch.setenv("TGE_CONV", "direct")
    for shape in (SHAPES[1], SHAPES[2], SHAPES[4]):
        x, w, b, gy, s, p = _data(shape, dtype, seed=5)
        assert_same_for_thread_counts(
            lambda: _run(x, w, b, s, p, gy, "direct", monkeypatch), (1, 2, 3))


def test_direct_input_gradient_of_the_cnn_layers_vs_torch(monkeypatch):
    """The three kernels of the CNN's second layer against torch's autograd, float32."""
    torch = pytest.importorskip("torch")
    x, w, b, gy, s, p = _data((4, 32, 13, 13, 64, 3, 3, (1, 1), (0, 0)), np.float32, seed=7)
    y, gx, gw = _run(x, w, b, s, p, gy, "direct", monkeypatch)
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    yt = torch.nn.functional.conv2d(xt, wt, bt)
    yt.backward(torch.from_numpy(gy))
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(gx, xt.grad.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(gw, wt.grad.numpy(), rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_empty_image_with_padding_on_the_shallow_path(dtype, monkeypatch):
    """An image with no columns whose padding still gives outputs, called raw (Python
    refuses an empty image first): the fuzzer's case, where the shallow forward copied rows
    of the NULL empty buffer (memcpy from NULL; run under the sanitizer job). Every output
    is only padding, so it is the bias."""
    from tinygrad_edu.backends.c import conv as cconv

    monkeypatch.setenv("TGE_CONV", "direct")
    w = np.random.default_rng(1).standard_normal((16, 2, 3, 3)).astype(dtype)
    b = np.arange(16, dtype=dtype)
    y = np.full((1, 16, 3, 2), np.nan, dtype)
    ctype = "float" if dtype == np.float32 else "double"
    fn = getattr(ck.lib, f"tge_conv2d_forward_{'f32' if dtype == np.float32 else 'f64'}")
    params = cconv._params((1, 2, 3, 0), w.shape, (1, 1), (1, 2), y.shape)
    rc = fn(params, ck.ffi.NULL, 0, ck._ptr(w, ctype), w.size, ck._ptr(b, ctype), b.size,
            ck._ptr(y, ctype), y.size)
    assert rc == 0
    np.testing.assert_array_equal(y, np.broadcast_to(b[None, :, None, None], y.shape))
