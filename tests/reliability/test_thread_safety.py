"""Two Python threads training two models at once get exactly what running them one after
the other gets, and the C kernels really run in parallel (cffi releases the GIL).

Why this holds: the C kernels keep no state between calls but the (atomic) thread count and
give bit-identical results for any thread count; grad mode is per thread; every op's
backward state lives on its graph node.  What is *not* per thread: the random generator
(``tge.manual_seed`` is global, so random draws in threads depend on the interleaving: the
models are built before the threads start and use no dropout), the kernel backend choice
(``tge.set_backend``) and anomaly mode, which are process-wide settings.
"""
import threading
import time

import numpy as np
import pytest

import tinygrad_edu as tge
from tinygrad_edu import Tensor, nn, optim
from tinygrad_edu.backends import c as ck

from ..helpers import train_steps


def _mlp(seed):
    tge.manual_seed(seed)
    return nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 32), nn.Tanh(),
                         nn.Linear(32, 5))


def _cnn(seed):
    tge.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 6, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(6, 8, 3), nn.ReLU(), nn.AvgPool2d(2), nn.Flatten(),
                         nn.Linear(8 * 2 * 2, 4))


def _data(seed, shape, classes, steps):
    rng = np.random.default_rng(seed)
    return [(Tensor(rng.standard_normal(shape).astype(np.float32)),
             Tensor(rng.integers(0, classes, size=shape[0]))) for _ in range(steps)]


def _train(model, opt, batches):
    """Plain training loop; returns the losses and the final parameters."""
    return train_steps(model, opt, batches), [p.numpy().copy() for p in model.parameters()]


def _jobs():
    """Two fresh (model, optimizer, batches) jobs, built deterministically."""
    mlp = _mlp(1)
    cnn = _cnn(2)
    return [
        (mlp, optim.Adam(mlp.parameters(), lr=1e-2), _data(10, (16, 20), 5, 25)),
        (cnn, optim.SGD(cnn.parameters(), lr=0.05, momentum=0.9), _data(11, (8, 1, 12, 12), 4, 12)),
    ]


def _in_threads(jobs):
    results, errors = [None] * len(jobs), []

    def work(i, job):
        try:
            results[i] = _train(*job)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i, job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert not errors, errors
    return results


def _assert_same(a, b):
    (losses_a, params_a), (losses_b, params_b) = a, b
    assert losses_a == losses_b
    for pa, pb in zip(params_a, params_b):
        assert np.array_equal(pa, pb)  # bit for bit


@pytest.mark.parametrize("kernel_threads", [1, 2])
def test_two_models_in_two_threads_match_sequential(backend, kernel_threads):
    before = tge.get_num_threads()
    tge.set_num_threads(kernel_threads)
    try:
        sequential = [_train(*job) for job in _jobs()]
        for _ in range(2):  # twice: different interleavings, same answer
            threaded = _in_threads(_jobs())
            for s, t in zip(sequential, threaded):
                _assert_same(s, t)
    finally:
        tge.set_num_threads(before)


def test_same_model_twice_in_threads_is_deterministic(backend):
    """Four threads, four copies of the CNN job: all four agree with the sequential run."""
    reference = _train(*_jobs()[1])
    results = _in_threads([_jobs()[1] for _ in range(4)])
    for r in results:
        _assert_same(reference, r)


def test_grad_mode_is_per_thread():
    seen = {}
    go = threading.Barrier(2)

    def no_grad_thread():
        with tge.no_grad():
            go.wait()
            time.sleep(0.05)  # the other thread records meanwhile
            seen["no_grad"] = (Tensor.ones(2, requires_grad=True) * 2).requires_grad

    def grad_thread():
        go.wait()
        seen["grad"] = (Tensor.ones(2, requires_grad=True) * 2).requires_grad

    threads = [threading.Thread(target=no_grad_thread), threading.Thread(target=grad_thread)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == {"no_grad": False, "grad": True}
    assert tge.is_grad_enabled()


@pytest.mark.skipif(not ck.AVAILABLE, reason="C kernels not built")
def test_c_kernels_release_the_gil():
    """While one thread is inside a long C matmul, another keeps running Python.

    If the GIL were held during the call, the Python thread would stall for the whole call;
    the largest pause it sees must instead be a small part of one call's duration.
    """
    a = np.random.default_rng(0).standard_normal((1100, 1100))
    before = ck.get_num_threads()
    ck.set_num_threads(1)
    try:
        began = time.perf_counter()
        ck.matmul(a, a)
        single = time.perf_counter() - began  # one call, alone
        stop = threading.Event()
        calls = []

        def kernels():
            for _ in range(3):
                t0 = time.perf_counter()
                ck.matmul(a, a)
                calls.append((t0, time.perf_counter()))
            stop.set()

        stamps = []
        worker = threading.Thread(target=kernels)
        worker.start()
        while not stop.is_set():
            stamps.append(time.perf_counter())
        worker.join()
    finally:
        ck.set_num_threads(before)
    inside = [t for t in stamps if any(t0 <= t <= t1 for t0, t1 in calls)]
    assert len(inside) > 10, "the Python thread never ran while C was computing"
    gaps = np.diff(stamps)
    longest_call = max(t1 - t0 for t0, t1 in calls)
    assert gaps.max() < 0.5 * longest_call, (gaps.max(), longest_call, single)


def test_many_optimizers_in_threads_match_sequential(backend):
    """More optimizers than the fused step's pointer cache holds (16), stepped from four
    threads at once: entries are evicted while others are added, and every parameter still
    ends exactly where the sequential run puts it."""
    def jobs():
        out = []
        for i in range(24):
            tge.manual_seed(100 + i)
            layer = nn.Linear(3, 2)
            opt = (optim.Adam if i % 2 else optim.SGD)(layer.parameters(), lr=0.05,
                                                       **({} if i % 2 else {"momentum": 0.9}))
            out.append((layer, opt))
        return out

    x = Tensor(np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32))

    def run(pairs):
        for _ in range(6):
            for layer, opt in pairs:
                opt.zero_grad()
                (layer(x) ** 2).mean().backward()
                opt.step()
        return [[p.numpy().copy() for p in layer.parameters()] for layer, _ in pairs]

    sequential = run(jobs())
    pairs = jobs()
    chunks = [pairs[i::4] for i in range(4)]
    results = [None] * 4
    threads = [threading.Thread(target=lambda i=i: results.__setitem__(i, run(chunks[i])))
               for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    threaded = [None] * 24
    for i in range(4):
        threaded[i::4] = results[i]
    for a, b in zip(sequential, threaded):
        for pa, pb in zip(a, b):
            assert np.array_equal(pa, pb)
