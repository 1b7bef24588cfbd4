"""The C kernels against the NumPy reference kernels, their errors, and their threads.

Every case builds inputs, runs the C kernel and the reference on them, and compares.
Tolerances: float32 rtol=1e-4 / atol=1e-4 (sums of at most a few hundred terms of size
~1, C and NumPy add in different orders and C uses fused multiply-adds); float64
rtol=1e-10 / atol=1e-10.  Pooling selects or averages, so indices must match exactly.
"""
import concurrent.futures
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tinygrad_edu.backends import c as ck
from tinygrad_edu.backends import numpy_ref as ref

from ..strategies import conv_cases, float_dtypes, layouts, pool_cases

pytestmark = pytest.mark.skipif(not ck.AVAILABLE, reason=f"C kernels not built: {ck.LOAD_ERROR}")

TOL = {np.float32: dict(rtol=1e-4, atol=1e-4), np.float64: dict(rtol=1e-10, atol=1e-10)}
FAST = settings(max_examples=int(os.environ.get("TGE_HYPOTHESIS_EXAMPLES", 80)), deadline=None,
                suppress_health_check=[HealthCheck.too_slow])

dtypes = float_dtypes


def make(rng, shape, dtype, layout="contiguous", values="normal"):
    """An array of `shape` and `dtype` whose memory layout is `layout`: C-contiguous,
    Fortran-ordered (transposed view), or every other element of a larger array."""
    if values == "normal":
        data = rng.standard_normal(shape)
    else:  # few distinct values: many ties for the pooling tests
        data = rng.integers(-2, 3, size=shape).astype(np.float64)
    data = data.astype(dtype)
    if layout == "fortran":
        return np.asfortranarray(data)
    if layout == "strided":
        big = np.zeros(shape[:-1] + (2 * shape[-1],), dtype=dtype) if shape else data
        big[..., ::2] = data
        view = big[..., ::2]
        assert view.size == 0 or not view.flags.c_contiguous or shape[-1] <= 1
        return view
    return data


def close(actual, expected, dtype):
    assert actual.dtype == expected.dtype == np.dtype(dtype)
    assert actual.shape == expected.shape
    assert actual.flags.c_contiguous
    np.testing.assert_allclose(actual, expected, **TOL[dtype])


# ------------------------------------------------------------------------------------
# matmul
# ------------------------------------------------------------------------------------

@FAST
@given(batch=st.sampled_from([None, 1, 3]), m=st.integers(0, 40), n=st.integers(0, 40),
       k=st.integers(0, 40), trans_a=st.booleans(), trans_b=st.booleans(), dtype=dtypes,
       layout_a=layouts, layout_b=layouts, seed=st.integers(0, 2**32 - 1))
