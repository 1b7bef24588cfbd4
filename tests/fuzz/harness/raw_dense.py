"""Raw ffi calls of matmul, convolution, pooling and the elementwise kernels: a Python
model of csrc/tge.h's contract decides legality.
"""
from __future__ import annotations

import numpy as np

from tinygrad_edu.backends import c as ck
from tinygrad_edu.backends import numpy_ref as ref

from .common import (
    DTYPES, INT64_MAX, INT64_MIN, RAW_CAP, _buffer, _mul, _mutate, assert_close, raw,
    size)
from .dense import ELEMENTWISE_KERNELS, arity, elementwise_tolerance, exact_matmul


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


def _raw_buffers(rng, f, names, ctype, out):
    """A buffer per name, exactly as long as the call claims (NULL where the case says), the
    output ``out`` filled with 7.0: a legal call must overwrite it, a refused one leave it."""
    bufs = {name: _buffer(rng, f[f"{name}_len"], ctype) for name in names}
    if f["null"]:
        bufs[f["null"]] = (ck.ffi.NULL, None)
    if bufs[out][1] is not None:
        bufs[out][1][:] = 7.0
    return bufs


def _refused_untouched(rc, legal, out, fn_name, f) -> bool:
    """An illegal call returned an error code and left ``out`` (its array or None) alone;
    a legal one returned 0.  True when the call was (rightly) refused."""
    if not legal:
        assert rc != 0, f"{fn_name} accepted an illegal call {f}"
        assert out is None or np.all(out == 7.0), f"{fn_name} wrote into its output on error {f}"
        return True
    assert rc == 0, f"{fn_name} refused a legal call with {rc}: {f}"
    return False


def check_raw_gemm(f):
    rng = np.random.default_rng(f["seed"])
    ctype = "float" if f["dtype"] == "float32" else "double"
    legal = legal_gemm(f)
    if legal and max(f["a_len"], f["b_len"], f["c_len"]) > RAW_CAP:
        return "skipped"
    bufs = _raw_buffers(rng, f, "abc", ctype, "c")
    sfx = "f32" if ctype == "float" else "f64"
    fn = raw(f"tge_matmul_{sfx}")
    rc = fn(f["batch"], f["m"], f["n"], f["k"], bufs["a"][0], f["a_len"], f["trans_a"],
            bufs["b"][0], f["b_len"], f["trans_b"], bufs["c"][0], f["c_len"])
    if _refused_untouched(rc, legal, bufs["c"][1], "tge_matmul", f):
        return "refused"
    if f["c_len"]:
        b_, m, n, k = f["batch"], f["m"], f["n"], f["k"]
        a = bufs["a"][1] if f["a_len"] else np.zeros(0, dtype=bufs["c"][1].dtype)
        b = bufs["b"][1] if f["b_len"] else np.zeros(0, dtype=bufs["c"][1].dtype)
        A = a.reshape((b_, k, m) if f["trans_a"] else (b_, m, k))
        B = b.reshape((b_, n, k) if f["trans_b"] else (b_, k, n))
        expected = exact_matmul(A, B, f["trans_a"], f["trans_b"]).reshape(-1)
        assert_close(bufs["c"][1], expected, f["dtype"], f"raw gemm {f}", k)
    return "ok"


def gen_raw_linear(src):
    m, n, k = size(src, 9), size(src, 9), size(src, 9)
    f = dict(m=m, n=n, k=k, x_len=m * k, w_len=n * k, bias_len=n, y_len=m * n,
             trans_w=src.int(0, 1))
    f = _mutate(src, f, sorted(f), src.choice([0, 1, 1, 2]))
    f.update(dtype=src.choice(DTYPES), null=src.choice([None, None, None, "x", "w", "bias", "y"]),
             seed=src.int(0, 2**32 - 1))
    return f


def legal_linear(f) -> bool:
    if min(f["m"], f["n"], f["k"]) < 0 or f["trans_w"] not in (0, 1):
        return False
    nx, nw, ny = _mul(f["m"], f["k"]), _mul(f["n"], f["k"]), _mul(f["m"], f["n"])
    if None in (nx, nw, ny):
        return False
    if (f["x_len"], f["w_len"], f["bias_len"], f["y_len"]) != (nx, nw, f["n"], ny):
        return False
    return not any(f["null"] == name and f[f"{name}_len"] > 0 for name in ("x", "w", "bias", "y"))


