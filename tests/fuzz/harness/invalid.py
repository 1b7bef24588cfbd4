"""Invalid calls: one argument of a legal call spoiled; the C and NumPy tables must agree
(the same exception, or the same result when the spoiling gave a legal call).
"""
from __future__ import annotations

import numpy as np

from tinygrad_edu.backends import c as ck
from tinygrad_edu.backends import numpy_ref as ref

from .common import DTYPES, _calls_alike, same_values, values


# ------------------------------------------------------------------------------------
# invalid calls: one argument of a legal call spoiled; both tables must agree
# ------------------------------------------------------------------------------------

#: kernel -> the ways its arguments are spoiled (see _spoil)
SPOILERS = {
    "matmul": ["dtype", "mixed_dtype", "rank", "batch", "inner", "flag", "not_array"],
    "conv2d_forward": ["dtype", "mixed_dtype", "rank", "channels", "big_kernel", "stride",
                       "padding", "bias_shape", "bias_dtype", "not_array"],
    "conv2d_backward_input": ["gy_shape", "shape_arg", "stride", "padding", "channels"],
    "conv2d_backward_weight": ["gy_shape", "shape_arg", "stride", "big_kernel"],
    "max_pool2d_forward": ["dtype", "rank", "pool_padding", "kernel", "stride", "big_kernel",
                           "empty_plane"],
    "max_pool2d_backward": ["indices_dtype", "indices_shape", "indices_range", "gy_nc",
                            "shape_arg", "dtype"],
    "avg_pool2d_forward": ["dtype", "rank", "pool_padding", "kernel", "stride", "big_kernel",
                           "empty_plane"],
    "avg_pool2d_backward": ["gy_shape", "shape_arg", "pool_padding", "kernel"],
    "gelu_forward": ["dtype", "not_array"],
    "gelu_backward": ["dtype", "mixed_dtype", "gy_shape"],
    "relu_forward": ["dtype", "not_array"],
    "relu_backward": ["dtype", "mixed_dtype", "gy_shape"],
    "lstm_forward": ["dtype", "mixed_dtype", "rank", "lstm_hidden", "not_array"],
    "lstm_backward": ["dtype", "mixed_dtype", "lstm_saved", "lstm_g_cn"],
    "cross_entropy_forward": ["dtype", "rank", "target_dtype", "target_shape", "target_range"],
    "cross_entropy_backward": ["dtype", "target_shape", "target_range", "xent_g"],
}
BAD_PAIRS = [(0, 1), (1, -1), (-2, -2), (1,), (1, 2, 3), 1.5, "2", None, (True, 1),
             (2.0, 1), [1, 1], np.int64(2)]


def gen_invalid(src):
    kernel = src.choice(sorted(SPOILERS))
    return dict(kernel=kernel, spoil=src.choice(SPOILERS[kernel]), dtype=src.choice(DTYPES),
                pick=src.int(0, 1000), seed=src.int(0, 2**32 - 1))


def _legal_call(case, rng):
    """(function name, positional args) of a legal call of ``case["kernel"]``."""
    dt = np.dtype(case["dtype"])
    kernel = case["kernel"]

    def arr(*shape):
        return values(rng, shape, dt, "normal")

    if kernel == "matmul":
        return [arr(2, 3, 4), arr(2, 4, 5), False, False]
    x, w, b = arr(2, 3, 7, 6), arr(4, 3, 3, 2), arr(4)
    if kernel == "conv2d_forward":
        return [x, w, b, (2, 1), (1, 0)]
    y = ref.conv2d_forward(x, w, b, (2, 1), (1, 0))
    if kernel == "conv2d_backward_input":
        return [arr(*y.shape), w, x.shape, (2, 1), (1, 0)]
    if kernel == "conv2d_backward_weight":
        return [arr(*y.shape), x, w.shape, (2, 1), (1, 0)]
    if kernel in ("max_pool2d_forward", "avg_pool2d_forward"):
        return [x, (3, 2), (2, 1), (1, 1)]
    py, idx = ref.max_pool2d_forward(x, (3, 2), (2, 1), (1, 1))
    if kernel == "max_pool2d_backward":
        return [arr(*py.shape), idx, x.shape]
    if kernel == "avg_pool2d_backward":
        return [arr(*py.shape), x.shape, (3, 2), (2, 1), (1, 1)]
    if kernel in ("gelu_forward", "relu_forward"):
        return [arr(3, 4)]
    if kernel in ("gelu_backward", "relu_backward"):
        return [arr(3, 4), arr(3, 4)]
    xw, w_hh, h0, c0 = arr(3, 2, 8), arr(8, 2), arr(2, 2), arr(2, 2)
    if kernel == "lstm_forward":
        return [xw, w_hh, h0, c0]
    if kernel == "lstm_backward":
        out, c_all, gates = ref.lstm_forward(xw, w_hh, h0, c0)
        return [w_hh, h0, c0, out, c_all, gates, arr(3, 2, 2), arr(2, 2)]
    logits, target = arr(4, 3), np.array([0, 2, -100, 1])
    if kernel == "cross_entropy_forward":
        return [logits, target, -100]
    logp, _ = ref.cross_entropy_forward(logits, target, -100)
    return [logp, target, -100, arr(4)]  # cross_entropy_backward