def test_matmul_matches_reference(batch, m, n, k, trans_a, trans_b, dtype, layout_a,
                                  layout_b, seed):
    rng = np.random.default_rng(seed)
    lead = () if batch is None else (batch,)
    a = make(rng, lead + ((k, m) if trans_a else (m, k)), dtype, layout_a)
    b = make(rng, lead + ((n, k) if trans_b else (k, n)), dtype, layout_b)
    close(ck.matmul(a, b, trans_a, trans_b), ref.matmul(a, b, trans_a, trans_b), dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("m,n,k", [(1, 1000, 3), (200, 77, 400), (385, 33, 390),
                                   (13, 1, 1200), (257, 300, 9), (64, 2100, 20)])
def test_matmul_blocked_edges(m, n, k, dtype):
    """Sizes that cross the packing blocks (KC, MC, NC) and leave edge tiles."""
    rng = np.random.default_rng(m * n * k)
    a = make(rng, (m, k), dtype)
    b = make(rng, (k, n), dtype)
    tol = dict(rtol=1e-4, atol=1e-3) if dtype == np.float32 else TOL[dtype]
    for ta, tb in [(False, False), (True, True)]:
        A = np.ascontiguousarray(a.T) if ta else a
        B = np.ascontiguousarray(b.T) if tb else b
        np.testing.assert_allclose(ck.matmul(A, B, ta, tb), a @ b, **tol)


def test_matmul_batched_many_and_few():
    rng = np.random.default_rng(0)
    for batch in (1, 2, 3, 9):
        a = make(rng, (batch, 70, 90), np.float32)
        b = make(rng, (batch, 90, 50), np.float32)
        np.testing.assert_allclose(ck.matmul(a, b), a @ b, rtol=1e-4, atol=1e-4)


def test_matmul_transposed_view_is_not_copied_wrongly():
    rng = np.random.default_rng(1)
    a = make(rng, (30, 20), np.float64)
    b = make(rng, (30, 25), np.float64)
    # a.T is an F-ordered view: passed as the contiguous `a` with the flag flipped
    np.testing.assert_allclose(ck.matmul(a.T, b), a.T @ b, **TOL[np.float64])
    np.testing.assert_allclose(ck.matmul(a.T, b.T, False, True), a.T @ b, **TOL[np.float64])


def test_matmul_empty_sizes():
    for shape_a, shape_b in [((0, 3), (3, 4)), ((3, 0), (0, 4)), ((3, 4), (4, 0)),
                             ((0, 2, 3), (0, 3, 4)), ((2, 3, 0), (2, 0, 5))]:
        a = np.ones(shape_a, np.float32)
        b = np.ones(shape_b, np.float32)
        out = ck.matmul(a, b)
        np.testing.assert_array_equal(out, a @ b)


@pytest.mark.parametrize("path", ["generic", "avx2"])
def test_matmul_every_simd_path(path):
    """TGE_SIMD lowers the micro-kernel choice; every path must give the same product."""
    code = (
        "import numpy as np\n"
        "from tinygrad_edu.backends import c\n"
        "rng = np.random.default_rng(0)\n"
        "for dt in (np.float32, np.float64):\n"
        "    for m, n, k in [(50, 37, 29), (130, 70, 400), (5, 300, 3)]:\n"
        "        a = rng.standard_normal((m, k)).astype(dt)\n"
        "        b = rng.standard_normal((k, n)).astype(dt)\n"
        "        np.testing.assert_allclose(c.matmul(a, b), a @ b, rtol=1e-4, atol=1e-3)\n"
        "        np.testing.assert_allclose(c.matmul(a.T.copy(), b.T.copy(), True, True),\n"
        "                                   a @ b, rtol=1e-4, atol=1e-3)\n"
        "print(c.simd_path())\n")
    env = dict(os.environ, TGE_SIMD=path)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() in (path, "generic")


# ------------------------------------------------------------------------------------
# conv2d
# ------------------------------------------------------------------------------------

@FAST
@given(case=conv_cases())
def test_conv2d_matches_reference(case):
    rng = np.random.default_rng(case["seed"])
    dt, lay = case["dtype"], case["layout"]
    x = make(rng, (case["n"], case["c"], case["h"], case["w"]), dt, lay)
    w = make(rng, (case["o"], case["c"], case["kh"], case["kw"]), dt, lay)
    b = make(rng, (case["o"],), dt) if case["bias"] else None
    s, p = case["stride"], case["padding"]
    y = ck.conv2d_forward(x, w, b, s, p)
    close(y, ref.conv2d_forward(x, w, b, s, p), dt)
    gy = make(rng, y.shape, dt, lay)
    close(ck.conv2d_backward_input(gy, w, x.shape, s, p),
          ref.conv2d_backward_input(gy, w, x.shape, s, p), dt)
    close(ck.conv2d_backward_weight(gy, x, w.shape, s, p),
          ref.conv2d_backward_weight(gy, x, w.shape, s, p), dt)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n,c,o,hw,k,s,p", [
    (5, 1, 32, 28, 3, 1, 0),     # the CNN's first layer
    (3, 32, 64, 13, 3, 1, 0),    # second
    (1, 16, 8, 12, 1, 1, 0),     # 1x1: the pointwise path (no im2col)
    (2, 3, 4, 17, 5, 2, 2),
])
def test_conv2d_larger_layers(n, c, o, hw, k, s, p, dtype):
    rng = np.random.default_rng(n * c * o)
    x = make(rng, (n, c, hw, hw), dtype)
    w = make(rng, (o, c, k, k), dtype)
    b = make(rng, (o,), dtype)
    tol = dict(rtol=1e-4, atol=1e-3) if dtype == np.float32 else TOL[dtype]
    y = ck.conv2d_forward(x, w, b, (s, s), (p, p))
    np.testing.assert_allclose(y, ref.conv2d_forward(x, w, b, (s, s), (p, p)), **tol)
    gy = make(rng, y.shape, dtype)
    np.testing.assert_allclose(ck.conv2d_backward_input(gy, w, x.shape, (s, s), (p, p)),
                               ref.conv2d_backward_input(gy, w, x.shape, (s, s), (p, p)), **tol)
    np.testing.assert_allclose(ck.conv2d_backward_weight(gy, x, w.shape, (s, s), (p, p)),
                               ref.conv2d_backward_weight(gy, x, w.shape, (s, s), (p, p)), **tol)


