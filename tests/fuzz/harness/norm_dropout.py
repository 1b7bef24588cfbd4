"""Fuzz targets of the LayerNorm and dropout kernels: the C table against the NumPy twins
(layer_norm, dropout) and the compiled functions called raw (raw_layer_norm, raw_dropout).
"""
from __future__ import annotations

import numpy as np

from tinygrad_edu.backends import c as ck
from tinygrad_edu.backends import numpy_ref as ref
from tinygrad_edu.backends.numpy_ref.dropout import keep_bits

from .common import (
    DTYPES, INT64_MAX, INT64_MIN, LAYOUTS, RAW_CAP, VALUE_KINDS, _buffer, _calls_alike, _mul,
    _mutate, lay_out, raw, size, values)


def _close(a, e, dt, what):
    assert isinstance(a, np.ndarray) and a.dtype == dt and a.shape == e.shape, what
    assert a.flags.c_contiguous, f"{what}: not C-contiguous"
    tol = 2e-4 if dt == np.float32 else 1e-10
    with np.errstate(all="ignore"):
        scale = float(np.nanmax(np.abs(np.where(np.isfinite(e), e, 0)))) if e.size else 0.0
    np.testing.assert_allclose(a, e, rtol=tol, atol=tol * (1 + scale), equal_nan=True,
                               err_msg=what)


# ---- through the wrappers ------------------------------------------------------------

def gen_layer_norm(src):
    return dict(dtype=src.choice(DTYPES), rows=size(src, 6), d=size(src, 9),
                weight=src.bool(), bias=src.bool(), needs=[src.bool(), src.bool(), src.bool()],
                layout=src.choice(LAYOUTS), values=src.choice(VALUE_KINDS),
                # (not eps=0: a constant row is then 0/0, NaN or +-1 by the rounding of its mean)
                eps=src.choice([1e-5, 1e-5, 1e-3, 1.0]), threads=src.choice([0, 1, 2]),
                seed=src.int(0, 2**32 - 1))


def check_layer_norm(case):
    if not hasattr(ck, "layer_norm_forward"):
        return "absent"
    rng = np.random.default_rng(case["seed"])
    dt = np.dtype(case["dtype"])
    rows, d = case["rows"], case["d"]
    x = lay_out(values(rng, (rows, d), dt, case["values"]) * dt.type(3), case["layout"])
    w = values(rng, (d,), dt, "normal") if case["weight"] else None
    b = values(rng, (d,), dt, "normal") if case["bias"] else None
    g = lay_out(values(rng, (rows, d), dt, case["values"]), case["layout"])
    x0 = np.array(x, copy=True)
    from .common import _Threads

    with _Threads(case["threads"]), np.errstate(all="ignore"):
        def same(got, exp):
            for i, (a, e) in enumerate(zip(got, exp)):
                assert (a is None) == (e is None), f"layer_norm output {i}: {case}"
                if a is not None:
                    _close(a, e, dt, f"layer_norm output {i}: {case}")

        if _calls_alike(lambda: ck.layer_norm_forward(x, w, b, case["eps"]),
                        lambda: ref.layer_norm_forward(x, w, b, case["eps"]), same) == "raised":
            return "refused"
        _, mean, rstd = ref.layer_norm_forward(x, w, b, case["eps"])
        _calls_alike(lambda: ck.layer_norm_backward(g, x, w, mean, rstd, tuple(case["needs"])),
                     lambda: ref.layer_norm_backward(g, x, w, mean, rstd, tuple(case["needs"])),
                     same)
    assert np.array_equal(x, x0, equal_nan=True), "layer_norm changed its input"
    return "special" if case["values"] == "special" else "ok"


def gen_dropout(src):
    return dict(dtype=src.choice(DTYPES), shape=[size(src, 7) for _ in range(src.int(0, 3))],
                p=src.choice([0.0, 0.1, 0.5, 0.999, 1.0, -0.1, 1.5]),
                key=src.choice([0, 1, 2**62, 2**63 - 1, -1]), layout=src.choice(LAYOUTS),
                values=src.choice(VALUE_KINDS), threads=src.choice([0, 1, 2]),
                seed=src.int(0, 2**32 - 1))


