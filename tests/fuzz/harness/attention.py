"""Targets of the causal attention over a packed qkv: through the wrappers and raw.
"""
from __future__ import annotations

import math

import numpy as np

from tinygrad_edu.backends import c as ck
from tinygrad_edu.backends import numpy_ref as ref

from .common import (
    DTYPES, LAYOUTS, RAW_CAP, _buffer, _calls_alike, _mul, _mutate, lay_out, raw, size,
    values)


# ------------------------------------------------------------------------------------
# causal attention over a packed qkv (causal_attention_forward / backward)
# ------------------------------------------------------------------------------------

def gen_attention(src):
    # a quarter of the cases with whole-vector heads (8, 16, 32, 48 values: the register-
    # blocked path of csrc/attention_blocked.inc for float64, and from 16 for float32),
    # longer sequences (several blocks of rows) and, half of those, every row a query
    wide = src.int(0, 3) == 0
    heads, dim = src.int(1, 3), (src.choice((8, 16, 32, 48)) if wide else size(src, 5))
    rows = src.int(1, 70) if wide else size(src, 7)
    kv_len = rows if wide and src.bool() else src.int(0, rows)
    q_len = kv_len if wide and src.bool() else src.int(0, kv_len)
    return dict(dtype=src.choice(DTYPES), batch=size(src, 3), rows=rows, kv_len=kv_len,
                q_len=q_len, heads=heads, dim=dim, layout=src.choice(LAYOUTS),
                # finite values only: the C kernel skips the masked (future) keys, the NumPy
                # twin multiplies them by a zero weight, and 0 * inf is NaN
                values=src.choice(("normal", "normal", "ties")), seed=src.int(0, 2**32 - 1))


def check_attention(case):
    if not hasattr(ck, "causal_attention_forward"):
        return "absent"
    rng = np.random.default_rng(case["seed"])
    dt = np.dtype(case["dtype"])
    B, rows, H, D = case["batch"], case["rows"], case["heads"], case["dim"]
    qkv = lay_out(values(rng, (B, rows, 3 * H * D), dt, case["values"]), case["layout"])
    scale = 1.0 / math.sqrt(max(D, 1))
    # the gradient's entries are sums of up to rows * dim products, some of them differences
    # of close terms (dP - D_i, which cancel exactly when rows repeat, as in the broadcast
    # layout): their absolute rounding grows with the square root of that count (float32
    # cases with 21 and 34 rows of 48-wide heads differed by 4e-5 and 6e-5 on entries of
    # 0.26 and 0.016, in the tiled and the blocked path alike)
    grow = max(1.0, math.sqrt(rows * D) / 4)
    tol = dict(rtol=1e-4, atol=1e-5 * grow) if dt == np.float32 else dict(rtol=1e-10, atol=1e-12 * grow)

    def same(got, exp):
        for a, b in zip(got if isinstance(got, tuple) else (got,), exp if isinstance(exp, tuple) else (exp,)):
            assert a.dtype == dt and a.shape == b.shape
            finite = b[np.isfinite(b)]
            # and with the scale of the array: entries near zero are differences of terms
            # as large as its largest ones (constant rows, the broadcast layout: 8e-5 in a
            # gradient of magnitude 8.6 for either C path, 1e-5 for the float32 twin, against float64)
            big = max(1.0, float(np.abs(finite).max())) if finite.size else 1.0
            np.testing.assert_allclose(a, b, equal_nan=True, err_msg=f"attention {case}",
                                       rtol=tol["rtol"], atol=tol["atol"] * big)

    args = (qkv, H, case["q_len"], case["kv_len"], scale)
    if _calls_alike(lambda: ck.causal_attention_forward(*args),
                    lambda: ref.causal_attention_forward(*args), same) == "raised":
        return "refused"
    full = np.ascontiguousarray(qkv)
    out, lse = ref.causal_attention_forward(full, H, rows, rows, scale)
    g = values(rng, out.shape, dt, case["values"])
    _calls_alike(lambda: ck.causal_attention_backward(full, out, lse, g, H, scale),
                 lambda: ref.causal_attention_backward(full, out, lse, g, H, scale), same)
    return "ok"


