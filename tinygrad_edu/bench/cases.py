"""The benchmark cases: data, models and one training-step function per library.

Each ``build_*(case)`` returns a zero-argument function doing one full training step (or
one kernel call) of ``case`` in that library, or None where the pair makes no sense.
Also the thread control shared by every library (:class:`Threads`) and the FMA peak.
"""
from __future__ import annotations

import ctypes

import numpy as np

MODEL_CASES = ["op", "mlp", "cnn", "lstm10", "lstm100", "transformer"]
KERNEL_CASES = ["gemm256", "gemm512", "gemm1024", "conv1", "conv2", "conv3"]
ALL_CASES = MODEL_CASES + KERNEL_CASES
IMPLS = ["tge-c", "tge-numpy", "numpy", "torch", "tf"]   # "numpy" and "tf" run in worker processes


# ------------------------------------------------------------------------------------------
# Thread control for every library
# ------------------------------------------------------------------------------------------
class Threads:
    """Sets the thread count of tinygrad_edu's C kernels, PyTorch and NumPy's BLAS."""

    def __init__(self):
        self.how = "not controlled (install threadpoolctl)"
        self._limits = None
        self._blas_set = None
        try:
            import threadpoolctl  # noqa: F401

            self.how = "threadpoolctl"
        except ImportError:
            self._blas_set = _find_openblas_setter()
            if self._blas_set is not None:
                self.how = "openblas_set_num_threads (ctypes)"

    def set(self, n: int) -> None:
        import tinygrad_edu as tge

        tge.set_num_threads(n)
        torch = _torch()
        if torch is not None:
            torch.set_num_threads(n)
        if self.how == "threadpoolctl":
            import threadpoolctl

            if self._limits is not None:
                self._limits.restore_original_limits()
            self._limits = threadpoolctl.threadpool_limits(limits=n, user_api="blas")
        elif self._blas_set is not None:
            self._blas_set(n)


def _find_openblas_setter():
    """OpenBLAS's set_num_threads from the copy NumPy loaded (Linux), or None."""
    try:
        with open("/proc/self/maps", encoding="utf-8") as f:
            paths = {line.split()[-1] for line in f if "openblas" in line.lower() and "/" in line}
    except OSError:
        return None
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in ("scipy_openblas_set_num_threads64_", "openblas_set_num_threads64_",
                     "scipy_openblas_set_num_threads", "openblas_set_num_threads"):
            fn = getattr(lib, name, None)
            if fn is not None:
                fn.argtypes, fn.restype = [ctypes.c_int], None
                return fn
    return None


_TORCH = []


def _torch():
    """The torch module, or None when it is not installed (imported once)."""
    if not _TORCH:
        try:
            import torch

            _TORCH.append(torch)
        except ImportError:
            _TORCH.append(None)
    return _TORCH[0]


# ------------------------------------------------------------------------------------------
# The FMA peak
# ------------------------------------------------------------------------------------------
def measure_fma_peak(repeats: int = 15) -> float | None:
    """One core's float32 FMA throughput in GFLOP/s (best of ``repeats``), from the C loop."""
    from ..backends import c

    if not c.AVAILABLE or not hasattr(c.lib, "tge_fma_peak_gflops_f32"):
        return None
    return max(float(c.lib.tge_fma_peak_gflops_f32(2_000_000)) for _ in range(repeats))


# ------------------------------------------------------------------------------------------
# Data shared by all implementations of a case
# ------------------------------------------------------------------------------------------
def _data(case: str):
    rng = np.random.default_rng(0)
    if case == "op":
        return dict(a=rng.standard_normal((8, 8)).astype(np.float32),
                    b=rng.standard_normal((8, 8)).astype(np.float32), batch=1)
    if case == "mlp":
        return dict(x=rng.standard_normal((64, 100)).astype(np.float32),
                    y=rng.integers(0, 10, 64).astype(np.int64), batch=64)
    if case == "cnn":
        return dict(x=rng.random((64, 1, 28, 28)).astype(np.float32),
                    y=rng.integers(0, 10, 64).astype(np.int64), batch=64)
    if case in ("lstm10", "lstm100"):
        t = 10 if case == "lstm10" else 100
        return dict(ids=rng.integers(1, 10000, (64, t)).astype(np.int64),
                    y=rng.integers(0, 2, (64, 1)).astype(np.float32), batch=64)
    if case == "transformer":
        return dict(ids=rng.integers(1, 10000, (32, 64)).astype(np.int64),
                    y=rng.integers(0, 2, 32).astype(np.int64), batch=32)
    if case.startswith("gemm"):
        n = int(case[4:])
        return dict(a=rng.standard_normal((n, n)).astype(np.float32),
                    b=rng.standard_normal((n, n)).astype(np.float32), batch=1,
                    flops=2.0 * n ** 3)
    if case.startswith("conv"):
        c, hw, o = {"conv1": (1, 28, 32), "conv2": (32, 13, 64), "conv3": (64, 5, 64)}[case]
        oh = hw - 2
        return dict(x=rng.standard_normal((64, c, hw, hw)).astype(np.float32),
                    w=rng.standard_normal((o, c, 3, 3)).astype(np.float32) * 0.1,
                    b=np.zeros(o, np.float32),
                    gy=rng.standard_normal((64, o, oh, oh)).astype(np.float32), batch=64,
                    flops=3 * 2.0 * 64 * o * oh * oh * c * 9)
    raise ValueError(case)