def check_dropout(case):
    if not hasattr(ck, "dropout"):
        return "absent"
    rng = np.random.default_rng(case["seed"])
    dt = np.dtype(case["dtype"])
    x = lay_out(values(rng, tuple(case["shape"]), dt, case["values"]), case["layout"])
    from .common import _Threads

    def same(a, e):
        assert a.dtype == dt and a.shape == e.shape and a.flags.c_contiguous, f"dropout {case}"
        np.testing.assert_array_equal(a, e, err_msg=f"dropout {case}")  # the same bits

    with _Threads(case["threads"]), np.errstate(all="ignore"):
        return "refused" if _calls_alike(lambda: ck.dropout(x, case["key"], case["p"]),
                                         lambda: ref.dropout(x, case["key"], case["p"]),
                                         same) == "raised" else "ok"


# ---- raw ffi calls ---------------------------------------------------------------------

def gen_raw_layer_norm(src):
    rows, d = size(src, 6), size(src, 6)
    n = rows * d
    which = src.choice(["forward", "backward"])
    g = dict(rows=rows, d=d, x_len=n, y_len=n, w_len=src.choice([0, d]), b_len=src.choice([0, d]),
             mean_len=rows, rstd_len=rows, gx_len=src.choice([0, n]))
    g = _mutate(src, g, sorted(g), src.choice([0, 1, 1, 2]))
    g.update(which=which, dtype=src.choice(DTYPES), seed=src.int(0, 2**32 - 1),
             null=src.choice([None, None, None, "x", "y", "mean", "rstd"]))
    return g


def check_raw_layer_norm(g):
    if not hasattr(ck.lib, "tge_layer_norm_forward_f32"):
        return "absent"
    rng = np.random.default_rng(g["seed"])
    ctype = "float" if g["dtype"] == "float32" else "double"
    sfx = "f32" if ctype == "float" else "f64"
    rows, d = g["rows"], g["d"]
    n = _mul(rows, d) if min(rows, d) >= 0 else None
    backward = g["which"] == "backward"
    lengths_ok = (n is not None and g["x_len"] == n and g["y_len"] == n
                  and g["mean_len"] == rows and g["rstd_len"] == rows
                  and g["w_len"] in (0, d) and g["b_len"] in (0, d)
                  and (not backward or g["gx_len"] in (0, n)))
    if lengths_ok and max(n, rows) > RAW_CAP:
        return "skipped"
    bufs = {k: _buffer(rng, g[f"{k}_len"], ctype) for k in ("x", "y", "w", "b", "mean", "rstd", "gx")}
    if g["null"]:
        bufs[g["null"]] = (ck.ffi.NULL, None)
    nulls = any(g["null"] == k and g[f"{k}_len"] > 0 for k in bufs)
    if backward and bufs["rstd"][1] is not None:
        bufs["rstd"][1][:] = np.abs(bufs["rstd"][1]) + 0.5
    legal = lengths_ok and not nulls
    # backward: the y buffer is g, the w / b buffers receive gweight / gbias, and the
    # weight read is a separate buffer of the same length
    written = [bufs[k][1] for k in (("gx", "w", "b") if backward else ("y", "mean", "rstd"))
               if bufs[k][1] is not None]
    before = [a.copy() for a in written]
    if backward:
        wbuf = _buffer(rng, g["w_len"], ctype)
        fn = raw(f"tge_layer_norm_backward_{sfx}")
        rc = fn(rows, d, bufs["y"][0], g["y_len"], bufs["x"][0], g["x_len"], wbuf[0], g["w_len"],
                bufs["mean"][0], g["mean_len"], bufs["rstd"][0], g["rstd_len"], bufs["gx"][0],
                g["gx_len"], bufs["w"][0], g["w_len"], bufs["b"][0], g["b_len"])
    else:
        fn = raw(f"tge_layer_norm_forward_{sfx}")
        rc = fn(rows, d, bufs["x"][0], g["x_len"], bufs["w"][0], g["w_len"], bufs["b"][0],
                g["b_len"], 1e-5, bufs["y"][0], g["y_len"], bufs["mean"][0], g["mean_len"],
                bufs["rstd"][0], g["rstd_len"])
    if not legal:
        assert rc != 0, f"tge_layer_norm_{g['which']} accepted an illegal call {g}"
        assert all(np.array_equal(a, b, equal_nan=True) for a, b in zip(written, before)), \
            f"wrote on error {g}"
        return "refused"
    assert rc == 0, f"tge_layer_norm_{g['which']} refused a legal call with {rc}: {g}"
    if not n:
        return "ok"
    dt = np.float32 if ctype == "float" else np.float64
    x = bufs["x"][1].reshape(rows, d)
    if backward:
        w = wbuf[1]
        gx, gw, gb = ref.layer_norm_backward(bufs["y"][1].reshape(rows, d), x, w, bufs["mean"][1],
                                             bufs["rstd"][1], (True, True, True))
        for got, exp in ((bufs["gx"][1], gx), (bufs["w"][1] if w is not None else None, gw),
                         (bufs["b"][1], gb)):
            if got is not None and exp is not None:
                _close(got, exp.reshape(got.shape), dt, f"raw layer_norm backward {g}")
    else:
        y, mean, rstd = ref.layer_norm_forward(x, bufs["w"][1], bufs["b"][1], 1e-5)
        for got, exp in ((bufs["y"][1], y.reshape(-1)), (bufs["mean"][1], mean),
                         (bufs["rstd"][1], rstd)):
            _close(got, exp, dt, f"raw layer_norm forward {g}")
    return "ok"


