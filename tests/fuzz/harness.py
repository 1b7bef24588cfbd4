"""Differential fuzzing of every C entry point against the NumPy reference.

Shared by ``tests/fuzz/test_fuzz_kernels.py`` (hypothesis, the short run of CI) and
``tools/fuzz.py`` (the long local run, e.g. ``--cases 100000``).

A *target* is a pair of functions::

    case = target.generate(src)   # src: random choices (a hypothesis `draw` or a NumPy Generator)
    target.check(case)            # raises AssertionError on a discrepancy, returns a short tag

A case is a plain dict of small values (shapes, flags, layouts, a seed for the array values),
so a failing one prints in a form that replays: ``tools/fuzz.py --replay`` takes it back.

What is checked
---------------
* ``matmul``, ``conv2d``, ``pool2d``, ``elementwise`` (GELU, ReLU), ``lstm``: the C table
  (:mod:`tinygrad_edu.backends.c`) against the NumPy one on the same arrays: random shapes with sizes 0 and 1, every stride,
  padding and kernel size (larger than the input too, which both must refuse alike), transpose
  flags, float32 and float64, non-contiguous / reversed / unaligned / read-only / broadcast
  views, and values with NaN, +-inf, -0.0 and denormals.  Comparisons are NaN-aware (a NaN
  must sit where the reference has one; infinities must match exactly).  The C kernels must
  also leave their inputs untouched and return fresh C-contiguous arrays.
* ``invalid``: a valid call with one argument spoiled (dtype, rank, channels, stride,
  padding, bias, indices, shape arguments ...): both tables must do the same thing, which is
  raising the same ValueError or TypeError (or, when the spoiling happened to give a legal
  call, the same result).  Nothing else may escape, and nothing may crash.
* ``raw_*``: the compiled functions called directly through the ffi with random, often
  inconsistent sizes and lengths (negative, zero, off by one, overflowing, NULL buffers).  A
  Python model of the contract in csrc/tge.h says whether the call is legal: a legal one must
  return 0 and compute the reference result, an illegal one a non-zero TGE_E* code without
  writing anything.  Buffers are exactly as long as the call claims, so under the sanitizer
  build (``.ci/sanitizers``) any read or write past them is reported.
* ``threads``: ``tge_set_num_threads`` / ``tge_get_num_threads`` with random values;
  ``measure``: the benchmarks' ``tge_fma_peak_gflops_f32`` probe; ``malloc_tune``: the
  allocator setting ``tge_malloc_tune``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from tinygrad_edu.backends import c as ck
from tinygrad_edu.backends import numpy_ref as ref

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
DTYPES = ("float32", "float64")
LAYOUTS = ("c", "c", "c", "f", "strided", "reversed", "unaligned", "readonly", "broadcast")
VALUE_KINDS = ("normal", "normal", "ties", "special")
SPECIALS = (np.nan, np.inf, -np.inf, -0.0, 1e-40, -3e-39)
#: the most elements a raw call may ask for before it is skipped (legal but too large)
RAW_CAP = 1 << 20


# ------------------------------------------------------------------------------------
# Sources of random choices: the same generators run under hypothesis (which can shrink a
# failure) and from a NumPy Generator (fast, for the long run).
# ------------------------------------------------------------------------------------

class RandomSource:
    """Random choices from a NumPy Generator."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng

    def int(self, lo: int, hi: int) -> int:
        return int(self.rng.integers(lo, hi, endpoint=True))

    def bool(self) -> bool:
        return bool(self.rng.integers(2))

    def choice(self, options):
        return options[int(self.rng.integers(len(options)))]


class DrawSource:
    """Random choices from hypothesis's ``draw`` (inside ``st.composite`` or ``st.data()``)."""

    def __init__(self, draw):
        from hypothesis import strategies as st

        self._st = st
        self.draw = draw

    def int(self, lo: int, hi: int) -> int:
        return self.draw(self._st.integers(lo, hi))

    def bool(self) -> bool:
        return self.draw(self._st.booleans())

    def choice(self, options):
        return self.draw(self._st.sampled_from(options))


#: names of the compiled functions the raw targets called (see test_fuzz_kernels.py)
RAW_CALLED = set()


def raw(name: str):
    """The compiled function ``name`` of the C module, noting that it was called."""
    RAW_CALLED.add(name)
    return getattr(ck.lib, name)


def size(src, hi: int = 6) -> int:
    """A size, often 0 or 1, otherwise up to ``hi``."""
    kind = src.int(0, 5)
    if kind == 0:
        return 0
    if kind == 1:
        return 1
    return src.int(2, hi)


# ------------------------------------------------------------------------------------
# Arrays: values and memory layouts
# ------------------------------------------------------------------------------------

def values(rng, shape, dtype, kind):
    """Random values of ``shape``: normal, small integers (ties), or normal with NaN, +-inf,
    -0.0 and denormals sprinkled in."""
    shape = tuple(shape)
    if kind == "ties":
        data = np.asarray(rng.integers(-2, 3, size=shape), dtype=np.float64)
    else:
        data = np.asarray(rng.standard_normal(shape), dtype=np.float64)  # 0-d: still an array
    if kind == "special" and data.size:
        mask = rng.random(shape) < 0.2
        data[mask] = rng.choice(np.array(SPECIALS), size=int(mask.sum()))
    with np.errstate(under="ignore"):
        return data.astype(dtype)


def lay_out(arr, layout):
    """``arr``'s values in the memory layout ``layout`` (a view that is not C-contiguous,
    not aligned, not writeable ... as asked).  "broadcast" changes the values (the first
    column repeated with stride 0): both tables receive the same array, so it does not
    matter."""
    if arr.ndim == 0:
        return arr.copy()
    if layout == "f":
        return np.asfortranarray(arr)  # (for 1-D arrays the same as "c")
    if layout == "strided":
        big = np.zeros(arr.shape[:-1] + (2 * arr.shape[-1] + 1,), dtype=arr.dtype)
        big[..., 1::2] = arr
        return big[..., 1::2]
    if layout == "reversed":
        return np.ascontiguousarray(arr[..., ::-1])[..., ::-1]
    if layout == "unaligned":
        buf = np.zeros(arr.nbytes + 1, dtype=np.uint8)
        view = buf[1:].view(arr.dtype).reshape(arr.shape)
        view[...] = arr
        return view
    if layout == "readonly":
        out = arr.copy()
        out.flags.writeable = False
        return out
    if layout == "broadcast" and arr.shape[-1] > 0:
        return np.broadcast_to(arr[..., :1], arr.shape)
    return np.ascontiguousarray(arr)


def same_values(a, b) -> bool:
    return a.shape == b.shape and np.array_equal(a, b, equal_nan=True)


def tolerance(dtype, terms: int) -> dict:
    """Tolerances for sums of ``terms`` products of N(0, 1) numbers: C and NumPy add in
    different orders and C fuses multiply-adds."""
    if np.dtype(dtype) == np.float32:
        return dict(rtol=2e-4, atol=2e-5 * max(1.0, math.sqrt(terms)) * 8)
    return dict(rtol=1e-9, atol=1e-11 * max(1.0, math.sqrt(terms)) * 8)


def assert_close(actual, expected, dtype, what, terms=1):
    dtype = np.dtype(dtype)
    assert isinstance(actual, np.ndarray), f"{what}: got {type(actual).__name__}"
    assert actual.dtype == dtype, f"{what}: dtype {actual.dtype}, expected {dtype}"
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} vs {expected.shape}"
    assert actual.flags.c_contiguous, f"{what}: the result is not C-contiguous"
    np.testing.assert_allclose(actual, expected, equal_nan=True, err_msg=what,
                               **tolerance(dtype, terms))


class _Threads:
    """Run a case with the C kernels on ``n`` threads, restoring the count after."""

    def __init__(self, n):
        self.n = n

    def __enter__(self):
        self.before = ck.get_num_threads()
        if self.n:
            ck.set_num_threads(self.n)

    def __exit__(self, *exc):
        ck.set_num_threads(self.before)
        return False


def _calls_alike(c_call, ref_call, compare):
    """Run both tables; both must raise the same ValueError/TypeError, or both succeed and
    ``compare(c_result, ref_result)``.  Returns "raised" or "ok"."""
    ref_exc = c_exc = None
    try:
        expected = ref_call()
    except (ValueError, TypeError) as exc:
        ref_exc = exc
    try:
        actual = c_call()
    except (ValueError, TypeError) as exc:
        c_exc = exc
    if ref_exc is not None or c_exc is not None:
        assert ref_exc is not None and c_exc is not None, (
            f"only one table raised: numpy {ref_exc!r}, c {c_exc!r}")
        assert type(ref_exc) is type(c_exc), f"numpy raised {ref_exc!r}, c raised {c_exc!r}"
        assert str(c_exc), "an error without a message"
        return "raised"
    compare(actual, expected)
    return "ok"


# ------------------------------------------------------------------------------------
# matmul (tge_gemm_f32 / _f64)
# ------------------------------------------------------------------------------------

def gen_matmul(src):
    big = src.int(0, 19) == 0  # now and then, sizes past the packing blocks and threads
    hi = 300 if big else 24
    case = dict(
        dtype=src.choice(DTYPES), batch=src.choice([None, None, 0, 1, 2, 3]),
        m=size(src, hi), n=size(src, hi), k=size(src, hi),
        trans_a=src.bool(), trans_b=src.bool(),
        layout_a=src.choice(LAYOUTS), layout_b=src.choice(LAYOUTS),
        values=src.choice(VALUE_KINDS), threads=src.choice([0, 1, 2, 3]),
        seed=src.int(0, 2**32 - 1))
    if big and src.int(0, 3) == 0:
        case.update(m=src.int(1, 8), n=src.int(1025, 1100), batch=None)  # crosses NC
    elif big and src.int(0, 2) == 0:
        case.update(m=src.int(1, 40), n=src.int(1, 40), k=src.int(257, 800))  # crosses KC
    return case


def _matmul_operands(case):
    rng = np.random.default_rng(case["seed"])
    dt = np.dtype(case["dtype"])
    lead = () if case["batch"] is None else (case["batch"],)
    m, n, k = case["m"], case["n"], case["k"]
    a = values(rng, lead + ((k, m) if case["trans_a"] else (m, k)), dt, case["values"])
    b = values(rng, lead + ((n, k) if case["trans_b"] else (k, n)), dt, case["values"])
    return lay_out(a, case["layout_a"]), lay_out(b, case["layout_b"])