def _spoil(case, args, rng):
    """Spoil one argument of ``args`` as ``case["spoil"]`` says."""
    kernel, how, pick = case["kernel"], case["spoil"], case["pick"]
    args = list(args)
    other = np.float64 if np.dtype(case["dtype"]) == np.float32 else np.float32
    bad_dtypes = [np.int64, np.int32, np.float16, np.bool_, np.complex64, other]
    pair_at = {"conv2d_forward": (3, 4), "conv2d_backward_input": (3, 4),
               "conv2d_backward_weight": (3, 4), "max_pool2d_forward": (1, 2, 3),
               "avg_pool2d_forward": (1, 2, 3), "avg_pool2d_backward": (2, 3, 4)}
    shape_at = {"conv2d_backward_input": 2, "conv2d_backward_weight": 2,
                "max_pool2d_backward": 2, "avg_pool2d_backward": 1}
    if how == "dtype":
        args[0] = args[0].astype(bad_dtypes[pick % len(bad_dtypes)])
    elif how == "mixed_dtype":
        args[1] = args[1].astype(other)
    elif how == "rank":
        args[0] = args[0][0] if pick % 2 else args[0][None]
    elif how == "batch":
        args[1] = np.concatenate([args[1], args[1]])
    elif how == "inner":
        args[1] = args[1][:, 1:]
    elif how == "flag":
        args[2 + pick % 2] = [2, -1, "yes", None, 0.5][pick % 5]
    elif how == "not_array":
        args[0] = [args[0].tolist(), 3.0, None, "x"][pick % 4]
    elif how == "channels":
        at = 1
        args[at] = args[at][:, 1:]
    elif how == "big_kernel":
        if kernel in ("max_pool2d_forward", "avg_pool2d_forward"):
            args[1] = (9 + pick % 5, 2)
        elif kernel == "conv2d_backward_weight":
            args[2] = (4, 3, 12, 2)
        else:
            args[1] = np.concatenate([args[1]] * 4, axis=2)  # kh 12 > 7 + 2
    elif how in ("stride", "padding", "kernel"):
        positions = pair_at[kernel]
        index = {"kernel": 0, "stride": 1, "padding": 2}[how] if len(positions) == 3 else \
            {"stride": 0, "padding": 1}[how]
        args[positions[index]] = BAD_PAIRS[pick % len(BAD_PAIRS)] if how != "padding" else \
            [(-1, 0), (0, -3), 1.0, (1,), "p", (None, 0)][pick % 6]
    elif how == "pool_padding":
        positions = pair_at[kernel]
        args[positions[2]] = [(2, 0), (0, 2), (3, 3)][pick % 3]
    elif how == "bias_shape":
        args[2] = [args[2][:-1], args[2][None], np.concatenate([args[2], args[2]])][pick % 3]
    elif how == "bias_dtype":
        args[2] = args[2].astype(other)
    elif how == "gy_shape":
        args[0] = [args[0][..., :-1], args[0][:1], args[0].reshape(-1)][pick % 3]
    elif how == "shape_arg":
        at = shape_at[kernel]
        args[at] = [(2, 3, 7), (2, 3, 7, -6), (2, 3, 7, 6, 1), "shape", None,
                    (2, 3, 7.5, 6), (2, 2**62, 2**62, 6)][pick % 7]
    elif how == "empty_plane":
        args[0] = args[0][:, :, :0] if pick % 2 else args[0][:, :, :, :0]
        args[3] = (0, 0) if pick % 3 else args[3]
    elif how == "indices_dtype":
        args[1] = args[1].astype([np.int32, np.float64, np.uint64][pick % 3])
    elif how == "indices_shape":
        args[1] = args[1][..., :-1]
    elif how == "indices_range":
        args[1] = args[1].copy()
        args[1].reshape(-1)[pick % args[1].size] = [-1, 42, 2**40][pick % 3]
    elif how == "gy_nc":
        args[0] = args[0][:1]
        args[1] = args[1][:1]
    elif how == "lstm_hidden":
        at = 1 + pick % 3  # w_hh, h0 or c0 of the wrong size
        args[at] = args[at][..., :1] if pick % 2 else np.concatenate([args[at]] * 2)
    elif how == "lstm_saved":
        at = [3, 4, 6][pick % 3]  # out, c_all or g_out of the wrong shape (or dtype)
        args[at] = [args[at][:-1], args[at][..., :1], args[at].astype(other)][pick % 3]
    elif how == "target_dtype":
        args[1] = args[1].astype([np.int32, np.float64, np.uint8][pick % 3])
    elif how == "target_shape":
        args[1] = [args[1][:-1], args[1][None], args[1].reshape(2, 2)][pick % 3]
    elif how == "target_range":
        args[1] = args[1].copy()
        args[1][pick % args[1].size] = [-1, 3, 2**40, -101][pick % 4]
    elif how == "xent_g":
        args[3] = [args[3][:-1], args[3][:, None], args[3].astype(other)][pick % 3]
    elif how == "lstm_g_cn":
        args[7] = [args[7][:1], args[7].astype(other), args[7].reshape(-1)][pick % 3]
    else:  # pragma: no cover - a name in SPOILERS without a branch here
        raise AssertionError(f"unknown spoiler {how!r}")
    return args


