"""The idioms of pytorch/examples' mnist/main.py, in its 2019 and its current form, run on
tinygrad_edu and compared with PyTorch from the same initial weights (float64, 1e-6).

The 2019 script: ``torch.device("cuda" if use_cuda else "cpu")``, a LeNet-style Net
(Conv2d(1, 20, 5, 1), ``F.max_pool2d(x, 2, 2)``, ``x.view(-1, 4*4*50)``), SGD with momentum,
``output.max(1, keepdim=True)[1]`` for predictions. The current script: a Net with
Conv2d(1, 32, 3, 1), Dropout, ``torch.flatten(x, 1)``, ``F.log_softmax(x, dim=1)``, Adadelta
with StepLR, ``torch.accelerator`` for the device, ``output.argmax(dim=1, keepdim=True)``.
Both: ``model.to(device)``, ``data.to(device)``, ``model.train()`` / ``model.eval()``,
``optimizer.zero_grad()``, ``F.nll_loss`` (mean and ``reduction='sum'``), ``loss.item()``,
``pred.eq(target.view_as(pred)).sum().item()``, ``torch.no_grad()``, ``len(loader.dataset)``,
``torch.utils.data.DataLoader(dataset, **kwargs)`` and ``torch.save(model.state_dict(), path)``.
The dataset download is replaced by the library's synthetic digits. Dropout draws different
masks in the two libraries, so the step-by-step comparison runs with p = 0 (the same program
with its dropout on is checked to train).
"""
import numpy as np
import pytest

import tinygrad_edu as tge
from tinygrad_edu.data import synthetic_digits

torch = pytest.importorskip("torch")

TOL = dict(rtol=1e-6, atol=1e-6)


def net_2019(lib):
    nn, F = lib.nn, lib.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super(Net, self).__init__()
            self.conv1 = nn.Conv2d(1, 20, 5, 1)
            self.conv2 = nn.Conv2d(20, 50, 5, 1)
            self.fc1 = nn.Linear(4 * 4 * 50, 500)
            self.fc2 = nn.Linear(500, 10)

        def forward(self, x):
            x = F.relu(self.conv1(x))
            x = F.max_pool2d(x, 2, 2)
            x = F.relu(self.conv2(x))
            x = F.max_pool2d(x, 2, 2)
            x = x.view(-1, 4 * 4 * 50)
            x = F.relu(self.fc1(x))
            x = self.fc2(x)
            return F.log_softmax(x, dim=1)

    return Net()


def net_current(lib, p1=0.25, p2=0.5, channel_dropout=False):
    nn, F = lib.nn, lib.nn.functional
    Drop = nn.Dropout2d if channel_dropout else nn.Dropout

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 32, 3, 1)
            self.conv2 = nn.Conv2d(32, 64, 3, 1)
            self.dropout1 = Drop(p1)
            self.dropout2 = nn.Dropout(p2)
            self.fc1 = nn.Linear(9216, 128)
            self.fc2 = nn.Linear(128, 10)

        def forward(self, x):
            x = F.relu(self.conv1(x))
            x = F.relu(self.conv2(x))
            x = F.max_pool2d(x, 2)
            x = self.dropout1(x)
            x = lib.flatten(x, 1)
            x = F.relu(self.fc1(x))
            x = self.dropout2(x)
            x = self.fc2(x)
            return F.log_softmax(x, dim=1)

    return Net()


def loaders(lib, n_train=24, n_test=16, batch=8):
    x, y = synthetic_digits(n_train + n_test, seed=0)
    x = ((x[:, None].astype(np.float64) / 255) - 0.1307) / 0.3081
    if lib is torch:
        ds = torch.utils.data.TensorDataset
        make = lambda a, b: ds(torch.tensor(a), torch.tensor(b.astype(np.int64)))  # noqa: E731
    else:
        make = lambda a, b: tge.utils.data.TensorDataset(a, b.astype(np.int64))  # noqa: E731
    kwargs = {"batch_size": batch}
    if lib.cuda.is_available():  # the scripts' extra loader arguments on a GPU
        kwargs.update({"num_workers": 1, "pin_memory": True})
    train = lib.utils.data.DataLoader(make(x[:n_train], y[:n_train]), **kwargs)
    test = lib.utils.data.DataLoader(make(x[n_train:], y[n_train:]), **kwargs)
    return train, test


