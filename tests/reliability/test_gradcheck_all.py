"""Gradcheck (float64, central differences) for every layer, loss and op, and a meta-test
that no differentiable op escapes it.

tests/nn already gradchecks Linear + LayerNorm + GELU, Conv2d + AvgPool2d, Embedding, LSTM,
RNN (bidirectional), MultiheadAttention and TransformerEncoderLayer; the layer cases here
fill the gaps (max pooling, strided / unpadded / pointwise convolutions, every activation,
dropout, padding_idx, two-axis LayerNorm, relu RNN, batch-first bidirectional LSTM, attention
masks and weights, TransformerEncoder, every loss module and reduction).  The op cases are
small compositions that between them run every ``Function`` subclass of tinygrad_edu.ops
(tests/ops checks each op against PyTorch as well).

While a case runs, ``Function.apply`` is wrapped to record which Function classes ran;
``test_every_function_is_gradchecked`` (re)runs whatever case has not run in this session and
then asserts that every concrete Function subclass defined in tinygrad_edu.ops was among
them, so a new op without a gradcheck fails here.
"""
import importlib
import pkgutil

import numpy as np
import pytest

import tinygrad_edu as tge
import tinygrad_edu.nn.functional as F
import tinygrad_edu.ops
from tinygrad_edu import Tensor, nn
from tinygrad_edu.autograd import Function
from tinygrad_edu.utils import gradcheck

#: Function subclasses that are not operations of their own (bases)
ABSTRACT = {"_Loss"}

_SEEN = set()  # Function classes that ran inside a gradcheck
_RAN = set()  # names of the cases that ran


def randn(*shape, seed=0, away_from_zero=False):
    a = np.random.default_rng(seed).standard_normal(shape)
    if away_from_zero:  # kinks (relu, abs, clip, max ties) far from the difference step
        a = np.where(np.abs(a) < 0.2, a + np.sign(a + 1e-12) * 0.3, a)
    return a


def T(*shape, seed=0, away_from_zero=False):
    return Tensor(randn(*shape, seed=seed, away_from_zero=away_from_zero), requires_grad=True)


def params(module):
    return list(module.parameters())


def run_gradcheck(name, fn, inputs, **kwargs):
    """gradcheck(fn, inputs) with Function.apply wrapped to record what ran."""
    original = Function.__dict__["apply"]

    def recording(cls, *args, **options):
        _SEEN.add(cls)
        return original.__func__(cls, *args, **options)

    Function.apply = classmethod(recording)
    try:
        assert gradcheck(fn, inputs, **kwargs), name
    finally:
        Function.apply = original
    _RAN.add(name)


# ------------------------------------------------------------------------------------
# Cases: name -> () -> (fn, inputs[, gradcheck options])
# ------------------------------------------------------------------------------------
CASES = {}


def case(fn):
    CASES[fn.__name__] = fn
    return fn


# ---- layers ---------------------------------------------------------------------------
@case
def linear_no_bias_3d_input():
    layer = nn.Linear(3, 2, bias=False).double()
    return (lambda x, *ps: layer(x)), [T(2, 2, 3)] + params(layer)


@case
def sequential_linear_relu_and_relu_pool():
    # nn.Sequential's rewrites: Linear + ReLU as one node (LinearReLU), ReLU + MaxPool2d
    # run pool-first; inputs away from 0 so that relu's kink is not differenced across
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(8, 3), nn.ReLU(), nn.Linear(3, 2)).double()
    return (lambda x, *ps: model(x)), [T(2, 1, 6, 6, away_from_zero=True)] + params(model)


@case
def conv2d_stride_padding_no_bias():
    layer = nn.Conv2d(2, 3, (3, 2), stride=(2, 1), padding=(1, 0), bias=False).double()
    return (lambda x, *ps: layer(x)), [T(2, 2, 5, 4)] + params(layer)


@case
def conv2d_pointwise_and_wide():
    # 1x1 (no lowering at all) followed by a stride-1 unpadded 3x3 (the "wide" lowering)
    model = nn.Sequential(nn.Conv2d(3, 2, 1), nn.Conv2d(2, 2, 3)).double()
    return (lambda x, *ps: model(x)), [T(1, 3, 5, 6)] + params(model)


