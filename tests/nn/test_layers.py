"""Feed-forward layers against torch.nn with copied weights: outputs, input gradients and
parameter gradients, float32 and float64; plus gradcheck of small compositions."""
import numpy as np
import pytest

import tinygrad_edu as tge
from tinygrad_edu import Tensor, nn
from tinygrad_edu.utils.gradcheck import gradcheck

from .torch_compare import compare, torch, torch_state

tnn = torch.nn
DTYPES = [np.float32, np.float64]


def randn(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def pair(ours, theirs_factory, seed=0):
    """(our module, torch module) built with torch's RNG seeded for reproducibility."""
    torch.manual_seed(seed)
    return ours, theirs_factory()


# ------------------------------------------------------------------------------ Linear / Conv
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(5, 7), (2, 3, 7)])
def test_linear_matches_torch(dtype, bias, shape):
    ours, theirs = pair(nn.Linear(7, 4, bias=bias), lambda: tnn.Linear(7, 4, bias=bias))
    compare(ours, theirs, [randn(*shape)], dtype)


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "kwargs",
    [
        dict(kernel_size=3),
        dict(kernel_size=3, stride=2, padding=1),
        dict(kernel_size=(2, 3), stride=(1, 2), padding=(1, 0), bias=False),
        dict(kernel_size=3, padding="same"),
        dict(kernel_size=4, padding="same"),
        dict(kernel_size=3, padding="valid"),
    ],
)
def test_conv2d_matches_torch(dtype, kwargs):
    ours, theirs = pair(nn.Conv2d(3, 4, **kwargs), lambda: tnn.Conv2d(3, 4, **kwargs))
    compare(ours, theirs, [randn(2, 3, 7, 8)], dtype)


def test_conv2d_unbatched_input():
    conv = nn.Conv2d(2, 3, 3)
    x = Tensor(randn(2, 5, 5).astype(np.float32))
    np.testing.assert_allclose(conv(x).numpy(), conv(x.unsqueeze(0))[0].numpy(), rtol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "ours,theirs",
    [
        (lambda: nn.MaxPool2d(2), lambda: tnn.MaxPool2d(2)),
        (lambda: nn.MaxPool2d(3, stride=2, padding=1), lambda: tnn.MaxPool2d(3, stride=2, padding=1)),
        (lambda: nn.AvgPool2d(2), lambda: tnn.AvgPool2d(2)),
        (lambda: nn.AvgPool2d(3, stride=1, padding=1), lambda: tnn.AvgPool2d(3, stride=1, padding=1)),
        (lambda: nn.Flatten(), lambda: tnn.Flatten()),
        (lambda: nn.Flatten(0, 2), lambda: tnn.Flatten(0, 2)),
        (lambda: nn.Identity(54, unused=True), lambda: tnn.Identity(54, unused=True)),
    ],
    ids=["maxpool", "maxpool_pad", "avgpool", "avgpool_pad", "flatten", "flatten_0_2", "identity"],
)
def test_shape_layers_match_torch(dtype, ours, theirs):
    compare(ours(), theirs(), [randn(2, 3, 6, 7)], dtype)


