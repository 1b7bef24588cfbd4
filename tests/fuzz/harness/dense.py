"""Differential targets through the wrappers: matmul, conv2d, pooling, and every
elementwise kernel of the contract (C table against the NumPy twins).
"""
from __future__ import annotations

import numpy as np

from tinygrad_edu.backends import c as ck
from tinygrad_edu.backends import contract
from tinygrad_edu.backends import numpy_ref as ref

from .common import (
    DTYPES, LAYOUTS, VALUE_KINDS, _Threads, _calls_alike, assert_close, lay_out,
    same_values, size, values)


# ------------------------------------------------------------------------------------
# matmul (tge_matmul_f32 / _f64)
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
# linear_forward (tge_linear_forward_f32 / _f64): x @ w^T + bias
# ------------------------------------------------------------------------------------

def gen_linear(src):
    case = gen_matmul(src)
    case.update(batch=None, trans_a=False, trans_b=True)
    return case


def check_linear(case):
    """The fused bias against the product then the bias: the same numbers, bit for bit
    (NaN where NaN), on any thread count; and against the twin or the exact sum."""
    x, w = _matmul_operands(case)
    bias = lay_out(values(np.random.default_rng(case["seed"] + 1), (case["n"],),
                          np.dtype(case["dtype"]), case["values"]), case["layout_b"])
    inputs = [a.copy() for a in (x, w, bias)]
    with _Threads(case["threads"]):
        out = ck.linear_forward(x, w, bias)
        unfused = ck.matmul(x, w, False, True) + bias
    assert all(same_values(a, a0) for a, a0 in zip((x, w, bias), inputs)), \
        "linear_forward changed its inputs"
    np.testing.assert_array_equal(out, unfused, err_msg=f"linear_forward {case}")
    if case["values"] == "special":
        with np.errstate(invalid="ignore", over="ignore"):
            expected = exact_matmul(x, w, False, True) + bias
    else:
        expected = ref.linear_forward(x, w, bias)
    assert_close(out, expected, case["dtype"], f"linear_forward {case}", terms=case["k"] + 1)
    return "special" if case["values"] == "special" else "ok"


# ------------------------------------------------------------------------------------
# conv2d (tge_conv2d_forward / backward_input / backward_weight)
# ------------------------------------------------------------------------------------

def gen_conv(src):
    big = src.int(0, 14) == 0
    # now and then channel counts that fill most of a vector: the direct kernels of
    # csrc/conv_direct.inc (AVX-512) take only those
    wide = src.int(0, 4) == 0
    # and among those, half the time 3x3 stride 1: Winograd's path (csrc/conv_winograd.inc)
    wino = wide and src.bool()
    return dict(
        dtype=src.choice(DTYPES), n=size(src, 4),
        c=src.int(12 if wino else 6, 20) if wide else size(src, 4),
        o=src.int(6, 40) if wide else size(src, 5),
        h=src.int(1, 30 if big else 9), w=src.int(1, 30 if big else 9),
        kh=3 if wino else src.int(1, 5), kw=3 if wino else src.int(1, 5),
        sh=1 if wino else src.int(1, 3), sw=1 if wino else src.int(1, 3),
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
# elementwise kernels: every kernel of the contract registered with elementwise=True
# ------------------------------------------------------------------------------------

#: the elementwise kernels, read from the contract: a new one is fuzzed without an entry here
ELEMENTWISE_KERNELS = tuple(sorted(n for n, k in contract.KERNELS.items() if k.elementwise))
#: kernels that must agree to the bit (the others: float32 to 1e-5, float64 to 1e-12)
EXACT = {"relu_forward", "relu_backward"}


def elementwise_tolerance(name, dtype) -> dict:
    if name in EXACT:
        return dict(rtol=0, atol=0)
    return dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-13)


def arity(name) -> int:
    """The number of input arrays of an elementwise kernel (its twin's parameters)."""
    return len(contract.KERNELS[name].signature.parameters)


def gen_elementwise(src):
    ndim = src.int(0, 4)
    return dict(op=src.choice(ELEMENTWISE_KERNELS), dtype=src.choice(DTYPES),
                shape=[size(src, 7) for _ in range(ndim)], big=src.int(0, 19) == 0,
                layout=src.choice(LAYOUTS), values=src.choice(VALUE_KINDS),
                scale=src.choice([1.0, 1.0, 5.0, 30.0]), threads=src.choice([0, 1, 2]),
                seed=src.int(0, 2**32 - 1))


def check_elementwise(case):
    op = case["op"]
    if not hasattr(ck, op):
        return "absent"
    rng = np.random.default_rng(case["seed"])
    dt = np.dtype(case["dtype"])
    shape = [300, 1100] if case["big"] else case["shape"]  # big: the threaded split
    # the last input is the point x (scaled, in a random layout); any before it are
    # upstream gradients gy (as the kernels' (gy, x) convention)
    inputs = [values(rng, shape, dt, case["values"]) for _ in range(arity(op) - 1)]
    with np.errstate(all="ignore"):
        x = np.asarray(values(rng, shape, np.float64, case["values"]) * case["scale"], dtype=dt)
    inputs.append(lay_out(x, case["layout"]))
    kept = [a.copy() for a in inputs]
    # where an input is infinite, C in float32 and the float64 reference may differ between
    # inf and NaN (inf * a derivative that underflows); both must then be "not finite"
    loose = np.zeros(np.broadcast_shapes(*[a.shape for a in inputs]), bool)
    for a in inputs:
        loose |= np.isinf(a)
    with _Threads(case["threads"]), np.errstate(all="ignore"):
        got, exp = getattr(ck, op)(*inputs), getattr(ref, op)(*inputs)
    assert got.dtype == dt and got.shape == exp.shape and got.flags.c_contiguous
    if loose.any():
        assert np.array_equal(np.isfinite(got[loose]), np.isfinite(exp[loose])) or \
            (not np.isfinite(got[loose]).any() and not np.isfinite(exp[loose]).any()), \
            f"{op}: finiteness differs at infinite inputs {case}"
        got, exp = got[~loose], exp[~loose]
    np.testing.assert_allclose(got, exp, equal_nan=True, err_msg=f"{op} {case}",
                               **elementwise_tolerance(op, dt))
    assert all(same_values(a, b) for a, b in zip(inputs, kept)), f"{op} changed its input"
    return "ok"