@case
def max_pool2d_layers():
    a, b = nn.MaxPool2d(2), nn.MaxPool2d(3, stride=1, padding=1)
    return (lambda x: a(x) + b(x)[:, :, ::2, ::2]), [T(2, 2, 4, 4)]


@case
def avg_pool2d_padded_strided():
    pool = nn.AvgPool2d(3, stride=2, padding=1)
    return (lambda x: pool(x)), [T(1, 2, 5, 6)]


@case
def activation_modules():
    layers = [nn.ReLU(), nn.LeakyReLU(0.2), nn.GELU(), nn.GELU(approximate="tanh"),
              nn.Sigmoid(), nn.Tanh(), nn.Softmax(dim=1), nn.LogSoftmax(dim=0)]
    return (lambda x: tuple(layer(x) for layer in layers)), [T(3, 4, away_from_zero=True)]


@case
def dropout_train_mode():
    layer = nn.Dropout(0.4)

    def fn(x):
        tge.manual_seed(7)  # the same mask on every call
        return layer(x)

    return fn, [T(4, 5)]


@case
def embedding_padding_idx():
    emb = nn.Embedding(6, 3, padding_idx=0).double()
    ids = Tensor(np.array([[1, 2, 5], [5, 3, 1]]))  # the padding row's gradient is 0 by design
    return (lambda w: emb(ids) * 2.0), [emb.weight]


@case
def batch_norm_modules_train_and_eval():
    # training mode: the statistics are the batch's own, so they move with x (the running
    # estimates are not tracked, so that every evaluation of fn is the same function);
    # eval mode: fixed running estimates, an affine map of x
    train1 = nn.BatchNorm1d(2, track_running_stats=False).double()
    train2 = nn.BatchNorm2d(2, affine=False, track_running_stats=False).double()
    fixed = nn.BatchNorm1d(2).double().eval()
    fixed.running_mean.data[...] = [0.3, -0.2]
    fixed.running_var.data[...] = [1.5, 0.7]

    def fn(x, *ps):
        return train1(x), train2(x.unsqueeze(-1)), fixed(x)

    return fn, [T(3, 2, 4, away_from_zero=True)] + params(train1) + params(fixed)


@case
def silu_softplus_functional_and_modules():
    def fn(x):
        return (F.silu(x), nn.SiLU()(x), F.softplus(x, beta=2.0, threshold=1.5), nn.Softplus()(x * 30))

    return fn, [T(3, 4, away_from_zero=True)]


@case
def conv1d_groups_dilation():
    layer = nn.Conv1d(4, 2, 3, stride=2, padding=1, dilation=2, groups=2).double()
    return (lambda x, *ps: layer(x)), [T(2, 4, 7)] + params(layer)


@case
def conv_transpose2d_layers():
    a = nn.ConvTranspose2d(2, 3, (3, 2), stride=2, padding=1, output_padding=1).double()
    b = nn.ConvTranspose2d(2, 2, 2, groups=2, dilation=2, bias=False).double()
    return (lambda x, *ps: (a(x), b(x))), [T(1, 2, 3, 3)] + params(a) + params(b)


@case
def adaptive_avg_pool_and_dropout2d():
    pool, drop = nn.AdaptiveAvgPool2d((2, 3)), nn.Dropout2d(0.5)

    def fn(x):
        tge.manual_seed(5)  # the same channel mask on every call
        return pool(x), drop(x)

    return fn, [T(2, 3, 5, 4)]


@case
def gru_bidirectional_two_layers():
    gru = nn.GRU(2, 3, num_layers=2, bidirectional=True).double()
    return (lambda x, h0, *ps: gru(x, h0)), [T(3, 2, 2), T(4, 2, 3, seed=1)] + params(gru)


@case
def transformer_decoder_layer():
    layer = nn.TransformerDecoderLayer(4, 2, dim_feedforward=5, dropout=0.0).double()
    mask = nn.Transformer.generate_square_subsequent_mask(3, dtype=np.float64)
    return (lambda t, m, *ps: layer(t, m, tgt_mask=mask)), [T(3, 2, 4), T(2, 2, 4, seed=1)] + params(layer)


