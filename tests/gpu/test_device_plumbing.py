"""The device plumbing, on any machine: CuPy stays unimported, errors are clear, and tensors,
modules, optimizers and data keep track of their device (checked on the fake "cuda" device of
conftest.py, which tags NumPy arrays as GPU arrays)."""
import importlib
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import tinygrad_edu as tge
import tinygrad_edu.nn.functional as F
from tinygrad_edu import Tensor, nn, optim, rng
from tinygrad_edu.data import DataLoader, TensorDataset
from tinygrad_edu.device import normalize_device, scatter_add

from ..conftest import REPO

# the module tinygrad_edu/device.py (the package's ``device`` attribute is torch.device's twin)
device_module = importlib.import_module("tinygrad_edu.device")


# ------------------------------------------------------------------------------------
# CuPy is never imported unless asked for
# ------------------------------------------------------------------------------------

IMPORT_GUARD = textwrap.dedent("""
    import sys

    attempts = []

    class Watch:
        # records every attempt to import cupy/cupyx, installed or not
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("cupy", "cupyx", "cupy_backends"):
                attempts.append(name)
            return None

    sys.meta_path.insert(0, Watch())

    import numpy as np
    import tinygrad_edu as tge
    import tinygrad_edu.nn.functional as F
    from tinygrad_edu import Tensor, nn, optim
    from tinygrad_edu.models import CNN, LSTMClassifier, TransformerClassifier

    tge.manual_seed(0)
    for model, x, y in [
        (CNN(), Tensor(np.random.rand(4, 1, 28, 28).astype(np.float32)), Tensor([1, 2, 3, 4])),
        (LSTMClassifier(20, 8, 8, 3), Tensor(np.random.randint(0, 20, (4, 5))), Tensor([0, 1, 2, 0])),
        (TransformerClassifier(20, 3, d_model=16, nhead=2, num_layers=1, dim_feedforward=16),
         Tensor(np.random.randint(1, 20, (4, 5))), Tensor([0, 1, 2, 0])),
    ]:
        opt = optim.Adam(model.parameters(), lr=1e-3)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        opt.zero_grad()
        model.state_dict()
    h = F.dropout(F.gelu(Tensor(np.ones((3, 4)), requires_grad=True)), 0.5)
    h.sum().backward()
    print(tge.Tensor([1.0]).device, tge.zeros(2, device="cpu").device)
    loaded = [m for m in sys.modules if m.split(".")[0] in ("cupy", "cupyx", "cupy_backends")]
    assert not loaded, loaded
    assert not attempts, attempts
    print("no cupy")
""")


def test_import_and_training_steps_never_import_cupy():
    result = subprocess.run([sys.executable, "-c", IMPORT_GUARD], capture_output=True, text=True,
                            cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "no cupy" in result.stdout


# ------------------------------------------------------------------------------------
# Clear errors without CuPy (simulated: ``import cupy`` fails whatever is installed)
# ------------------------------------------------------------------------------------

@pytest.fixture
def no_cupy(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)  # makes `import cupy` raise ImportError
    monkeypatch.setattr(device_module, "_cupy", None)


def test_to_cuda_without_cupy_names_the_pip_install(no_cupy):
    x = Tensor([1.0, 2.0], requires_grad=True)
    for attempt in (lambda: x.to("cuda"), lambda: x.cuda(), lambda: Tensor([1.0], device="cuda"),
                    lambda: Tensor.zeros(2, 3, device="cuda"), lambda: Tensor.randn(2, device="cuda"),
                    lambda: nn.Linear(2, 2).to("cuda")):
        with pytest.raises(RuntimeError, match=r"pip install 'tinygrad_edu\[gpu\]'"):
            attempt()
    assert tge.cuda_is_available() is False
    # nothing else changed: the tensor is still a CPU tensor and still works
    assert x.device == "cpu" and device_module._cupy is None
    (x * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])