# ------------------------------------------------------------------------------------
# pooling
# ------------------------------------------------------------------------------------

@FAST
@given(case=pool_cases())
def test_pooling_matches_reference(case):
    rng = np.random.default_rng(case["seed"])
    dt = case["dtype"]
    x = make(rng, (case["n"], case["c"], case["h"], case["w"]), dt, case["layout"],
             case["values"])
    if case["nan"] and x.size:
        x[rng.random(x.shape) < 0.1] = np.nan
    k, s, p = case["kernel"], case["stride"], case["padding"]

    y, idx = ck.max_pool2d_forward(x, k, s, p)
    y_ref, idx_ref = ref.max_pool2d_forward(x, k, s, p)
    np.testing.assert_array_equal(y, y_ref)   # NaN == NaN here
    np.testing.assert_array_equal(idx, idx_ref)
    assert idx.dtype == np.int64 and y.dtype == np.dtype(dt)
    gy = make(rng, y.shape, dt, case["layout"])
    close(ck.max_pool2d_backward(gy, idx, x.shape), ref.max_pool2d_backward(gy, idx, x.shape),
          dt)

    x = np.nan_to_num(x)
    close(ck.avg_pool2d_forward(x, k, s, p), ref.avg_pool2d_forward(x, k, s, p), dt)
    close(ck.avg_pool2d_backward(gy, x.shape, k, s, p),
          ref.avg_pool2d_backward(gy, x.shape, k, s, p), dt)


def test_max_pool_ties_and_nan_rule():
    x = np.array([[[[2.0, 2.0, 1.0, 2.0],
                    [np.nan, 5.0, np.nan, 1.0]]]], np.float32)
    for table in (ck, ref):
        y, idx = table.max_pool2d_forward(x[:, :, :1], (1, 4), (1, 1), (0, 0))
        assert y[0, 0, 0, 0] == 2.0 and idx[0, 0, 0, 0] == 0        # first maximum
        y, idx = table.max_pool2d_forward(x[:, :, 1:], (1, 4), (1, 1), (0, 0))
        assert np.isnan(y[0, 0, 0, 0]) and idx[0, 0, 0, 0] == 0     # first NaN


# ------------------------------------------------------------------------------------
# errors: checked in Python, naming the shapes, before any C runs
# ------------------------------------------------------------------------------------

f32 = np.float32


def raises(exc, fn, *args, names=()):
    with pytest.raises(exc) as info:
        fn(*args)
    for name in names:
        assert name in str(info.value), str(info.value)


