"""Stress: 2 threads x 2 models x 200 steps, saving as they go (issue 15).

Each thread trains its own two tiny models (an MLP and a small CNN, Adam) for 200 steps,
and every 50 steps saves a checkpoint to ONE path shared by both threads. Afterwards every
model must equal, bit for bit, the same model trained alone in the main thread (the C
kernels give the same bits for any thread count, autograd state lives on each graph), and
the shared checkpoint must be one complete save of one of the threads, with no temporary
file left beside it. A few seconds: the models are tiny.
"""
import os
import threading

import numpy as np

import tinygrad_edu as tge
import tinygrad_edu.nn.functional as F
from tinygrad_edu import Tensor, nn, optim
from tinygrad_edu.utils.serialization import load, save

STEPS = 200


def _models(seed):
    tge.manual_seed(seed)
    mlp = nn.Sequential(nn.Linear(6, 12), nn.ReLU(), nn.Linear(12, 3))
    cnn = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(3 * 3 * 3, 3))
    return [mlp, cnn]


def _batches(seed):
    rng = np.random.default_rng(seed)
    xs = [Tensor(rng.standard_normal((4, 6)).astype(np.float32)),
          Tensor(rng.standard_normal((4, 1, 6, 6)).astype(np.float32))]
    ys = [Tensor(rng.integers(0, 3, 4)), Tensor(rng.integers(0, 3, 4))]
    return xs, ys


def _train(models, seed, path=None, saved=None, errors=None):
    try:
        xs, ys = _batches(seed)
        opts = [optim.Adam(m.parameters(), lr=1e-2) for m in models]
        for step in range(STEPS):
            for model, opt, x, y in zip(models, opts, xs, ys):
                opt.zero_grad()
                F.cross_entropy(model(x), y).backward()
                opt.step()
            if path is not None and step % 50 == 49:
                state = {**{f"mlp.{k}": v for k, v in models[0].state_dict().items()}, "seed": np.array(seed)}
                save(state, path)
                saved.append({k: np.array(v) for k, v in state.items()})
    except BaseException as e:  # reported by the main thread
        errors.append(e)
        raise


def test_two_threads_two_models_200_steps(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    seeds = (11, 22)
    threaded = {s: _models(s) for s in seeds}
    alone = {s: _models(s) for s in seeds}
    saved, errors = [], []
    threads = [threading.Thread(target=_train, args=(threaded[s], s, path, saved, errors)) for s in seeds]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads) and not errors, errors
    for s in seeds:
        _train(alone[s], s)
        for a, b in zip(threaded[s], alone[s]):
            for (name, pa), (_, pb) in zip(a.named_parameters(), b.named_parameters()):
                np.testing.assert_array_equal(pa.numpy(), pb.numpy(), err_msg=f"seed {s}: {name}")
    # the shared checkpoint is one complete save of one thread, and nothing else is left
    final = load(path)
    assert len(saved) == 2 * (STEPS // 50)
    assert any(final.keys() == st.keys() and all(np.array_equal(final[k], st[k]) for k in st) for st in saved)
    assert os.listdir(tmp_path) == ["ckpt.safetensors"]
