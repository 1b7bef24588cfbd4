"""Raw ffi calls whose size arithmetic does not fit in int64, and the thread-pool switches.

* ``pool``: max and average pooling with windows up to 2^62 cells a side over tiny inputs
  (valid calls: padding up to half the window). The average's divisor is the window's area,
  which overflows int64 far earlier than any buffer length does (UBSan found it); the
  reference here is exact Python integer arithmetic, rounded the way the kernel must round.
* ``optim``: Adam/SGD steps whose parameter sizes add up past INT64_MAX: refused with
  TGE_EOVERFLOW before any buffer (one element long here) is read.
* ``adaptive``: ``tge_set_adaptive_threads`` / ``tge_get_adaptive_threads`` /
  ``tge_cpus_free`` with random values (restored afterwards).
"""
from __future__ import annotations

import numpy as np

from tinygrad_edu.backends import c as ck

from .common import DTYPES, INT64_MAX, raw


def gen_raw_overflow(src):
    kind = src.choice(["pool", "pool", "optim", "adaptive"])
    if kind == "pool":
        kh, kw = (src.choice([1, 2, 3, 2**20, 2**31 + 1, 2**40, 2**52 + 2, 2**62]) for _ in range(2))
        h, w = src.int(1, 3), src.int(1, 3)
        ph = src.choice([kh // 2, max(kh // 2 - 1, 0)])
        pw = src.choice([kw // 2, max(kw // 2 - 1, 0)])
        return dict(kind=kind, n=src.int(1, 2), c=src.int(1, 2), h=h, w=w, kh=kh, kw=kw,
                    sh=src.choice([1, 2, 2**40]), sw=src.choice([1, 3, 2**62]), ph=ph, pw=pw,
                    which=src.choice(["max_forward", "avg_forward", "avg_backward"]),
                    dtype=src.choice(DTYPES), seed=src.int(0, 2**32 - 1))
    if kind == "optim":
        n = src.int(2, 4)
        sizes = [src.choice([0, 1, 2**40, 2**62]) for _ in range(n)]
        i = src.int(0, n - 1)
        j = (i + src.int(1, n - 1)) % n  # another entry: together they pass INT64_MAX
        sizes[i] = 2**63 - 1 - src.int(0, 1)
        sizes[j] = src.choice([2, 3, 2**40, 2**62])
        return dict(kind=kind, sizes=sizes, which=src.choice(["adam", "sgd"]), dtype=src.choice(DTYPES))
    return dict(kind=kind, value=src.choice([-1, 0, 1, 2, 7]))


def _window(o, k, s, pad, size):
    start = o * s - pad
    end = min(start + k, size + pad)
    return end - start, max(start, 0), min(end, size)


def _check_pool(g):
    dt = np.dtype(g["dtype"])
    sfx = "f32" if dt == np.float32 else "f64"
    span_h, span_w = g["h"] + 2 * g["ph"] - g["kh"], g["w"] + 2 * g["pw"] - g["kw"]
    if span_h < 0 or span_w < 0:  # the window does not fit even padded: refused
        g = dict(g, oh=0, ow=0)
        legal = False
    else:
        g = dict(g, oh=span_h // g["sh"] + 1, ow=span_w // g["sw"] + 1)
        legal = True
    rng = np.random.default_rng(g["seed"])
    xs, ys = (g["n"], g["c"], g["h"], g["w"]), (g["n"], g["c"], g["oh"], g["ow"])
    x = rng.standard_normal(xs).astype(dt)
    gy = rng.standard_normal(ys).astype(dt) if legal else np.zeros(1, dt)
    y = np.full(max(int(np.prod(ys)), 1), 7.0, dt)
    idx = np.zeros(y.size, np.int64)
    gx = np.full(x.size, 7.0, dt)
    ctype = "float" if dt == np.float32 else "double"
    fields = ("n", "c", "h", "w", "kh", "kw", "sh", "sw", "ph", "pw", "oh", "ow")
    params = ck.ffi.new("tge_pool2d_params *", {f: g[f] for f in fields})
    ptr = lambda a, t=ctype: ck.ffi.from_buffer(f"{t}[]", a)
    ny = int(np.prod(ys))
    if g["which"] == "max_forward":
        rc = raw(f"tge_max_pool2d_forward_{sfx}")(params, ptr(x), x.size, ptr(y), ny, ptr(idx, "int64_t"), ny)
    elif g["which"] == "avg_forward":
        rc = raw(f"tge_avg_pool2d_forward_{sfx}")(params, ptr(x), x.size, ptr(y), ny)
    else:
        rc = raw(f"tge_avg_pool2d_backward_{sfx}")(params, ptr(gy), ny, ptr(gx), x.size)
    if not legal:
        assert rc != 0 and (y == 7.0).all() and (gx == 7.0).all(), f"huge-window pool {g}"
        return "refused"
    assert rc == 0, f"huge-window pool refused a legal call with {rc}: {g}"
    want = np.zeros(xs if g["which"] == "avg_backward" else ys, dt)
    for n in range(g["n"]):
        for c in range(g["c"]):
            for oh in range(g["oh"]):
                eh, h0, h1 = _window(oh, g["kh"], g["sh"], g["ph"], g["h"])
                for ow in range(g["ow"]):
                    ew, w0, w1 = _window(ow, g["kw"], g["sw"], g["pw"], g["w"])
                    cells = [(i, j) for i in range(h0, h1) for j in range(w0, w1)]
                    divisor = dt.type(float(eh) * float(ew))  # as the kernel rounds it
                    if g["which"] == "max_forward":
                        want[n, c, oh, ow] = max(x[n, c, i, j] for i, j in cells)
                    elif g["which"] == "avg_forward":
                        s = dt.type(0)
                        for i, j in cells:
                            s = dt.type(s + x[n, c, i, j])
                        want[n, c, oh, ow] = s / divisor
                    else:
                        share = gy[n, c, oh, ow] / divisor
                        for i, j in cells:
                            want[n, c, i, j] = dt.type(want[n, c, i, j] + share)
    got = gx.reshape(xs) if g["which"] == "avg_backward" else y[:ny].reshape(ys)
    assert np.isfinite(got).all(), f"huge-window pool gave a non-finite value: {g}"
    np.testing.assert_array_equal(got, want, err_msg=f"huge-window pool {g}")
    return "ok"


def _check_optim(g):
    n, ctype = len(g["sizes"]), "float" if g["dtype"] == "float32" else "double"
    sfx = "f32" if ctype == "float" else "f64"
    buf = np.full(1, 7.0, np.float32 if ctype == "float" else np.float64)
    p = ck.ffi.from_buffer(f"{ctype}[]", buf)
    ptrs = ck.ffi.new(f"{ctype} *[]", [p] * n)
    sizes = ck.ffi.new("int64_t[]", g["sizes"])
    if g["which"] == "adam":
        hp = ck.ffi.new("tge_adam_params *", dict(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8))
        grads = ck.ffi.cast(f"const {ctype} *const *", ptrs)
        rc = raw(f"tge_adam_step_{sfx}")(hp, n, ptrs, grads, ptrs, ptrs, ck.ffi.NULL, sizes,
                                          ck.ffi.new("int64_t[]", [1] * n))
    else:
        hp = ck.ffi.new("tge_sgd_params *", dict(lr=0.1))
        grads = ck.ffi.cast(f"const {ctype} *const *", ptrs)
        rc = raw(f"tge_sgd_step_{sfx}")(hp, n, ptrs, grads, ptrs, ck.ffi.new("int64_t[]", [0] * n), sizes)
    total = sum(g["sizes"])
    assert total > INT64_MAX, g
    assert rc == ck.lib.TGE_EOVERFLOW and buf[0] == 7.0, f"sizes adding past INT64_MAX: rc {rc}, {g}"
    return "refused"


def _check_adaptive(g):
    before = raw("tge_get_adaptive_threads")()
    try:
        rc = raw("tge_set_adaptive_threads")(g["value"])
        if g["value"] not in (0, 1):
            assert rc == ck.lib.TGE_EINVAL and raw("tge_get_adaptive_threads")() == before, g
            return "refused"
        assert rc == 0 and raw("tge_get_adaptive_threads")() == g["value"], g
        free = raw("tge_cpus_free")()
        assert free >= 0, (g, free)
        return "ok"
    finally:
        raw("tge_set_adaptive_threads")(before)


def check_raw_overflow(g):
    return {"pool": _check_pool, "optim": _check_optim, "adaptive": _check_adaptive}[g["kind"]](g)
