"""Differential targets through the wrappers of the fused kernels: the LSTM layer, the
softmax cross-entropy and the optimizer steps (C table against the NumPy twins).
"""
from __future__ import annotations

import numpy as np

from tinygrad_edu.backends import c as ck
from tinygrad_edu.backends import numpy_ref as ref

from .common import (
    DTYPES, LAYOUTS, VALUE_KINDS, _Threads, _calls_alike, lay_out, same_values, size,
    values)


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
# softmax cross-entropy with class targets (cross_entropy_forward / backward)
# ------------------------------------------------------------------------------------

def gen_xent(src):
    return dict(dtype=src.choice(DTYPES), n=size(src, 6), c=size(src, 7),
                ignore_index=src.choice([-100, -100, 0, 2, -1]),
                bad_target=src.choice([None, None, None, None, -1, -5, "c", "c+3"]),
                layout=src.choice(LAYOUTS), values=src.choice(VALUE_KINDS),
                scale=src.choice([1.0, 10.0, 100.0]), seed=src.int(0, 2**32 - 1))


def check_xent(case):
    if not hasattr(ck, "cross_entropy_forward"):
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
        if _calls_alike(lambda: ck.cross_entropy_forward(logits, target, ignore),
                        lambda: ref.cross_entropy_forward(logits, target, ignore),
                        same) == "raised":
            return "refused"
        logp, _ = ref.cross_entropy_forward(logits, target, ignore)
        _calls_alike(lambda: ck.cross_entropy_backward(logp, target, ignore, g),
                     lambda: ref.cross_entropy_backward(logp, target, ignore, g), same)
    return "special" if case["values"] == "special" else "ok"


# ------------------------------------------------------------------------------------
# optimizer steps (adam_step / sgd_step): the C table against the NumPy twins
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


def _optim_step(table, case, group, params, grads, states):
    """One step of ``table``'s adam_step / sgd_step over params, keeping per-parameter state
    as optim/_fused.py does."""
    if case["kind"] == "sgd":
        momentum = case["momentum"] != 0
        first = [st.get("momentum_buffer") is None for st in states]
        for st, p in zip(states, params):
            st.setdefault("momentum_buffer", np.empty_like(p))
        table.sgd_step(group, params, grads,
                       [st["momentum_buffer"] for st in states] if momentum else None, first)
        return
    for st, p in zip(states, params):
        if not st:
            st.update(step=0, exp_avg=np.zeros_like(p), exp_avg_sq=np.zeros_like(p),
                      max_exp_avg_sq=np.zeros_like(p))
        st["step"] += 1
    hp = dict(group, decoupled=case["kind"] == "adamw")
    table.adam_step(hp, params, grads, [st["exp_avg"] for st in states],
                    [st["exp_avg_sq"] for st in states],
                    [st["max_exp_avg_sq"] for st in states] if case["amsgrad"] else None,
                    [st["step"] for st in states])


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
    for step in range(1, case["steps"] + 1):
        grads = [values(rng, p.shape, dt, case["values"]) for p in ours]
        with np.errstate(all="ignore"):
            _optim_step(ref, case, group, theirs, grads, states_ref)
            _optim_step(ck, case, group, ours, grads, states_c)
        tol = dict(rtol=2e-6, atol=1e-7) if dt == np.float32 else dict(rtol=1e-13, atol=1e-15)
        for i, (a, b) in enumerate(zip(ours, theirs)):
            np.testing.assert_allclose(a, b, equal_nan=True, err_msg=f"{case} step {step} p{i}",
                                       **tol)
    return "special" if case["values"] == "special" else "ok"