# ------------------------------------------------------------------------------ activations
ACTIVATIONS = [
    (lambda: nn.ReLU(), lambda: tnn.ReLU()),
    (lambda: nn.LeakyReLU(), lambda: tnn.LeakyReLU()),
    (lambda: nn.LeakyReLU(0.2), lambda: tnn.LeakyReLU(0.2)),
    (lambda: nn.GELU(), lambda: tnn.GELU()),
    (lambda: nn.GELU(approximate="tanh"), lambda: tnn.GELU(approximate="tanh")),
    (lambda: nn.Sigmoid(), lambda: tnn.Sigmoid()),
    (lambda: nn.Tanh(), lambda: tnn.Tanh()),
    (lambda: nn.Softmax(dim=1), lambda: tnn.Softmax(dim=1)),
    (lambda: nn.Softmax(), lambda: tnn.Softmax(dim=-1)),
    (lambda: nn.LogSoftmax(dim=-1), lambda: tnn.LogSoftmax(dim=-1)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ours,theirs", ACTIVATIONS,
                         ids=["relu", "leaky", "leaky02", "gelu", "gelu_tanh", "sigmoid", "tanh", "softmax1",
                              "softmax", "log_softmax"])
def test_activations_match_torch(dtype, ours, theirs):
    compare(ours(), theirs(), [randn(3, 4, 5) * 2], dtype)


def test_gelu_rejects_unknown_approximation():
    with pytest.raises(ValueError, match="approximate"):
        nn.GELU(approximate="fast")


# ------------------------------------------------------------------------------ dropout
def test_dropout_eval_is_identity_and_train_drops():
    drop = nn.Dropout(0.5)
    x = Tensor(np.ones((200, 100), np.float32))
    drop.eval()
    assert drop(x) is x
    drop.train()
    y = drop(x).numpy()
    kept = y != 0
    assert 0.45 < kept.mean() < 0.55
    np.testing.assert_allclose(y[kept], 2.0)


def test_dropout_is_reproducible_with_manual_seed():
    drop = nn.Dropout(0.3)
    x = Tensor(np.ones((10, 10), np.float32))
    tge.manual_seed(5)
    a = drop(x).numpy()
    tge.manual_seed(5)
    np.testing.assert_array_equal(a, drop(x).numpy())


def test_dropout_rejects_bad_p():
    with pytest.raises(ValueError, match="p must be in"):
        nn.Dropout(1.5)


# ------------------------------------------------------------------------------ embedding
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("padding_idx", [None, 0, -1])
def test_embedding_matches_torch(dtype, padding_idx):
    ours, theirs = pair(nn.Embedding(10, 4, padding_idx=padding_idx),
                        lambda: tnn.Embedding(10, 4, padding_idx=padding_idx))
    ids = np.array([[0, 3, 9, 3], [9, 9, 1, 0]], dtype=np.int64)
    compare(ours, theirs, [ids], dtype)
    assert ours.padding_idx == theirs.padding_idx


def test_embedding_init_zero_padding_row_and_normal():
    emb = nn.Embedding(2000, 50, padding_idx=3)
    w = emb.weight.numpy()
    assert np.all(w[3] == 0)
    assert abs(w.std() - 1.0) < 0.02 and abs(w.mean()) < 0.02
    assert emb.weight.dtype == np.float32


def test_embedding_from_pretrained():
    table = randn(5, 3).astype(np.float32)
    emb = nn.Embedding.from_pretrained(table)
    assert not emb.weight.requires_grad
    np.testing.assert_array_equal(emb(Tensor(np.array([4, 0]))).numpy(), table[[4, 0]])
    trainable = nn.Embedding.from_pretrained(Tensor(table), freeze=False, padding_idx=1)
    assert trainable.weight.requires_grad and trainable.padding_idx == 1
    np.testing.assert_array_equal(trainable.weight.numpy()[1], table[1])  # not zeroed, as PyTorch
    with pytest.raises(ValueError, match="2-D"):
        nn.Embedding.from_pretrained(np.zeros(3))


def test_embedding_out_of_range_ids_are_refused():
    with pytest.raises(IndexError, match=r"\[0, 4\)"):
        nn.Embedding(4, 2)(Tensor(np.array([4])))


# ------------------------------------------------------------------------------ layer norm
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "args,kwargs",
    [((6,), {}), (((3, 6),), {}), ((6,), dict(elementwise_affine=False)), ((6,), dict(bias=False)),
     ((6,), dict(eps=1e-3))],
    ids=["last", "two_axes", "no_affine", "no_bias", "eps"],
)
def test_layernorm_matches_torch(dtype, args, kwargs):
    torch.manual_seed(0)
    theirs = tnn.LayerNorm(*args, **kwargs)
    ours = nn.LayerNorm(*args, **kwargs)
    # move the affine parameters away from ones/zeros so that their gradients matter
    with torch.no_grad():
        for p in theirs.parameters():
            p.add_(torch.randn(p.shape) * 0.5)
    compare(ours, theirs, [randn(2, 3, 6) * 3 + 1], dtype)