@pytest.mark.parametrize("table", [ck, ref], ids=["c", "numpy"])
def test_bad_calls_raise_clear_errors(table):
    a, b = np.ones((3, 4), f32), np.ones((5, 2), f32)
    raises(ValueError, table.matmul, a, b, names=["(3, 4)", "(5, 2)", "4", "5"])
    raises(TypeError, table.matmul, a, np.ones((4, 2)), names=["float32", "float64", "(3, 4)"])
    raises(TypeError, table.matmul, a.astype(np.int64), np.ones((4, 2), np.int64),
           names=["int64", "(3, 4)"])
    raises(ValueError, table.matmul, np.ones((2, 3, 4), f32), np.ones((4, 2), f32),
           names=["(2, 3, 4)", "(4, 2)"])
    raises(ValueError, table.matmul, np.ones((2, 3, 4), f32), np.ones((3, 4, 2), f32),
           names=["(2, 3, 4)", "(3, 4, 2)"])
    raises(TypeError, table.matmul, [[1.0]], np.ones((1, 1), f32), names=["list"])

    x, w = np.ones((2, 3, 8, 8), f32), np.ones((4, 5, 3, 3), f32)
    raises(ValueError, table.conv2d_forward, x, w, None, (1, 1), (0, 0),
           names=["(2, 3, 8, 8)", "(4, 5, 3, 3)"])
    w = np.ones((4, 3, 3, 3), f32)
    raises(ValueError, table.conv2d_forward, x, np.ones((4, 3, 9, 9), f32), None, (1, 1),
           (0, 0), names=["(2, 3, 8, 8)", "(4, 3, 9, 9)"])
    raises(ValueError, table.conv2d_forward, x, w, np.ones(3, f32), (1, 1), (0, 0),
           names=["(3,)", "(4, 3, 3, 3)"])
    raises(TypeError, table.conv2d_forward, x, w.astype(np.float64), None, (1, 1), (0, 0),
           names=["float64", "(4, 3, 3, 3)"])
    raises(ValueError, table.conv2d_forward, x[0], w, None, (1, 1), (0, 0),
           names=["(3, 8, 8)"])
    raises(ValueError, table.conv2d_forward, x, w, None, (0, 1), (0, 0), names=["stride"])
    raises(ValueError, table.conv2d_backward_input, np.ones((2, 4, 5, 5), f32), w, x.shape,
           (1, 1), (0, 0), names=["(2, 4, 5, 5)", "(2, 4, 6, 6)"])
    raises(ValueError, table.conv2d_backward_weight, np.ones((2, 4, 6, 6), f32), x,
           (4, 2, 3, 3), (1, 1), (0, 0), names=["(2, 3, 8, 8)", "(4, 2, 3, 3)"])

    raises(ValueError, table.max_pool2d_forward, x, (3, 3), (1, 1), (2, 0),
           names=["padding", "(2, 0)", "(3, 3)"])
    raises(ValueError, table.avg_pool2d_forward, x, (10, 2), (1, 1), (0, 0),
           names=["(2, 3, 8, 8)", "(10, 2)"])
    raises(TypeError, table.avg_pool2d_forward, x.astype(np.float16), (2, 2), (2, 2), (0, 0),
           names=["float16", "(2, 3, 8, 8)"])
    y, idx = table.max_pool2d_forward(x, (2, 2), (2, 2), (0, 0))
    raises(ValueError, table.max_pool2d_backward, y, idx[:, :, :2], x.shape,
           names=["(2, 3, 2, 4)", "(2, 3, 4, 4)"])
    raises(TypeError, table.max_pool2d_backward, y, idx.astype(np.int32), x.shape,
           names=["int32"])
    bad = idx.copy()
    bad[0, 0, 0, 0] = 64
    raises(ValueError, table.max_pool2d_backward, y, bad, x.shape, names=["(2, 3, 8, 8)"])
    raises(ValueError, table.avg_pool2d_backward, y[:, :, :3], x.shape, (2, 2), (2, 2), (0, 0),
           names=["(2, 3, 3, 4)", "(2, 3, 4, 4)"])