@case
def cross_entropy_label_smoothing():
    target = Tensor(np.array([0, 2, -100, 1]))
    probs = Tensor(np.full((4, 3), 1 / 3))
    return (lambda x: (F.cross_entropy(x, target, label_smoothing=0.1),
                       F.cross_entropy(x, probs, reduction="sum", label_smoothing=0.2))), [T(4, 3)]


@case
def layer_norm_two_axes_no_bias():
    a = nn.LayerNorm((3, 4)).double()
    b = nn.LayerNorm(4, elementwise_affine=False)
    return (lambda x, *ps: a(x) + b(x)), [T(2, 3, 4)] + params(a)


@case
def rnn_relu_with_initial_state():
    rnn = nn.RNN(2, 3, nonlinearity="relu").double()
    fn = (lambda x, h0, *ps: rnn(x, h0))
    return fn, [T(3, 2, 2), T(1, 2, 3, seed=1)] + params(rnn)


@case
def lstm_with_its_input_projection():  # the Keras LSTM's Function, both ways, with / without bias
    from tinygrad_edu.ops.rnn import LSTMInputLayer as L

    return (lambda x, wx, wh, h, c, b: (L.apply(x, wx, wh, h, c, b), L.apply(x, wx, wh, h, c, reverse=True)),
            [T(3, 2, 2), T(2, 8, seed=1), T(2, 8, seed=2), T(2, 2, seed=3), T(2, 2, seed=4), T(8, seed=5)])


@case
def lstm_batch_first_bidirectional():
    lstm = nn.LSTM(2, 2, batch_first=True, bidirectional=True).double()

    def fn(x, *ps):
        out, (h, c) = lstm(x)
        return out, h, c

    return fn, [T(2, 3, 2)] + params(lstm)


@case
def multihead_attention_masks_and_weights():
    mha = nn.MultiheadAttention(4, 2).double()  # (T, N, E) layout
    mask = np.triu(np.full((3, 3), -1e9), k=1)  # a float mask, added to the scores

    def fn(q, k, *ps):
        out, weights = mha(q, k, k, attn_mask=mask, need_weights=True)
        return out, weights

    return fn, [T(3, 2, 4), T(3, 2, 4, seed=1)] + params(mha)


@case
def transformer_encoder_stack():
    layer = nn.TransformerEncoderLayer(4, 2, dim_feedforward=5, dropout=0.0, batch_first=True)
    enc = nn.TransformerEncoder(layer, num_layers=2).double()
    pad = np.array([[False, False, True], [False, False, False]])
    return (lambda x, *ps: enc(x, src_key_padding_mask=pad)), [T(2, 3, 4)] + params(enc)


@case
def sequential_flatten_identity():
    model = nn.Sequential(nn.Flatten(), nn.Identity(), nn.Linear(6, 2)).double()
    return (lambda x, *ps: model(x)), [T(2, 2, 3)] + params(model)


# ---- losses ---------------------------------------------------------------------------
@case
def cross_entropy_loss_reductions_and_ignore_index():
    target = Tensor(np.array([0, 2, -100, 1]))
    losses = [nn.CrossEntropyLoss(reduction=r) for r in ("mean", "sum", "none")]
    return (lambda x: tuple(loss(x, target) for loss in losses)), [T(4, 3)]


@case
def cross_entropy_loss_spatial():
    target = Tensor(np.array([[0, 2], [1, 1]]))
    return (lambda x: nn.CrossEntropyLoss()(x, target)), [T(2, 3, 2)]


@case
def cross_entropy_soft_targets():
    def fn(x, t):
        return F.cross_entropy(x, t.softmax(axis=1))

    return fn, [T(3, 4), T(3, 4, seed=1)]


@case
def nll_loss_reductions():
    target = Tensor(np.array([1, 0, 2]))
    losses = [nn.NLLLoss(reduction=r) for r in ("mean", "sum", "none")]
    return (lambda x: tuple(loss(x.log_softmax(1), target) for loss in losses)), [T(3, 3)]


