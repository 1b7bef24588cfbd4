"""Run by tests/distributed/test_mpi.py under ``mpirun -np 2``: one scenario per call.

    mpirun -np 2 python tests/distributed/_mpi_worker.py SCENARIO OUT_DIR [options]

Each rank checks what it can itself (an assert that fails aborts the job through the
process group's excepthook) and writes what the test compares to OUT_DIR.
"""
import os
import sys
import time

import numpy as np

import tinygrad_edu as tge
import tinygrad_edu.distributed as dist
from tinygrad_edu import Tensor

STEPS, BATCH, SEED = 5, 16, 0


def cnn_data():
    """(16, 1, 28, 28) float32 images and int64 labels: the same on every rank and in the test."""
    gen = np.random.default_rng(1234)
    return gen.random((BATCH, 1, 28, 28), dtype=np.float32), gen.integers(0, 10, BATCH).astype(np.int64)


def train_cnn(model, x, y, steps=STEPS, sync=None):
    """5 Adam steps of cross-entropy on (x, y); ``sync`` runs between backward and step."""
    from tinygrad_edu import optim
    from tinygrad_edu.nn import functional as F

    params = model.module.parameters() if isinstance(model, dist.DistributedDataParallel) else model.parameters()
    opt = optim.Adam(list(params), lr=1e-3)
    losses = []
    for _ in range(steps):
        loss = F.cross_entropy(model(Tensor(x)), Tensor(y))
        opt.zero_grad()
        loss.backward()
        if sync is not None:
            sync()
        opt.step()
        losses.append(float(loss.item()))
    return losses


def scenario_collectives(out):
    rank, size = dist.get_rank(), dist.get_world_size()
    assert size == 2 and rank in (0, 1), (rank, size)
    t = Tensor(np.array([1.0, 2.0, 3.0], dtype=np.float32) * (rank + 1))
    dist.all_reduce(t)                                         # SUM
    assert np.array_equal(t.numpy(), [3.0, 6.0, 9.0]), t.numpy()
    for op, expected in ((dist.ReduceOp.AVG, [1.5, 3.0, 4.5]), (dist.ReduceOp.MAX, [2.0, 4.0, 6.0]),
                         (dist.ReduceOp.MIN, [1.0, 2.0, 3.0]), (dist.ReduceOp.PRODUCT, [2.0, 8.0, 18.0])):
        t = Tensor(np.array([1.0, 2.0, 3.0], dtype=np.float32) * (rank + 1))
        dist.all_reduce(t, op=op)
        assert np.allclose(t.numpy(), expected), (op, t.numpy())
    ti = Tensor(np.array([rank + 5], dtype=np.int64))
    dist.all_reduce(ti, op=dist.ReduceOp.MAX)
    assert ti.numpy().tolist() == [6] and ti.dtype == np.int64
    # a non-contiguous tensor is reduced through a copy and written back
    base = Tensor(np.arange(12, dtype=np.float64).reshape(3, 4) * (rank + 1))
    view = Tensor._from_array(base.data[:, ::2])
    dist.all_reduce(view)
    assert np.array_equal(base.numpy()[:, ::2], np.arange(12.0).reshape(3, 4)[:, ::2] * 3)
    assert np.array_equal(base.numpy()[:, 1::2], np.arange(12.0).reshape(3, 4)[:, 1::2] * (rank + 1))
    work = dist.all_reduce(Tensor(np.ones(4, np.float32)), async_op=True)
    assert work.wait()
    b = Tensor(np.full((2, 2), float(rank), dtype=np.float32))
    dist.broadcast(b, src=1)
    assert np.array_equal(b.numpy(), np.ones((2, 2)))
    gathered = [Tensor.zeros(2, 3) for _ in range(size)]
    dist.all_gather(gathered, Tensor(np.full((2, 3), rank + 10.0, dtype=np.float32)))
    assert [g.numpy()[0, 0] for g in gathered] == [10.0, 11.0]
    try:
        dist.all_gather([Tensor.zeros(2, 3)], Tensor.zeros(2, 3))
    except ValueError as exc:
        assert "world size" in str(exc)
    else:
        raise AssertionError("all_gather accepted a list of the wrong length")
    try:
        dist.all_reduce(Tensor(np.ones(2, np.int64)), op=dist.ReduceOp.AVG)
    except TypeError:
        pass
    else:
        raise AssertionError("AVG accepted an integer tensor")
    dist.barrier()
    with open(os.path.join(out, f"collectives_ok_{rank}"), "w") as f:
        f.write("ok")


def scenario_ddp(out, hooks):
    from tinygrad_edu.models import CNN

    rank, size = dist.get_rank(), dist.get_world_size()
    tge.manual_seed(SEED + 17 * rank)             # different initial weights: DDP must broadcast rank 0's
    model = CNN()
    if rank == 0:                                 # ... which are the test's reference weights
        tge.manual_seed(SEED)
        model.load_state_dict(CNN().state_dict())
    # small buckets, so that the CNN's 10 parameters travel in several all-reduces
    ddp = dist.DistributedDataParallel(model, bucket_cap_mb=0.05, hooks={"auto": None, "off": False}[hooks])
    assert len(ddp.reducer.buckets) > 1
    x, y = cnn_data()
    half = BATCH // size
    mine = slice(rank * half, (rank + 1) * half)
    losses = train_cnn(ddp, x[mine], y[mine], sync=ddp.synchronize)
    np.savez(os.path.join(out, f"ddp_{hooks}_{rank}.npz"), losses=np.array(losses),
             uses_hooks=np.array(ddp.uses_hooks), **model.state_dict())