# ------------------------------------------------------------------------------------
# the C entry points refuse inconsistent sizes with an error code (called directly)
# ------------------------------------------------------------------------------------

def test_c_entry_points_refuse_bad_sizes():
    ffi, lib = ck.ffi, ck.lib
    NULL = ffi.NULL
    buf = np.zeros(64, np.float32)
    p = ffi.from_buffer("float[]", buf)
    idx = np.zeros(64, np.int64)
    pi = ffi.from_buffer("int64_t[]", idx)

    # gemm: negative size, length mismatch, overflow, bad flag; zero sizes are fine
    assert lib.tge_matmul_f32(1, -2, 2, 2, NULL, 0, 0, NULL, 0, 0, NULL, 0) == 1
    assert lib.tge_matmul_f32(1, 2, 2, 2, p, 4, 0, p, 4, 0, p, 5) == 2
    assert lib.tge_matmul_f64(1, 2**62, 2**62, 2, NULL, 0, 0, NULL, 0, 0, NULL, 0) == 3
    assert lib.tge_matmul_f32(1, 2, 2, 2, p, 4, 2, p, 4, 0, p, 4) == 1
    assert lib.tge_matmul_f32(0, 5, 5, 5, NULL, 0, 0, NULL, 0, 0, NULL, 0) == 0
    assert lib.tge_matmul_f32(1, 2, 2, 0, NULL, 0, 0, NULL, 0, 0, p, 4) == 0

    def conv(**kw):
        fields = dict(n=1, c=1, h=4, w=4, o=1, kh=3, kw=3, sh=1, sw=1, ph=0, pw=0, oh=2, ow=2)
        fields.update(kw)
        return ffi.new("tge_conv2d_params *", fields)

    ok = conv()
    assert lib.tge_conv2d_forward_f32(ok, p, 16, p, 9, NULL, 0, p, 4) == 0
    assert lib.tge_conv2d_forward_f32(conv(oh=3), p, 16, p, 9, NULL, 0, p, 4) == 2
    assert lib.tge_conv2d_forward_f32(conv(n=-1), p, 16, p, 9, NULL, 0, p, 4) == 1
    assert lib.tge_conv2d_forward_f32(conv(sh=0), p, 16, p, 9, NULL, 0, p, 4) == 1
    assert lib.tge_conv2d_forward_f32(ok, p, 15, p, 9, NULL, 0, p, 4) == 2
    assert lib.tge_conv2d_forward_f32(ok, p, 16, p, 9, p, 2, p, 4) == 2   # bias length
    assert lib.tge_conv2d_backward_input_f32(ok, p, 4, p, 9, p, 17) == 2
    assert lib.tge_conv2d_backward_weight_f32(conv(kh=5, oh=0), p, 0, p, 16, p, 15) == 1
    assert lib.tge_conv2d_forward_f64(conv(n=2**40, c=2**40, oh=2), NULL, 0, NULL, 0, NULL, 0,
                                      NULL, 0) == 3

    def pool(**kw):
        fields = dict(n=1, c=1, h=4, w=4, kh=2, kw=2, sh=2, sw=2, ph=0, pw=0, oh=2, ow=2)
        fields.update(kw)
        return ffi.new("tge_pool2d_params *", fields)

    assert lib.tge_max_pool2d_forward_f32(pool(), p, 16, p, 4, pi, 4) == 0
    assert lib.tge_max_pool2d_forward_f32(pool(), p, 16, p, 4, pi, 3) == 2
    assert lib.tge_max_pool2d_forward_f32(pool(ph=2, oh=4), p, 16, p, 8, pi, 8) == 1
    assert lib.tge_avg_pool2d_forward_f32(pool(ow=3), p, 16, p, 4) == 2
    assert lib.tge_avg_pool2d_backward_f32(pool(kh=-1), p, 4, p, 16) == 1
    assert lib.tge_max_pool2d_backward_f32(1, 16, 4, p, 4, pi, 4, p, 16) == 0
    assert lib.tge_max_pool2d_backward_f32(-1, 16, 4, p, 4, pi, 4, p, 16) == 1
    assert lib.tge_max_pool2d_backward_f32(1, 16, 4, p, 4, pi, 4, p, 15) == 2
    idx[2] = 16                                                          # outside the plane
    assert lib.tge_max_pool2d_backward_f32(1, 16, 4, p, 4, pi, 4, p, 16) == 5
    idx[2] = -1
    assert lib.tge_max_pool2d_backward_f64(1, 16, 4, NULL, 4, pi, 4, NULL, 16) == 1


