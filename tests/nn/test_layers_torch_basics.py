"""The layers that beginners' PyTorch code reaches for beyond Linear/Conv2d/LSTM, each against
its torch.nn twin with copied weights (outputs, input and parameter gradients, float32 and
float64): BatchNorm1d/2d (running statistics, train/eval, momentum=None), GRU, Conv1d,
Conv2d with groups/dilation/"same", ConvTranspose2d, AdaptiveAvgPool2d, SiLU, Softplus,
Dropout2d, the decoder side of the Transformer and nn.Transformer itself."""
import numpy as np
import pytest

import tinygrad_edu as tge
from tinygrad_edu import Tensor, nn

from .torch_compare import compare, torch, torch_state

tnn = torch.nn
DTYPES = [np.float32, np.float64]
IDS = ["float32", "float64"]


def randn(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def pair(name, *args, seed=0, **kwargs):
    torch.manual_seed(seed)
    return getattr(nn, name)(*args, **kwargs), getattr(tnn, name)(*args, **kwargs)


# ---------------------------------------------------------------------------- BatchNorm
@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@pytest.mark.parametrize("name,shape,kwargs", [
    ("BatchNorm1d", (6, 3), {}),
    ("BatchNorm1d", (4, 3, 5), dict(momentum=0.3)),
    ("BatchNorm1d", (4, 3, 5), dict(affine=False)),
    ("BatchNorm2d", (2, 3, 4, 5), {}),
    ("BatchNorm2d", (2, 3, 4, 5), dict(momentum=None)),
    ("BatchNorm2d", (2, 3, 4, 5), dict(track_running_stats=False)),
])
def test_batchnorm_train_then_eval_matches_torch(name, shape, kwargs, dtype):
    ours, theirs = pair(name, shape[1], **kwargs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for step in range(3):  # training steps move the running statistics
        compare(ours, theirs, [randn(*shape, seed=step) * 2 + 1], dtype)
        for key, value in torch_state(theirs).items():
            np.testing.assert_allclose(ours.state_dict()[key], value, rtol=1e-5, atol=1e-6, err_msg=key)
    ours.eval(), theirs.eval()
    compare(ours, theirs, [randn(*shape, seed=9)], dtype)


def test_batchnorm_refuses_bad_input():
    bn = nn.BatchNorm2d(3)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        bn(Tensor(np.zeros((2, 3), np.float32)))
    with pytest.raises(ValueError, match="num_features=3"):
        bn(Tensor(np.zeros((2, 4, 2, 2), np.float32)))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(Tensor(np.zeros((1, 3), np.float32)))
    assert nn.BatchNorm1d(3).eval()(Tensor(np.ones((1, 3), np.float32))).shape == (1, 3)


# ---------------------------------------------------------------------------- GRU
@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@pytest.mark.parametrize("kwargs,with_h0", [
    (dict(), False),
    (dict(num_layers=2), True),
    (dict(batch_first=True, bidirectional=True), True),
    (dict(bias=False), False),
])
def test_gru_matches_torch(kwargs, with_h0, dtype):
    ours, theirs = pair("GRU", 4, 5, **kwargs)
    x = randn(3, 6, 4) if kwargs.get("batch_first") else randn(6, 3, 4)
    layers = kwargs.get("num_layers", 1) * (2 if kwargs.get("bidirectional") else 1)
    inputs = [x, randn(layers, 3, 5, seed=1)] if with_h0 else [x]
    compare(ours, theirs, inputs, dtype)


def test_gru_unbatched():
    ours, theirs = pair("GRU", 2, 3)
    compare(ours, theirs, [randn(4, 2)], np.float64)


# ---------------------------------------------------------------------------- convolutions
@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@pytest.mark.parametrize("name,args,kwargs,shape", [
    ("Conv1d", (4, 6, 3), dict(), (2, 4, 9)),
    ("Conv1d", (4, 6, 3), dict(stride=2, padding=1, dilation=2, groups=2), (2, 4, 11)),
    ("Conv1d", (3, 2, 4), dict(padding="same", bias=False), (2, 3, 7)),
    ("Conv2d", (4, 6, 3), dict(groups=2, dilation=2, padding=2), (2, 4, 7, 8)),
    ("Conv2d", (4, 4, (3, 2)), dict(groups=4, stride=(1, 2)), (2, 4, 6, 6)),  # depthwise
    ("Conv2d", (2, 3, 3), dict(padding="same", dilation=(1, 2)), (1, 2, 5, 6)),
    ("ConvTranspose2d", (4, 3, 3), dict(), (2, 4, 5, 5)),
    ("ConvTranspose2d", (4, 6, (3, 2)), dict(stride=2, padding=1, output_padding=1, groups=2), (2, 4, 4, 5)),
    ("ConvTranspose2d", (2, 3, 2), dict(stride=(2, 3), dilation=2, bias=False), (1, 2, 3, 4)),
])
def test_convolutions_match_torch(name, args, kwargs, shape, dtype):
    ours, theirs = pair(name, *args, **kwargs)
    compare(ours, theirs, [randn(*shape)], dtype)


def test_conv_transpose_output_size_and_errors():
    ours, theirs = pair("ConvTranspose2d", 2, 3, 3, stride=2, padding=1)
    compare(ours, theirs, [randn(1, 2, 4, 4)], np.float64,
            call=lambda m, x: m(x, output_size=(8, 8)))
    with pytest.raises(ValueError, match="not reachable"):
        ours(Tensor(randn(1, 2, 4, 4).astype(np.float32)), output_size=(10, 10))
    with pytest.raises(ValueError, match="groups=3 must divide"):
        nn.Conv2d(4, 6, 3, groups=3)
    with pytest.raises(ValueError, match="channels"):
        nn.Conv1d(3, 2, 2)(Tensor(np.zeros((1, 4, 5), np.float32)))


def test_conv_initialisation_bounds_follow_fan_in():
    tge.manual_seed(0)
    conv = nn.Conv2d(8, 4, 3, groups=4)  # fan_in = 2 * 9
    assert conv.weight.shape == (4, 2, 3, 3)
    assert np.abs(conv.weight.numpy()).max() <= 1 / np.sqrt(18)
    deconv = nn.ConvTranspose2d(4, 6, 2, groups=2)  # weight (4, 3, 2, 2), fan_in = 3 * 4
    assert deconv.weight.shape == (4, 3, 2, 2)
    assert np.abs(deconv.bias.numpy()).max() <= 1 / np.sqrt(12)


# ---------------------------------------------------------------------------- pooling, activations
@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@pytest.mark.parametrize("size,shape", [((3, 4), (2, 3, 7, 10)), (1, (2, 3, 5, 5)), ((None, 2), (1, 2, 3, 6)),
                                        (4, (3, 8, 8))])
def test_adaptive_avg_pool_matches_torch(size, shape, dtype):
    ours, theirs = pair("AdaptiveAvgPool2d", size)
    compare(ours, theirs, [randn(*shape)], dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@pytest.mark.parametrize("name,kwargs", [("SiLU", {}), ("Softplus", {}), ("Softplus", dict(beta=2.0, threshold=3.0))])
def test_smooth_activations_match_torch(name, kwargs, dtype):
    ours, theirs = pair(name, **kwargs)
    compare(ours, theirs, [randn(3, 7) * 4], dtype)


def test_dropout2d_drops_whole_channels():
    tge.manual_seed(0)
    layer = nn.Dropout2d(0.5)
    x = Tensor(np.ones((8, 16, 3, 3)), requires_grad=True)
    y = layer(x)
    per_channel = y.numpy().reshape(8, 16, 9)
    assert np.all((per_channel == 0).all(-1) | (per_channel == 2).all(-1))  # a plane is all 0 or all 2
    assert 0.3 < (per_channel[..., 0] == 0).mean() < 0.7
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), y.numpy())  # the gradient is the same mask
    layer.eval()
    assert layer(x) is x


# ---------------------------------------------------------------------------- transformer
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_decoder_layer_matches_torch(norm_first, batch_first):
    ours, theirs = pair("TransformerDecoderLayer", 8, 2, dim_feedforward=16, dropout=0.0,
                        batch_first=batch_first, norm_first=norm_first)
    tgt, memory = (randn(2, 4, 8), randn(2, 5, 8, seed=1)) if batch_first else (randn(4, 2, 8), randn(5, 2, 8, seed=1))
    mask = np.triu(np.full((4, 4), -np.inf), k=1)
    pad = np.array([[False] * 4 + [True], [False] * 5])
    compare(ours, theirs, [tgt, memory], np.float64,
            call=lambda m, t, mem: m(t, mem, tgt_mask=(Tensor(mask) if isinstance(m, nn.Module) else torch.tensor(mask)),
                                    memory_key_padding_mask=(pad if isinstance(m, nn.Module) else torch.tensor(pad))))


def test_transformer_and_square_mask_match_torch():
    mask = nn.Transformer.generate_square_subsequent_mask(4)
    np.testing.assert_array_equal(mask.numpy(), tnn.Transformer.generate_square_subsequent_mask(4).numpy())
    assert mask.dtype == np.float32
    ours, theirs = pair("Transformer", d_model=8, nhead=2, num_encoder_layers=2, num_decoder_layers=1,
                        dim_feedforward=12, dropout=0.0)
    tm = tnn.Transformer.generate_square_subsequent_mask(3, dtype=torch.float64)
    compare(ours, theirs, [randn(5, 2, 8), randn(3, 2, 8, seed=1)], np.float64,
            call=lambda m, s, t: m(s, t, tgt_mask=nn.Transformer.generate_square_subsequent_mask(3, dtype=np.float64)
                                   if isinstance(m, nn.Module) else tm))
