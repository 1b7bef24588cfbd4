"""The Module API: registration, traversal and names, modes, grads, state dicts, devices and
dtypes, repr, containers."""
import copy
from collections import OrderedDict

import numpy as np
import pytest

import tinygrad_edu as tge
from tinygrad_edu import Tensor, nn

from ..helpers import torch

# only the comparisons with PyTorch need it; everything else runs without it
needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 4)
        self.scale = nn.Parameter(np.ones(4, np.float32))
        self.register_buffer("running", Tensor(np.zeros(4, np.float32)))
        self.register_buffer("scratch", Tensor(np.zeros(2, np.float32)), persistent=False)
        self.drop = nn.Dropout(0.5)
        self.note = "plain attribute"

    def forward(self, x):
        return self.drop(self.fc(x)) * self.scale


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = Block()
        self.head = nn.Sequential(nn.ReLU(), nn.Linear(4, 2))

    def forward(self, x):
        return self.head(self.block(x))


def test_registration_and_names():
    net = Net()
    assert [n for n, _ in net.named_parameters()] == ["block.scale", "block.fc.weight", "block.fc.bias",
                                                      "head.1.weight", "head.1.bias"]
    assert [n for n, _ in net.named_buffers()] == ["block.running", "block.scratch"]
    assert [n for n, _ in net.named_children()] == ["block", "head"]
    assert list(net.children()) == [net.block, net.head]
    assert [n for n, _ in net.named_modules()] == ["", "block", "block.fc", "block.drop", "head", "head.0", "head.1"]
    assert len(list(net.modules())) == 7
    assert len(list(net.parameters())) == 5
    assert len(list(net.parameters(recurse=False))) == 0
    assert net.num_parameters() == 4 + (12 + 4) + (8 + 2)
    assert net.block.note == "plain attribute"
    assert net.get_submodule("head.1") is net.head[1]


def test_state_dict_order_values_and_buffers():
    net = Net()
    sd = net.state_dict()
    # PyTorch's order: a module's own parameters, then its persistent buffers, then children
    assert list(sd) == ["block.scale", "block.running", "block.fc.weight", "block.fc.bias",
                        "head.1.weight", "head.1.bias"]
    assert all(isinstance(v, np.ndarray) for v in sd.values())
    sd["block.fc.weight"][...] = 7  # a copy: the model is untouched
    assert not np.any(net.block.fc.weight.numpy() == 7)


def test_reassigning_and_deleting():
    m = Block()
    m.fc = nn.Linear(3, 4, bias=False)
    assert m.fc.bias is None and "fc.bias" not in m.state_dict()
    with pytest.raises(TypeError, match="nn.Parameter"):
        m.scale = Tensor(np.ones(4))
    m.scale = None
    assert "scale" not in m.state_dict()
    del m.drop
    assert "drop" not in dict(m.named_children())
    with pytest.raises(AttributeError):
        m.missing


