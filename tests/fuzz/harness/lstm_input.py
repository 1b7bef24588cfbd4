"""The LSTM kernel with its input projection (lstm_input_forward / lstm_input_backward):
through the wrappers (C table against the NumPy twin) and raw (spoiled sizes, lengths and
NULL pointers refused, legal calls against the twin in float64).
"""
from __future__ import annotations

import numpy as np

from tinygrad_edu.backends import c as ck
from tinygrad_edu.backends import numpy_ref as ref

from .common import (DTYPES, LAYOUTS, RAW_CAP, _mul, _mutate, _Threads, lay_out, raw,
                     raw_buffers, same_values, size)


def _tol(dtype, scale=1.0):
    rtol, atol = (2e-4, 2e-5) if np.dtype(dtype) == np.float32 else (1e-9, 1e-11)
    return dict(rtol=rtol, atol=atol * scale)


def _compare(got, exp, what, scale_atol):
    for g, e, name in zip(got, exp, what):
        assert (g is None) == (e is None), name
        if g is None:
            continue
        assert g.dtype == e.dtype and g.shape == e.shape, (name, g.shape, e.shape)
        finite = np.abs(e[np.isfinite(e)])
        scale = max(1.0, float(finite.max())) if finite.size and scale_atol else 1.0
        np.testing.assert_allclose(g, e, equal_nan=True, err_msg=name, **_tol(g.dtype, scale))


# ------------------------------------------------------------------------------------
# through the wrappers
# ------------------------------------------------------------------------------------

def gen_lstm_input(src):
    return dict(dtype=src.choice(DTYPES), steps=size(src, 5), batch=size(src, 4),
                hidden=size(src, 6), features=1 + size(src, 4), reverse=src.bool(),
                g_cn=src.bool(), bias=src.bool(), layout=src.choice(LAYOUTS),
                nan=src.int(0, 5) == 0, threads=src.choice([0, 1, 2]),
                seed=src.int(0, 2**32 - 1))


def check_lstm_input(case):
    if not hasattr(ck, "lstm_input_forward"):
        return "absent"
    rng = np.random.default_rng(case["seed"])
    dt = np.dtype(case["dtype"])
    S, N, H, F = case["steps"], case["batch"], case["hidden"], case["features"]

    def arr(*shape, scale=1.0):
        a = (rng.standard_normal(shape) * scale).astype(dt)
        if case["nan"] and a.size:
            a[rng.random(shape) < 0.05] = np.nan
        return lay_out(a, case["layout"])

    x, w_x, w_h = arr(S, N, F), arr(F, 4 * H, scale=0.5), arr(H, 4 * H, scale=0.5)
    h0, c0 = arr(N, H), arr(N, H)
    bias = arr(4 * H) if case["bias"] else None
    inputs = [a for a in (x, w_x, w_h, h0, c0, bias) if a is not None]
    saved = [a.copy() for a in inputs]
    with _Threads(case["threads"]), np.errstate(all="ignore"):
        got = ck.lstm_input_forward(x, w_x, w_h, bias, h0, c0, case["reverse"])
        exp = ref.lstm_input_forward(x, w_x, w_h, bias, h0, c0, case["reverse"])
        _compare(got, exp, ("out", "c_all", "gates"), False)
        g_out = arr(S, N, H)
        g_cn = arr(N, H) if case["g_cn"] else None
        args = (x, w_x, w_h, h0, c0, *exp, g_out, g_cn, case["reverse"], case["bias"])
        _compare(ck.lstm_input_backward(*args), ref.lstm_input_backward(*args),
                 ("g_x", "g_w_x", "g_w_h", "g_bias", "g_h0", "g_c0"), True)
    assert all(same_values(a, b) for a, b in zip(inputs, saved)), "lstm_input changed its inputs"
    return "nan" if case["nan"] else "ok"


# ------------------------------------------------------------------------------------
# raw: tge_lstm_input_{forward, backward}_{f32, f64}
# ------------------------------------------------------------------------------------

_BUFFERS = {
    "forward": ("x", "w_x", "w_h", "bias", "h0", "c0", "out", "c_all", "gates"),
    "backward": ("x", "w_x", "w_h", "h0", "c0", "out", "c_all", "gates", "g_out", "g_cn",
                 "g_x", "g_w_x", "g_w_h", "g_bias", "g_h0", "g_c0"),
}
_OPTIONAL = ("bias", "g_cn", "g_bias")  # NULL with length 0: none


def _lengths(S, N, H, F) -> dict:
    """Every buffer's length for a legal call, or None where the C code reports overflow."""
    g4, nh = _mul(H, 4), _mul(N, H)
    if None in (g4, nh) or F > 2**63 - 1 - H - 1:
        return None
    found = dict(x=_mul(S, N, F, 1), w_x=_mul(F, g4), w_h=_mul(g4, H), bias=g4, h0=nh, c0=nh,
                 out=_mul(nh, S), c_all=_mul(nh, S), gates=_mul(S, N, g4, 1), g_cn=nh)
    if None in found.values() or _mul(S, N, H + F + 1, 1) is None:
        return None
    found.update(g_out=found["out"], g_x=found["x"], g_w_x=found["w_x"], g_w_h=found["w_h"],
                 g_bias=g4, g_h0=nh, g_c0=nh)
    return found