def test_cupy_without_a_gpu_is_a_clear_error(monkeypatch):
    def no_device():
        raise RuntimeError("cudaErrorNoDevice: no CUDA-capable device is detected")

    fake = type(sys)("cupy")
    fake.ndarray = type("ndarray", (), {})
    fake.cuda = type(sys)("cupy.cuda")
    fake.cuda.runtime = type(sys)("cupy.cuda.runtime")
    fake.cuda.runtime.getDeviceCount = no_device
    monkeypatch.setitem(sys.modules, "cupy", fake)
    monkeypatch.setattr(device_module, "_cupy", None)
    with pytest.raises(RuntimeError, match="no GPU is usable.*no CUDA-capable device"):
        Tensor([1.0]).to("cuda")
    assert tge.cuda_is_available() is False
    assert device_module._cupy is None


@pytest.mark.parametrize("name,expected", [
    (None, "cpu"), ("cpu", "cpu"), ("cuda", "cuda"), ("cuda:0", "cuda"), ("gpu", "cuda"),
])
def test_normalize_device(name, expected):
    assert normalize_device(name) == expected


@pytest.mark.parametrize("name,message", [
    ("cuda:1", "only one GPU"), ("tpu", "unknown device 'tpu'"), ("CPU", "unknown device"),
    ("mps", "expected 'cpu' or 'cuda'"),
])
def test_normalize_device_refuses_other_names(name, message):
    with pytest.raises(ValueError, match=message):
        normalize_device(name)
    with pytest.raises(ValueError, match=message):
        Tensor([1.0]).to(name)


def test_cpu_fast_path_answers_numpy_while_cupy_is_not_loaded():
    assert device_module._cupy is None or tge.cuda_is_available()
    a = np.ones(3)
    assert device_module.array_module(a) is np
    assert device_module.device_of(a) == "cpu"
    assert device_module.is_cupy_array(a) is False
    assert device_module.move(a, "cpu") is a


def test_scatter_add_adds_repeated_positions():
    target = np.zeros(4)
    scatter_add(target, np.array([1, 1, 3]), np.array([1.0, 2.0, 5.0]))
    np.testing.assert_array_equal(target, [0, 3, 0, 5])


def test_rng_random_on_the_host_is_the_generator_stream():
    tge.manual_seed(3)
    a = rng.random((4, 2))
    tge.manual_seed(3)
    np.testing.assert_array_equal(a, np.random.default_rng(3).random((4, 2)))


def test_rng_random_on_a_device_is_seeded_from_the_host_generator():
    """The device branch of rng.random, with a stand-in for cupy.random.RandomState."""
    class FakeRandomState:
        def __init__(self, seed):
            self.gen = np.random.default_rng(seed)

        def random_sample(self, size=None, dtype=np.float64):
            return self.gen.random(size).astype(dtype)

    fake_xp = type(sys)("fake_xp")
    fake_xp.random = type(sys)("fake_xp.random")
    fake_xp.random.RandomState = FakeRandomState
    tge.manual_seed(11)
    a = rng.random((3, 5), fake_xp)
    b = rng.random((3, 5), fake_xp)
    tge.manual_seed(11)
    a2 = rng.random((3, 5), fake_xp)
    assert a.dtype == np.float32 and a.shape == (3, 5)
    np.testing.assert_array_equal(a, a2)          # reproducible under manual_seed
    assert not np.array_equal(a, b)               # and a stream, not one repeated draw


# ------------------------------------------------------------------------------------
# Tensors on the fake device
# ------------------------------------------------------------------------------------

def test_to_and_back_keeps_values_and_passes_gradients(fake_cuda):
    x = Tensor([[1.0, -2.0], [3.0, 4.0]], requires_grad=True)
    y = x.to("cuda")
    assert y.device == "cuda" and isinstance(y.data, fake_cuda)
    assert x.to("cpu") is x and y.to("cuda:0") is y and y.cuda() is y
    assert "device='cuda'" in repr(y)
    z = y.cpu()
    assert z.device == "cpu" and type(z.numpy()) is np.ndarray
    np.testing.assert_array_equal(z.numpy(), x.numpy())
    (z * Tensor([[1.0, 2.0], [3.0, 4.0]])).sum().backward()
    assert x.grad.device == "cpu"
    np.testing.assert_array_equal(x.grad.numpy(), [[1, 2], [3, 4]])