@case
def bce_losses():
    def fn(x, t):
        p, target = x.sigmoid(), t.sigmoid()
        return (nn.BCELoss()(p, target), nn.BCELoss(reduction="none")(p, target),
                nn.BCEWithLogitsLoss(reduction="sum")(x, target),
                nn.BCEWithLogitsLoss(pos_weight=Tensor(np.array([0.5, 2.0, 1.0])))(x, target))

    return fn, [T(2, 3), T(2, 3, seed=1)]


@case
def regression_losses():
    def fn(a, b):
        return nn.MSELoss()(a, b), nn.MSELoss(reduction="sum")(a, b), nn.L1Loss()(a, b)

    return fn, [T(3, 2), T(3, 2, seed=1)]


# ---- functional ------------------------------------------------------------------------
@case
def scaled_dot_product_attention_causal():
    def fn(q, k, v):
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)

    return fn, [T(2, 3, 4), T(2, 3, 4, seed=1), T(2, 3, 4, seed=2)]


@case
def causal_self_attention_packed():
    # GPT's fused attention (tinygrad_edu.ops.attention): packed qkv (B, T, 3E), 2 heads
    from tinygrad_edu.nn.functional import causal_self_attention

    return (lambda qkv: causal_self_attention(qkv, 2), [T(2, 5, 12, seed=31)])


@case
def functional_conv_pool_linear():
    def fn(x, w, b, lw):
        y = F.conv2d(x, w, b, stride=2, padding=1)
        y = F.max_pool2d(y, 2) + F.avg_pool2d(y, 2)
        return F.linear(y.flatten(1), lw)

    return fn, [T(2, 1, 6, 6), T(2, 1, 3, 3, seed=1), T(2, seed=2), T(3, 2, seed=3)]


# ---- ops: every Function, in small compositions ----------------------------------------
@case
def ops_arithmetic_broadcast():
    def fn(a, b, c):
        return (a + b) * c - a / (c.abs() + 1.0) ** 2 + (-b) ** 3 + 2.0 ** a

    return fn, [T(3, 1), T(4, seed=1), T(3, 4, seed=2, away_from_zero=True)]


@case
def ops_max_min_where_clip():
    cond = randn(3, 4, seed=9) > 0

    def fn(a, b):
        return (a.maximum(b) + a.minimum(b) * 2 + tge.where(cond, a, b) + a.clip(-0.5, 0.5)
                + b.clip(lo=0.0))

    return fn, [T(3, 4, away_from_zero=True), T(3, 4, seed=1, away_from_zero=True)]


@case
def ops_unary():
    def fn(x):
        return (x.exp(), (x.abs() + 1).log(), (x.abs() + 0.5).sqrt(), x.tanh(), x.sigmoid(),
                x.relu(), F.leaky_relu(x, 0.1), F.gelu(x), F.gelu(x, approximate="tanh"))

    return fn, [T(2, 5, away_from_zero=True)]


@case
def ops_cast_round_trip():
    # float64 -> float32 -> float64 is linear; the float32 rounding needs a larger step
    return (lambda x: x.astype(np.float32).astype(np.float64) * 3.0), [T(4)], \
        dict(eps=1e-3, atol=1e-3)


@case
def ops_movement():
    def fn(x, y):
        z = x.reshape(3, 4).permute(1, 0).transpose(0, 1)
        z = z.unsqueeze(0).expand(2, 3, 4)
        picked = z[:, [0, 2, 2], 1:3] + z[1, None, ..., ::2].sum()
        padded = y.pad(((1, 0), (2, 1)))
        joined = tge.cat([padded, padded * 2], axis=0)
        stacked = tge.stack([y, y.T.T], axis=1)
        return picked, joined, stacked, x.reshape(1, 2, 6).squeeze(0).flatten()

    return fn, [T(2, 6), T(2, 3, seed=1)]


@case
def ops_reductions():
    def fn(x):
        return (x.sum(axis=1), x.mean(axis=(0, 2), keepdims=True), x.max(axis=2), x.min(),
                x.var(axis=1), x.var(correction=0), x.std(axis=0), x.softmax(axis=1),
                x.log_softmax(axis=-1))

    return fn, [T(2, 3, 4)]