def check_invalid(case):
    if not hasattr(ck, case["kernel"]):
        return "absent"
    rng = np.random.default_rng(case["seed"])
    args = _spoil(case, _legal_call(case, rng), rng)
    c_fn, ref_fn = getattr(ck, case["kernel"]), getattr(ref, case["kernel"])

    def compare(got, exp):
        got = got if isinstance(got, tuple) else (got,)
        exp = exp if isinstance(exp, tuple) else (exp,)
        for g, e in zip(got, exp):
            np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-4, equal_nan=True,
                                       err_msg=f"{case}")

    with np.errstate(all="ignore"):
        return _calls_alike(lambda: c_fn(*args), lambda: ref_fn(*args), compare)


# ---- the optimizer steps: spoiled wrapper calls, and raw calls ------------------------

OPTIM_SPOILERS = ["steps_short", "steps_zero", "first_short", "grads_fewer", "grad_shape",
                  "grad_dtype", "grad_strided", "param_readonly", "state_missing",
                  "state_shape", "param_int", "state_alias"]


def gen_invalid_optim(src):
    return dict(kind=src.choice(["adam", "sgd"]), spoil=src.choice(OPTIM_SPOILERS),
                count=src.int(1, 3), amsgrad=src.bool(), dtype=src.choice(DTYPES),
                pick=src.int(0, 1000), seed=src.int(0, 2**32 - 1))


def check_invalid_optim(case):
    """A spoiled call of c.adam_step / c.sgd_step must raise ValueError or TypeError before
    changing anything (the check is the contract's, numpy_ref/optim.py, shared with the
    NumPy twin, which the ``invalid`` target compares against for the other kernels)."""
    if not hasattr(ck, "adam_step"):
        return "absent"
    rng = np.random.default_rng(case["seed"])
    dt = np.dtype(case["dtype"])
    shapes = [(2, 3), (4,), (1, 2, 2)][: case["count"]]
    params = [values(rng, s, dt, "normal") for s in shapes]
    grads = [values(rng, s, dt, "normal") for s in shapes]
    state1 = [np.zeros(s, dt) for s in shapes]
    state2 = [np.zeros(s, dt) for s in shapes]
    state3 = [np.zeros(s, dt) for s in shapes]
    steps, first = [1] * len(shapes), [True] * len(shapes)
    how, pick = case["spoil"], case["pick"]
    if how == "steps_short":
        steps = steps[:-1] if pick % 2 else []
    elif how == "steps_zero":
        steps[pick % len(steps)] = [0, -1, -(2**40)][pick % 3]
    elif how == "first_short":
        first = first[:-1]
    elif how == "grads_fewer":
        grads = grads[:-1]
    elif how == "grad_shape":
        grads[0] = grads[0].reshape(-1)[:-1]
    elif how == "grad_dtype":
        grads[0] = grads[0].astype(np.float16 if pick % 2 else
                                   (np.float64 if dt == np.float32 else np.float32))
    elif how == "grad_strided":
        grads[0] = np.repeat(grads[0], 2, axis=-1)[..., ::2]
    elif how == "param_readonly":
        params[0].flags.writeable = False
    elif how == "state_missing":
        state1 = state1[:-1]
    elif how == "state_shape":  # exp_avg / the momentum buffer too small: C would write
        state1[0] = np.zeros(3, dt)  # past its end
    elif how == "param_int":
        params[0] = params[0].astype(np.int64)
    elif how == "state_alias":  # two state lists sharing an array: still a legal call
        state2 = state1
    before = [p.copy() for p in params]
    group = dict(lr=0.1, betas=(0.9, 0.99), eps=1e-8, weight_decay=0.01,
                 amsgrad=case["amsgrad"], maximize=False, momentum=0.9, dampening=0.0,
                 nesterov=False, decoupled=False)
    try:
        if case["kind"] == "adam":
            ck.adam_step(group, params, grads, state1, state2,
                         state3 if case["amsgrad"] else None, steps)
        else:
            ck.sgd_step(group, params, grads, state1, first)
    except (ValueError, TypeError) as exc:
        assert str(exc)
        assert all(same_values(p, b) for p, b in zip(params, before)), \
            f"an optimizer step refused {case} after changing parameters"
        return "raised"
    assert how in ("state_alias",) or (how == "steps_short" and case["kind"] == "sgd") or \
        (how == "first_short" and case["kind"] == "adam") or \
        (how == "steps_zero" and case["kind"] == "sgd"), f"accepted a spoiled call: {case}"
    return "ok"
