"""Fuzz targets of the BatchNorm kernels (csrc/batch_norm.c): through the wrappers against the
NumPy twin (odd layouts, NaN, both statistics modes), and raw ffi calls with mutated sizes,
lengths, flags and NULL buffers (every illegal call refused, every legal one equal to a
float64 reference)."""
from __future__ import annotations

import numpy as np

from tinygrad_edu.backends import c as ck
from tinygrad_edu.backends import numpy_ref as ref

from .common import DTYPES, LAYOUTS, _mul, _mutate, lay_out, raw, raw_buffers, same_values, size


def gen_batch_norm(src):
    return dict(dtype=src.choice(DTYPES), n=size(src, 4), c=size(src, 5), l=size(src, 6),
                batch_stats=src.bool(), eps=src.choice([1e-5, 0.0, 0.1]), layout=src.choice(LAYOUTS),
                nan=src.int(0, 5) == 0, seed=src.int(0, 2**32 - 1))


def check_batch_norm(case):
    if not hasattr(ck, "batch_norm_forward"):
        return "absent"
    rng = np.random.default_rng(case["seed"])
    dt = np.dtype(case["dtype"])
    n, c, l = case["n"], case["c"], case["l"]

    def arr(*shape, positive=False):
        a = rng.standard_normal(shape).astype(dt)
        a = np.abs(a) + dt.type(0.5) if positive else a
        if case["nan"] and a.size:
            a[rng.random(shape) < 0.05] = np.nan
        return lay_out(a, case["layout"])

    x, g = arr(n, c, l), arr(n, c, l)
    mean, var, w, b = arr(c), arr(c, positive=True), arr(c), arr(c)
    saved = [a.copy() for a in (x, g, mean, var, w, b)]
    tol = dict(rtol=2e-4, atol=2e-5) if dt == np.float32 else dict(rtol=1e-9, atol=1e-11)
    with np.errstate(all="ignore"):
        got = ck.batch_norm_forward(x, mean, var, w, b, case["eps"])
        exp = ref.batch_norm_forward(x, mean, var, w, b, case["eps"])
        assert got.dtype == dt and got.shape == exp.shape
        np.testing.assert_allclose(got, exp, equal_nan=True, err_msg=f"batch_norm y {case}", **tol)
        got = ck.batch_norm_backward(g, x, mean, var, w, case["eps"], case["batch_stats"])
        exp = ref.batch_norm_backward(g, x, mean, var, w, case["eps"], case["batch_stats"])
        for a, e, name in zip(got, exp, ("gx", "gw", "gb")):
            assert a.dtype == dt and a.shape == e.shape, (name, a.shape, e.shape)
            np.testing.assert_allclose(a, e, equal_nan=True, err_msg=f"batch_norm {name} {case}",
                                       **dict(tol, atol=tol["atol"] * max(1, n * l)))
    assert all(same_values(a, s) for a, s in zip((x, g, mean, var, w, b), saved)), "batch_norm changed its inputs"
    return "nan" if case["nan"] else "ok"


_BUFFERS = {"forward": ("x", "mean", "var", "weight", "bias", "y"),
            "backward": ("g", "x", "mean", "var", "weight", "gx", "gw", "gb")}
_OUTPUTS = {"forward": ("y",), "backward": ("gx", "gw", "gb")}


def gen_raw_batch_norm(src):
    n, c, l = size(src, 3), size(src, 4), size(src, 5)
    g = dict(n=n, c=c, l=l, batch_stats=src.int(0, 1))
    for name in ("x", "y", "g", "gx"):
        g[f"{name}_len"] = n * c * l
    for name in ("mean", "var", "weight", "bias", "gw", "gb"):
        g[f"{name}_len"] = c
    which = src.choice(["forward", "backward"])
    names = sorted(k for k in g if k in ("n", "c", "l", "batch_stats") or k[:-4] in _BUFFERS[which])
    g = _mutate(src, g, names, src.choice([0, 1, 1, 2]))
    g.update(which=which, dtype=src.choice(DTYPES), eps=src.choice([1e-5, 0.0, -1.0, float("nan")]),
             nan=src.int(0, 4) == 0, null=src.choice([None, None, None] + list(_BUFFERS[which])),
             seed=src.int(0, 2**32 - 1))
    return g


