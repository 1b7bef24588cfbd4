"""Modules, optimizers, checkpoints and data on the GPU, compared with the CPU backend. Needs
CuPy and a GPU (the ``cuda`` fixture skips otherwise).

The articles' four models train for a few steps from the same initial weights on the same
batches on "cpu" and "cuda"; losses and final weights must agree. SGD runs in float32
(rtol 1e-4 on losses, 1e-3 / atol 1e-5 on weights); Adam runs in float64, because Adam
divides by sqrt(v) and so turns float32 round-off in near-zero gradients into visible
differences (rtol 1e-8 there).
"""
import numpy as np
import pytest

import tinygrad_edu as tge
import tinygrad_edu.nn.functional as F
from tinygrad_edu import Tensor, nn, optim
from tinygrad_edu.data import DataLoader, TensorDataset
from tinygrad_edu.models import CNN, MLP, LSTMClassifier, TransformerClassifier
from tinygrad_edu.device import device_of

pytestmark = pytest.mark.cuda


def _ids(rng, n=8, t=12, vocab=50):
    ids = rng.integers(1, vocab, (n, t))
    ids[::3, -3:] = 0  # some padding: the transformer masks it out
    return ids


MODELS = {
    "mlp": (lambda: MLP(20, hidden=(32, 32), out_features=5), lambda rng: rng.standard_normal((16, 20)), 5),
    "cnn": (lambda: CNN(), lambda rng: rng.random((8, 1, 28, 28)), 10),
    "lstm": (lambda: LSTMClassifier(50, 16, 24, 3, num_layers=2), _ids, 3),
    "transformer": (lambda: TransformerClassifier(50, 3, d_model=32, nhead=4, num_layers=2,
                                                  dim_feedforward=64, dropout=0.0), _ids, 3),
}


def train(kind, device, opt_name, dtype, steps=3):
    make_model, make_x, classes = MODELS[kind]
    tge.manual_seed(0)
    model = make_model().to(dtype).to(device)
    if opt_name == "sgd":
        opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    else:
        opt = optim.Adam(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(1)
    losses = []
    for _ in range(steps):
        x = make_x(rng)
        x = Tensor(x.astype(dtype) if x.dtype.kind == "f" else x).to(device)
        y = Tensor(rng.integers(0, classes, len(x))).to(device)
        logits = model(x)
        assert logits.device == device
        loss = F.cross_entropy(logits, y)
        opt.zero_grad()
        loss.backward()
        assert all(p.grad is None or p.grad.device == device for p in model.parameters())
        opt.step()
        losses.append(loss.item())
    return losses, model, opt


@pytest.mark.parametrize("kind", sorted(MODELS))
@pytest.mark.parametrize("opt_name,dtype,tol", [("sgd", np.float32, dict(rtol=1e-3, atol=1e-5)),
                                                ("adam", np.float64, dict(rtol=1e-8, atol=1e-10))])
def test_training_steps_match_the_cpu(cuda, kind, opt_name, dtype, tol):
    cpu_losses, cpu_model, _ = train(kind, "cpu", opt_name, dtype)
    gpu_losses, gpu_model, gpu_opt = train(kind, "cuda", opt_name, dtype)
    np.testing.assert_allclose(gpu_losses, cpu_losses, rtol=tol["rtol"] / 10 if dtype == np.float32 else tol["rtol"])
    cpu_state, gpu_state = cpu_model.state_dict(), gpu_model.state_dict()
    assert list(gpu_state) == list(cpu_state)
    for name in cpu_state:
        assert type(gpu_state[name]) is np.ndarray                   # host NumPy, always
        np.testing.assert_allclose(gpu_state[name], cpu_state[name], **tol, err_msg=name)
    for state in gpu_opt.state.values():                           # optimizer state on the GPU
        for value in state.values():
            if hasattr(value, "shape"):
                assert device_of(value) == "cuda"


def test_checkpoints_cross_devices(cuda, tmp_path):
    _, gpu_model, gpu_opt = train("mlp", "cuda", "adam", np.float32)
    tge.save(gpu_model.state_dict(), tmp_path / "m.safetensors")
    cpu_model = MODELS["mlp"][0]()
    cpu_model.load_state_dict(tge.load(tmp_path / "m.safetensors"))
    x = np.random.default_rng(2).standard_normal((4, 20)).astype(np.float32)
    with tge.no_grad():
        np.testing.assert_allclose(cpu_model(Tensor(x)).numpy(), gpu_model(Tensor(x, device="cuda")).numpy(),
                                   rtol=1e-5, atol=1e-6)
    # and back: a CPU state dict loaded into a GPU model keeps it on the GPU
    other = MODELS["mlp"][0]().cuda()
    other.load_state_dict(cpu_model.state_dict())
    assert all(p.device == "cuda" for p in other.parameters())
    # optimizer state: host NumPy in the state dict, back onto the parameters' device on load
    saved = gpu_opt.state_dict()
    assert all(type(v) is np.ndarray for s in saved["state"].values() for v in s.values() if hasattr(v, "shape"))
    fresh = optim.Adam(other.parameters(), lr=1e-3)
    fresh.load_state_dict(saved)
    assert all(device_of(v) == "cuda" for s in fresh.state.values() for v in s.values()
               if hasattr(v, "shape"))


def test_module_round_trip_keeps_parameter_objects_and_grads(cuda):
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    params = list(model.parameters())
    model.cuda()
    F.mse_loss(model(Tensor.randn(5, 3, device="cuda")), Tensor.zeros(5, 1, device="cuda")).backward()
    assert [id(p) for p in model.parameters()] == [id(p) for p in params]
    assert all(p.device == "cuda" and p.grad.device == "cuda" for p in params)
    model.cpu()
    assert all(p.device == "cpu" and p.grad.device == "cpu" for p in params)


def test_dataloader_batches_train_on_the_gpu(cuda):
    rng = np.random.default_rng(0)
    data = TensorDataset(rng.standard_normal((40, 6)).astype(np.float32), rng.integers(0, 3, 40))
    tge.manual_seed(0)
    model = nn.Linear(6, 3).to("cuda")
    opt = optim.SGD(model.parameters(), lr=0.5)
    first = last = None
    for _ in range(10):
        for x, y in DataLoader(data, batch_size=8, shuffle=True):
            loss = F.cross_entropy(model(x.to("cuda")), y.to("cuda"))
            opt.zero_grad()
            loss.backward()
            opt.step()
            first = loss.item() if first is None else first
            last = loss.item()
    assert last < first


def test_moving_is_differentiable(cuda):
    x = Tensor(np.arange(4, dtype=np.float64), requires_grad=True)
    y = (x.to("cuda") ** 2).sum()
    y.backward()
    assert x.grad.device == "cpu"
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.arange(4))