def scenario_ddp_extras(out):
    """Averaged gradients without synchronize() (hooks), unused parameters, no_sync, the error."""
    from tinygrad_edu import nn

    class TwoHeads(nn.Module):
        def __init__(self):
            super().__init__()
            self.body, self.left, self.right = nn.Linear(3, 4), nn.Linear(4, 2), nn.Linear(4, 2)

        def forward(self, x, head="left"):
            return getattr(self, head)(self.body(x).relu())

    rank = dist.get_rank()
    tge.manual_seed(3)
    model = TwoHeads()
    x = Tensor(np.random.default_rng(rank).normal(size=(5, 3)).astype(np.float32))

    def local_grads(head="left", times=1):
        model.zero_grad()
        for _ in range(times):
            model(x, head).sum().backward()
        return {k: (p.grad.numpy().copy() if p.grad is not None else np.zeros(p.shape, np.float32))
                for k, p in model.named_parameters()}

    def averaged(grads):
        result = {}
        for k, g in grads.items():
            t = Tensor(g.copy())
            dist.all_reduce(t, op=dist.ReduceOp.AVG)
            result[k] = t.numpy()
        return result

    expected = averaged(local_grads("left"))
    expected_twice = averaged(local_grads("left", times=3))
    ddp = dist.DistributedDataParallel(model, bucket_cap_mb=1e-6, find_unused_parameters=True)
    assert len(ddp.reducer.buckets) == 6                       # one parameter per bucket
    model.zero_grad()
    ddp(x, "left").sum().backward()                            # "right" is unused
    if ddp.uses_hooks:                                         # averaged by the end of backward
        for k, p in model.named_parameters():
            want = expected[k] if not k.startswith("right") else np.zeros(p.shape, np.float32)
            assert np.allclose(p.grad.numpy(), want, atol=1e-6), k
    ddp.synchronize()                                          # a no-op after the hooks
    for k, p in model.named_parameters():
        want = expected[k] if not k.startswith("right") else np.zeros(p.shape, np.float32)
        assert np.allclose(p.grad.numpy(), want, atol=1e-6), k
    # gradient accumulation: two local backwards in no_sync, the third one averages the sum
    model.zero_grad()
    with ddp.no_sync():
        ddp(x, "left").sum().backward()
        ddp(x, "left").sum().backward()
    ddp(x, "left").sum().backward()
    ddp.synchronize()
    for k, p in model.named_parameters():
        if not k.startswith("right"):
            assert np.allclose(p.grad.numpy(), expected_twice[k], atol=1e-5), k
    errors = 0
    if ddp.uses_hooks:                                         # a skipped parameter without the option
        strict = dist.DistributedDataParallel(model, bucket_cap_mb=1e-6)
        strict(x, "left").sum().backward()
        try:
            strict(x, "left")
        except RuntimeError as exc:
            assert "produced no gradient" in str(exc) and "find_unused_parameters" in str(exc), exc
            errors += 1
        strict.reducer.remove_hooks()
    used_hooks = ddp.uses_hooks
    ddp.reducer.remove_hooks()
    with open(os.path.join(out, f"extras_ok_{rank}"), "w") as f:
        f.write(f"hooks={used_hooks} errors={errors}")


def keras_data():
    gen = np.random.default_rng(7)
    x = gen.normal(size=(50, 6)).astype(np.float32)
    return x, (x[:, 0] + x[:, 1] > 0).astype(np.int64) + (x[:, 2] > 1).astype(np.int64)


def keras_fit(verbose=0, seed=SEED):
    """A small Keras classifier fitted for 2 epochs with batches of 16 (the last one has 2 items)."""
    from tinygrad_edu import keras

    tge.manual_seed(seed)
    model = keras.Sequential([keras.layers.Dense(16, activation="relu", input_shape=(6,)),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    x, y = keras_data()
    history = model.fit(x, y, batch_size=16, epochs=2, verbose=verbose)
    return model, history


def scenario_keras(out):
    rank = dist.get_rank()
    # rank 1 draws other weights and another order: fit must use rank 0's
    model, history = keras_fit(verbose=2, seed=SEED if rank == 0 else 99)
    np.savez(os.path.join(out, f"keras_{rank}.npz"), loss=np.array(history.history["loss"]),
             accuracy=np.array(history.history["accuracy"]), *model.get_weights())


def scenario_fail(out):
    rank = dist.get_rank()
    if rank == 1:
        time.sleep(0.5)
        raise ValueError("rank 1 failed on purpose")
    dist.all_reduce(Tensor(np.ones(3, np.float32)))     # would wait for ever for rank 1
    raise AssertionError("rank 0 finished an all_reduce that rank 1 never joined")


def scenario_hang(out):
    rank = dist.get_rank()
    if rank == 1:
        time.sleep(60)                                  # stuck: never joins the collective
        return
    dist.all_reduce(Tensor(np.ones(3, np.float32)))     # times out (init_process_group(timeout=2))


if __name__ == "__main__":
    name, out = sys.argv[1], sys.argv[2]
    tge.set_num_threads(1)
    dist.init_process_group(backend="mpi", timeout=2.0 if name == "hang" else 60.0)
    if name == "collectives":
        scenario_collectives(out)
    elif name == "ddp":
        scenario_ddp(out, sys.argv[3])
    elif name == "ddp_extras":
        scenario_ddp_extras(out)
    elif name == "keras":
        scenario_keras(out)
    elif name == "fail":
        scenario_fail(out)
    elif name == "hang":
        scenario_hang(out)
    else:
        raise SystemExit(f"unknown scenario {name}")
    dist.destroy_process_group()