def legal_batch_norm(g) -> bool:
    n, c, l = g["n"], g["c"], g["l"]
    if min(n, c, l) < 0 or not g["eps"] >= 0:
        return False
    if g["which"] == "backward" and g["batch_stats"] not in (0, 1):  # a backward-only flag
        return False
    ncl = _mul(n, c, l, 1)
    if ncl is None:
        return False
    big = ("x", "y", "g", "gx")
    if any(g[f"{name}_len"] != (ncl if name in big else c) for name in _BUFFERS[g["which"]]):
        return False
    return not (g["null"] and g[f"{g['null']}_len"] > 0)


def check_raw_batch_norm(g):
    if not hasattr(ck.lib, "tge_batch_norm_forward_f32"):
        return "absent"
    legal = legal_batch_norm(g)
    names = _BUFFERS[g["which"]]
    setup = raw_buffers(g, names, legal)
    if setup is None:
        return "skipped"
    sfx, ctype, rng, bufs = setup
    if bufs["var"][1] is not None:
        bufs["var"][1][:] = np.abs(bufs["var"][1]) + 0.5
    outputs = _OUTPUTS[g["which"]]
    for name in outputs:
        if bufs[name][1] is not None:
            bufs[name][1][:] = 7.0
    for name in names:
        if name not in outputs and g["nan"] and bufs[name][1] is not None:
            bufs[name][1][rng.random(bufs[name][1].size) < 0.1] = np.nan
    sizes = [g["n"], g["c"], g["l"]]
    args = sizes + ([g["batch_stats"]] if g["which"] == "backward" else [])
    inputs = [name for name in names if name not in outputs]
    for name in inputs:
        args += [bufs[name][0], g[f"{name}_len"]]
    args.append(g["eps"])
    for name in outputs:
        args += [bufs[name][0], g[f"{name}_len"]]
    rc = raw(f"tge_batch_norm_{g['which']}_{sfx}")(*args)
    if not legal:
        assert rc != 0, f"tge_batch_norm_{g['which']} accepted an illegal call {g}"
        return "refused"
    assert rc == 0, f"tge_batch_norm_{g['which']} refused a legal call with {rc}: {g}"
    n, c, l = sizes
    if n * c * l == 0:  # nothing to normalise; the per-channel sums are over nothing: 0
        for name in ("gw", "gb") if g["which"] == "backward" else ():
            if bufs[name][1] is not None:
                assert not np.any(bufs[name][1]), f"raw batch_norm {name} not zero {g}"
        return "ok"

    def arr(name, shape):
        a = bufs[name][1]
        return np.zeros(shape) if a is None else a.astype(np.float64).reshape(shape)

    with np.errstate(all="ignore"):
        if g["which"] == "forward":
            expected = (ref.batch_norm_forward(arr("x", (n, c, l)), arr("mean", (c,)), arr("var", (c,)),
                                               arr("weight", (c,)), arr("bias", (c,)), g["eps"]),)
        else:
            expected = ref.batch_norm_backward(arr("g", (n, c, l)), arr("x", (n, c, l)), arr("mean", (c,)),
                                               arr("var", (c,)), arr("weight", (c,)), g["eps"], bool(g["batch_stats"]))
        tol = dict(rtol=2e-4, atol=2e-5) if ctype == "float" else dict(rtol=1e-9, atol=1e-11)
        for name, exp in zip(outputs, expected):
            got = bufs[name][1]
            if got is None:
                continue
            np.testing.assert_allclose(got, exp.reshape(-1).astype(got.dtype), equal_nan=True,
                                       err_msg=f"raw batch_norm {name} {g}", **dict(tol, atol=tol["atol"] * max(1, n * l)))
    return "nan" if g["nan"] else "ok"
