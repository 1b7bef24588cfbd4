"""The articles' models: shapes, parameter counts, and forward/backward equal to a PyTorch
re-implementation with the same weights (copied through state_dict)."""
import numpy as np
import pytest

import tinygrad_edu as tge
from tinygrad_edu import Tensor, nn
from tinygrad_edu.models import CNN, MLP, LSTMClassifier, TransformerClassifier

from ..nn.torch_compare import compare, torch

tnn = torch.nn
F32_TOL = dict(rtol=1e-5, atol=1e-5)  # float32: a few ulps of the largest terms of each sum


# ------------------------------------------------------------------------------ torch twins
class TorchCNN(tnn.Module):
    def __init__(self, in_channels=1, num_classes=10):
        super().__init__()
        self.features = tnn.Sequential(
            tnn.Conv2d(in_channels, 32, 3), tnn.ReLU(), tnn.MaxPool2d(2),
            tnn.Conv2d(32, 64, 3), tnn.ReLU(), tnn.MaxPool2d(2),
            tnn.Conv2d(64, 64, 3), tnn.ReLU(),
        )
        self.classifier = tnn.Sequential(tnn.Flatten(), tnn.Linear(576, 64), tnn.ReLU(), tnn.Linear(64, num_classes))

    def forward(self, x):
        return self.classifier(self.features(x))


class TorchLSTMClassifier(tnn.Module):
    def __init__(self, vocab_size, embedding_dim, hidden_dim, output_dim, num_layers=1, padding_idx=None):
        super().__init__()
        self.embedding = tnn.Embedding(vocab_size, embedding_dim, padding_idx=padding_idx)
        self.lstm = tnn.LSTM(embedding_dim, hidden_dim, num_layers=num_layers, batch_first=True)
        self.fc = tnn.Linear(hidden_dim, output_dim)

    def forward(self, ids):
        _, (h, _) = self.lstm(self.embedding(ids))
        return self.fc(h[-1])


class TorchTransformerClassifier(tnn.Module):
    def __init__(self, vocab_size, num_classes, d_model, nhead, num_layers, dim_feedforward, max_len, dropout,
                 padding_idx=0):
        super().__init__()
        self.padding_idx = padding_idx
        self.token_embedding = tnn.Embedding(vocab_size, d_model, padding_idx=padding_idx)
        self.position_embedding = tnn.Embedding(max_len, d_model)
        self.dropout = tnn.Dropout(dropout)
        layer = tnn.TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout, batch_first=True)
        self.encoder = tnn.TransformerEncoder(layer, num_layers, enable_nested_tensor=False)
        self.fc = tnn.Linear(d_model, num_classes)

    def forward(self, ids):
        positions = torch.arange(ids.shape[1])
        x = self.dropout(self.token_embedding(ids) + self.position_embedding(positions))
        padding = ids == self.padding_idx
        h = self.encoder(x, src_key_padding_mask=padding)
        keep = (~padding).to(h.dtype)[:, :, None]
        return self.fc((h * keep).sum(1) / keep.sum(1))


# ------------------------------------------------------------------------------ CNN
def test_cnn_shapes_and_parameter_counts():
    model = CNN()
    counts = [sum(p.numel() for p in m.parameters()) for m in model.modules()
              if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert counts == [320, 18496, 36928, 36928, 650]
    assert model.num_parameters() == 93322
    assert model(Tensor.randn(2, 1, 28, 28)).shape == (2, 10)
    assert CNN(in_channels=3, num_classes=4)(Tensor.randn(1, 3, 28, 28)).shape == (1, 4)
    assert "93,322 params in total" in repr(model)
    with pytest.raises(ValueError, match=r"\(2, 1, 32, 32\)"):
        model(Tensor.randn(2, 1, 32, 32))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cnn_matches_torch(dtype):
    torch.manual_seed(0)
    x = np.random.default_rng(0).random((3, 1, 28, 28))
    compare(CNN(), TorchCNN(), [x], dtype, tol=F32_TOL if dtype == np.float32 else None)


# ------------------------------------------------------------------------------ MLP
def test_mlp_shapes_names_counts():
    model = MLP(784)
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]
    assert model.num_parameters() == 784 * 64 + 64 + 64 * 64 + 64 + 64 * 10 + 10
    assert model(Tensor.randn(5, 1, 28, 28)).shape == (5, 10)  # images are flattened
    assert MLP(3, hidden=8, out_features=2, activation="tanh")(Tensor.randn(4, 3)).shape == (4, 2)
    assert len(MLP(3, hidden=(), out_features=2)) == 1
    with pytest.raises(ValueError, match="activation"):
        MLP(3, activation="swish")
    with pytest.raises(ValueError, match=r"\(4, 5\)"):
        model(Tensor.randn(4, 5))