# ------------------------------------------------------------------------------------------
# tinygrad_edu
# ------------------------------------------------------------------------------------------
def _tge_model(case: str):
    import tinygrad_edu as tge
    from tinygrad_edu import nn
    from tinygrad_edu.models import CNN, MLP, LSTMClassifier, TransformerClassifier

    tge.manual_seed(0)
    if case == "mlp":
        return MLP(100, (64, 64), 10), nn.CrossEntropyLoss()
    if case == "cnn":
        return CNN(), nn.CrossEntropyLoss()
    if case in ("lstm10", "lstm100"):
        return LSTMClassifier(10000, 10, 100, 1), nn.BCEWithLogitsLoss()
    if case == "transformer":
        return (TransformerClassifier(10000, 2, d_model=128, nhead=4, num_layers=2,
                                      dim_feedforward=512, dropout=0.1),
                nn.CrossEntropyLoss())
    raise ValueError(case)


def build_tge(case: str, backend: str):
    """A step function for tinygrad_edu on ``backend`` ("c" or "numpy"), or None."""
    import tinygrad_edu as tge
    from tinygrad_edu import Tensor, optim
    from tinygrad_edu.backends import kernels

    if backend == "c":
        from tinygrad_edu.backends import c

        if not c.AVAILABLE:
            return None
    set_backend = tge.set_backend
    d = _data(case)
    if case == "op":
        a = Tensor(d["a"], requires_grad=True)
        b = Tensor(d["b"], requires_grad=True)

        def step():
            set_backend(backend)
            a.grad = b.grad = None
            (a * b).sum().backward()

        return step
    if case.startswith("gemm"):
        if backend == "numpy":
            return None  # the NumPy reference matmul is np.matmul: the "numpy" row
        x, y = d["a"], d["b"]

        def step():
            set_backend(backend)
            kernels().matmul(x, y)

        return step
    if case.startswith("conv"):
        if backend == "numpy":
            return None  # minutes per step: the reference is written for reading
        x, w, b, gy = d["x"], d["w"], d["b"], d["gy"]

        def step():
            set_backend(backend)
            k = kernels()
            k.conv2d_forward(x, w, b, (1, 1), (0, 0))
            k.conv2d_backward_input(gy, w, x.shape, (1, 1), (0, 0))
            k.conv2d_backward_weight(gy, x, w.shape, (1, 1), (0, 0))

        return step

    model, loss_fn = _tge_model(case)
    model.train()
    opt = optim.Adam(model.parameters(), lr=1e-3)
    x = Tensor(d["x"]) if "x" in d else Tensor(d["ids"])
    y = Tensor(d["y"])

    def step():
        set_backend(backend)
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return step


# ------------------------------------------------------------------------------------------
# PyTorch
# ------------------------------------------------------------------------------------------
def _torch_model(case: str):
    torch = _torch()
    tnn = torch.nn
    torch.manual_seed(0)
    if case == "mlp":
        return (tnn.Sequential(tnn.Linear(100, 64), tnn.ReLU(), tnn.Linear(64, 64), tnn.ReLU(),
                               tnn.Linear(64, 10)), tnn.CrossEntropyLoss())
    if case == "cnn":
        return (tnn.Sequential(tnn.Conv2d(1, 32, 3), tnn.ReLU(), tnn.MaxPool2d(2),
                               tnn.Conv2d(32, 64, 3), tnn.ReLU(), tnn.MaxPool2d(2),
                               tnn.Conv2d(64, 64, 3), tnn.ReLU(), tnn.Flatten(),
                               tnn.Linear(576, 64), tnn.ReLU(), tnn.Linear(64, 10)),
                tnn.CrossEntropyLoss())
    if case in ("lstm10", "lstm100"):
        class LSTMClassifier(tnn.Module):
            def __init__(self):
                super().__init__()
                self.embedding = tnn.Embedding(10000, 10)
                self.lstm = tnn.LSTM(10, 100, batch_first=True)
                self.fc = tnn.Linear(100, 1)

            def forward(self, ids):
                _, (h, _) = self.lstm(self.embedding(ids))
                return self.fc(h[-1])

        return LSTMClassifier(), tnn.BCEWithLogitsLoss()
    if case == "transformer":
        class TransformerClassifier(tnn.Module):
            def __init__(self):
                super().__init__()
                self.token_embedding = tnn.Embedding(10000, 128, padding_idx=0)
                self.position_embedding = tnn.Embedding(512, 128)
                self.dropout = tnn.Dropout(0.1)
                layer = tnn.TransformerEncoderLayer(128, 4, 512, 0.1, batch_first=True)
                self.encoder = tnn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
                self.fc = tnn.Linear(128, 2)

            def forward(self, ids):
                pos = torch.arange(ids.shape[1], device=ids.device)
                x = self.dropout(self.token_embedding(ids) + self.position_embedding(pos))
                padding = ids == 0
                h = self.encoder(x, src_key_padding_mask=padding)
                keep = (~padding).to(h.dtype)[:, :, None]
                return self.fc((h * keep).sum(1) / keep.sum(1))

        return TransformerClassifier(), tnn.CrossEntropyLoss()
    raise ValueError(case)