def same_start(ours, theirs):
    """``ours`` (either library's model) takes the weights of the torch model ``theirs``, float64."""
    ours.double()
    theirs.double()
    state = theirs.state_dict()
    ours.load_state_dict(state if isinstance(ours, torch.nn.Module) else {k: v.numpy() for k, v in state.items()})


def train_epoch(lib, model, device, loader, optimizer):
    model.train()
    losses = []
    for batch_idx, (data, target) in enumerate(loader):
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = lib.nn.functional.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def evaluate(lib, model, device, loader, use_max):
    model.eval()
    test_loss, correct = 0, 0
    with lib.no_grad():
        for data, target in loader:
            data, target = data.to(device), target.to(device)
            output = model(data)
            test_loss += lib.nn.functional.nll_loss(output, target, reduction="sum").item()
            pred = output.max(1, keepdim=True)[1] if use_max else output.argmax(dim=1, keepdim=True)
            correct += pred.eq(target.view_as(pred)).sum().item()
    return test_loss / len(loader.dataset), correct


def run_2019(lib, theirs=None):
    use_cuda = lib.cuda.is_available()
    device = lib.device("cuda" if use_cuda else "cpu")
    lib.manual_seed(1)
    model = net_2019(lib).to(device)
    if theirs is not None:
        same_start(model, theirs)
    optimizer = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.5)
    train, test = loaders(lib)
    history = []
    for epoch in range(1, 3):
        history += train_epoch(lib, model, device, train, optimizer)
        history += evaluate(lib, model, device, test, use_max=True)
    return model, history


def run_current(lib, theirs=None, p=(0.25, 0.5), channel_dropout=False):
    if lib.accelerator.is_available():
        device = lib.accelerator.current_accelerator()
    else:
        device = lib.device("cpu")
    model = net_current(lib, *p, channel_dropout=channel_dropout).to(device)
    if theirs is not None:
        same_start(model, theirs)
    else:
        model.to(lib.float64)  # the data below is float64
    optimizer = lib.optim.Adadelta(model.parameters(), lr=1.0)
    scheduler = lib.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.7)
    train, test = loaders(lib)
    history = []
    for epoch in range(1, 3):
        history += train_epoch(lib, model, device, train, optimizer)
        history += evaluate(lib, model, device, test, use_max=False)
        scheduler.step()
    history.append(optimizer.param_groups[0]["lr"])
    return model, history


def test_2019_script_matches_torch(tmp_path):
    torch.manual_seed(0)
    theirs = net_2019(torch)
    ours, history = run_2019(tge, theirs)
    theirs_trained, thistory = run_2019(torch, theirs)
    np.testing.assert_allclose(history, thistory, **TOL)
    for key, value in theirs_trained.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[key], value.numpy(), **TOL, err_msg=key)
    tge.save(ours.state_dict(), str(tmp_path / "mnist_cnn.pt"))
    again = net_2019(tge).double()
    again.load_state_dict(tge.load(str(tmp_path / "mnist_cnn.pt")))
    assert all(np.array_equal(a, b) for a, b in zip(again.state_dict().values(), ours.state_dict().values()))


@pytest.mark.parametrize("channel_dropout", [False, True], ids=["Dropout", "Dropout2d"])
def test_current_script_matches_torch(channel_dropout):
    torch.manual_seed(0)
    theirs = net_current(torch, 0.0, 0.0, channel_dropout)
    ours, history = run_current(tge, theirs, (0.0, 0.0), channel_dropout)
    _, thistory = run_current(torch, theirs, (0.0, 0.0), channel_dropout)
    np.testing.assert_allclose(history, thistory, **TOL)


def test_current_script_trains_with_dropout():
    tge.manual_seed(0)
    model, history = run_current(tge)
    train_losses = history[:3]
    assert np.isfinite(history).all()
    assert history[-1] == pytest.approx(0.49)  # StepLR(gamma=0.7) twice
    assert model.dropout1.p == 0.25 and train_losses[0] > 0