@pytest.mark.parametrize("activation,torch_activation", [("relu", tnn.ReLU), ("tanh", tnn.Tanh), ("gelu", tnn.GELU)])
def test_mlp_matches_torch(activation, torch_activation):
    x = np.random.default_rng(1).standard_normal((4, 12))
    for dtype in (np.float32, np.float64):
        torch.manual_seed(0)
        theirs = tnn.Sequential(tnn.Linear(12, 16), torch_activation(), tnn.Linear(16, 8), torch_activation(),
                                tnn.Linear(8, 3))
        compare(MLP(12, hidden=(16, 8), out_features=3, activation=activation), theirs, [x], dtype,
                tol=F32_TOL if dtype == np.float32 else None)


# ------------------------------------------------------------------------------ LSTM classifier
def test_lstm_classifier_shapes():
    model = LSTMClassifier(100, 16, 32, 2, padding_idx=0)
    ids = Tensor(np.random.default_rng(0).integers(0, 100, size=(4, 9)))
    assert model(ids).shape == (4, 2)
    assert [n for n, _ in model.named_children()] == ["embedding", "lstm", "fc"]
    assert model.num_parameters() == 100 * 16 + 4 * 32 * (16 + 32 + 2) + 32 * 2 + 2
    with pytest.raises(ValueError, match=r"\(9,\)"):
        model(Tensor(np.zeros(9, np.int64)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_lstm_classifier_matches_torch(dtype, num_layers):
    torch.manual_seed(0)
    theirs = TorchLSTMClassifier(50, 8, 12, 3, num_layers=num_layers, padding_idx=0)
    ours = LSTMClassifier(50, 8, 12, 3, num_layers=num_layers, padding_idx=0)
    ids = np.random.default_rng(0).integers(1, 50, size=(4, 7))
    ids[0, :3] = 0  # pre-padding
    compare(ours, theirs, [ids], dtype, tol=F32_TOL if dtype == np.float32 else None)


# ------------------------------------------------------------------------------ Transformer classifier
def test_transformer_classifier_shapes():
    model = TransformerClassifier(30, 3, d_model=16, nhead=2, num_layers=2, dim_feedforward=32, max_len=12)
    ids = np.random.default_rng(0).integers(1, 30, size=(4, 10))
    ids[1, 6:] = 0
    assert model(Tensor(ids)).shape == (4, 3)
    names = list(model.state_dict())
    assert names[:2] == ["token_embedding.weight", "position_embedding.weight"]
    assert "encoder.layers.1.self_attn.in_proj_weight" in names and names[-1] == "fc.bias"
    with pytest.raises(ValueError, match="max_len=12"):
        model(Tensor(np.ones((1, 13), np.int64)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_transformer_classifier_matches_torch_in_eval_mode(dtype):
    args = dict(vocab_size=30, num_classes=3, d_model=16, nhead=4, num_layers=2, dim_feedforward=32, max_len=10,
                dropout=0.1)
    torch.manual_seed(0)
    theirs = TorchTransformerClassifier(**args).eval()
    ours = TransformerClassifier(**args).eval()
    ids = np.random.default_rng(0).integers(1, 30, size=(3, 8))
    ids[1, 5:] = 0
    ids[2, 2:] = 0
    compare(ours, theirs, [ids], dtype, tol=F32_TOL if dtype == np.float32 else None)


def test_transformer_classifier_padding_does_not_change_the_result():
    tge.manual_seed(0)
    model = TransformerClassifier(20, 2, d_model=8, nhead=2, num_layers=1, dim_feedforward=16, max_len=10).eval()
    short = np.array([[3, 4, 5]])
    padded = np.array([[3, 4, 5, 0, 0, 0]])
    np.testing.assert_allclose(model(Tensor(short)).numpy(), model(Tensor(padded)).numpy(), rtol=1e-5, atol=1e-6)


def test_models_train_one_step():
    """Every model's loss goes down after a few plain SGD steps on one batch."""
    tge.manual_seed(0)
    rng = np.random.default_rng(0)
    cases = [
        (MLP(6, hidden=(8,), out_features=3), Tensor(rng.standard_normal((8, 6)).astype(np.float32))),
        (LSTMClassifier(20, 4, 6, 3), Tensor(rng.integers(0, 20, size=(8, 5)))),
        (TransformerClassifier(20, 3, d_model=8, nhead=2, num_layers=1, dim_feedforward=16, dropout=0.0),
         Tensor(rng.integers(1, 20, size=(8, 5)))),
    ]
    y = Tensor(rng.integers(0, 3, size=8))
    for model, x in cases:
        losses = []
        for _ in range(5):
            loss = nn.functional.cross_entropy(model(x), y)
            model.zero_grad()
            loss.backward()
            with tge.no_grad():
                for p in model.parameters():
                    p -= 0.1 * p.grad
            losses.append(loss.item())
        assert losses[-1] < losses[0], type(model).__name__