def check_raw_linear(f):
    """tge_linear_forward called raw: refused without writing y, or y = x @ w^T + bias."""
    rng = np.random.default_rng(f["seed"])
    ctype = "float" if f["dtype"] == "float32" else "double"
    legal = legal_linear(f)
    if legal and max(f["x_len"], f["w_len"], f["y_len"]) > RAW_CAP:
        return "skipped"
    bufs = _raw_buffers(rng, f, ("x", "w", "bias", "y"), ctype, "y")
    fn = raw(f"tge_linear_forward_{'f32' if ctype == 'float' else 'f64'}")
    rc = fn(f["m"], f["n"], f["k"], bufs["x"][0], f["x_len"], bufs["w"][0], f["w_len"],
            f["trans_w"], bufs["bias"][0], f["bias_len"], bufs["y"][0], f["y_len"])
    if _refused_untouched(rc, legal, bufs["y"][1], "tge_linear_forward", f):
        return "refused"
    if f["y_len"]:
        m, n, k = f["m"], f["n"], f["k"]
        dt = bufs["y"][1].dtype
        x = bufs["x"][1] if f["x_len"] else np.zeros(0, dtype=dt)
        w = bufs["w"][1] if f["w_len"] else np.zeros(0, dtype=dt)
        w = w.reshape((n, k) if f["trans_w"] else (k, n))
        expected = exact_matmul(x.reshape(m, k), w, False, bool(f["trans_w"])) + bufs["bias"][1]
        assert_close(bufs["y"][1], expected.reshape(-1), f["dtype"], f"raw linear {f}", k + 1)
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
    # the informational query of csrc/conv.c: 0 or 1 for any block (0 for one the kernels
    # refuse, whatever the lengths, which it does not take), 1 only for 3x3 stride 1
    size = 4 if ctype == "float" else 8
    winograd = raw("tge_conv2d_winograd")(params, size)
    assert winograd in (0, 1), f"tge_conv2d_winograd gave {winograd} for {g}"
    if winograd:
        assert (g["kh"], g["kw"], g["sh"], g["sw"]) == (3, 3, 1, 1), g
    assert raw("tge_conv2d_winograd")(params, size + 1) == 0
    assert raw("tge_conv2d_winograd")(ck.ffi.NULL, size) == 0
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
    """tge_<op>(n, in0, in0_len, ..., out, out_len) with random, often wrong, lengths."""
    op = src.choice(ELEMENTWISE_KERNELS)
    names = [f"in{i}" for i in range(arity(op))] + ["out"]
    n = size(src, 50)
    g = _mutate(src, dict(n=n, **{f"{u}_len": n for u in names}),
                ["n"] + [f"{u}_len" for u in names], src.choice([0, 1, 1, 2]))
    g.update(op=op, dtype=src.choice(DTYPES), null=src.choice([None, None] + names),
             seed=src.int(0, 2**32 - 1))
    return g


def check_raw_elementwise(g):
    op = g["op"]
    if not hasattr(ck.lib, f"tge_{op}_f32"):
        return "absent"
    rng = np.random.default_rng(g["seed"])
    ctype = "float" if g["dtype"] == "float32" else "double"
    sfx = "f32" if ctype == "float" else "f64"
    names = [f"in{i}" for i in range(arity(op))] + ["out"]
    legal = g["n"] >= 0 and all(g[f"{u}_len"] == g["n"] for u in names) and not (
        g["null"] is not None and g["n"] > 0)
    bufs = {u: _buffer(rng, g[f"{u}_len"], ctype) for u in names}
    if g["null"]:
        bufs[g["null"]] = (ck.ffi.NULL, None)
    if bufs["out"][1] is not None:
        bufs["out"][1][:] = 7.0
    args = [g["n"]]
    for u in names:
        args += [bufs[u][0], g[f"{u}_len"]]
    rc = raw(f"tge_{op}_{sfx}")(*args)
    if not legal:
        assert rc != 0, f"tge_{op} accepted an illegal call {g}"
        if bufs["out"][1] is not None:
            assert np.all(bufs["out"][1] == 7.0), f"tge_{op} wrote on error {g}"
        return "refused"
    assert rc == 0, f"tge_{op} refused a legal call with {rc}: {g}"
    if g["n"]:
        expected = getattr(ref, op)(*[bufs[u][1] for u in names[:-1]])
        np.testing.assert_allclose(bufs["out"][1], expected, err_msg=f"raw {op} {g}",
                                   **elementwise_tolerance(op, np.dtype(g["dtype"])))
    return "ok"