def gen_raw_dropout(src):
    n = size(src, 9)
    g = dict(n=n, x_len=n, y_len=n)
    g = _mutate(src, g, sorted(g), src.choice([0, 1, 1, 2]))
    g.update(dtype=src.choice(DTYPES), seed=src.int(0, 2**32 - 1),
             key=src.choice([0, 5, INT64_MAX, INT64_MIN, -1]),
             threshold=src.choice([0, 1, 2**31, 2**32 - 1, 2**32, -1]),
             null=src.choice([None, None, None, "x", "y"]))
    return g


def check_raw_dropout(g):
    if not hasattr(ck.lib, "tge_dropout_f32"):
        return "absent"
    rng = np.random.default_rng(g["seed"])
    ctype = "float" if g["dtype"] == "float32" else "double"
    sfx = "f32" if ctype == "float" else "f64"
    n = g["n"]
    lengths_ok = n >= 0 and g["x_len"] == n and g["y_len"] == n
    if lengths_ok and n > RAW_CAP:
        return "skipped"
    bufs = {k: _buffer(rng, g[f"{k}_len"], ctype) for k in ("x", "y")}
    if g["null"]:
        bufs[g["null"]] = (ck.ffi.NULL, None)
    nulls = any(g["null"] == k and g[f"{k}_len"] > 0 for k in bufs)
    legal = lengths_ok and not nulls and 0 <= g["threshold"] <= 2**32 - 1
    y = bufs["y"][1]
    before = None if y is None else y.copy()
    rc = raw(f"tge_dropout_{sfx}")(n, bufs["x"][0], g["x_len"], g["key"], g["threshold"], 2.0,
                                   bufs["y"][0], g["y_len"])
    if not legal:
        assert rc != 0, f"tge_dropout accepted an illegal call {g}"
        assert y is None or np.array_equal(y, before), f"wrote on error {g}"
        return "refused"
    assert rc == 0, f"tge_dropout refused a legal call with {rc}: {g}"
    if n:
        x = bufs["x"][1]
        keep = keep_bits(np, n, g["key"] % 2**64) >= np.uint32(g["threshold"])
        np.testing.assert_array_equal(y, x * np.where(keep, x.dtype.type(2.0), x.dtype.type(0)),
                                      err_msg=f"{g}")
    return "ok"