def build_torch(case: str):
    torch = _torch()
    if torch is None:
        return None
    d = _data(case)
    if case == "op":
        a = torch.tensor(d["a"], requires_grad=True)
        b = torch.tensor(d["b"], requires_grad=True)

        def step():
            a.grad = b.grad = None
            (a * b).sum().backward()

        return step
    if case.startswith("gemm"):
        x, y = torch.from_numpy(d["a"]), torch.from_numpy(d["b"])

        def step():
            torch.mm(x, y)

        return step
    if case.startswith("conv"):
        x = torch.from_numpy(d["x"]).requires_grad_(True)
        w = torch.from_numpy(d["w"]).requires_grad_(True)
        b = torch.from_numpy(d["b"]).requires_grad_(True)
        gy = torch.from_numpy(d["gy"])

        def step():
            x.grad = w.grad = b.grad = None
            torch.nn.functional.conv2d(x, w, b).backward(gy)

        return step
    model, loss_fn = _torch_model(case)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.from_numpy(d["x"]) if "x" in d else torch.from_numpy(d["ids"])
    y = torch.from_numpy(d["y"])

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return step


# ------------------------------------------------------------------------------------------
# Hand-written NumPy (forward, backward and Adam written out)
# ------------------------------------------------------------------------------------------
class _NumpyAdam:
    """Adam on a list of arrays, PyTorch's update rule, in float32."""

    def __init__(self, params, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
        self.params, self.lr, self.b1, self.b2, self.eps = params, lr, b1, b2, eps
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.t = 0

    def step(self, grads):
        self.t += 1
        c1, c2 = 1 - self.b1 ** self.t, (1 - self.b2 ** self.t) ** 0.5
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            m *= self.b1
            m += (1 - self.b1) * g
            v *= self.b2
            v += (1 - self.b2) * g * g
            p -= (self.lr / c1) * m / (np.sqrt(v) / c2 + self.eps)


def build_numpy(case: str):
    d = _data(case)
    if case == "op":
        a, b = d["a"], d["b"]

        def step():
            out = (a * b).sum()
            ga, gb = b * 1.0, a * 1.0  # d(sum(a*b))/da = b, /db = a
            return out, ga, gb

        return step
    if case.startswith("gemm"):
        x, y = d["a"], d["b"]
        return lambda: np.matmul(x, y)
    if case != "mlp":
        return None
    rng = np.random.default_rng(1)
    sizes = [(100, 64), (64, 64), (64, 10)]
    params = []
    for fan_in, fan_out in sizes:
        bound = 1 / fan_in ** 0.5
        params += [rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32),
                   rng.uniform(-bound, bound, fan_out).astype(np.float32)]
    opt = _NumpyAdam(params)
    x, y = d["x"], d["y"]
    rows = np.arange(len(y))

    def step():
        w1, b1, w2, b2, w3, b3 = params
        h1 = np.maximum(x @ w1.T + b1, 0)
        h2 = np.maximum(h1 @ w2.T + b2, 0)
        z = h2 @ w3.T + b3
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        p = e / e.sum(axis=1, keepdims=True)
        loss = -np.log(p[rows, y]).mean()
        g = p
        g[rows, y] -= 1
        g /= len(y)                                   # d loss / d z
        gw3, gb3 = g.T @ h2, g.sum(0)
        g = (g @ w3) * (h2 > 0)
        gw2, gb2 = g.T @ h1, g.sum(0)
        g = (g @ w2) * (h1 > 0)
        gw1, gb1 = g.T @ x, g.sum(0)
        opt.step([gw1, gb1, gw2, gb2, gw3, gb3])
        return loss

    return step


def _builders():
    """``{implementation name: build function}`` for every implementation."""
    return {"tge-c": lambda c: build_tge(c, "c"), "tge-numpy": lambda c: build_tge(c, "numpy"),
            "numpy": build_numpy, "torch": build_torch}