def gen_raw_lstm_input(src):
    S, N, H, F = size(src, 4), size(src, 3), size(src, 5), 1 + size(src, 3)
    which = src.choice(["forward", "backward"])
    g = dict(steps=S, batch=N, hidden=H, features=F, reverse=src.int(0, 1))
    g.update({f"{k}_len": v for k, v in _lengths(S, N, H, F).items() if k in _BUFFERS[which]})
    for name in _OPTIONAL:
        if name in _BUFFERS[which] and src.bool():
            g[f"{name}_len"] = 0  # absent
    names = sorted(k for k in g if k in ("steps", "batch", "hidden", "features", "reverse")
                   or k.endswith("_len"))
    g = _mutate(src, g, names, src.choice([0, 1, 1, 2]))
    g.update(which=which, dtype=src.choice(DTYPES), nan=src.int(0, 4) == 0,
             null=src.choice([None, None, None] + list(_BUFFERS[which])),
             seed=src.int(0, 2**32 - 1))
    return g


def _present(g, name) -> bool:
    """Whether the buffer goes as a pointer (raw_buffers: NULL for length 0 or too long)."""
    return g["null"] != name and 0 < g[f"{name}_len"] <= RAW_CAP


def legal_lstm_input(g) -> bool:
    S, N, H, F = g["steps"], g["batch"], g["hidden"], g["features"]
    if min(S, N, H) < 0 or F < 1 or g["reverse"] not in (0, 1):
        return False
    want = _lengths(S, N, H, F)
    if want is None:
        return False
    for name in _BUFFERS[g["which"]]:
        expected = want[name] if name not in _OPTIONAL or _present(g, name) else 0
        if g[f"{name}_len"] != expected:
            return False
    # a NULL buffer is refused when the length that governs it is not 0
    if g["which"] == "forward":
        pairs = [("x", ("x",)), ("w_x", ("w_x",)), ("w_h", ("w_h",)), ("h0", ("h0", "c0")),
                 ("out", ("out", "c_all", "gates"))]
    else:
        pairs = [("x", ("x", "g_x")), ("w_x", ("w_x", "g_w_x")), ("w_h", ("w_h", "g_w_h")),
                 ("h0", ("h0", "c0", "g_h0", "g_c0")),
                 ("out", ("out", "c_all", "g_out", "gates"))]
    return not any(g["null"] in names and g[f"{lead}_len"] > 0 for lead, names in pairs)


def check_raw_lstm_input(g):
    if not hasattr(ck.lib, "tge_lstm_input_forward_f32"):
        return "absent"
    legal = legal_lstm_input(g)
    names = _BUFFERS[g["which"]]
    setup = raw_buffers(g, names, legal)
    if setup is None:
        return "skipped"
    sfx, ctype, rng, bufs = setup
    outputs = ("out", "c_all", "gates") if g["which"] == "forward" else \
        ("g_x", "g_w_x", "g_w_h", "g_bias", "g_h0", "g_c0")
    for name in names:
        a = bufs[name][1]
        if a is None:
            continue
        if name in outputs:
            a[:] = 7.0
        elif g["nan"]:  # NaN now and then in the inputs: it must spread, not crash
            a[rng.random(a.size) < 0.1] = np.nan
    params = ck.ffi.new("tge_lstm_params *", {k: g[k] for k in ("steps", "batch", "hidden",
                                                                "reverse")})
    args = [params, g["features"]]
    for name in names:
        args += [bufs[name][0], g[f"{name}_len"]]
    rc = raw(f"tge_lstm_input_{g['which']}_{sfx}")(*args)
    if not legal:
        assert rc != 0, f"tge_lstm_input_{g['which']} accepted an illegal call {g}"
        return "refused"
    assert rc == 0, f"tge_lstm_input_{g['which']} refused a legal call with {rc}: {g}"
    S, N, H, F = g["steps"], g["batch"], g["hidden"], g["features"]

    if S == 0 or N * H == 0:  # no step to compute (S may be huge: no loop over it)
        if g["which"] == "forward":
            return "ok"
        g_cn = bufs["g_cn"][1]
        exp = [np.zeros(g[f"{name}_len"]) for name in outputs]
        if S == 0 and g_cn is not None:
            exp[-1] = g_cn.astype(np.float64)
    else:
        exp = _expected(g, bufs, S, N, H, F)
    for name, e in zip(outputs, exp):
        got = bufs[name][1]
        if got is None or e is None:
            continue
        _compare([got], [e.reshape(-1).astype(got.dtype)], [f"raw lstm_input {name} {g}"], True)
    return "nan" if g["nan"] else "ok"


def _expected(g, bufs, S, N, H, F):
    """The twin's results, in float64, for a legal raw call with work to do."""
    def arr(name, shape):
        a = bufs[name][1]
        if a is None:
            return None if name in _OPTIONAL else np.zeros(shape)
        return a.astype(np.float64).reshape(shape)

    x, w_x, w_h = arr("x", (S, N, F)), arr("w_x", (F, 4 * H)), arr("w_h", (H, 4 * H))
    h0, c0 = arr("h0", (N, H)), arr("c0", (N, H))
    with np.errstate(all="ignore"):
        if g["which"] == "forward":
            return ref.lstm_input_forward(x, w_x, w_h, arr("bias", (4 * H,)), h0, c0,
                                          bool(g["reverse"]))
        return ref.lstm_input_backward(
            x, w_x, w_h, h0, c0, arr("out", (S, N, H)), arr("c_all", (S, N, H)),
            arr("gates", (S, N, 4 * H)), arr("g_out", (S, N, H)), arr("g_cn", (N, H)),
            bool(g["reverse"]), bufs["g_bias"][1] is not None)