def test_layernorm_init():
    ln = nn.LayerNorm(5)
    assert np.all(ln.weight.numpy() == 1) and np.all(ln.bias.numpy() == 0)


# ------------------------------------------------------------------------------ containers
@pytest.mark.parametrize("dtype", DTYPES)
def test_sequential_matches_torch(dtype):
    ours, theirs = pair(
        nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Dropout(0.0), nn.Linear(8, 3), nn.LogSoftmax(-1)),
        lambda: tnn.Sequential(tnn.Linear(6, 8), tnn.Tanh(), tnn.Dropout(0.0), tnn.Linear(8, 3), tnn.LogSoftmax(-1)),
    )
    compare(ours, theirs, [randn(4, 6)], dtype)


# ------------------------------------------------------------------------------ gradcheck
def _double(module):
    return module.double()


def _params(module):
    return list(module.parameters())


def test_gradcheck_linear_and_layernorm():
    tge.manual_seed(1)
    model = _double(nn.Sequential(nn.Linear(3, 4), nn.LayerNorm(4), nn.GELU(), nn.Linear(4, 2)))
    x = Tensor(randn(2, 3), requires_grad=True)
    params = _params(model)
    # every parameter and the input at once: fn maps them to the output
    assert gradcheck(lambda x, *ps: model(x), [x] + params)


def test_gradcheck_conv_pool():
    tge.manual_seed(2)
    model = _double(nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.Tanh(), nn.AvgPool2d(2), nn.Flatten(),
                                  nn.Linear(12, 2)))
    x = Tensor(randn(1, 2, 4, 4), requires_grad=True)
    assert gradcheck(lambda x, *ps: model(x), [x] + _params(model))


def test_gradcheck_embedding():
    tge.manual_seed(3)
    # the padding row gets no gradient by design (not a derivative), so check without one
    emb = _double(nn.Embedding(5, 3))
    ids = Tensor(np.array([[1, 0, 4], [4, 4, 2]]))
    assert gradcheck(lambda w: emb(ids) * 1.5, [emb.weight])


# ------------------------------------------------------------------------------ errors
def test_linear_shape_error_names_shapes():
    with pytest.raises(ValueError, match=r"\(2, 5\).*\(4, 3\)"):
        nn.Linear(3, 4)(Tensor(np.zeros((2, 5), np.float32)))


def test_dtype_mismatch_is_a_clear_error():
    with pytest.raises(TypeError, match="dtype"):
        nn.Linear(3, 4)(Tensor(np.zeros((2, 3), np.float64)))


def test_conv2d_refuses_bad_groups_and_padding_modes():
    # groups and dilation work (tests/nn/test_layers_torch_basics.py); what is refused:
    with pytest.raises(ValueError, match="groups"):
        nn.Conv2d(2, 3, 3, groups=2)
    with pytest.raises(NotImplementedError):
        nn.Conv2d(2, 2, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match="same"):
        nn.Conv2d(2, 2, 3, stride=2, padding="same")


def test_torch_state_dict_keys_for_layers():
    cases = [
        (nn.Linear(2, 3), tnn.Linear(2, 3)),
        (nn.Linear(2, 3, bias=False), tnn.Linear(2, 3, bias=False)),
        (nn.Conv2d(1, 2, 3), tnn.Conv2d(1, 2, 3)),
        (nn.Embedding(4, 2), tnn.Embedding(4, 2)),
        (nn.LayerNorm(3), tnn.LayerNorm(3)),
        (nn.LayerNorm(3, elementwise_affine=False), tnn.LayerNorm(3, elementwise_affine=False)),
    ]
    for ours, theirs in cases:
        assert list(ours.state_dict()) == list(theirs.state_dict())
        ours.load_state_dict(torch_state(theirs))