def gen_raw_attention(src):
    b, rows, h, d = size(src, 3), size(src, 6), src.int(1, 3), size(src, 4)
    kv = src.int(0, rows)
    q = src.int(0, kv)
    which = src.choice(["forward", "backward"])
    if which == "backward":
        q = kv = rows
    e = h * d
    f = dict(batch=b, rows=rows, q_len=q, kv_len=kv, heads=h, dim=d, qkv_len=b * rows * 3 * e,
             out_len=b * q * e, lse_len=b * h * q, g_len=b * rows * 3 * e)
    f = _mutate(src, f, sorted(f), src.choice([0, 1, 1, 2]))
    f.update(which=which, dtype=src.choice(DTYPES), null=src.choice([None, None, None, "qkv", "out", "lse", "g"]),
             seed=src.int(0, 2**32 - 1))
    return f


def legal_attention(f) -> bool:
    b, rows, q, kv, h, d = (f[k] for k in ("batch", "rows", "q_len", "kv_len", "heads", "dim"))
    if f["which"] == "backward":   # the backward takes no q_len / kv_len: the whole sequence
        q = kv = rows
    if min(b, rows, q, kv, d) < 0 or h < 1 or q > kv or kv > rows:
        return False
    width = _mul(h, d, 3)
    n = None if width is None else _mul(b, rows, width, 1)
    n_out, n_lse = _mul(b, q, h, d), _mul(b, h, q, 1)
    pairs, scratch = _mul(b, h), _mul(kv, 128)   # (batch, head) pairs; 2 tiles of 64 rows of scores
    if None in (width, n, n_out, n_lse, pairs, scratch) or f["qkv_len"] != n or f["out_len"] != n_out or f["lse_len"] != n_lse:
        return False
    return f["which"] == "forward" or f["g_len"] == n


def check_raw_attention(f):
    if not hasattr(ck.lib, "tge_causal_attention_forward_f32"):
        return "absent"
    rng = np.random.default_rng(f["seed"])
    ctype = "float" if f["dtype"] == "float32" else "double"
    sfx = "f32" if ctype == "float" else "f64"
    legal = legal_attention(f)
    if legal and max(f["qkv_len"], f["out_len"], f["lse_len"], f["g_len"]) > RAW_CAP:
        return "skipped"   # legal, but too large to allocate here
    bufs = {k: _buffer(rng, f[f"{k}_len"], ctype) for k in ("qkv", "out", "lse", "g")}
    if f["null"]:
        bufs[f["null"]] = (ck.ffi.NULL, None)
    used = ("qkv", "out", "lse") if f["which"] == "forward" else ("qkv", "out", "lse", "g")
    if any(f["null"] == k and f[f"{k}_len"] > 0 for k in used):
        legal = False
    written = [bufs["out"][1], bufs["lse"][1]] if f["which"] == "forward" else [bufs["g"][1]]
    written = [a for a in written if a is not None]
    for a in written:
        a[:] = 7.0
    b, rows, q, kv, h, d = (f[k] for k in ("batch", "rows", "q_len", "kv_len", "heads", "dim"))
    if f["which"] == "forward":
        rc = raw(f"tge_causal_attention_forward_{sfx}")(
            b, rows, q, kv, h, d, 0.5, bufs["qkv"][0], f["qkv_len"], bufs["out"][0], f["out_len"],
            bufs["lse"][0], f["lse_len"])
    else:   # gout shares out's buffer and length (the same shape)
        rc = raw(f"tge_causal_attention_backward_{sfx}")(
            b, rows, h, d, 0.5, bufs["qkv"][0], f["qkv_len"], bufs["out"][0], f["out_len"], bufs["lse"][0],
            f["lse_len"], bufs["out"][0], f["out_len"], bufs["g"][0], f["g_len"])
    if not legal:
        assert rc != 0, f"tge_causal_attention_{f['which']} accepted an illegal call {f}"
        assert all(np.all(a == 7.0) for a in written), f"wrote on error {f}"
        return "refused"
    assert rc == 0, f"tge_causal_attention_{f['which']} refused a legal call with {rc}: {f}"
    if f["which"] == "forward" and q and b and h and b * rows <= RAW_CAP:   # the reference's own arrays must fit
        dt = np.float32 if ctype == "float" else np.float64
        qkv = bufs["qkv"][1].reshape(b, rows, 3 * h * d) if f["qkv_len"] else np.zeros((b, rows, 0), dt)
        out, lse = ref.causal_attention_forward(qkv, h, q, kv, 0.5)
        tol = dict(rtol=1e-4, atol=1e-5) if ctype == "float" else dict(rtol=1e-10, atol=1e-12)
        if out.size:
            np.testing.assert_allclose(bufs["out"][1], out.reshape(-1), err_msg=f"{f}", **tol)
        np.testing.assert_allclose(bufs["lse"][1], lse.reshape(-1), err_msg=f"{f}", **tol)
    return "ok"