def test_factories_take_device(fake_cuda):
    for t in (Tensor.zeros(2, 3, device="cuda"), Tensor.ones(2, device="cuda"),
              Tensor.full((2,), 7.0, device="cuda"), Tensor.rand(3, device="cuda"),
              Tensor.randn(3, device="cuda"), Tensor.arange(5, device="cuda"),
              Tensor.eye(3, device="cuda"), Tensor([1, 2], device="cuda"),
              Tensor.from_numpy(np.ones(2), device="cuda"), tge.randint(0, 5, (3,), device="cuda"),
              Tensor.zeros_like(Tensor.ones(2, device="cuda"))):
        assert t.device == "cuda", t
    tge.manual_seed(0)
    on_gpu = Tensor.randn(4, device="cuda").numpy()
    tge.manual_seed(0)
    np.testing.assert_array_equal(on_gpu, Tensor.randn(4).numpy())  # same numbers on both devices


def _pair(fake_cuda, *shape, dtype=np.float32):
    cpu = Tensor(np.random.default_rng(0).standard_normal(shape).astype(dtype), requires_grad=True)
    return cpu, cpu.detach().to("cuda").requires_grad_()


MIXED = {
    "add": lambda c, g: c + g,
    "radd": lambda c, g: g * c,
    "matmul": lambda c, g: c @ g,
    "rmatmul": lambda c, g: g.matmul(c),
    "maximum": lambda c, g: c.maximum(g),
    "compare": lambda c, g: c < g,
    "cat": lambda c, g: tge.cat([c, g]),
    "stack": lambda c, g: tge.stack([g, c], axis=1),
    "where_cond": lambda c, g: tge.where(c > 0, g, g),
    "where_branch": lambda c, g: tge.where(g > 0, g, c),
    "linear_weight": lambda c, g: F.linear(c, g),
    "linear_bias": lambda c, g: F.linear(g, g, c[0]),
    "mse": lambda c, g: F.mse_loss(g, c),
    "l1": lambda c, g: F.l1_loss(c, g),
    "bce": lambda c, g: F.binary_cross_entropy(g, c),
    "bce_logits": lambda c, g: F.binary_cross_entropy_with_logits(g, c),
    "layer_norm": lambda c, g: F.layer_norm(g, (3,), c[0], None),
    "sdpa": lambda c, g: F.scaled_dot_product_attention(c, g, g),
    "sdpa_mask": lambda c, g: F.scaled_dot_product_attention(g, g, g, attn_mask=c > 0),
    "inplace": lambda c, g: c.detach().__iadd__(g.detach()),
}


@pytest.mark.parametrize("name", sorted(MIXED))
def test_mixing_devices_is_a_clear_error(fake_cuda, name):
    c, g = _pair(fake_cuda, 3, 3)
    with pytest.raises(ValueError, match="different devices|on cpu|on cuda"):
        MIXED[name](c, g)


def test_mixing_devices_in_conv_embedding_and_class_losses(fake_cuda):
    x, xg = _pair(fake_cuda, 1, 2, 4, 4)
    w, wg = _pair(fake_cuda, 3, 2, 3, 3)
    with pytest.raises(ValueError, match="different devices"):
        F.conv2d(x, wg)
    with pytest.raises(ValueError, match="different devices"):
        F.conv2d(xg, wg, Tensor.zeros(3))
    table = Tensor.zeros(5, 2, device="cuda")
    with pytest.raises(ValueError, match="embedding.*different devices"):
        F.embedding(Tensor([1, 2]), table)
    logits = Tensor.zeros(2, 5, device="cuda")
    with pytest.raises(ValueError, match="cross_entropy.*different devices"):
        F.cross_entropy(logits, Tensor([1, 2]))
    with pytest.raises(ValueError, match="nll_loss.*different devices"):
        F.nll_loss(logits, Tensor([1, 2]))
    with pytest.raises(ValueError, match="grad is on cpu but the output .* is on cuda"):
        Tensor.ones(2, device="cuda", requires_grad=True).backward(Tensor.ones(2))