def test_assignment_before_init_is_a_clear_error():
    class Broken(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(2, 2)

    with pytest.raises(AttributeError, match="super\\(\\).__init__\\(\\)"):
        Broken()


def test_train_eval_propagate():
    net = Net()
    assert net.training and net.block.drop.training
    assert net.eval() is net
    assert all(not m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    x = Tensor(np.ones((50, 3), np.float32))
    net.eval()
    np.testing.assert_array_equal(net(x).numpy(), net(x).numpy())  # dropout off: deterministic


def test_zero_grad_sets_none():
    net = Net()
    net(Tensor(np.ones((2, 3), np.float32))).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(np.all(p.grad.numpy() == 0) for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_load_state_dict_roundtrip_and_sources():
    a, b = Net(), Net()
    result = b.load_state_dict(a.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert repr(result) == "<All keys matched successfully>"
    for (name, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        np.testing.assert_array_equal(p.numpy(), q.numpy(), err_msg=name)
    # Tensors and torch tensors are accepted too, converted to the parameter's dtype
    sd = {k: Tensor(v * 2) for k, v in a.state_dict().items()}
    sd["head.1.bias"] = (torch.tensor([1.0, 2.0], dtype=torch.float64) if torch is not None
                         else np.array([1.0, 2.0]))
    b.load_state_dict(sd)
    assert b.head[1].bias.dtype == np.float32
    np.testing.assert_array_equal(b.head[1].bias.numpy(), [1.0, 2.0])


def test_load_state_dict_strict_lists_keys():
    net = Net()
    sd = net.state_dict()
    del sd["block.fc.bias"]
    sd["extra.weight"] = np.zeros(3)
    before = net.block.fc.weight.numpy().copy()
    sd["block.fc.weight"] = before + 1
    with pytest.raises(RuntimeError) as info:
        net.load_state_dict(sd)
    message = str(info.value)
    assert "missing key(s): 'block.fc.bias'" in message and "unexpected key(s): 'extra.weight'" in message
    np.testing.assert_array_equal(net.block.fc.weight.numpy(), before)  # nothing loaded on error
    result = net.load_state_dict(sd, strict=False)
    assert result == (["block.fc.bias"], ["extra.weight"])
    assert result.missing_keys == ["block.fc.bias"] and result.unexpected_keys == ["extra.weight"]
    np.testing.assert_array_equal(net.block.fc.weight.numpy(), before + 1)


def test_load_state_dict_shape_mismatch():
    net = Net()
    sd = net.state_dict()
    sd["head.1.weight"] = np.zeros((4, 2), np.float32)
    with pytest.raises(ValueError, match=r"'head.1.weight': the checkpoint has shape \(4, 2\), this model has shape \(2, 4\)"):
        net.load_state_dict(sd, strict=False)


@needs_torch
def test_load_state_dict_from_torch_keeps_parameter_objects():
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    ours = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    params = list(ours.parameters())
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    assert all(p is q for p, q in zip(params, ours.parameters()))
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    np.testing.assert_allclose(ours(Tensor(x)).numpy(), theirs(torch.tensor(x)).detach().numpy(), rtol=1e-6, atol=1e-6)


def test_double_float_and_to_dtype():
    net = Net()
    params = list(net.parameters())
    assert net.double() is net
    assert all(p.dtype == np.float64 for p in net.parameters())
    assert net.block.running.dtype == np.float64
    assert all(p is q for p, q in zip(params, net.parameters()))
    out = net(Tensor(np.ones((2, 3))))
    assert out.dtype == np.float64
    net.float()
    assert all(p.dtype == np.float32 for p in net.parameters())
    net.to("float64")
    assert net.head[1].weight.dtype == np.float64


def test_to_cpu_is_a_no_op_and_cuda_errors_clearly():
    net = Net()
    assert net.to("cpu") is net and net.cpu() is net
    if tge.cuda_is_available():
        pytest.skip("a GPU is present: moving works")
    with pytest.raises(RuntimeError, match="cuda"):
        net.cuda()


def test_apply_visits_children_first():
    net = Net()
    seen = []
    net.apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Linear", "Dropout", "Block", "ReLU", "Linear", "Sequential", "Net"]

    def reinit(m):
        if isinstance(m, nn.Linear):
            nn.init.zeros_(m.weight)

    net.apply(reinit)
    assert np.all(net.head[1].weight.numpy() == 0)


def test_requires_grad_freezes():
    net = Net()
    net.block.requires_grad_(False)
    net(Tensor(np.ones((2, 3), np.float32))).sum().backward()
    assert net.block.fc.weight.grad is None and net.head[1].weight.grad is not None
    assert "trainable" in repr(net)


def test_repr_shows_tree_and_counts():
    model = nn.Sequential(nn.Linear(100, 64), nn.ReLU(), nn.Linear(64, 10))
    text = repr(model)
    assert "Linear(in_features=100, out_features=64, bias=True)  # 6,464 params" in text
    assert "(1): ReLU()" in text
    assert text.splitlines()[0] == "Sequential(  # 7,114 params in total"
    assert repr(nn.Linear(3, 2)) == "Linear(in_features=3, out_features=2, bias=True)  # 8 params"
    assert "MultiheadAttention(  # 288 params" in repr(nn.TransformerEncoderLayer(8, 2, 16))
    assert repr(nn.ReLU()) == "ReLU()"


def test_shared_parameters_counted_once():
    shared = nn.Linear(4, 4)
    model = nn.Sequential(shared, nn.ReLU(), shared)
    assert len(list(model.parameters())) == 2
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]  # as PyTorch
    assert "20 params in total" in repr(model)


def test_deepcopy_gives_independent_modules():
    net = Net()
    twin = copy.deepcopy(net)
    assert twin.block.fc.weight is not net.block.fc.weight
    twin.block.fc.weight.data[...] = 0
    assert not np.all(net.block.fc.weight.numpy() == 0)
    assert list(twin.state_dict()) == list(net.state_dict())


# ------------------------------------------------------------------------------ containers
def test_sequential_indexing_and_ordered_dict():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert len(seq) == 3 and isinstance(seq[0], nn.Linear) and isinstance(seq[-1], nn.Linear)
    assert [type(m).__name__ for m in seq] == ["Linear", "ReLU", "Linear"]
    head = seq[1:]
    assert isinstance(head, nn.Sequential) and len(head) == 2
    assert list(head.state_dict()) == ["2.weight", "2.bias"]  # slices keep the names, as PyTorch
    seq.append(nn.Sigmoid())
    assert len(seq) == 4 and seq(Tensor(np.ones((5, 2), np.float32))).shape == (5, 1)
    named = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.Tanh())]))
    assert list(named.state_dict()) == ["fc.weight", "fc.bias"] and named.fc is named[0]
    with pytest.raises(IndexError):
        seq[10]
    with pytest.raises(TypeError, match="Module"):
        nn.Sequential(nn.ReLU(), "relu")


def test_module_list():
    layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    assert len(layers) == 3
    layers.append(nn.Linear(2, 1))
    layers.extend([nn.ReLU()])
    assert len(layers) == 5 and isinstance(layers[-1], nn.ReLU)
    assert [n for n, _ in layers.named_parameters()][-2:] == ["3.weight", "3.bias"]
    layers.insert(0, nn.Tanh())
    assert isinstance(layers[0], nn.Tanh) and isinstance(layers[1], nn.Linear)
    del layers[0]
    assert [n for n, _ in layers.named_children()] == ["0", "1", "2", "3", "4"]
    assert isinstance(layers[1:3], nn.ModuleList) and len(layers[1:3]) == 2

    class Holder(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = layers

    assert len(list(Holder().parameters())) == 8


def test_module_dict():
    d = nn.ModuleDict({"enc": nn.Linear(2, 3), "dec": nn.Linear(3, 2)})
    assert list(d.keys()) == ["enc", "dec"] and "enc" in d and len(d) == 2
    d["act"] = nn.ReLU()
    assert [n for n, _ in d.named_parameters()] == ["enc.weight", "enc.bias", "dec.weight", "dec.bias"]
    assert isinstance(d.pop("act"), nn.ReLU) and len(d) == 2
