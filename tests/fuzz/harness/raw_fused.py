"""Raw ffi calls of the fused kernels (softmax cross-entropy, LSTM, optimizer steps) and of
the thread, measurement and allocator functions.
"""
from __future__ import annotations

import math

import numpy as np

from tinygrad_edu.backends import c as ck
from tinygrad_edu.backends import numpy_ref as ref

from .common import (
    DTYPES, INT64_MAX, INT64_MIN, RAW_CAP, _buffer, _buffer_of, _mul, _mutate, _wild,
    raw, raw_buffers, same_values, size)


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
    if not hasattr(ck.lib, "tge_cross_entropy_forward_f32"):
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
    fn = raw(f"tge_cross_entropy_{g['which']}_{sfx}")
    if g["which"] == "forward":
        rc = fn(n, c, bufs["logits"][0], g["logits_len"], bufs["target"][0], g["target_len"],
                g["ignore_index"], bufs["out"][0], g["out_len"], bufs["vec"][0], g["vec_len"])
    else:
        rc = fn(n, c, bufs["logits"][0], g["logits_len"], bufs["target"][0], g["target_len"],
                g["ignore_index"], bufs["vec"][0], g["vec_len"], bufs["out"][0], g["out_len"])
    if not legal:
        assert rc != 0, f"tge_cross_entropy_{g['which']} accepted an illegal call {g}"
        assert all(np.all(a == 7.0) for a in written), f"wrote on error {g}"
        if shapes_ok and not nulls and bad:
            assert rc == 5, f"a bad target must give TGE_EINDEX, got {rc}: {g}"
        return "refused"
    assert rc == 0, f"tge_cross_entropy_{g['which']} refused a legal call with {rc}: {g}"
    if n and c:
        x = bufs["logits"][1].reshape(n, c)
        tol = dict(rtol=1e-5, atol=1e-5) if ctype == "float" else dict(rtol=1e-12, atol=1e-12)
        if g["which"] == "forward":
            logp, losses = ref.cross_entropy_forward(x, target, g["ignore_index"])
            np.testing.assert_allclose(bufs["out"][1], logp.reshape(-1), err_msg=f"{g}", **tol)
            np.testing.assert_allclose(bufs["vec"][1], losses, err_msg=f"{g}", **tol)
        else:
            glogits = ref.cross_entropy_backward(x, target, g["ignore_index"], bufs["vec"][1])
            np.testing.assert_allclose(out, glogits.reshape(-1), err_msg=f"{g}", **tol)
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
    legal = legal_lstm(g)
    names = _LSTM_BUFFERS[g["which"]]
    setup = raw_buffers(g, names, legal)
    if setup is None:
        return "skipped"
    sfx, ctype, rng, bufs = setup
    if g["which"] == "backward" and not g["g_cn"]:
        bufs["g_cn"] = (ck.ffi.NULL, None)
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
        args += [bufs[name][0], g[f"{name}_len"]]
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
    rtol, atol = (2e-4, 2e-5) if ctype == "float" else (1e-9, 1e-11)
    for name, exp in zip(outputs, expected):
        got = bufs[name][1]
        if got is None:
            continue
        # the absolute part scales with the output's largest finite value: an element that
        # is a sum of terms of size ~10 cancelling to ~0.1 carries the terms' rounding
        # (seed 1796636501: g_w_hh 0.091044 against 0.091104, beside elements of 14.3)
        finite = np.abs(exp[np.isfinite(exp)])
        scale = max(1.0, float(finite.max())) if finite.size else 1.0
        with np.errstate(all="ignore"):
            np.testing.assert_allclose(got, exp.reshape(-1).astype(got.dtype), equal_nan=True,
                                       err_msg=f"raw lstm {name} {g}", rtol=rtol,
                                       atol=atol * scale)
    return "nan" if g["nan"] else "ok"


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