def test_arrays_and_numbers_follow_the_tensor_device(fake_cuda):
    """Host arrays and numbers given next to a GPU tensor are copied to the GPU, where a CPU
    *tensor* would be refused. (The fake device checks that no error is raised; the result's
    device is the real-GPU tests' business, as NumPy may drop the fake's type tag.)"""
    g = Tensor.ones(3, device="cuda")
    assert (g + 1.0).device == "cuda"
    assert (g + np.ones(3, np.float32)).device == "cuda"
    tge.cat([g, np.zeros(2, np.float32)])
    tge.stack([np.zeros(3, np.float32), g])
    tge.where(np.array([True, False, True]), g, 0.0)
    tge.where(g > 0, 1.0, 0.0)
    F.mse_loss(g, np.zeros(3, np.float32))
    F.cross_entropy(Tensor.zeros(2, 4, device="cuda"), [1, 3])
    F.embedding([[0, 2]], Tensor.ones(4, 2, device="cuda"))
    # index arrays from the host are accepted for a GPU tensor (as PyTorch does)
    m = Tensor.arange(12, device="cuda").reshape(3, 4)
    assert m[np.array([0, 2])].shape == (2, 4)
    assert m[Tensor([1])].shape == (1, 4)
    with pytest.raises(ValueError, match="different devices"):
        tge.cat([g, Tensor.zeros(2)])


def test_optimizer_refuses_a_gradient_on_another_device(fake_cuda):
    p = nn.Parameter(Tensor.zeros(3, device="cuda"))
    p.grad = Tensor.ones(3)
    for opt in (optim.SGD([p], lr=0.1), optim.Adam([p])):
        with pytest.raises(ValueError, match="parameter on cuda has its gradient on cpu"):
            opt.step()


# ------------------------------------------------------------------------------------
# Modules, optimizers, data on the fake device
# ------------------------------------------------------------------------------------

def _model():
    tge.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.LayerNorm(8), nn.Linear(8, 2))


def test_module_to_moves_everything_and_state_dict_is_host_numpy(fake_cuda):
    model = _model()
    before = model.state_dict()
    params = list(model.parameters())
    assert model.to("cuda") is model
    assert [id(p) for p in model.parameters()] == [id(p) for p in params]  # same objects
    assert all(p.device == "cuda" for p in model.parameters())
    state = model.state_dict()
    assert all(type(v) is np.ndarray for v in state.values())
    for k in before:
        np.testing.assert_array_equal(state[k], before[k])
    model.cpu()
    assert all(p.device == "cpu" and type(p.data) is np.ndarray for p in model.parameters())


@pytest.mark.parametrize("source", ["cpu", "cuda"])
@pytest.mark.parametrize("target", ["cpu", "cuda"])
def test_load_state_dict_onto_either_device(fake_cuda, source, target):
    src = _model().to(source)
    for p in src.parameters():
        p.data = p.data + 1.0
    dst = _model().to(target)
    dst.load_state_dict(src.state_dict())
    assert all(p.device == target for p in dst.parameters())
    for (k, a), (_, b) in zip(src.state_dict().items(), dst.state_dict().items()):
        np.testing.assert_array_equal(a, b, err_msg=k)
    # tensors as values (from either device) work too
    dst.load_state_dict({k: v for k, v in src._state_items()})
    assert all(p.device == target for p in dst.parameters())


def test_optimizer_state_stays_on_the_parameter_device(fake_cuda):
    p = nn.Parameter(Tensor([1.0, -2.0, 3.0]).to("cuda"))
    p.grad = Tensor([0.5, 0.5, -1.0]).to("cuda")
    for opt in (optim.Adam([p], lr=0.1, amsgrad=True), optim.SGD([p], lr=0.1, momentum=0.9)):
        opt.step()
        opt.step()
        state = opt.state[p]
        arrays = [v for v in state.values() if hasattr(v, "shape")]
        assert arrays and all(device_module.device_of(v) == "cuda" for v in arrays)
        saved = opt.state_dict()
        assert all(type(v) is np.ndarray for s in saved["state"].values() for v in s.values()
                   if hasattr(v, "shape"))
        opt.load_state_dict(saved)  # host arrays go back onto the parameter's device
        assert all(device_module.device_of(v) == "cuda" for v in opt.state[p].values()
                   if hasattr(v, "shape"))
    assert p.device == "cuda"


def test_dataloader_batches_move_with_to(fake_cuda):
    data = TensorDataset(np.arange(20, dtype=np.float32).reshape(10, 2), np.arange(10))
    for x, y in DataLoader(data, batch_size=4, shuffle=True):
        xg, yg = x.to("cuda"), y.to("cuda")
        assert xg.device == yg.device == "cuda"
        assert yg.dtype == np.int64 and xg.dtype == np.float32
        np.testing.assert_array_equal(xg.numpy(), x.numpy())