def test_cdef_lists_every_exported_function():
    """csrc/tge.h is the single source of truth: the module exports what it declares."""
    from tinygrad_edu.backends import _build
    if not os.path.isfile(_build.HEADER):
        pytest.skip("no csrc/ (installed copy)")
    cdef = _build.read_cdef()
    assert "#" not in cdef
    for name in ck._REQUIRED:
        assert name + "(" in cdef
        assert hasattr(ck.lib, name)


# ------------------------------------------------------------------------------------
# threads
# ------------------------------------------------------------------------------------

@pytest.fixture
def restore_threads():
    before = ck.get_num_threads()
    yield
    ck.set_num_threads(before)


def test_thread_count_set_get(restore_threads):
    from tinygrad_edu import backends
    backends.set_num_threads(1)
    assert backends.get_num_threads() == 1 == ck.get_num_threads()
    backends.set_num_threads(3)
    assert backends.get_num_threads() == 3
    with pytest.raises(ValueError):
        backends.set_num_threads(0)
    with pytest.raises(TypeError):
        backends.set_num_threads(1.5)


def test_results_do_not_depend_on_thread_count(restore_threads):
    """Work is split over whole output rows / images / planes, and conv2d's weight
    gradient sums over a fixed number of image chunks, so 1 and 2 threads give the
    same bits (the contract only asks for the same result within tolerance)."""
    rng = np.random.default_rng(7)
    a, b = make(rng, (300, 200), f32), make(rng, (200, 260), f32)
    ab = make(rng, (4, 70, 90), f32), make(rng, (4, 90, 60), f32)
    x, w, bias = make(rng, (8, 3, 20, 20), f32), make(rng, (6, 3, 3, 3), f32), make(rng, (6,), f32)
    gy = make(rng, (8, 6, 20, 20), f32)
    xp = make(rng, (8, 8, 32, 32), f32)

    def run():
        y, idx = ck.max_pool2d_forward(xp, (3, 3), (2, 2), (1, 1))
        return [ck.matmul(a, b), ck.matmul(a.T, a), ck.matmul(*ab),
                ck.conv2d_forward(x, w, bias, (1, 1), (1, 1)),
                ck.conv2d_backward_input(gy, w, x.shape, (1, 1), (1, 1)),
                ck.conv2d_backward_weight(gy, x, w.shape, (1, 1), (1, 1)),
                y, idx, ck.max_pool2d_backward(y, idx, xp.shape),
                ck.avg_pool2d_forward(xp, (2, 2), (2, 2), (0, 0))]

    ck.set_num_threads(1)
    one = run()
    ck.set_num_threads(2)
    two = run()
    for r1, r2 in zip(one, two):
        np.testing.assert_allclose(r1, r2, rtol=1e-6, atol=1e-6)
        np.testing.assert_array_equal(r1, r2)


def test_kernels_are_safe_from_two_python_threads():
    rng = np.random.default_rng(3)
    jobs = [(make(rng, (150, 120), f32), make(rng, (120, 130), f32)) for _ in range(8)]
    expected = [a @ b for a, b in jobs]
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda ab: ck.matmul(*ab), jobs))
    for r, e in zip(results, expected):
        np.testing.assert_allclose(r, e, rtol=1e-4, atol=1e-4)
