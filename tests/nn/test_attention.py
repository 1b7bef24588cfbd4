"""MultiheadAttention, TransformerEncoderLayer and TransformerEncoder against torch.nn with
copied weights: masks of every kind, both layouts, weights returned or not, post-norm and
pre-norm, relu and gelu; plus gradcheck."""
import numpy as np
import pytest

import tinygrad_edu as tge
from tinygrad_edu import Tensor, nn
from tinygrad_edu.utils.gradcheck import gradcheck

from .torch_compare import compare, torch

tnn = torch.nn
DTYPES = [np.float32, np.float64]
E, HEADS, L, S, N = 8, 2, 4, 5, 3


def randn(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def mha_pair(seed=0, **kwargs):
    torch.manual_seed(seed)
    return nn.MultiheadAttention(E, HEADS, **kwargs), tnn.MultiheadAttention(E, HEADS, **kwargs)


def seq(length, batch_first, features=E, seed=0):
    return randn(N, length, features, seed=seed) if batch_first else randn(length, N, features, seed=seed)


BOOL_ATTN = np.triu(np.ones((L, S), dtype=bool), k=2)                    # True = masked out
FLOAT_ATTN = np.where(BOOL_ATTN, -np.inf, randn(L, S, seed=7) * 0.5)
KEY_PAD = np.array([[False] * S, [False, False, False, True, True], [False, True, False, False, True]])
FLOAT_KEY_PAD = np.where(KEY_PAD, -np.inf, 0.0)
PER_HEAD = np.random.default_rng(9).random((N * HEADS, L, S)) < 0.3
PER_HEAD[..., 0] = False                                                # keep every row attendable

MASKS = {
    "none": {},
    "bool_attn": dict(attn_mask=BOOL_ATTN),
    "float_attn": dict(attn_mask=FLOAT_ATTN),
    "per_head_attn": dict(attn_mask=PER_HEAD),
    "bool_key_pad": dict(key_padding_mask=KEY_PAD),
    "float_key_pad": dict(key_padding_mask=FLOAT_KEY_PAD),
    "bool_both": dict(attn_mask=BOOL_ATTN, key_padding_mask=KEY_PAD),
    "float_attn_bool_pad": dict(attn_mask=FLOAT_ATTN, key_padding_mask=KEY_PAD),
}


def _masks(kwargs, lib):
    convert = (lambda a: Tensor(a)) if lib == "ours" else (lambda a: torch.tensor(a))
    return {k: convert(v) for k, v in kwargs.items()}


def _call(masks, **options):
    def call(module, q, k, v):
        lib = "ours" if isinstance(module, nn.Module) else "torch"
        extra = _masks(masks, lib)
        if lib == "ours":
            extra = {k: (m.astype(q.dtype) if m.dtype.kind == "f" else m) for k, m in extra.items()}
        else:
            extra = {k: (m.to(q.dtype) if m.is_floating_point() else m) for k, m in extra.items()}
        return module(q, k, v, **extra, **options)
    return call


@pytest.mark.filterwarnings("ignore:Support for mismatched key_padding_mask")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("mask", list(MASKS))
def test_mha_cross_attention_matches_torch(dtype, batch_first, mask):
    ours, theirs = mha_pair(batch_first=batch_first)
    q, k, v = seq(L, batch_first), seq(S, batch_first, seed=1), seq(S, batch_first, seed=2)
    compare(ours, theirs, [q, k, v], dtype, call=_call(MASKS[mask]))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("options", [dict(need_weights=False), dict(average_attn_weights=False)],
                         ids=["no_weights", "per_head"])
def test_mha_weight_options_match_torch(dtype, options):
    ours, theirs = mha_pair(batch_first=True)
    q, k, v = seq(L, True), seq(S, True, seed=1), seq(S, True, seed=2)
    outs, _ = compare(ours, theirs, [q, k, v], dtype, call=_call(MASKS["bool_key_pad"], **options))
    assert len(outs) == (1 if options.get("need_weights") is False else 2)
    if "average_attn_weights" in options:
        assert outs[1].shape == (N, HEADS, L, S)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch_first", [False, True])
def test_mha_self_attention_matches_torch(dtype, batch_first):
    ours, theirs = mha_pair(batch_first=batch_first)
    x = seq(S, batch_first)
    square = np.triu(np.ones((S, S), dtype=bool), k=1)

    def call(module, x):
        mask = Tensor(square) if isinstance(module, nn.Module) else torch.tensor(square)
        return module(x, x, x, attn_mask=mask, is_causal=True)

    compare(ours, theirs, [x], dtype, call=call)


def test_mha_is_causal_without_mask_builds_the_causal_mask():
    tge.manual_seed(0)
    mha = nn.MultiheadAttention(E, HEADS)
    x = Tensor(seq(S, False).astype(np.float32))
    causal = np.triu(np.ones((S, S), dtype=bool), k=1)
    a, wa = mha(x, x, x, is_causal=True)
    b, wb = mha(x, x, x, attn_mask=causal)
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-7)
    assert np.all(wa.numpy()[:, causal] == 0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_mha_kdim_vdim_and_no_bias_match_torch(dtype):
    ours, theirs = mha_pair(kdim=5, vdim=3, bias=False)
    assert list(ours.state_dict()) == ["q_proj_weight", "k_proj_weight", "v_proj_weight", "out_proj.weight"]
    q, k, v = seq(L, False), seq(S, False, features=5, seed=1), seq(S, False, features=3, seed=2)
    compare(ours, theirs, [q, k, v], dtype, call=_call(MASKS["bool_both"]))


@pytest.mark.parametrize("dtype", DTYPES)
def test_mha_unbatched_matches_torch(dtype):
    ours, theirs = mha_pair()
    q, k, v = randn(L, E), randn(S, E, seed=1), randn(S, E, seed=2)
    pad = np.array([False, False, True, False, True])

    def call(module, q, k, v):
        m = Tensor(pad) if isinstance(module, nn.Module) else torch.tensor(pad)
        return module(q, k, v, key_padding_mask=m, average_attn_weights=False)

    compare(ours, theirs, [q, k, v], dtype, call=call)


def test_mha_parameters_and_init():
    mha = nn.MultiheadAttention(64, 4)
    assert [n for n, _ in mha.named_parameters()] == ["in_proj_weight", "in_proj_bias", "out_proj.weight",
                                                      "out_proj.bias"]
    assert mha.in_proj_weight.shape == (192, 64)
    w = mha.in_proj_weight.numpy()
    bound = np.sqrt(6 / (64 + 192))  # xavier_uniform on (3E, E)
    assert w.min() >= -bound and w.max() <= bound and abs(w.std() - bound / np.sqrt(3)) < 0.05 * bound
    assert np.all(mha.in_proj_bias.numpy() == 0) and np.all(mha.out_proj.bias.numpy() == 0)
    assert np.abs(mha.out_proj.weight.numpy()).max() <= 1 / np.sqrt(64)


def test_mha_attention_dropout_only_in_training():
    tge.manual_seed(0)
    mha = nn.MultiheadAttention(E, HEADS, dropout=0.5)
    x = Tensor(seq(S, False).astype(np.float32))
    mha.eval()
    _, w = mha(x, x, x)
    np.testing.assert_allclose(w.numpy().sum(-1), 1.0, rtol=1e-5)
    mha.train()
    _, w = mha(x, x, x, average_attn_weights=False)
    assert np.any(w.numpy() == 0)


def test_mha_errors_name_shapes():
    mha = nn.MultiheadAttention(E, HEADS)
    x = Tensor(seq(S, False).astype(np.float32))
    with pytest.raises(ValueError, match=r"attn_mask has shape \(2, 2\)"):
        mha(x, x, x, attn_mask=np.zeros((2, 2), bool))
    with pytest.raises(ValueError, match=r"key_padding_mask has shape \(5, 3\)"):
        mha(x, x, x, key_padding_mask=np.zeros((S, N), bool))
    with pytest.raises(TypeError, match="bool or float"):
        mha(x, x, x, attn_mask=np.zeros((S, S), np.int64))
    with pytest.raises(ValueError, match="divisible"):
        nn.MultiheadAttention(10, 3)
    with pytest.raises(ValueError, match="embed_dim=8"):
        mha(Tensor.randn(S, N, 6), x, x)


# ------------------------------------------------------------------------------ encoder layer
def layer_pair(seed=0, **kwargs):
    torch.manual_seed(seed)
    kwargs.setdefault("dim_feedforward", 16)
    return nn.TransformerEncoderLayer(E, HEADS, **kwargs), tnn.TransformerEncoderLayer(E, HEADS, **kwargs)


def _layer_call(masks, **options):
    def call(module, x):
        lib = "ours" if isinstance(module, nn.Module) else "torch"
        extra = _masks(masks, lib)
        return module(x, **extra, **options)
    return call


LAYER_MASKS = {
    "none": {},
    "src_mask": dict(src_mask=np.triu(np.ones((S, S), dtype=bool), k=1)),
    "padding": dict(src_key_padding_mask=KEY_PAD),
    "both": dict(src_mask=np.triu(np.ones((S, S), dtype=bool), k=1), src_key_padding_mask=KEY_PAD),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("norm_first", [False, True], ids=["post_norm", "pre_norm"])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("mode", ["eval", "train_no_dropout"])
def test_encoder_layer_matches_torch(dtype, norm_first, activation, mode):
    dropout = 0.1 if mode == "eval" else 0.0
    ours, theirs = layer_pair(norm_first=norm_first, activation=activation, dropout=dropout, batch_first=True)
    if mode == "eval":
        ours.eval()
        theirs.eval()
    compare(ours, theirs, [seq(S, True)], dtype, call=_layer_call(LAYER_MASKS["padding"]))


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("mask", list(LAYER_MASKS))
def test_encoder_layer_masks_match_torch(batch_first, mask):
    ours, theirs = layer_pair(batch_first=batch_first, dropout=0.0)
    compare(ours, theirs, [seq(S, batch_first)], np.float64, call=_layer_call(LAYER_MASKS[mask]))


def test_encoder_layer_float32_tolerance_with_masks():
    ours, theirs = layer_pair(batch_first=False, dropout=0.0, norm_first=True)
    compare(ours, theirs, [seq(S, False)], np.float32, call=_layer_call(LAYER_MASKS["both"]))


def test_encoder_layer_callable_activation():
    ours, theirs = layer_pair(dropout=0.0, activation=nn.GELU(approximate="tanh"))
    theirs.activation = tnn.GELU(approximate="tanh")
    compare(ours, theirs, [seq(S, False)], np.float64)


def test_encoder_layer_submodule_names():
    layer = nn.TransformerEncoderLayer(16, 4)
    assert [n for n, _ in layer.named_children()] == ["self_attn", "linear1", "dropout", "linear2", "norm1", "norm2",
                                                      "dropout1", "dropout2"]
    assert list(layer.state_dict()) == list(tnn.TransformerEncoderLayer(16, 4).state_dict())
    with pytest.raises(ValueError, match="activation"):
        nn.TransformerEncoderLayer(16, 4, activation="swish")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("final_norm", [False, True])
def test_encoder_stack_matches_torch(dtype, final_norm):
    torch.manual_seed(0)
    theirs = tnn.TransformerEncoder(
        tnn.TransformerEncoderLayer(E, HEADS, 16, dropout=0.0, batch_first=True), 2,
        norm=tnn.LayerNorm(E) if final_norm else None, enable_nested_tensor=False,
    )
    ours = nn.TransformerEncoder(nn.TransformerEncoderLayer(E, HEADS, 16, dropout=0.0, batch_first=True), 2,
                                 norm=nn.LayerNorm(E) if final_norm else None)
    assert list(ours.state_dict())[:2] == ["layers.0.self_attn.in_proj_weight", "layers.0.self_attn.in_proj_bias"]

    def call(module, x):
        pad = Tensor(KEY_PAD) if isinstance(module, nn.Module) else torch.tensor(KEY_PAD)
        return module(x, src_key_padding_mask=pad)

    compare(ours, theirs, [seq(S, True)], dtype, call=call)


def test_encoder_deep_copies_the_layer():
    layer = nn.TransformerEncoderLayer(E, HEADS, 16)
    enc = nn.TransformerEncoder(layer, 3)
    weights = [l.linear1.weight for l in enc.layers]
    assert len({id(w) for w in weights}) == 3 and all(w is not layer.linear1.weight for w in weights)
    np.testing.assert_array_equal(weights[0].numpy(), weights[2].numpy())  # copies of one layer
    assert len(list(enc.parameters())) == 3 * len(list(layer.parameters()))


# ------------------------------------------------------------------------------ gradcheck
def test_gradcheck_mha():
    tge.manual_seed(0)
    mha = nn.MultiheadAttention(4, 2, batch_first=True).double()
    q = Tensor(randn(2, 3, 4), requires_grad=True)
    kv = Tensor(randn(2, 2, 4, seed=1), requires_grad=True)
    pad = np.array([[False, True], [False, False]])
    params = list(mha.parameters())
    assert gradcheck(lambda q, kv, *ps: mha(q, kv, kv, key_padding_mask=pad), [q, kv] + params)


@pytest.mark.parametrize("norm_first", [False, True])
def test_gradcheck_encoder_layer(norm_first):
    tge.manual_seed(0)
    layer = nn.TransformerEncoderLayer(4, 2, dim_feedforward=6, dropout=0.0, norm_first=norm_first,
                                       activation="gelu").double()
    x = Tensor(randn(3, 2, 4), requires_grad=True)
    causal = np.triu(np.ones((3, 3), dtype=bool), k=1)
    params = list(layer.parameters())
    assert gradcheck(lambda x, *ps: layer(x, src_mask=causal), [x] + params)
