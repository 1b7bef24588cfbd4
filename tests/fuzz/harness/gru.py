"""Fuzz targets of the fused GRU layer (csrc/gru.c): through the wrappers against the NumPy
twin, and raw ffi calls with mutated sizes and lengths (every illegal call refused, every
legal one equal to a float64 reference).
"""
from __future__ import annotations

import numpy as np

from tinygrad_edu.backends import c as ck
from tinygrad_edu.backends import numpy_ref as ref

from .common import DTYPES, LAYOUTS, _mul, _mutate, _Threads, lay_out, raw, raw_buffers, same_values, size


def gen_gru(src):
    return dict(dtype=src.choice(DTYPES), steps=size(src, 5), batch=size(src, 4), hidden=size(src, 6),
                reverse=src.bool(), layout=src.choice(LAYOUTS), nan=src.int(0, 5) == 0,
                threads=src.choice([0, 1, 2]), seed=src.int(0, 2**32 - 1))


def check_gru(case):
    if not hasattr(ck, "gru_forward"):
        return "absent"
    rng = np.random.default_rng(case["seed"])
    dt = np.dtype(case["dtype"])
    S, N, H = case["steps"], case["batch"], case["hidden"]

    def arr(*shape, scale=1.0):
        a = (rng.standard_normal(shape) * scale).astype(dt)
        if case["nan"] and a.size:
            a[rng.random(shape) < 0.05] = np.nan
        return lay_out(a, case["layout"])

    xw, w_hh, b_hh, h0 = arr(S, N, 3 * H), arr(3 * H, H, scale=0.5), arr(3 * H), arr(N, H)
    saved = [a.copy() for a in (xw, w_hh, b_hh, h0)]
    tol = dict(rtol=2e-4, atol=2e-5) if dt == np.float32 else dict(rtol=1e-9, atol=1e-11)
    with _Threads(case["threads"]), np.errstate(all="ignore"):
        got = ck.gru_forward(xw, w_hh, b_hh, h0, reverse=case["reverse"])
        exp = ref.gru_forward(xw, w_hh, b_hh, h0, reverse=case["reverse"])
        for g, e, name in zip(got, exp, ("out", "gates")):
            assert g.dtype == dt and g.shape == e.shape, (name, g.shape, e.shape)
            np.testing.assert_allclose(g, e, equal_nan=True, err_msg=f"gru {name} {case}", **tol)
        out, gates = exp
        g_out = arr(S, N, H)
        got = ck.gru_backward(w_hh, b_hh, h0, out, gates, g_out, reverse=case["reverse"])
        exp = ref.gru_backward(w_hh, b_hh, h0, out, gates, g_out, reverse=case["reverse"])
        for g, e, name in zip(got, exp, ("g_xw", "g_h0", "g_w_hh", "g_b_hh")):
            assert g.dtype == dt and g.shape == e.shape, (name, g.shape, e.shape)
            np.testing.assert_allclose(g, e, equal_nan=True, err_msg=f"gru {name} {case}",
                                       **dict(tol, atol=tol["atol"] * max(1, S * N)))
    assert all(same_values(a, b) for a, b in zip((xw, w_hh, b_hh, h0), saved)), "gru changed its inputs"
    return "nan" if case["nan"] else "ok"


_BUFFERS = {
    "forward": ("xw", "w_hh", "b_hh", "h0", "out", "gates"),
    "backward": ("w_hh", "b_hh", "h0", "out", "gates", "g_out", "g_xw", "g_h0", "g_w_hh", "g_b_hh"),
}
_OUTPUTS = {"forward": ("out", "gates"), "backward": ("g_xw", "g_h0", "g_w_hh", "g_b_hh")}


def gen_raw_gru(src):
    S, N, H = size(src, 4), size(src, 3), size(src, 5)
    nh = N * H
    g = dict(steps=S, batch=N, hidden=H, reverse=src.int(0, 1), xw_len=S * 3 * nh, w_hh_len=3 * H * H,
             b_hh_len=3 * H, h0_len=nh, out_len=S * nh, gates_len=S * 4 * nh, g_out_len=S * nh,
             g_xw_len=S * 3 * nh, g_h0_len=nh, g_w_hh_len=3 * H * H, g_b_hh_len=3 * H)
    which = src.choice(["forward", "backward"])
    names = sorted(k for k in g if k in ("steps", "batch", "hidden", "reverse") or k[:-4] in _BUFFERS[which])
    g = _mutate(src, g, names, src.choice([0, 1, 1, 2]))
    g.update(which=which, dtype=src.choice(DTYPES), nan=src.int(0, 4) == 0,
             null=src.choice([None, None, None] + list(_BUFFERS[which])), seed=src.int(0, 2**32 - 1))
    return g


