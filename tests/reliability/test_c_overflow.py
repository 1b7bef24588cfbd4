"""Size arithmetic in the C kernels never overflows (issue 15, item 7).

Average pooling with a huge window (found by UBSan: the divisor's int64 product overflowed
and the average became inf) and the optimizers' size sum are checked here at the kernel
level, with sizes that are valid (or refused with a code) but whose products do not fit in
int64. The fuzz harness (tests/fuzz) adds such shapes to its random cases.
"""
import numpy as np
import pytest

from tinygrad_edu.backends import c as cb

pytestmark = pytest.mark.skipif(not cb.AVAILABLE, reason="C kernels not built")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_avg_pool_with_a_window_whose_area_overflows_int64(dtype):
    k = 2**40  # a 1x1 input padded by 2^39 on each side: windows of 2^40 x 2^40 = 2^80 cells
    x = np.ones((1, 1, 1, 1), dtype)
    y = cb.avg_pool2d_forward(x, (k, k), (1, 1), (k // 2, k // 2))
    assert y.shape == (1, 1, 2, 2)
    np.testing.assert_array_equal(y, np.full((1, 1, 2, 2), 2.0**-80, dtype))  # 1 / 2^80, not inf
    gx = cb.avg_pool2d_backward(np.ones_like(y), x.shape, (k, k), (1, 1), (k // 2, k // 2))
    np.testing.assert_array_equal(gx, np.full((1, 1, 1, 1), 4 * 2.0**-80, dtype))


def test_avg_pool_divisor_is_unchanged_for_ordinary_windows():
    from tinygrad_edu.backends import numpy_ref

    x = np.random.default_rng(0).standard_normal((2, 3, 9, 7)).astype(np.float32)
    for k, s, p in (((3, 3), (2, 2), (1, 1)), ((4, 2), (1, 3), (2, 1)), ((9, 7), (1, 1), (0, 0))):
        np.testing.assert_array_equal(cb.avg_pool2d_forward(x, k, s, p), numpy_ref.avg_pool2d_forward(x, k, s, p))


@pytest.mark.parametrize("sizes", [[2**62, 2**62], [2**63 - 1, 1], [1, 2**63 - 1, 2**63 - 1]])
def test_optimizer_sizes_whose_sum_overflows_are_refused(sizes):
    ffi, lib = cb.ffi, cb.lib
    n = len(sizes)
    buf = ffi.new("float[]", 4)  # never read: the sizes are checked first
    ptrs = ffi.new("float *[]", [buf] * n)
    sizes_c = ffi.new("int64_t[]", sizes)
    steps = ffi.new("int64_t[]", [1] * n)
    hp = ffi.new("tge_adam_params *", dict(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0))
    rc = lib.tge_adam_step_f32(hp, n, ptrs, ffi.cast("const float *const *", ptrs), ptrs, ptrs, ffi.NULL,
                               sizes_c, steps)
    assert rc == lib.TGE_EOVERFLOW
    shp = ffi.new("tge_sgd_params *", dict(lr=0.1))
    first = ffi.new("int64_t[]", [0] * n)
    rc = lib.tge_sgd_step_f32(shp, n, ptrs, ffi.cast("const float *const *", ptrs), ptrs, first, sizes_c)
    assert rc == lib.TGE_EOVERFLOW


@pytest.mark.parametrize("sfx", ["f32", "f64"])
def test_attention_pairs_and_scratch_whose_products_overflow_are_refused(sfx):
    """head_dim 0 makes the qkv buffer empty, so only the (batch, head) pair count and the
    per-thread scratch (2 * 64 rows of kv_len) can overflow: both are refused with a code."""
    ffi, lib = cb.ffi, cb.lib
    ctype = "float" if sfx == "f32" else "double"
    forward = getattr(lib, f"tge_causal_attention_forward_{sfx}")
    backward = getattr(lib, f"tge_causal_attention_backward_{sfx}")
    empty = ffi.new(f"{ctype}[]", 1)
    overflow = lib.TGE_EOVERFLOW
    # batch * heads = 2^80 (q_len 0 so no output buffer is needed): refused, not wrapped
    assert forward(2**40, 0, 0, 0, 2**40, 0, 1.0, empty, 0, empty, 0, empty, 0) == overflow
    # kv_len * 128 past INT64_MAX with an empty qkv: refused before any scratch is allocated
    rows = 2**60
    assert forward(1, rows, 1, rows, 1, 0, 1.0, empty, 0, empty, 0, empty, 1) == overflow
    assert backward(2**40, 0, 2**40, 0, 1.0, empty, 0, empty, 0, empty, 0, empty, 0, empty, 0) == overflow


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_convolution_with_a_huge_stride_and_padding(dtype):
    """A stride near INT64_MAX with padding (one output position): the lowering's window
    bounds once added the stride to the padding and overflowed (found by the fuzzer under
    UBSan); the kernels agree with their NumPy twins."""
    from tinygrad_edu.backends import numpy_ref

    big = 2**63 - 1
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 2, 3, 3)).astype(dtype)
    w = rng.standard_normal((2, 2, 3, 3)).astype(dtype)
    b = np.zeros(2, dtype)
    stride, padding = (big, big), (1, 1)
    y = cb.conv2d_forward(x, w, b, stride, padding)
    np.testing.assert_allclose(y, numpy_ref.conv2d_forward(x, w, b, stride, padding), rtol=1e-5, atol=1e-6)
    gy = np.ones_like(y)
    np.testing.assert_allclose(cb.conv2d_backward_weight(gy, x, w.shape, stride, padding),
                               numpy_ref.conv2d_backward_weight(gy, x, w.shape, stride, padding),
                               rtol=1e-5, atol=1e-6)