@case
def ops_matmul_shapes():
    def fn(a, b, c, v):
        return a @ b, c @ a.reshape(2, 1, 3, 4), v @ b, b.T @ v.reshape(4, 1), v @ v

    return fn, [T(2, 3, 4), T(4, 5, seed=1), T(3, 3, seed=2), T(4, seed=3)]


@case
def ops_embedding_layernorm_dropout_functional():
    ids = Tensor(np.array([1, 3, 3]))

    def fn(w, g, b):
        tge.manual_seed(3)
        e = F.embedding(ids, w)
        return F.dropout(F.layer_norm(e, (4,), g, b), 0.25)

    return fn, [T(5, 4), T(4, seed=1), T(4, seed=2)]


@case
def ops_in_place_in_a_graph_and_to_device():
    from tinygrad_edu.ops.movement import ToDevice

    def fn(x, v, s):
        z = x * 1
        z[1:3] = v * 2                                   # SetItem
        z.masked_fill_(Tensor([True, False, False, False, True]), 0.5)  # MaskedFill
        q = x * 1
        q.copy_(s)                                       # Copy (broadcast)
        r = x * 1
        r.fill_(2.0)                                     # Fill
        r *= x
        return z * x, q * x, r, ToDevice.apply(x, device="cpu")

    return fn, [T(5), T(2, seed=1), T(1, seed=2)]


@case
def ops_torch_style_indexing_scans_trig():
    index = Tensor(np.array([[0, 2, 2], [1, 0, 3]]))

    def fn(x, src):
        return (x.gather(1, index), x.scatter_add(1, index, src), x.cumsum(1), x.prod(1),
                x.prod(), x.sin(), x.cos(), x.sort(1, descending=True).values, x.topk(2).values,
                x.max(1).values, x.logsumexp(0))

    return fn, [T(2, 4, away_from_zero=True), T(2, 3, seed=1)]


@case
def ops_einsum():
    def fn(a, b, c):
        return (tge.einsum("bij,bjk->bik", a, b), tge.einsum("ii->i", c), tge.einsum("bij->j", a),
                tge.einsum("...j,jk->...k", a, b[0]))

    return fn, [T(2, 3, 4), T(2, 4, 2, seed=1), T(3, 3, seed=2)]


# ------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(CASES))
def test_gradcheck(name):
    tge.manual_seed(0)
    built = CASES[name]()
    fn, inputs = built[0], built[1]
    options = built[2] if len(built) > 2 else {}
    run_gradcheck(name, fn, inputs, **options)


def _function_classes():
    """Every concrete Function subclass defined in tinygrad_edu.ops (all its modules)."""
    for info in pkgutil.iter_modules(tinygrad_edu.ops.__path__):
        importlib.import_module(f"tinygrad_edu.ops.{info.name}")
    found, stack = set(), [Function]
    while stack:
        for sub in stack.pop().__subclasses__():
            stack.append(sub)
            if sub.__module__.startswith("tinygrad_edu.ops") and sub.__name__ not in ABSTRACT:
                found.add(sub)
    return found


def test_every_function_is_gradchecked():
    for name in sorted(set(CASES) - _RAN):  # cases deselected or not yet run in this session
        test_gradcheck(name)
    missing = sorted(f"{f.__module__}.{f.__name__}" for f in _function_classes() - _SEEN)
    assert not missing, (f"Function subclasses that no gradcheck runs: {missing}; add a case "
                         "to tests/reliability/test_gradcheck_all.py")


def test_utils_package_exports():
    """``from tinygrad_edu.utils import gradcheck`` gives the function (not its module), and
    the other helpers load on first use."""
    import tinygrad_edu.utils as utils
    import tinygrad_edu.utils.gradcheck  # noqa: F401 - must not shadow the function

    assert callable(utils.gradcheck) and utils.gradcheck is gradcheck
    from tinygrad_edu.utils import (AnomalyError, GradcheckError, detect_anomaly,  # noqa: F401
                                    draw_graph, load, save)
    assert save is tge.save and load is tge.load and detect_anomaly is tge.detect_anomaly
    with pytest.raises(GradcheckError, match="input 0"):
        gradcheck(lambda x: x * x.detach(), [Tensor(np.array([1.0, 2.0]), requires_grad=True)])
    with pytest.raises(AttributeError):
        utils.no_such_helper