def legal_gru(g) -> bool:
    """What csrc/gru_impl.inc accepts: sizes >= 0, reverse 0/1, no overflow, exact lengths,
    and no NULL buffer whose governing length is not 0."""
    S, N, H = g["steps"], g["batch"], g["hidden"]
    if min(S, N, H) < 0 or g["reverse"] not in (0, 1):
        return False
    nh, s4nh, w3hh = _mul(N, H), _mul(S, N, H, 4), _mul(3, H, H, 1)
    if None in (nh, s4nh, w3hh):
        return False
    snh, s3nh = S * nh, S * 3 * nh
    if g["which"] == "forward":
        want = dict(w_hh=w3hh, b_hh=3 * H, h0=nh, xw=s3nh, out=snh, gates=s4nh)
        pairs = [("xw", ("xw", "gates", "out")), ("w_hh", ("w_hh", "b_hh")), ("h0", ("h0",))]
    else:
        want = dict(w_hh=w3hh, b_hh=3 * H, h0=nh, out=snh, gates=s4nh, g_out=snh, g_xw=s3nh, g_h0=nh,
                    g_w_hh=w3hh, g_b_hh=3 * H)
        pairs = [("out", ("out", "gates", "g_out", "g_xw")), ("w_hh", ("w_hh", "g_w_hh")),
                 ("b_hh", ("b_hh", "g_b_hh")), ("h0", ("h0", "g_h0"))]
    if any(g[f"{name}_len"] != length for name, length in want.items()):
        return False
    return not any(g["null"] in names and g[f"{lead}_len"] > 0 for lead, names in pairs)


def check_raw_gru(g):
    if not hasattr(ck.lib, "tge_gru_forward_f32"):
        return "absent"
    legal = legal_gru(g)
    names = _BUFFERS[g["which"]]
    setup = raw_buffers(g, names, legal)
    if setup is None:
        return "skipped"
    sfx, ctype, rng, bufs = setup
    outputs = _OUTPUTS[g["which"]]
    for name in outputs:
        if bufs[name][1] is not None:
            bufs[name][1][:] = 7.0
    for name in names:  # NaN now and then in the inputs: it must spread, not crash
        if name not in outputs and g["nan"] and bufs[name][1] is not None:
            bufs[name][1][rng.random(bufs[name][1].size) < 0.1] = np.nan
    params = ck.ffi.new("tge_gru_params *", {k: g[k] for k in ("steps", "batch", "hidden", "reverse")})
    args = [params]
    for name in names:
        args += [bufs[name][0], g[f"{name}_len"]]
    rc = raw(f"tge_gru_{g['which']}_{sfx}")(*args)
    if not legal:
        assert rc != 0, f"tge_gru_{g['which']} accepted an illegal call {g}"
        return "refused"
    assert rc == 0, f"tge_gru_{g['which']} refused a legal call with {rc}: {g}"
    S, N, H = g["steps"], g["batch"], g["hidden"]
    if S * N * H == 0:  # nothing computed; the gradients must be zeros
        for name in outputs:
            if g["which"] == "backward" and bufs[name][1] is not None:
                assert not np.any(bufs[name][1]), f"raw gru {name} not zeroed {g}"
        return "ok"

    def arr(name, shape):
        return bufs[name][1].astype(np.float64).reshape(shape)

    if g["which"] == "forward":
        expected = ref.gru_forward(arr("xw", (S, N, 3 * H)), arr("w_hh", (3 * H, H)), arr("b_hh", (3 * H,)),
                                   arr("h0", (N, H)), bool(g["reverse"]))
    else:
        expected = ref.gru_backward(arr("w_hh", (3 * H, H)), arr("b_hh", (3 * H,)), arr("h0", (N, H)),
                                    arr("out", (S, N, H)), arr("gates", (S, N, 4 * H)), arr("g_out", (S, N, H)),
                                    bool(g["reverse"]))
    tol = dict(rtol=2e-4, atol=2e-5) if ctype == "float" else dict(rtol=1e-9, atol=1e-11)
    with np.errstate(all="ignore"):
        for name, exp in zip(outputs, expected):
            got = bufs[name][1]
            np.testing.assert_allclose(got, exp.reshape(-1).astype(got.dtype), equal_nan=True,
                                       err_msg=f"raw gru {name} {g}", **dict(tol, atol=tol["atol"] * max(1, S * N)))
    return "nan" if g["nan"] else "ok"