def exact_matmul(a, b, trans_a, trans_b):
    """op(a) @ op(b) by broadcasting and summing, in float64: plain IEEE arithmetic, so
    NaN and infinity land where they must (BLAS may skip zeros, this does not)."""
    A = (a.swapaxes(-1, -2) if trans_a else a).astype(np.float64)
    B = (b.swapaxes(-1, -2) if trans_b else b).astype(np.float64)
    out = np.zeros(A.shape[:-1] + B.shape[-1:])
    step = max(1, (1 << 21) // max(1, out.size))  # depth slices of at most ~2M products
    with np.errstate(invalid="ignore", over="ignore"):
        for p in range(0, A.shape[-1], step):
            out += (A[..., :, p:p + step, None] * B[..., None, p:p + step, :]).sum(axis=-2)
    return out.astype(a.dtype)


def check_matmul(case):
    a, b = _matmul_operands(case)
    a0, b0 = a.copy(), b.copy()
    ta, tb = case["trans_a"], case["trans_b"]
    with _Threads(case["threads"]):
        out = ck.matmul(a, b, ta, tb)
    assert same_values(a, a0) and same_values(b, b0), "matmul changed its inputs"
    if case["values"] == "special":
        expected = exact_matmul(a, b, ta, tb)
    else:
        expected = ref.matmul(a, b, ta, tb)
    assert_close(out, expected, case["dtype"], f"matmul {case}", terms=case["k"])
    return "special" if case["values"] == "special" else "ok"


# ------------------------------------------------------------------------------------
# conv2d (tge_conv2d_forward / backward_input / backward_weight)
# ------------------------------------------------------------------------------------

def gen_conv(src):
    big = src.int(0, 14) == 0
    return dict(
        dtype=src.choice(DTYPES), n=size(src, 4), c=size(src, 4), o=size(src, 5),
        h=src.int(1, 30 if big else 9), w=src.int(1, 30 if big else 9),
        kh=src.int(1, 5), kw=src.int(1, 5), sh=src.int(1, 3), sw=src.int(1, 3),
        ph=src.choice([0, 0, 1, 2, 3]), pw=src.choice([0, 0, 1, 2, 3]), bias=src.bool(),
        layout_x=src.choice(LAYOUTS), layout_w=src.choice(LAYOUTS),
        layout_gy=src.choice(LAYOUTS), values=src.choice(VALUE_KINDS),
        threads=src.choice([0, 1, 2, 3]), seed=src.int(0, 2**32 - 1))


def exact_conv(x, w, b, gy, stride, padding):
    """(y, gx, gw) of a convolution by explicit im2col and broadcast products in float64:
    plain IEEE arithmetic, padding zeros included (0 * inf = NaN), unlike NumPy's einsum,
    which may hand the contraction to BLAS."""
    (sh, sw), (ph, pw) = stride, padding
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    oh, ow = gy.shape[2], gy.shape[3]
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    cols = np.zeros((n, c, kh, kw, oh, ow))
    for i in range(kh):
        for j in range(kw):
            cols[:, :, i, j] = xp[:, :, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw]
    cols = cols.reshape(n, 1, c * kh * kw, oh * ow)
    w2 = w.astype(np.float64).reshape(1, o, c * kh * kw, 1)
    g2 = gy.astype(np.float64).reshape(n, o, 1, oh * ow)
    with np.errstate(all="ignore"):
        y = (w2 * cols).sum(axis=2).reshape(n, o, oh, ow)
        if b is not None:
            y += b.astype(np.float64).reshape(1, o, 1, 1)
        gw = (g2 * cols).sum(axis=(0, 3)).reshape(w.shape)
        gcols = (w2 * g2).sum(axis=1).reshape(n, c, kh, kw, oh, ow)
    gxp = np.zeros_like(xp)
    for i in range(kh):
        for j in range(kw):
            gxp[:, :, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw] += gcols[:, :, i, j]
    gx = gxp[:, :, ph:ph + h, pw:pw + wd]
    return tuple(np.ascontiguousarray(a).astype(x.dtype) for a in (y, gx, gw))


def check_conv(case):
    rng = np.random.default_rng(case["seed"])
    dt = np.dtype(case["dtype"])
    x = lay_out(values(rng, (case["n"], case["c"], case["h"], case["w"]), dt, case["values"]),
                case["layout_x"])
    w = lay_out(values(rng, (case["o"], case["c"], case["kh"], case["kw"]), dt,
                       case["values"]), case["layout_w"])
    b = values(rng, (case["o"],), dt, case["values"]) if case["bias"] else None
    s, p = (case["sh"], case["sw"]), (case["ph"], case["pw"])
    terms = case["c"] * case["kh"] * case["kw"]
    inputs = [x, w] + ([b] if b is not None else [])
    saved = [t.copy() for t in inputs]
    with _Threads(case["threads"]):
        special = case["values"] == "special"  # compared with exact_conv below instead
        tag = _calls_alike(lambda: ck.conv2d_forward(x, w, b, s, p),
                           lambda: ref.conv2d_forward(x, w, b, s, p),
                           lambda got, exp: special or assert_close(
                               got, exp, dt, f"conv2d forward {case}", terms))
        if tag == "raised":  # e.g. a kernel larger than the padded input: refused alike
            return "refused"
        y_shape = (case["n"], case["o"], (case["h"] + 2 * p[0] - case["kh"]) // s[0] + 1,
                   (case["w"] + 2 * p[1] - case["kw"]) // s[1] + 1)
        gy = lay_out(values(rng, y_shape, dt, case["values"]), case["layout_gy"])
        gy0 = gy.copy()
        if special:  # NaN and inf where IEEE arithmetic puts them
            y_ref, gx_ref, gw_ref = exact_conv(x, w, b, gy, s, p)
            assert_close(ck.conv2d_forward(x, w, b, s, p), y_ref, dt,
                         f"conv2d forward (exact) {case}", terms)
        else:
            gx_ref = ref.conv2d_backward_input(gy, w, x.shape, s, p)
            gw_ref = ref.conv2d_backward_weight(gy, x, w.shape, s, p)
        assert_close(ck.conv2d_backward_input(gy, w, x.shape, s, p), gx_ref, dt,
                     f"conv2d backward_input {case}", case["o"] * case["kh"] * case["kw"])
        assert_close(ck.conv2d_backward_weight(gy, x, w.shape, s, p), gw_ref, dt,
                     f"conv2d backward_weight {case}", case["n"] * y_shape[2] * y_shape[3])
    assert all(same_values(t, t0) for t, t0 in zip(inputs + [gy], saved + [gy0])), \
        "conv2d changed its inputs"
    return "special" if case["values"] == "special" else "ok"


# ------------------------------------------------------------------------------------
# pooling (tge_max_pool2d_* / tge_avg_pool2d_*)
# ------------------------------------------------------------------------------------

def gen_pool(src):
    kh, kw = src.int(1, 5), src.int(1, 5)
    big = src.int(0, 14) == 0
    return dict(
        dtype=src.choice(DTYPES), n=size(src, 3), c=size(src, 4),
        h=src.int(1, 40 if big else 9), w=src.int(1, 40 if big else 9), kh=kh, kw=kw,
        sh=src.int(1, 4), sw=src.int(1, 4),
        # mostly legal padding (at most half the window), now and then not
        ph=src.int(0, kh // 2 + (src.int(0, 9) == 0)),
        pw=src.int(0, kw // 2 + (src.int(0, 9) == 0)),
        layout_x=src.choice(LAYOUTS), layout_gy=src.choice(LAYOUTS),
        values=src.choice(VALUE_KINDS), threads=src.choice([0, 1, 2, 3]),
        random_indices=src.bool(), seed=src.int(0, 2**32 - 1))


def check_pool(case):
    rng = np.random.default_rng(case["seed"])
    dt = np.dtype(case["dtype"])
    x = lay_out(values(rng, (case["n"], case["c"], case["h"], case["w"]), dt, case["values"]),
                case["layout_x"])
    x0 = x.copy()
    k, s, p = (case["kh"], case["kw"]), (case["sh"], case["sw"]), (case["ph"], case["pw"])

    def same_max(got, exp):
        np.testing.assert_array_equal(got[0], exp[0], err_msg=f"max_pool2d y {case}")
        np.testing.assert_array_equal(got[1], exp[1], err_msg=f"max_pool2d indices {case}")
        assert got[0].dtype == dt and got[1].dtype == np.int64

    with _Threads(case["threads"]):
        if _calls_alike(lambda: ck.max_pool2d_forward(x, k, s, p),
                        lambda: ref.max_pool2d_forward(x, k, s, p), same_max) == "raised":
            def differ(*_):
                raise AssertionError(f"max_pool2d refused what avg_pool2d accepts: {case}")

            _calls_alike(lambda: ck.avg_pool2d_forward(x, k, s, p),
                         lambda: ref.avg_pool2d_forward(x, k, s, p), differ)
            return "refused"
        y, idx = ref.max_pool2d_forward(x, k, s, p)
        gy = lay_out(values(rng, y.shape, dt, case["values"]), case["layout_gy"])
        if case["random_indices"]:  # any legal indices, repeats included: a scatter-add
            idx = rng.integers(0, case["h"] * case["w"], size=y.shape).astype(np.int64)
        assert_close(ck.max_pool2d_backward(gy, idx, x.shape),
                     ref.max_pool2d_backward(gy, idx, x.shape), dt,
                     f"max_pool2d backward {case}", y.size)
        assert_close(ck.avg_pool2d_forward(x, k, s, p), ref.avg_pool2d_forward(x, k, s, p),
                     dt, f"avg_pool2d forward {case}", case["kh"] * case["kw"])
        assert_close(ck.avg_pool2d_backward(gy, x.shape, k, s, p),
                     ref.avg_pool2d_backward(gy, x.shape, k, s, p), dt,
                     f"avg_pool2d backward {case}", case["kh"] * case["kw"])
    assert same_values(x, x0), "pooling changed its input"
    return "special" if case["values"] == "special" else "ok"


# ------------------------------------------------------------------------------------
# elementwise kernels y = f(x), gx = gy * f'(x): GELU, ReLU (those the C table has)
# ------------------------------------------------------------------------------------

#: name -> (float32 tolerance, float64 tolerance); ReLU must agree to the bit
ELEMENTWISE = {"gelu": (dict(rtol=1e-5, atol=1e-6), dict(rtol=1e-12, atol=1e-14)),
               "relu": (dict(rtol=0, atol=0), dict(rtol=0, atol=0))}


def gen_elementwise(src):
    ndim = src.int(0, 4)
    return dict(op=src.choice(sorted(ELEMENTWISE)), dtype=src.choice(DTYPES),
                shape=[size(src, 7) for _ in range(ndim)], big=src.int(0, 19) == 0,
                layout=src.choice(LAYOUTS), values=src.choice(VALUE_KINDS),
                scale=src.choice([1.0, 1.0, 5.0, 30.0]), threads=src.choice([0, 1, 2]),
                seed=src.int(0, 2**32 - 1))


def check_elementwise(case):
    op = case["op"]
    if not hasattr(ck, f"{op}_forward"):
        return "absent"
    rng = np.random.default_rng(case["seed"])
    dt = np.dtype(case["dtype"])
    shape = [300, 1100] if case["big"] else case["shape"]  # big: the threaded split
    with np.errstate(all="ignore"):
        x = np.asarray(values(rng, shape, np.float64, case["values"]) * case["scale"], dtype=dt)
    x = lay_out(x, case["layout"])
    gy = values(rng, shape, dt, case["values"])
    x0 = x.copy()
    tol = ELEMENTWISE[op][0 if dt == np.float32 else 1]
    # an infinite gy times a derivative that underflows: float32 C gets inf * 0 = NaN, the
    # float64 reference inf * 1e-190 = inf; both are "not finite", which is all that is asked
    loose = np.isinf(gy) if op == "gelu" else np.zeros(gy.shape, bool)
    c_fwd, c_bwd = getattr(ck, f"{op}_forward"), getattr(ck, f"{op}_backward")
    r_fwd, r_bwd = getattr(ref, f"{op}_forward"), getattr(ref, f"{op}_backward")
    with _Threads(case["threads"]), np.errstate(all="ignore"):
        for got, exp, what in ((c_fwd(x), r_fwd(x), "forward"),
                               (c_bwd(gy, x), r_bwd(gy, x), "backward")):
            assert got.dtype == dt and got.shape == exp.shape and got.flags.c_contiguous
            if what == "backward" and loose.any():
                assert not np.isfinite(got[loose]).any() and not np.isfinite(exp[loose]).any()
                got, exp = got[~loose], exp[~loose]
            np.testing.assert_allclose(got, exp, equal_nan=True,
                                       err_msg=f"{op} {what} {case}", **tol)
    assert same_values(x, x0), f"{op} changed its input"
    return "ok"


# ------------------------------------------------------------------------------------
# one LSTM layer through the wrappers (lstm_forward / lstm_backward)
# ------------------------------------------------------------------------------------

def gen_lstm(src):
    return dict(dtype=src.choice(DTYPES), steps=size(src, 5), batch=size(src, 4),
                hidden=size(src, 6), reverse=src.bool(), g_cn=src.bool(),
                layout=src.choice(LAYOUTS), nan=src.int(0, 5) == 0,
                threads=src.choice([0, 1, 2]), seed=src.int(0, 2**32 - 1))


def check_lstm(case):
    if not hasattr(ck, "lstm_forward"):
        return "absent"
    rng = np.random.default_rng(case["seed"])
    dt = np.dtype(case["dtype"])
    S, N, H = case["steps"], case["batch"], case["hidden"]

    def arr(*shape, scale=1.0):
        a = (rng.standard_normal(shape) * scale).astype(dt)
        if case["nan"] and a.size:
            a[rng.random(shape) < 0.05] = np.nan
        return lay_out(a, case["layout"])

    xw, w_hh = arr(S, N, 4 * H), arr(4 * H, H, scale=0.5)
    h0, c0 = arr(N, H), arr(N, H)
    saved = [a.copy() for a in (xw, w_hh, h0, c0)]
    tol = dict(rtol=2e-4, atol=2e-5) if dt == np.float32 else dict(rtol=1e-9, atol=1e-11)
    with _Threads(case["threads"]), np.errstate(all="ignore"):
        got = ck.lstm_forward(xw, w_hh, h0, c0, reverse=case["reverse"])
        exp = ref.lstm_forward(xw, w_hh, h0, c0, reverse=case["reverse"])
        for g, e, name in zip(got, exp, ("out", "c_all", "gates")):
            assert g.dtype == dt and g.shape == e.shape, (name, g.shape, e.shape)
            np.testing.assert_allclose(g, e, equal_nan=True, err_msg=f"lstm {name} {case}", **tol)
        out, c_all, gates = exp
        g_out = arr(S, N, H)
        g_cn = arr(N, H) if case["g_cn"] else None
        got = ck.lstm_backward(w_hh, h0, c0, out, c_all, gates, g_out, g_cn, reverse=case["reverse"])
        exp = ref.lstm_backward(w_hh, h0, c0, out, c_all, gates, g_out, g_cn,
                                reverse=case["reverse"])
        for g, e, name in zip(got, exp, ("g_xw", "g_h0", "g_c0", "g_w_hh")):
            assert g.dtype == dt and g.shape == e.shape, (name, g.shape, e.shape)
            np.testing.assert_allclose(g, e, equal_nan=True, err_msg=f"lstm {name} {case}",
                                       **dict(tol, atol=tol["atol"] * max(1, S * N)))
    assert all(same_values(a, b) for a, b in zip((xw, w_hh, h0, c0), saved)), \
        "lstm changed its inputs"
    return "nan" if case["nan"] else "ok"


# ------------------------------------------------------------------------------------
# softmax cross-entropy with class targets (softmax_xent_forward / backward)
# ------------------------------------------------------------------------------------

def gen_xent(src):
    return dict(dtype=src.choice(DTYPES), n=size(src, 6), c=size(src, 7),
                ignore_index=src.choice([-100, -100, 0, 2, -1]),
                bad_target=src.choice([None, None, None, None, -1, -5, "c", "c+3"]),
                layout=src.choice(LAYOUTS), values=src.choice(VALUE_KINDS),
                scale=src.choice([1.0, 10.0, 100.0]), seed=src.int(0, 2**32 - 1))


def check_xent(case):
    if not hasattr(ck, "softmax_xent_forward"):
        return "absent"
    rng = np.random.default_rng(case["seed"])
    dt = np.dtype(case["dtype"])
    n, c, ignore = case["n"], case["c"], case["ignore_index"]
    with np.errstate(all="ignore"):
        logits = lay_out(np.asarray(values(rng, (n, c), np.float64, case["values"])
                                    * case["scale"], dtype=dt), case["layout"])
    classes = rng.integers(0, max(c, 1), size=n) if c else np.full(n, ignore)
    target = np.where(rng.random(n) < 0.2, ignore, classes).astype(np.int64)
    bad = case["bad_target"]
    if bad is not None and n:
        target[rng.integers(n)] = {"c": c, "c+3": c + 3}.get(bad, bad)
    g = values(rng, (n,), dt, case["values"])
    tol = dict(rtol=1e-5, atol=1e-5) if dt == np.float32 else dict(rtol=1e-12, atol=1e-12)

    def same(got, exp):
        for a, b in zip(got if isinstance(got, tuple) else (got,),
                        exp if isinstance(exp, tuple) else (exp,)):
            assert a.dtype == dt and a.shape == b.shape
            np.testing.assert_allclose(a, b, equal_nan=True, err_msg=f"xent {case}", **tol)

    with np.errstate(all="ignore"):
        if _calls_alike(lambda: ck.softmax_xent_forward(logits, target, ignore),
                        lambda: ref.softmax_xent_forward(logits, target, ignore),
                        same) == "raised":
            return "refused"
        logp, _ = ref.softmax_xent_forward(logits, target, ignore)
        _calls_alike(lambda: ck.softmax_xent_backward(logp, target, ignore, g),
                     lambda: ref.softmax_xent_backward(logp, target, ignore, g), same)
    return "special" if case["values"] == "special" else "ok"


def gen_raw_xent(src):
    n, c = size(src, 6), size(src, 6)
    g = dict(n=n, c=c, logits_len=n * c, target_len=n, out_len=n * c, vec_len=n)
    g = _mutate(src, g, sorted(g), src.choice([0, 1, 1, 2]))
    g.update(which=src.choice(["forward", "backward"]), dtype=src.choice(DTYPES),
             ignore_index=src.choice([-100, 0, INT64_MIN, INT64_MAX]),
             bad_target=src.choice([None, None, None, -1, "c", INT64_MAX, INT64_MIN]),
             null=src.choice([None, None, None, "logits", "target", "out", "vec"]),
             seed=src.int(0, 2**32 - 1))
    return g


def check_raw_xent(g):
    if not hasattr(ck.lib, "tge_softmax_xent_forward_f32"):
        return "absent"
    rng = np.random.default_rng(g["seed"])
    ctype = "float" if g["dtype"] == "float32" else "double"
    sfx = "f32" if ctype == "float" else "f64"
    n, c = g["n"], g["c"]
    nc = _mul(n, c) if min(n, c) >= 0 else None
    shapes_ok = nc is not None and (g["logits_len"], g["target_len"], g["out_len"],
                                    g["vec_len"]) == (nc, n, nc, n)
    if shapes_ok and max(nc, n) > RAW_CAP:
        return "skipped"
    bufs = {"logits": _buffer(rng, g["logits_len"], ctype),
            "target": _buffer(rng, g["target_len"], "int64_t"),
            "out": _buffer(rng, g["out_len"], ctype), "vec": _buffer(rng, g["vec_len"], ctype)}
    target = bufs["target"][1]
    if target is not None:
        target[:] = rng.integers(0, c, size=target.size) if c > 0 else g["ignore_index"]
        if g["bad_target"] is not None:
            target[rng.integers(target.size)] = c if g["bad_target"] == "c" else g["bad_target"]
    if g["null"]:
        bufs[g["null"]] = (ck.ffi.NULL, None)
    nulls = any(g["null"] == k and g[f"{k}_len"] > 0 for k in bufs)
    bad = target is not None and g["null"] != "target" and bool(np.any(
        (target != g["ignore_index"]) & ((target < 0) | (target >= c))))
    legal = shapes_ok and not nulls and not bad
    out = bufs["out"][1] if g["which"] == "backward" else bufs["vec"][1]
    written = [a for a in ((bufs["out"][1], bufs["vec"][1]) if g["which"] == "forward"
                           else (bufs["out"][1],)) if a is not None]
    for a in written:
        a[:] = 7.0
    fn = raw(f"tge_softmax_xent_{g['which']}_{sfx}")
    if g["which"] == "forward":
        rc = fn(n, c, bufs["logits"][0], g["logits_len"], bufs["target"][0], g["target_len"],
                g["ignore_index"], bufs["out"][0], g["out_len"], bufs["vec"][0], g["vec_len"])
    else:
        rc = fn(n, c, bufs["logits"][0], g["logits_len"], bufs["target"][0], g["target_len"],
                g["ignore_index"], bufs["vec"][0], g["vec_len"], bufs["out"][0], g["out_len"])
    if not legal:
        assert rc != 0, f"tge_softmax_xent_{g['which']} accepted an illegal call {g}"
        assert all(np.all(a == 7.0) for a in written), f"wrote on error {g}"
        if shapes_ok and not nulls and bad:
            assert rc == 5, f"a bad target must give TGE_EINDEX, got {rc}: {g}"
        return "refused"
    assert rc == 0, f"tge_softmax_xent_{g['which']} refused a legal call with {rc}: {g}"
    if n and c:
        x = bufs["logits"][1].reshape(n, c)
        tol = dict(rtol=1e-5, atol=1e-5) if ctype == "float" else dict(rtol=1e-12, atol=1e-12)
        if g["which"] == "forward":
            logp, losses = ref.softmax_xent_forward(x, target, g["ignore_index"])
            np.testing.assert_allclose(bufs["out"][1], logp.reshape(-1), err_msg=f"{g}", **tol)
            np.testing.assert_allclose(bufs["vec"][1], losses, err_msg=f"{g}", **tol)
        else:
            glogits = ref.softmax_xent_backward(x, target, g["ignore_index"], bufs["vec"][1])
            np.testing.assert_allclose(out, glogits.reshape(-1), err_msg=f"{g}", **tol)
    return "ok"


# ------------------------------------------------------------------------------------
# optimizer steps (adam_step / sgd_step) against the optimizers' own _update
# ------------------------------------------------------------------------------------

def gen_optim(src):
    count = src.int(0, 4)
    return dict(
        kind=src.choice(["adam", "adamw", "sgd"]), dtype=src.choice(DTYPES),
        shapes=[[size(src, 5) for _ in range(src.int(0, 3))] for _ in range(count)],
        lr=src.choice([0.0, 1e-3, 0.1, 1.0]), beta1=src.choice([0.0, 0.5, 0.9]),
        beta2=src.choice([0.0, 0.99, 0.999]), eps=src.choice([0.0, 1e-8, 1e-3]),
        weight_decay=src.choice([0.0, 0.0, 0.01, 0.5]), amsgrad=src.bool(),
        maximize=src.bool(), momentum=src.choice([0.0, 0.0, 0.9]),
        dampening=src.choice([0.0, 0.1]), nesterov=src.bool(), steps=src.int(1, 3),
        values=src.choice(["normal", "normal", "special"]), seed=src.int(0, 2**32 - 1))


def _reference_optimizer(case):
    """An optimizer object whose _update is the reference (never stepped itself)."""
    from tinygrad_edu import optim

    cls = {"adam": optim.Adam, "adamw": optim.AdamW, "sgd": optim.SGD}[case["kind"]]
    return object.__new__(cls)


def check_optim(case):
    if not hasattr(ck, "adam_step"):
        return "absent"
    rng = np.random.default_rng(case["seed"])
    dt = np.dtype(case["dtype"])
    if case["kind"] == "sgd" and case["nesterov"] and (case["momentum"] == 0
                                                       or case["dampening"] != 0):
        case = dict(case, nesterov=False)  # PyTorch refuses that combination
    group = dict(lr=case["lr"], betas=(case["beta1"], case["beta2"]), eps=case["eps"],
                 weight_decay=case["weight_decay"], amsgrad=case["amsgrad"],
                 maximize=case["maximize"], momentum=case["momentum"],
                 dampening=case["dampening"], nesterov=case["nesterov"])
    ours = [values(rng, shape, dt, "normal") for shape in case["shapes"]]
    theirs = [p.copy() for p in ours]
    states_c = [dict() for _ in ours]
    states_ref = [dict() for _ in ours]
    reference = _reference_optimizer(case)
    for step in range(1, case["steps"] + 1):
        grads = [values(rng, p.shape, dt, case["values"]) for p in ours]
        with np.errstate(all="ignore"):
            for p, g, st in zip(theirs, grads, states_ref):
                reference._update(p, g, st, group)
            if case["kind"] == "sgd":
                momentum = case["momentum"] != 0
                first = [st.get("momentum_buffer") is None for st in states_c]
                for st, p in zip(states_c, ours):
                    st.setdefault("momentum_buffer", np.empty_like(p))
                ck.sgd_step(group, ours, grads,
                            [st["momentum_buffer"] for st in states_c] if momentum else None,
                            first)
            else:
                for st, p in zip(states_c, ours):
                    if not st:
                        st.update(step=0, exp_avg=np.zeros_like(p), exp_avg_sq=np.zeros_like(p),
                                  max_exp_avg_sq=np.zeros_like(p))
                    st["step"] += 1
                hp = dict(group, decoupled=case["kind"] == "adamw")
                ck.adam_step(hp, ours, grads, [st["exp_avg"] for st in states_c],
                             [st["exp_avg_sq"] for st in states_c],
                             [st["max_exp_avg_sq"] for st in states_c] if case["amsgrad"]
                             else None, [st["step"] for st in states_c])
        tol = dict(rtol=2e-6, atol=1e-7) if dt == np.float32 else dict(rtol=1e-13, atol=1e-15)
        for i, (a, b) in enumerate(zip(ours, theirs)):
            np.testing.assert_allclose(a, b, equal_nan=True, err_msg=f"{case} step {step} p{i}",
                                       **tol)
    return "special" if case["values"] == "special" else "ok"


# ------------------------------------------------------------------------------------
# invalid calls: one argument of a legal call spoiled; both tables must agree
# ------------------------------------------------------------------------------------

#: kernel -> the ways its arguments are spoiled (see _spoil)
SPOILERS = {
    "matmul": ["dtype", "mixed_dtype", "rank", "batch", "inner", "flag", "not_array"],
    "conv2d_forward": ["dtype", "mixed_dtype", "rank", "channels", "big_kernel", "stride",
                       "padding", "bias_shape", "bias_dtype", "not_array"],
    "conv2d_backward_input": ["gy_shape", "shape_arg", "stride", "padding", "channels"],
    "conv2d_backward_weight": ["gy_shape", "shape_arg", "stride", "big_kernel"],
    "max_pool2d_forward": ["dtype", "rank", "pool_padding", "kernel", "stride", "big_kernel",
                           "empty_plane"],
    "max_pool2d_backward": ["indices_dtype", "indices_shape", "indices_range", "gy_nc",
                            "shape_arg", "dtype"],
    "avg_pool2d_forward": ["dtype", "rank", "pool_padding", "kernel", "stride", "big_kernel",
                           "empty_plane"],
    "avg_pool2d_backward": ["gy_shape", "shape_arg", "pool_padding", "kernel"],
    "gelu_forward": ["dtype", "not_array"],
    "gelu_backward": ["dtype", "mixed_dtype", "gy_shape"],
    "relu_forward": ["dtype", "not_array"],
    "relu_backward": ["dtype", "mixed_dtype", "gy_shape"],
    "lstm_forward": ["dtype", "mixed_dtype", "rank", "lstm_hidden", "not_array"],
    "lstm_backward": ["dtype", "mixed_dtype", "lstm_saved", "lstm_g_cn"],
    "softmax_xent_forward": ["dtype", "rank", "target_dtype", "target_shape", "target_range"],
    "softmax_xent_backward": ["dtype", "target_shape", "target_range", "xent_g"],
}
BAD_PAIRS = [(0, 1), (1, -1), (-2, -2), (1,), (1, 2, 3), 1.5, "2", None, (True, 1),
             (2.0, 1), [1, 1], np.int64(2)]


def gen_invalid(src):
    kernel = src.choice(sorted(SPOILERS))
    return dict(kernel=kernel, spoil=src.choice(SPOILERS[kernel]), dtype=src.choice(DTYPES),
                pick=src.int(0, 1000), seed=src.int(0, 2**32 - 1))


def _legal_call(case, rng):
    """(function name, positional args) of a legal call of ``case["kernel"]``."""
    dt = np.dtype(case["dtype"])
    kernel = case["kernel"]

    def arr(*shape):
        return values(rng, shape, dt, "normal")

    if kernel == "matmul":
        return [arr(2, 3, 4), arr(2, 4, 5), False, False]
    x, w, b = arr(2, 3, 7, 6), arr(4, 3, 3, 2), arr(4)
    if kernel == "conv2d_forward":
        return [x, w, b, (2, 1), (1, 0)]
    y = ref.conv2d_forward(x, w, b, (2, 1), (1, 0))
    if kernel == "conv2d_backward_input":
        return [arr(*y.shape), w, x.shape, (2, 1), (1, 0)]
    if kernel == "conv2d_backward_weight":
        return [arr(*y.shape), x, w.shape, (2, 1), (1, 0)]
    if kernel in ("max_pool2d_forward", "avg_pool2d_forward"):
        return [x, (3, 2), (2, 1), (1, 1)]
    py, idx = ref.max_pool2d_forward(x, (3, 2), (2, 1), (1, 1))
    if kernel == "max_pool2d_backward":
        return [arr(*py.shape), idx, x.shape]
    if kernel == "avg_pool2d_backward":
        return [arr(*py.shape), x.shape, (3, 2), (2, 1), (1, 1)]
    if kernel in ("gelu_forward", "relu_forward"):
        return [arr(3, 4)]
    if kernel in ("gelu_backward", "relu_backward"):
        return [arr(3, 4), arr(3, 4)]
    xw, w_hh, h0, c0 = arr(3, 2, 8), arr(8, 2), arr(2, 2), arr(2, 2)
    if kernel == "lstm_forward":
        return [xw, w_hh, h0, c0]
    if kernel == "lstm_backward":
        out, c_all, gates = ref.lstm_forward(xw, w_hh, h0, c0)
        return [w_hh, h0, c0, out, c_all, gates, arr(3, 2, 2), arr(2, 2)]
    logits, target = arr(4, 3), np.array([0, 2, -100, 1])
    if kernel == "softmax_xent_forward":
        return [logits, target, -100]
    logp, _ = ref.softmax_xent_forward(logits, target, -100)
    return [logp, target, -100, arr(4)]  # softmax_xent_backward


def _spoil(case, args, rng):
    """Spoil one argument of ``args`` as ``case["spoil"]`` says."""
    kernel, how, pick = case["kernel"], case["spoil"], case["pick"]
    args = list(args)
    other = np.float64 if np.dtype(case["dtype"]) == np.float32 else np.float32
    bad_dtypes = [np.int64, np.int32, np.float16, np.bool_, np.complex64, other]
    pair_at = {"conv2d_forward": (3, 4), "conv2d_backward_input": (3, 4),
               "conv2d_backward_weight": (3, 4), "max_pool2d_forward": (1, 2, 3),
               "avg_pool2d_forward": (1, 2, 3), "avg_pool2d_backward": (2, 3, 4)}
    shape_at = {"conv2d_backward_input": 2, "conv2d_backward_weight": 2,
                "max_pool2d_backward": 2, "avg_pool2d_backward": 1}
    if how == "dtype":
        args[0] = args[0].astype(bad_dtypes[pick % len(bad_dtypes)])
    elif how == "mixed_dtype":
        args[1] = args[1].astype(other)
    elif how == "rank":
        args[0] = args[0][0] if pick % 2 else args[0][None]
    elif how == "batch":
        args[1] = np.concatenate([args[1], args[1]])
    elif how == "inner":
        args[1] = args[1][:, 1:]
    elif how == "flag":
        args[2 + pick % 2] = [2, -1, "yes", None, 0.5][pick % 5]
    elif how == "not_array":
        args[0] = [args[0].tolist(), 3.0, None, "x"][pick % 4]
    elif how == "channels":
        at = 1
        args[at] = args[at][:, 1:]
    elif how == "big_kernel":
        if kernel in ("max_pool2d_forward", "avg_pool2d_forward"):
            args[1] = (9 + pick % 5, 2)
        elif kernel == "conv2d_backward_weight":
            args[2] = (4, 3, 12, 2)
        else:
            args[1] = np.concatenate([args[1]] * 4, axis=2)  # kh 12 > 7 + 2
    elif how in ("stride", "padding", "kernel"):
        positions = pair_at[kernel]
        index = {"kernel": 0, "stride": 1, "padding": 2}[how] if len(positions) == 3 else \
            {"stride": 0, "padding": 1}[how]
        args[positions[index]] = BAD_PAIRS[pick % len(BAD_PAIRS)] if how != "padding" else \
            [(-1, 0), (0, -3), 1.0, (1,), "p", (None, 0)][pick % 6]
    elif how == "pool_padding":
        positions = pair_at[kernel]
        args[positions[2]] = [(2, 0), (0, 2), (3, 3)][pick % 3]
    elif how == "bias_shape":
        args[2] = [args[2][:-1], args[2][None], np.concatenate([args[2], args[2]])][pick % 3]
    elif how == "bias_dtype":
        args[2] = args[2].astype(other)
    elif how == "gy_shape":
        args[0] = [args[0][..., :-1], args[0][:1], args[0].reshape(-1)][pick % 3]
    elif how == "shape_arg":
        at = shape_at[kernel]
        args[at] = [(2, 3, 7), (2, 3, 7, -6), (2, 3, 7, 6, 1), "shape", None,
                    (2, 3, 7.5, 6), (2, 2**62, 2**62, 6)][pick % 7]
    elif how == "empty_plane":
        args[0] = args[0][:, :, :0] if pick % 2 else args[0][:, :, :, :0]
        args[3] = (0, 0) if pick % 3 else args[3]
    elif how == "indices_dtype":
        args[1] = args[1].astype([np.int32, np.float64, np.uint64][pick % 3])
    elif how == "indices_shape":
        args[1] = args[1][..., :-1]
    elif how == "indices_range":
        args[1] = args[1].copy()
        args[1].reshape(-1)[pick % args[1].size] = [-1, 42, 2**40][pick % 3]
    elif how == "gy_nc":
        args[0] = args[0][:1]
        args[1] = args[1][:1]
    elif how == "lstm_hidden":
        at = 1 + pick % 3  # w_hh, h0 or c0 of the wrong size
        args[at] = args[at][..., :1] if pick % 2 else np.concatenate([args[at]] * 2)
    elif how == "lstm_saved":
        at = [3, 4, 6][pick % 3]  # out, c_all or g_out of the wrong shape (or dtype)
        args[at] = [args[at][:-1], args[at][..., :1], args[at].astype(other)][pick % 3]
    elif how == "target_dtype":
        args[1] = args[1].astype([np.int32, np.float64, np.uint8][pick % 3])
    elif how == "target_shape":
        args[1] = [args[1][:-1], args[1][None], args[1].reshape(2, 2)][pick % 3]
    elif how == "target_range":
        args[1] = args[1].copy()
        args[1][pick % args[1].size] = [-1, 3, 2**40, -101][pick % 4]
    elif how == "xent_g":
        args[3] = [args[3][:-1], args[3][:, None], args[3].astype(other)][pick % 3]
    elif how == "lstm_g_cn":
        args[7] = [args[7][:1], args[7].astype(other), args[7].reshape(-1)][pick % 3]
    else:  # pragma: no cover - a name in SPOILERS without a branch here
        raise AssertionError(f"unknown spoiler {how!r}")
    return args


def check_invalid(case):
    if not hasattr(ck, case["kernel"]):
        return "absent"
    rng = np.random.default_rng(case["seed"])
    args = _spoil(case, _legal_call(case, rng), rng)
    c_fn, ref_fn = getattr(ck, case["kernel"]), getattr(ref, case["kernel"])

    def compare(got, exp):
        got = got if isinstance(got, tuple) else (got,)
        exp = exp if isinstance(exp, tuple) else (exp,)
        for g, e in zip(got, exp):
            np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-4, equal_nan=True,
                                       err_msg=f"{case}")

    with np.errstate(all="ignore"):
        return _calls_alike(lambda: c_fn(*args), lambda: ref_fn(*args), compare)


# ------------------------------------------------------------------------------------
# Raw ffi calls: a Python model of csrc/tge.h's contract decides legality
# ------------------------------------------------------------------------------------

def _mul(*factors):
    """The product as the C code forms it (left to right, refusing negative factors and any
    partial product past INT64_MAX), or None where the C code reports overflow."""
    acc = 1
    for f in factors:
        if f < 0 or acc * f > INT64_MAX:
            return None
        acc *= f
    return acc


WILD = (-1, 0, 1, 2, 3, -(2**31), 2**31, 2**40, 2**62, INT64_MAX, INT64_MIN)


def _wild(src, value, bits=64):
    """A corrupted version of ``value``: off by one, zero, negative, or huge (kept within
    the C type's range: beyond it cffi itself refuses with OverflowError)."""
    lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    return min(max(src.choice([value + 1, value - 1, value * 2 + 1, -value - 1] + list(WILD)),
                   lo), hi)


def _buffer(rng, length, ctype, cap=RAW_CAP):
    """(pointer, keep-alive array) of exactly ``length`` elements (NULL when 0 or when the
    length is absurd; the call must then fail before touching it)."""
    if length <= 0 or length > cap:
        return ck.ffi.NULL, None
    dtype = {"float": np.float32, "double": np.float64, "int64_t": np.int64}[ctype]
    if dtype == np.int64:
        arr = np.zeros(length, dtype=np.int64)
    else:
        arr = rng.standard_normal(length).astype(dtype)
    return ck.ffi.from_buffer(f"{ctype}[]", arr), arr


def _mutate(src, fields: dict, names, rounds) -> dict:
    fields = dict(fields)
    for _ in range(rounds):
        name = src.choice(names)
        fields[name] = _wild(src, fields[name], 32 if name.startswith("trans") else 64)
    return fields


def gen_raw_gemm(src):
    batch, m, n, k = src.int(0, 3), size(src, 9), size(src, 9), size(src, 9)
    f = dict(batch=batch, m=m, n=n, k=k, a_len=batch * m * k, b_len=batch * k * n,
             c_len=batch * m * n, trans_a=src.int(0, 1), trans_b=src.int(0, 1))
    f = _mutate(src, f, sorted(f), src.choice([0, 1, 1, 2]))
    f.update(dtype=src.choice(DTYPES), null=src.choice([None, None, None, "a", "b", "c"]),
             seed=src.int(0, 2**32 - 1))
    return f


def legal_gemm(f) -> bool:
    if min(f["batch"], f["m"], f["n"], f["k"]) < 0:
        return False
    if f["trans_a"] not in (0, 1) or f["trans_b"] not in (0, 1):
        return False
    na, nb = _mul(f["batch"], f["m"], f["k"], 1), _mul(f["batch"], f["k"], f["n"], 1)
    nc, mn = _mul(f["batch"], f["m"], f["n"], 1), _mul(f["m"], f["n"])
    if None in (na, nb, nc, mn):
        return False
    if (f["a_len"], f["b_len"], f["c_len"]) != (na, nb, nc):
        return False
    return not any(f["null"] == name and f[f"{name}_len"] > 0 for name in "abc")


def check_raw_gemm(f):
    rng = np.random.default_rng(f["seed"])
    ctype = "float" if f["dtype"] == "float32" else "double"
    legal = legal_gemm(f)
    if legal and max(f["a_len"], f["b_len"], f["c_len"]) > RAW_CAP:
        return "skipped"
    bufs = {name: _buffer(rng, f[f"{name}_len"], ctype) for name in "abc"}
    if f["null"]:
        bufs[f["null"]] = (ck.ffi.NULL, None)
    if bufs["c"][1] is not None:
        bufs["c"][1][:] = 7.0  # must be overwritten (legal) or left alone (illegal)
    sfx = "f32" if ctype == "float" else "f64"
    fn = raw(f"tge_gemm_{sfx}")
    rc = fn(f["batch"], f["m"], f["n"], f["k"], bufs["a"][0], f["a_len"], f["trans_a"],
            bufs["b"][0], f["b_len"], f["trans_b"], bufs["c"][0], f["c_len"])
    if not legal:
        assert rc != 0, f"tge_gemm accepted an illegal call {f}"
        if bufs["c"][1] is not None:
            assert np.all(bufs["c"][1] == 7.0), f"tge_gemm wrote into c on error {f}"
        return "refused"
    assert rc == 0, f"tge_gemm refused a legal call with {rc}: {f}"
    if f["c_len"]:
        b_, m, n, k = f["batch"], f["m"], f["n"], f["k"]
        a = bufs["a"][1] if f["a_len"] else np.zeros(0, dtype=bufs["c"][1].dtype)
        b = bufs["b"][1] if f["b_len"] else np.zeros(0, dtype=bufs["c"][1].dtype)
        A = a.reshape((b_, k, m) if f["trans_a"] else (b_, m, k))
        B = b.reshape((b_, n, k) if f["trans_b"] else (b_, k, n))
        expected = exact_matmul(A, B, f["trans_a"], f["trans_b"]).reshape(-1)
        assert_close(bufs["c"][1], expected, f["dtype"], f"raw gemm {f}", k)
    return "ok"


_CONV_FIELDS = ("n", "c", "h", "w", "o", "kh", "kw", "sh", "sw", "ph", "pw", "oh", "ow")
_POOL_FIELDS = ("n", "c", "h", "w", "kh", "kw", "sh", "sw", "ph", "pw", "oh", "ow")


def gen_raw_conv(src):
    g = dict(n=size(src, 3), c=size(src, 3), o=size(src, 3), h=src.int(0, 7),
             w=src.int(0, 7), kh=src.int(1, 4), kw=src.int(1, 4), sh=src.int(1, 3),
             sw=src.int(1, 3), ph=src.int(0, 2), pw=src.int(0, 2))
    g["oh"] = max((g["h"] + 2 * g["ph"] - g["kh"]) // g["sh"] + 1, 0)
    g["ow"] = max((g["w"] + 2 * g["pw"] - g["kw"]) // g["sw"] + 1, 0)
    g.update(x_len=g["n"] * g["c"] * g["h"] * g["w"],
             w_len=g["o"] * g["c"] * g["kh"] * g["kw"],
             y_len=g["n"] * g["o"] * g["oh"] * g["ow"], b_len=g["o"])
    g = _mutate(src, g, sorted(g), src.choice([0, 1, 1, 2]))
    g.update(which=src.choice(["forward", "backward_input", "backward_weight"]),
             bias=src.bool(), dtype=src.choice(DTYPES),
             null=src.choice([None, None, None, "x", "w", "y"]), seed=src.int(0, 2**32 - 1))
    return g


def legal_conv(g) -> bool:
    if min(g[f] for f in ("n", "c", "h", "w", "o", "oh", "ow", "ph", "pw")) < 0:
        return False
    if min(g["kh"], g["kw"], g["sh"], g["sw"]) < 1:
        return False
    if g["h"] + 2 * g["ph"] > INT64_MAX or g["w"] + 2 * g["pw"] > INT64_MAX:
        return False
    span_h, span_w = g["h"] + 2 * g["ph"] - g["kh"], g["w"] + 2 * g["pw"] - g["kw"]
    if span_h < 0 or span_w < 0:
        return False
    if g["oh"] != span_h // g["sh"] + 1 or g["ow"] != span_w // g["sw"] + 1:
        return False
    nx, nw = _mul(g["n"], g["c"], g["h"], g["w"]), _mul(g["o"], g["c"], g["kh"], g["kw"])
    ny, ckk = _mul(g["n"], g["o"], g["oh"], g["ow"]), _mul(g["c"], g["kh"], g["kw"], 1)
    q = _mul(g["oh"], g["ow"])
    if None in (nx, nw, ny, ckk, q) or _mul(ckk, q) is None:
        return False
    if (g["x_len"], g["w_len"], g["y_len"]) != (nx, nw, ny):
        return False
    # the bias goes as NULL when absent or of length <= 0 (see check_raw_conv)
    bias_null = not g["bias"] or g["b_len"] <= 0
    if g["which"] == "forward" and g["b_len"] != (0 if bias_null else g["o"]):
        return False
    return not any(g["null"] == name and g[f"{name}_len"] > 0 for name in "xwy")


def check_raw_conv(g):
    rng = np.random.default_rng(g["seed"])
    ctype = "float" if g["dtype"] == "float32" else "double"
    sfx = "f32" if ctype == "float" else "f64"
    legal = legal_conv(g)
    if legal and max(g["x_len"], g["w_len"], g["y_len"]) > RAW_CAP:
        return "skipped"
    bufs = {name: _buffer(rng, g[f"{name}_len"], ctype) for name in "xwy"}
    if g["null"]:
        bufs[g["null"]] = (ck.ffi.NULL, None)
    out = {"forward": "y", "backward_input": "x", "backward_weight": "w"}[g["which"]]
    if bufs[out][1] is not None:
        bufs[out][1][:] = 7.0
    params = ck.ffi.new("tge_conv2d_params *", {f: g[f] for f in _CONV_FIELDS})
    if g["which"] == "forward":
        bias, bias_arr = _buffer(rng, g["b_len"], ctype) if g["bias"] else (ck.ffi.NULL, None)
        if g["bias"] and bias == ck.ffi.NULL and g["b_len"] > 0:
            bias, bias_arr = _buffer(rng, 1, ctype)  # a real pointer for a lying length
        rc = raw(f"tge_conv2d_forward_{sfx}")(
            params, bufs["x"][0], g["x_len"], bufs["w"][0], g["w_len"], bias, g["b_len"],
            bufs["y"][0], g["y_len"])
    elif g["which"] == "backward_input":
        rc = raw(f"tge_conv2d_backward_input_{sfx}")(
            params, bufs["y"][0], g["y_len"], bufs["w"][0], g["w_len"], bufs["x"][0],
            g["x_len"])
    else:
        rc = raw(f"tge_conv2d_backward_weight_{sfx}")(
            params, bufs["y"][0], g["y_len"], bufs["x"][0], g["x_len"], bufs["w"][0],
            g["w_len"])
    result = bufs[out][1]
    if not legal:
        assert rc != 0, f"tge_conv2d_{g['which']} accepted an illegal call {g}"
        if result is not None:
            assert np.all(result == 7.0), f"tge_conv2d_{g['which']} wrote on error {g}"
        return "refused"
    assert rc == 0, f"tge_conv2d_{g['which']} refused a legal call with {rc}: {g}"
    if result is None or not result.size:
        return "ok"
    dt = result.dtype

    def shaped(name, shape):
        arr = bufs[name][1]
        return arr.reshape(shape) if arr is not None else np.zeros(shape, dtype=dt)

    xs, ws = (g["n"], g["c"], g["h"], g["w"]), (g["o"], g["c"], g["kh"], g["kw"])
    ys = (g["n"], g["o"], g["oh"], g["ow"])
    s, p = (g["sh"], g["sw"]), (g["ph"], g["pw"])
    if g["h"] == 0 or g["w"] == 0:  # only padding is read: a zero input (Python refuses)
        if g["which"] == "forward":
            b = bias_arr if g["bias"] else np.zeros(g["o"], dt)
            expected = np.broadcast_to(b.reshape(1, -1, 1, 1), ys)
        else:
            expected = np.zeros(result.size, dt)
        assert_close(result.reshape(-1), np.ascontiguousarray(expected).reshape(-1), dt,
                     f"raw conv {g}")
        return "ok"
    if g["which"] == "forward":
        expected = ref.conv2d_forward(shaped("x", xs), shaped("w", ws),
                                      bias_arr if g["bias"] else None, s, p)
    elif g["which"] == "backward_input":
        expected = ref.conv2d_backward_input(shaped("y", ys), shaped("w", ws), xs, s, p)
    else:
        expected = ref.conv2d_backward_weight(shaped("y", ys), shaped("x", xs), ws, s, p)
    assert_close(result, expected.reshape(-1), dt, f"raw conv {g}",
                 g["c"] * g["kh"] * g["kw"] + g["n"] * g["oh"] * g["ow"] + g["o"])
    return "ok"


def gen_raw_pool(src):
    kh, kw = src.int(1, 4), src.int(1, 4)
    g = dict(n=size(src, 3), c=size(src, 3), h=src.int(0, 7), w=src.int(0, 7), kh=kh, kw=kw,
             sh=src.int(1, 3), sw=src.int(1, 3), ph=src.int(0, kh // 2), pw=src.int(0, kw // 2))
    g["oh"] = max((g["h"] + 2 * g["ph"] - kh) // g["sh"] + 1, 0)
    g["ow"] = max((g["w"] + 2 * g["pw"] - kw) // g["sw"] + 1, 0)
    g.update(x_len=g["n"] * g["c"] * g["h"] * g["w"], y_len=g["n"] * g["c"] * g["oh"] * g["ow"])
    g["i_len"] = g["y_len"]
    g = _mutate(src, g, sorted(g), src.choice([0, 1, 1, 2]))
    g.update(which=src.choice(["max_forward", "avg_forward", "avg_backward"]),
             dtype=src.choice(DTYPES), null=src.choice([None, None, None, "x", "y", "i"]),
             seed=src.int(0, 2**32 - 1))
    return g


def legal_pool(g) -> bool:
    if min(g[f] for f in ("n", "c", "h", "w", "oh", "ow", "ph", "pw")) < 0:
        return False
    if min(g["kh"], g["kw"], g["sh"], g["sw"]) < 1:
        return False
    if g["ph"] > g["kh"] // 2 or g["pw"] > g["kw"] // 2 or g["h"] < 1 or g["w"] < 1:
        return False
    span_h, span_w = g["h"] + 2 * g["ph"] - g["kh"], g["w"] + 2 * g["pw"] - g["kw"]
    if span_h < 0 or span_w < 0:
        return False
    if g["oh"] != span_h // g["sh"] + 1 or g["ow"] != span_w // g["sw"] + 1:
        return False
    nx, ny = _mul(g["n"], g["c"], g["h"], g["w"]), _mul(g["n"], g["c"], g["oh"], g["ow"])
    if None in (nx, ny) or (g["x_len"], g["y_len"]) != (nx, ny):
        return False
    if g["which"] == "max_forward" and g["i_len"] != ny:
        return False
    used = "xyi" if g["which"] == "max_forward" else "xy"
    return not any(g["null"] == name and g[f"{name}_len"] > 0 for name in used)


def check_raw_pool(g):
    rng = np.random.default_rng(g["seed"])
    ctype = "float" if g["dtype"] == "float32" else "double"
    sfx = "f32" if ctype == "float" else "f64"
    legal = legal_pool(g)
    if legal and max(g["x_len"], g["y_len"]) > RAW_CAP:
        return "skipped"
    bufs = {"x": _buffer(rng, g["x_len"], ctype), "y": _buffer(rng, g["y_len"], ctype),
            "i": _buffer(rng, g["i_len"], "int64_t")}
    if g["null"]:
        bufs[g["null"]] = (ck.ffi.NULL, None)
    out = "x" if g["which"] == "avg_backward" else "y"
    if bufs[out][1] is not None:
        bufs[out][1][:] = 7.0
    params = ck.ffi.new("tge_pool2d_params *", {f: g[f] for f in _POOL_FIELDS})
    if g["which"] == "max_forward":
        rc = raw(f"tge_max_pool2d_forward_{sfx}")(
            params, bufs["x"][0], g["x_len"], bufs["y"][0], g["y_len"], bufs["i"][0],
            g["i_len"])
    elif g["which"] == "avg_forward":
        rc = raw(f"tge_avg_pool2d_forward_{sfx}")(
            params, bufs["x"][0], g["x_len"], bufs["y"][0], g["y_len"])
    else:
        rc = raw(f"tge_avg_pool2d_backward_{sfx}")(
            params, bufs["y"][0], g["y_len"], bufs["x"][0], g["x_len"])
    result = bufs[out][1]
    if not legal:
        assert rc != 0, f"tge_{g['which']} accepted an illegal call {g}"
        if result is not None:
            assert np.all(result == 7.0), f"tge_{g['which']} wrote on error {g}"
        return "refused"
    assert rc == 0, f"tge_{g['which']} refused a legal call with {rc}: {g}"
    if result is None or not result.size:
        return "ok"
    xs = (g["n"], g["c"], g["h"], g["w"])
    k, s, p = (g["kh"], g["kw"]), (g["sh"], g["sw"]), (g["ph"], g["pw"])
    if g["which"] == "max_forward":
        y, idx = ref.max_pool2d_forward(bufs["x"][1].reshape(xs), k, s, p)
        np.testing.assert_array_equal(result, y.reshape(-1), err_msg=f"raw max pool {g}")
        np.testing.assert_array_equal(bufs["i"][1], idx.reshape(-1), err_msg=f"raw {g}")
    elif g["which"] == "avg_forward":
        y = ref.avg_pool2d_forward(bufs["x"][1].reshape(xs), k, s, p)
        assert_close(result, y.reshape(-1), result.dtype, f"raw avg pool {g}", k[0] * k[1])
    else:
        gy = bufs["y"][1].reshape(g["n"], g["c"], g["oh"], g["ow"])
        gx = ref.avg_pool2d_backward(gy, xs, k, s, p)
        assert_close(result, gx.reshape(-1), result.dtype, f"raw avg pool bwd {g}", k[0] * k[1])
    return "ok"


def gen_raw_max_backward(src):
    planes, in_plane, out_plane = size(src, 5), size(src, 12), size(src, 12)
    g = dict(planes=planes, in_plane=in_plane, out_plane=out_plane,
             gy_len=planes * out_plane, i_len=planes * out_plane, gx_len=planes * in_plane)
    g = _mutate(src, g, sorted(g), src.choice([0, 0, 1, 2]))
    g.update(bad_index=src.choice([None, None, -1, "in_plane", 2**40, INT64_MIN]),
             dtype=src.choice(DTYPES), null=src.choice([None, None, None, "gy", "i", "gx"]),
             seed=src.int(0, 2**32 - 1))
    return g


def check_raw_max_backward(g):
    rng = np.random.default_rng(g["seed"])
    ctype = "float" if g["dtype"] == "float32" else "double"
    sfx = "f32" if ctype == "float" else "f64"
    planes, in_plane, out_plane = g["planes"], g["in_plane"], g["out_plane"]
    shapes_ok = (min(planes, in_plane, out_plane) >= 0
                 and None not in (_mul(planes, in_plane), _mul(planes, out_plane))
                 and g["gx_len"] == _mul(planes, in_plane)
                 and g["gy_len"] == g["i_len"] == _mul(planes, out_plane))
    if shapes_ok and max(g["gx_len"], g["gy_len"]) > RAW_CAP:
        return "skipped"
    bufs = {"gy": _buffer(rng, g["gy_len"], ctype), "i": _buffer(rng, g["i_len"], "int64_t"),
            "gx": _buffer(rng, g["gx_len"], ctype)}
    indices = bufs["i"][1]
    if indices is not None and in_plane > 0:
        indices[:] = rng.integers(0, in_plane, size=indices.size)
    bad = g["bad_index"] is not None and indices is not None and indices.size > 0
    if bad:
        indices[rng.integers(indices.size)] = in_plane if g["bad_index"] == "in_plane" \
            else g["bad_index"]
    if g["null"]:
        bufs[g["null"]] = (ck.ffi.NULL, None)
    nulls = any(g["null"] == name and g[f"{name}_len"] > 0 for name in ("gy", "i", "gx"))
    legal = shapes_ok and not nulls and not (bad and g["gx_len"] > 0)
    if bufs["gx"][1] is not None:
        bufs["gx"][1][:] = 7.0
    rc = raw(f"tge_max_pool2d_backward_{sfx}")(
        planes, in_plane, out_plane, bufs["gy"][0], g["gy_len"], bufs["i"][0], g["i_len"],
        bufs["gx"][0], g["gx_len"])
    if not legal:
        assert rc != 0, f"tge_max_pool2d_backward accepted an illegal call {g}"
        if shapes_ok and bad and not nulls:
            assert rc == 5, f"an index outside the plane must give TGE_EINDEX, got {rc}: {g}"
        elif bufs["gx"][1] is not None:
            assert np.all(bufs["gx"][1] == 7.0), f"wrote on error {g}"
        return "refused"
    assert rc == 0, f"tge_max_pool2d_backward refused a legal call with {rc}: {g}"
    if g["gx_len"]:
        expected = np.zeros((planes, in_plane), dtype=bufs["gx"][1].dtype)
        if g["gy_len"]:
            np.add.at(expected, (np.arange(planes)[:, None], indices.reshape(planes, out_plane)),
                      bufs["gy"][1].reshape(planes, out_plane))
        assert_close(bufs["gx"][1], expected.reshape(-1), expected.dtype, f"raw {g}", out_plane)
    return "ok"


def gen_raw_elementwise(src):
    n = size(src, 50)
    g = _mutate(src, dict(n=n, x_len=n, y_len=n, gy_len=n), ["n", "x_len", "y_len", "gy_len"],
                src.choice([0, 1, 1, 2]))
    g.update(op=src.choice(sorted(ELEMENTWISE)), which=src.choice(["forward", "backward"]),
             dtype=src.choice(DTYPES), null=src.choice([None, None, "x", "y", "gy"]),
             seed=src.int(0, 2**32 - 1))
    return g


def check_raw_elementwise(g):
    op = g.get("op", "gelu")
    if not hasattr(ck.lib, f"tge_{op}_forward_f32"):
        return "absent"
    rng = np.random.default_rng(g["seed"])
    ctype = "float" if g["dtype"] == "float32" else "double"
    sfx = "f32" if ctype == "float" else "f64"
    used = ("x", "y") if g["which"] == "forward" else ("gy", "x", "y")
    legal = g["n"] >= 0 and all(g[f"{u}_len"] == g["n"] for u in used) and not any(
        g["null"] == u and g["n"] > 0 for u in used)
    bufs = {u: _buffer(rng, g[f"{u}_len"], ctype) for u in ("x", "y", "gy")}
    if g["null"]:
        bufs[g["null"]] = (ck.ffi.NULL, None)
    if bufs["y"][1] is not None:
        bufs["y"][1][:] = 7.0
    if g["which"] == "forward":
        rc = raw(f"tge_{op}_forward_{sfx}")(
            g["n"], bufs["x"][0], g["x_len"], bufs["y"][0], g["y_len"])
    else:
        rc = raw(f"tge_{op}_backward_{sfx}")(
            g["n"], bufs["gy"][0], g["gy_len"], bufs["x"][0], g["x_len"], bufs["y"][0],
            g["y_len"])
    if not legal:
        assert rc != 0, f"tge_{op}_{g['which']} accepted an illegal call {g}"
        if bufs["y"][1] is not None:
            assert np.all(bufs["y"][1] == 7.0), f"tge_{op} wrote on error {g}"
        return "refused"
    assert rc == 0, f"tge_{op}_{g['which']} refused a legal call with {rc}: {g}"
    if g["n"]:
        x = bufs["x"][1]
        expected = getattr(ref, f"{op}_forward")(x) if g["which"] == "forward" else \
            getattr(ref, f"{op}_backward")(bufs["gy"][1], x)
        tol = ELEMENTWISE[op][0 if ctype == "float" else 1]
        np.testing.assert_allclose(bufs["y"][1], expected, err_msg=f"raw {op} {g}", **tol)
    return "ok"


# ---- one LSTM layer (tge_lstm_forward / backward), when the module has it -------------

_LSTM_BUFFERS = {
    "forward": ("xw", "w_hh", "h0", "c0", "out", "c_all", "gates"),
    "backward": ("w_hh", "h0", "c0", "out", "c_all", "gates", "g_out", "g_cn", "g_xw", "g_h0",
                 "g_c0", "g_w_hh"),
}


def gen_raw_lstm(src):
    S, N, H = size(src, 4), size(src, 3), size(src, 5)
    nh = N * H
    g = dict(steps=S, batch=N, hidden=H, reverse=src.int(0, 1),
             xw_len=S * N * 4 * H, w_hh_len=4 * H * H, h0_len=nh, c0_len=nh, out_len=S * nh,
             c_all_len=S * nh, gates_len=S * N * 4 * H, g_out_len=S * nh, g_xw_len=S * N * 4 * H,
             g_h0_len=nh, g_c0_len=nh, g_w_hh_len=4 * H * H)
    g["g_cn"] = src.bool()
    g["g_cn_len"] = nh if g["g_cn"] else 0
    which = src.choice(["forward", "backward"])
    names = sorted(k for k in g if k in ("steps", "batch", "hidden", "reverse")
                   or k[:-4] in _LSTM_BUFFERS[which])
    g = _mutate(src, g, names, src.choice([0, 1, 1, 2]))
    g.update(which=which, dtype=src.choice(DTYPES), nan=src.int(0, 4) == 0,
             null=src.choice([None, None, None] + list(_LSTM_BUFFERS[which])),
             seed=src.int(0, 2**32 - 1))
    return g


def legal_lstm(g) -> bool:
    S, N, H = g["steps"], g["batch"], g["hidden"]
    if min(S, N, H) < 0 or g["reverse"] not in (0, 1):
        return False
    g4, nh = _mul(H, 4), _mul(N, H)
    snh = _mul(nh, S) if nh is not None else None
    sn4h, w4hh = _mul(S, N, g4 if g4 is not None else -1, 1), _mul(g4 or 0, H)
    if None in (g4, nh, snh, sn4h, w4hh):
        return False
    if g["which"] == "forward":
        want = dict(xw=sn4h, w_hh=w4hh, h0=nh, c0=nh, out=snh, c_all=snh, gates=sn4h)
        pairs = [("xw", ("xw", "gates")), ("w_hh", ("w_hh",)), ("h0", ("h0", "c0")),
                 ("out", ("out", "c_all"))]
    else:
        want = dict(gates=sn4h, w_hh=w4hh, h0=nh, c0=nh, out=snh, c_all=snh, g_out=snh,
                    g_xw=sn4h, g_h0=nh, g_c0=nh, g_w_hh=w4hh)
        # g_cn goes as NULL when absent, spoiled to NULL, or of length 0 (see _buffer)
        g_cn_null = not g["g_cn"] or g["null"] == "g_cn" or not 0 < g["g_cn_len"] <= RAW_CAP
        if g["g_cn_len"] != (0 if g_cn_null else nh):
            return False
        pairs = [("gates", ("gates", "g_xw")), ("w_hh", ("w_hh", "g_w_hh")),
                 ("h0", ("h0", "c0", "g_h0", "g_c0")), ("out", ("out", "c_all", "g_out"))]
    if any(g[f"{name}_len"] != length for name, length in want.items()):
        return False
    # a NULL buffer is refused when the length that governs it is not 0
    return not any(g["null"] in names and g[f"{lead}_len"] > 0 for lead, names in pairs)


def _lstm_forward_ref(S, H, reverse, xw, w_hh, h0, c0):
    """numpy, float64: (out, c_all, gates), as csrc/lstm_impl.inc documents."""
    if S == 0 or h0.size == 0:  # nothing to compute (S may be huge: no loop over it)
        return np.zeros(0), np.zeros(0), np.zeros(0)
    out, c_all = np.zeros((S,) + h0.shape), np.zeros((S,) + h0.shape)
    gates = np.zeros_like(xw)
    h, c = h0, c0
    for k in range(S):
        t = S - 1 - k if reverse else k
        z = xw[t] + h @ w_hh.T
        i, f = 1 / (1 + np.exp(-z[:, :H])), 1 / (1 + np.exp(-z[:, H:2 * H]))
        gg, o = np.tanh(z[:, 2 * H:3 * H]), 1 / (1 + np.exp(-z[:, 3 * H:]))
        c = f * c + i * gg
        h = o * np.tanh(c)
        out[t], c_all[t], gates[t] = h, c, np.concatenate([i, f, gg, o], axis=1)
    return out, c_all, gates


def _lstm_backward_ref(S, H, reverse, w_hh, h0, c0, out, c_all, gates, g_out, g_cn):
    """numpy, float64: (g_xw, g_h0, g_c0, g_w_hh) from the saved forward buffers."""
    if S == 0 or h0.size == 0:  # (S may be huge: no loop over it)
        g_c0 = g_cn if S == 0 and g_cn is not None else np.zeros_like(c0)
        return np.zeros(0), np.zeros_like(h0), g_c0, np.zeros_like(w_hh)
    dh, dc = np.zeros_like(h0), (g_cn.copy() if g_cn is not None else np.zeros_like(c0))
    g_xw, g_w = np.zeros_like(gates), np.zeros_like(w_hh)
    for k in range(S - 1, -1, -1):
        t = S - 1 - k if reverse else k
        tp = t + 1 if reverse else t - 1
        c_prev, h_prev = (c0, h0) if k == 0 else (c_all[tp], out[tp])
        dh = dh + g_out[t]
        i, f, gg, o = (gates[t][:, j * H:(j + 1) * H] for j in range(4))
        tc = np.tanh(c_all[t])
        dcc = dc + dh * o * (1 - tc * tc)
        dz = np.concatenate([dcc * gg * i * (1 - i), dcc * c_prev * f * (1 - f),
                             dcc * i * (1 - gg * gg), dh * tc * o * (1 - o)], axis=1)
        dc = dcc * f
        g_xw[t] = dz
        g_w += dz.T @ h_prev
        dh = dz @ w_hh
    return g_xw, dh, dc, g_w


def check_raw_lstm(g):
    if not hasattr(ck.lib, "tge_lstm_forward_f32"):
        return "absent"
    rng = np.random.default_rng(g["seed"])
    ctype = "float" if g["dtype"] == "float32" else "double"
    sfx = "f32" if ctype == "float" else "f64"
    legal = legal_lstm(g)
    names = _LSTM_BUFFERS[g["which"]]
    lengths = {name: g[f"{name}_len"] for name in names}
    if legal and max(lengths.values()) > RAW_CAP:
        return "skipped"
    bufs = {name: _buffer(rng, lengths[name], ctype) for name in names}
    if g["which"] == "backward" and not g["g_cn"]:
        bufs["g_cn"] = (ck.ffi.NULL, None)
    if g["null"]:
        bufs[g["null"]] = (ck.ffi.NULL, None)
    outputs = ("out", "c_all", "gates") if g["which"] == "forward" else \
        ("g_xw", "g_h0", "g_c0", "g_w_hh")
    for name in outputs:
        if bufs[name][1] is not None:
            bufs[name][1][:] = 7.0
    for name in names:  # NaN now and then in the inputs: it must spread, not crash
        if name not in outputs and g["nan"] and bufs[name][1] is not None:
            bufs[name][1][rng.random(bufs[name][1].size) < 0.1] = np.nan
    params = ck.ffi.new("tge_lstm_params *", {k: g[k] for k in ("steps", "batch", "hidden",
                                                                "reverse")})
    args = [params]
    for name in names:
        args += [bufs[name][0], lengths[name]]
    rc = raw(f"tge_lstm_{g['which']}_{sfx}")(*args)
    if not legal:
        assert rc != 0, f"tge_lstm_{g['which']} accepted an illegal call {g}"
        return "refused"
    assert rc == 0, f"tge_lstm_{g['which']} refused a legal call with {rc}: {g}"
    S, N, H = g["steps"], g["batch"], g["hidden"]

    def arr(name, shape):
        a = bufs[name][1]
        if a is None:  # an empty buffer; (2**62, 0, 4) is too big a shape even for zeros
            return np.zeros(shape if math.prod(shape) else (0,) * len(shape))
        return a.astype(np.float64).reshape(shape)

    if g["which"] == "forward":
        expected = _lstm_forward_ref(S, H, g["reverse"], arr("xw", (S, N, 4 * H)),
                                     arr("w_hh", (4 * H, H)), arr("h0", (N, H)),
                                     arr("c0", (N, H)))
    else:
        g_cn = arr("g_cn", (N, H)) if g["g_cn"] else None
        expected = _lstm_backward_ref(
            S, H, g["reverse"], arr("w_hh", (4 * H, H)), arr("h0", (N, H)), arr("c0", (N, H)),
            arr("out", (S, N, H)), arr("c_all", (S, N, H)), arr("gates", (S, N, 4 * H)),
            arr("g_out", (S, N, H)), g_cn)
    tol = dict(rtol=2e-4, atol=2e-5) if ctype == "float" else dict(rtol=1e-9, atol=1e-11)
    for name, exp in zip(outputs, expected):
        got = bufs[name][1]
        if got is None:
            continue
        with np.errstate(all="ignore"):
            np.testing.assert_allclose(got, exp.reshape(-1).astype(got.dtype), equal_nan=True,
                                       err_msg=f"raw lstm {name} {g}", **tol)
    return "nan" if g["nan"] else "ok"


# ---- the optimizer steps: spoiled wrapper calls, and raw calls ------------------------

OPTIM_SPOILERS = ["steps_short", "steps_zero", "first_short", "grads_fewer", "grad_shape",
                  "grad_dtype", "grad_strided", "param_readonly", "state_missing",
                  "state_shape", "param_int", "state_alias"]


def gen_invalid_optim(src):
    return dict(kind=src.choice(["adam", "sgd"]), spoil=src.choice(OPTIM_SPOILERS),
                count=src.int(1, 3), amsgrad=src.bool(), dtype=src.choice(DTYPES),
                pick=src.int(0, 1000), seed=src.int(0, 2**32 - 1))


def check_invalid_optim(case):
    """A spoiled call of c.adam_step / c.sgd_step must raise ValueError or TypeError before
    changing anything (there is no NumPy twin: the optimizers' _update is the reference)."""
    if not hasattr(ck, "adam_step"):
        return "absent"
    rng = np.random.default_rng(case["seed"])
    dt = np.dtype(case["dtype"])
    shapes = [(2, 3), (4,), (1, 2, 2)][: case["count"]]
    params = [values(rng, s, dt, "normal") for s in shapes]
    grads = [values(rng, s, dt, "normal") for s in shapes]
    state1 = [np.zeros(s, dt) for s in shapes]
    state2 = [np.zeros(s, dt) for s in shapes]
    state3 = [np.zeros(s, dt) for s in shapes]
    steps, first = [1] * len(shapes), [True] * len(shapes)
    how, pick = case["spoil"], case["pick"]
    if how == "steps_short":
        steps = steps[:-1] if pick % 2 else []
    elif how == "steps_zero":
        steps[pick % len(steps)] = [0, -1, -(2**40)][pick % 3]
    elif how == "first_short":
        first = first[:-1]
    elif how == "grads_fewer":
        grads = grads[:-1]
    elif how == "grad_shape":
        grads[0] = grads[0].reshape(-1)[:-1]
    elif how == "grad_dtype":
        grads[0] = grads[0].astype(np.float16 if pick % 2 else
                                   (np.float64 if dt == np.float32 else np.float32))
    elif how == "grad_strided":
        grads[0] = np.repeat(grads[0], 2, axis=-1)[..., ::2]
    elif how == "param_readonly":
        params[0].flags.writeable = False
    elif how == "state_missing":
        state1 = state1[:-1]
    elif how == "state_shape":  # exp_avg / the momentum buffer too small: C would write
        state1[0] = np.zeros(3, dt)  # past its end
    elif how == "param_int":
        params[0] = params[0].astype(np.int64)
    elif how == "state_alias":  # two state lists sharing an array: still a legal call
        state2 = state1
    before = [p.copy() for p in params]
    group = dict(lr=0.1, betas=(0.9, 0.99), eps=1e-8, weight_decay=0.01,
                 amsgrad=case["amsgrad"], maximize=False, momentum=0.9, dampening=0.0,
                 nesterov=False, decoupled=False)
    try:
        if case["kind"] == "adam":
            ck.adam_step(group, params, grads, state1, state2,
                         state3 if case["amsgrad"] else None, steps)
        else:
            ck.sgd_step(group, params, grads, state1, first)
    except (ValueError, TypeError) as exc:
        assert str(exc)
        assert all(same_values(p, b) for p, b in zip(params, before)), \
            f"an optimizer step refused {case} after changing parameters"
        return "raised"
    assert how in ("state_alias",) or (how == "steps_short" and case["kind"] == "sgd") or \
        (how == "first_short" and case["kind"] == "adam") or \
        (how == "steps_zero" and case["kind"] == "sgd"), f"accepted a spoiled call: {case}"
    return "ok"


def gen_raw_optim(src):
    count = src.int(0, 4)
    g = dict(kind=src.choice(["adam", "sgd"]), count=count,
             sizes=[size(src, 6) for _ in range(count)],
             steps=[src.choice([1, 1, 2, 7, 0, -1]) for _ in range(count)],
             amsgrad=src.bool(), momentum=src.choice([0.0, 0.9]), first=src.bool(),
             null_array=src.choice([None] * 6 + ["params", "grads", "sizes", "steps", "state",
                                                 "state2", "max", "buffers", "first", "hp"]),
             null_entry=src.int(-1, max(count - 1, 0)) if src.bool() else None,
             dtype=src.choice(DTYPES), seed=src.int(0, 2**32 - 1))
    if src.int(0, 3) == 0:  # a corrupted count or size
        if src.bool():
            g["count"] = _wild(src, count)
        elif count:
            g["sizes"][src.int(0, count - 1)] = src.choice([-1, -(2**40), INT64_MIN])
    return g


def legal_raw_optim(g) -> bool:
    count, sizes, null = g["count"], g["sizes"], g["null_array"]
    if count < 0 or count > len(sizes):
        return count == 0  # (a count past the arrays is never passed: see check_raw_optim)
    if null == "hp":
        return False
    if count > 0 and null in ("params", "grads", "sizes"):
        return False
    if any(sizes[i] < 0 for i in range(count)):
        return False
    needed = lambda i: sizes[i] > 0  # noqa: E731 - entries of empty parameters may be NULL
    entry = g["null_entry"]
    if g["kind"] == "adam":
        if count > 0 and null in ("state", "state2", "steps"):
            return False
        if g["amsgrad"] and count > 0 and null == "max":
            return False
        if any(g["steps"][i] < 1 for i in range(count)):
            return False
        return not (entry is not None and 0 <= entry < count and needed(entry))
    momentum = g["momentum"] != 0
    if momentum and count > 0 and null in ("buffers", "first"):
        return False
    return not (entry is not None and 0 <= entry < count and needed(entry))


def check_raw_optim(g):
    if not hasattr(ck.lib, "tge_adam_step_f32"):
        return "absent"
    rng = np.random.default_rng(g["seed"])
    ctype = "float" if g["dtype"] == "float32" else "double"
    sfx = "f32" if ctype == "float" else "f64"
    count = g["count"]
    if count > len(g["sizes"]):  # the arrays hold len(sizes) entries: a larger count would
        return "skipped"         # make C read past them, a caller's lie it cannot detect
    n = max(count, 0)
    sizes = [max(s, 0) if abs(s) <= 64 else 0 for s in g["sizes"][:n]]
    keep = []

    def arrays(fill=None):
        out = []
        for s in sizes:
            a = rng.standard_normal(s).astype(np.float32 if ctype == "float" else np.float64)
            if fill is not None:
                a[:] = fill
            out.append(a)
        keep.append(out)
        return out

    params, grads = arrays(), arrays()
    m, v, vmax, bufs = arrays(0.0), arrays(0.0), arrays(0.0), arrays(0.0)
    before = [p.copy() for p in params]

    def ptrs(arrs, which):
        if g["null_array"] == which:
            return ck.ffi.NULL
        items = [_buffer_of(a, ctype) for a in arrs]
        e = g["null_entry"]
        if e is not None and 0 <= e < len(items) and which in ("params", "grads", "state",
                                                                  "state2", "max", "buffers"):
            items[e] = ck.ffi.NULL
        return ck.ffi.new(f"{ctype} *[]", items) if items else ck.ffi.new(f"{ctype} *[]", 1)

    sizes_c = ck.ffi.NULL if g["null_array"] == "sizes" else ck.ffi.new(
        "int64_t[]", g["sizes"][:n] or [0])
    legal = legal_raw_optim(g)
    if g["kind"] == "adam":
        hp = ck.ffi.NULL if g["null_array"] == "hp" else ck.ffi.new("tge_adam_params *", dict(
            lr=0.1, beta1=0.9, beta2=0.99, eps=1e-8, weight_decay=0.0, decoupled=0,
            amsgrad=int(g["amsgrad"]), maximize=0))
        steps = ck.ffi.NULL if g["null_array"] == "steps" else ck.ffi.new(
            "int64_t[]", g["steps"][:n] or [1])
        rc = raw(f"tge_adam_step_{sfx}")(
            hp, count, ptrs(params, "params"), ptrs(grads, "grads"), ptrs(m, "state"),
            ptrs(v, "state2"), ptrs(vmax, "max") if g["amsgrad"] else ck.ffi.NULL, sizes_c,
            steps)
    else:
        hp = ck.ffi.NULL if g["null_array"] == "hp" else ck.ffi.new("tge_sgd_params *", dict(
            lr=0.1, momentum=g["momentum"], dampening=0.0, weight_decay=0.0, nesterov=0,
            maximize=0))
        first = ck.ffi.NULL if g["null_array"] == "first" else ck.ffi.new(
            "int64_t[]", [int(g["first"])] * max(n, 1))
        rc = raw(f"tge_sgd_step_{sfx}")(
            hp, count, ptrs(params, "params"), ptrs(grads, "grads"),
            ptrs(bufs, "buffers") if g["momentum"] else ck.ffi.NULL, first, sizes_c)
    if not legal:
        assert rc != 0, f"tge_{g['kind']}_step accepted an illegal call {g}"
        assert all(same_values(p, b) for p, b in zip(params, before)), f"wrote on error {g}"
        return "refused"
    assert rc == 0, f"tge_{g['kind']}_step refused a legal call with {rc}: {g}"
    changed = [not same_values(p, b) for p, b in zip(params, before)]
    assert all(changed[i] == (sizes[i] > 0) for i in range(n)), (g, changed)
    return "ok"


def _buffer_of(arr, ctype):
    return ck.ffi.from_buffer(f"{ctype}[]", arr) if arr.size else ck.ffi.NULL


def gen_threads(src):
    return dict(n=src.choice([-5, -1, 0, 1, 2, 3, 4, 7, 64, 2**31 - 1, -(2**31)]))


def check_threads(case):
    before = raw("tge_get_num_threads")()
    try:
        rc = raw("tge_set_num_threads")(case["n"])
        if case["n"] < 0:
            assert rc == 1 and raw("tge_get_num_threads")() == before, case
            return "refused"
        assert rc == 0, case
        got = raw("tge_get_num_threads")()
        assert got == case["n"] if case["n"] > 0 else got >= 1, (case, got)
        return "ok"
    finally:
        raw("tge_set_num_threads")(before)


def gen_measure(src):
    return dict(iters=src.choice([INT64_MIN, -(2**40), -1, 0, 1, 2, 7, 100, 5000]))


def check_measure(case):
    """The benchmarks' peak-FMA probe (peak.c), when the module has it."""
    if not hasattr(ck.lib, "tge_fma_peak_gflops_f32"):
        return "absent"
    gflops = raw("tge_fma_peak_gflops_f32")(case["iters"])
    if case["iters"] < 1:
        assert gflops == 0.0, (case, gflops)
        return "refused"
    assert math.isfinite(gflops) and gflops >= 0.0, (case, gflops)
    return "ok"


def gen_malloc_tune(src):
    values = [INT64_MIN, -1, 0, 1, 4096, 32 << 20, (32 << 20) + 1, 2**31, INT64_MAX]
    return dict(mmap=src.choice(values), trim=src.choice(values))


def check_malloc_tune(case):
    """The allocator setting of alloc.c: negative values refused, anything else accepted
    (or refused by the C library, e.g. under AddressSanitizer's allocator); the setting c.py
    makes at load is restored after."""
    if not hasattr(ck.lib, "tge_malloc_tune"):
        return "absent"
    try:
        rc = raw("tge_malloc_tune")(case["mmap"], case["trim"])
    finally:
        raw("tge_malloc_tune")(32 << 20, 512 << 20)
    if min(case["mmap"], case["trim"]) < 0:
        assert rc == 1, (case, rc)
        return "refused"
    assert rc in (0, 1), (case, rc)
    return "ok" if rc == 0 else "refused"


# ------------------------------------------------------------------------------------
# The registry
# ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    name: str
    generate: Callable
    check: Callable
    kernels: tuple  # the entries of c._KERNELS it exercises
    weight: int = 1  # share of the long run


TARGETS = {t.name: t for t in (
    Target("matmul", gen_matmul, check_matmul, ("gemm",), 3),
    Target("conv2d", gen_conv, check_conv,
           ("conv2d_forward", "conv2d_backward_input", "conv2d_backward_weight"), 3),
    Target("pool2d", gen_pool, check_pool,
           ("max_pool2d_forward", "max_pool2d_backward", "avg_pool2d_forward",
            "avg_pool2d_backward"), 3),
    Target("elementwise", gen_elementwise, check_elementwise,
           ("gelu_forward", "gelu_backward", "relu_forward", "relu_backward"), 2),
    Target("lstm", gen_lstm, check_lstm, ("lstm_forward", "lstm_backward"), 2),
    Target("optim", gen_optim, check_optim, ("adam_step", "sgd_step"), 2),
    Target("xent", gen_xent, check_xent, ("softmax_xent_forward", "softmax_xent_backward"), 2),
    Target("invalid_optim", gen_invalid_optim, check_invalid_optim, (), 1),
    Target("invalid", gen_invalid, check_invalid, (), 2),
    Target("raw_gemm", gen_raw_gemm, check_raw_gemm, ("gemm",), 2),
    Target("raw_conv", gen_raw_conv, check_raw_conv,
           ("conv2d_forward", "conv2d_backward_input", "conv2d_backward_weight"), 2),
    Target("raw_pool", gen_raw_pool, check_raw_pool,
           ("max_pool2d_forward", "avg_pool2d_forward", "avg_pool2d_backward"), 2),
    Target("raw_max_backward", gen_raw_max_backward, check_raw_max_backward,
           ("max_pool2d_backward",), 1),
    Target("raw_elementwise", gen_raw_elementwise, check_raw_elementwise,
           ("gelu_forward", "gelu_backward", "relu_forward", "relu_backward"), 2),
    Target("raw_optim", gen_raw_optim, check_raw_optim, ("adam_step", "sgd_step"), 2),
    Target("raw_xent", gen_raw_xent, check_raw_xent,
           ("softmax_xent_forward", "softmax_xent_backward"), 2),
    Target("raw_lstm", gen_raw_lstm, check_raw_lstm, ("lstm_forward", "lstm_backward"), 2),
    Target("threads", gen_threads, check_threads, (), 1),
    Target("measure", gen_measure, check_measure, (), 1),
    Target("malloc_tune", gen_malloc_tune, check_malloc_tune, (), 1),
)}


def covered_kernels() -> set:
    """The kernels (names in ``c._KERNELS``) that some target exercises, through the
    wrapper and through the raw ffi."""
    wrapped = set().union(*(t.kernels for t in TARGETS.values() if not t.name.startswith("raw")))
    raw = set().union(*(t.kernels for t in TARGETS.values() if t.name.startswith("raw")))
    return wrapped & raw


def run_case(target_name: str, case: dict) -> str:
    """Check one case of a target; returns its outcome tag, raises on a failure."""
    with np.errstate(all="ignore"):
        return TARGETS[target_name].check(case)
