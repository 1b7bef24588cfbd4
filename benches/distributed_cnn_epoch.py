"""Data-parallel CNN epoch on the 60,000 MNIST training images, 1 or N ranks (MPI).

    python benches/distributed_cnn_epoch.py                       # 1 rank
    mpirun -np 2 --bind-to none python benches/distributed_cnn_epoch.py
    mpirun -np 2 --bind-to none python benches/distributed_cnn_epoch.py --steps 200   # short run

Global batch 64 (each of N ranks takes 64 / N images through DistributedSampler), Adam lr 1e-3,
cross-entropy, one C-kernel thread per rank (--threads). A full epoch is 938 steps; --steps
times the first S steps only and extrapolates the epoch time from them (the output says so).
Rank 0 prints one JSON line: seconds per step, the (extrapolated) epoch time, and the
communication per step: ``comm_wait_ms`` is the time a step spent blocked waiting for the
gradient all-reduce, ``comm_copy_ms`` the copies into and out of the buckets, and
``allreduce_ms`` a blocking all-reduce of the whole gradient (93,322 floats) timed alone.
Then the test accuracy (rank 0's model; every rank holds the same weights).
"""
import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tinygrad_edu as tge  # noqa: E402
import tinygrad_edu.distributed as dist  # noqa: E402
from tinygrad_edu import Tensor, nn, optim  # noqa: E402
from tinygrad_edu.data import DataLoader, DistributedSampler, TensorDataset  # noqa: E402
from tinygrad_edu.data.vision import mnist  # noqa: E402
from tinygrad_edu.models import CNN  # noqa: E402

GLOBAL_BATCH = 64


def main(argv=None):
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", default=os.path.join(here, "..", "..", "shared", "data"))
    p.add_argument("--threads", type=int, default=1, help="C-kernel threads per rank (1)")
    p.add_argument("--steps", type=int, default=None, help="time only the first S steps and extrapolate")
    p.add_argument("--bucket-mb", type=float, default=25.0, help="DDP bucket size in MB (25)")
    args = p.parse_args(argv)
    dist.init_process_group(backend="mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    if GLOBAL_BATCH % world:
        raise SystemExit(f"the global batch {GLOBAL_BATCH} does not split over {world} ranks")
    tge.set_num_threads(args.threads)
    (x_train, y_train), (x_test, y_test) = mnist(root=args.root, download=False)
    x_train = (x_train.astype(np.float32) / 255.0)[:, None]
    x_test = (x_test.astype(np.float32) / 255.0)[:, None]
    dataset = TensorDataset(x_train, y_train.astype(np.int64))
    sampler = DistributedSampler(dataset, shuffle=True, seed=0)
    loader = DataLoader(dataset, batch_size=GLOBAL_BATCH // world, sampler=sampler)
    tge.manual_seed(0)
    model = CNN()
    ddp = dist.DistributedDataParallel(model, bucket_cap_mb=args.bucket_mb) if world > 1 else model
    loss_fn = nn.CrossEntropyLoss()
    opt = optim.Adam(model.parameters(), lr=1e-3)
    full_steps = len(loader)
    steps = full_steps if args.steps is None else min(args.steps, full_steps)
    losses = []
    dist.barrier()
    t0 = time.perf_counter()
    for step, (xb, yb) in enumerate(loader):
        if step == steps:
            break
        opt.zero_grad()
        loss = loss_fn(ddp(xb), yb)
        loss.backward()
        if world > 1:
            ddp.synchronize()
        opt.step()
        losses.append(loss.item())
    dt = time.perf_counter() - t0
    slowest = Tensor(np.array([dt]))
    dist.all_reduce(slowest, op=dist.ReduceOp.MAX)         # the epoch lasts as long as its slowest rank
    dt = float(slowest.item())
    allreduce_ms = _time_allreduce(model) if world > 1 else 0.0
    stats = ddp.reducer.stats if world > 1 else {"wait_s": 0.0, "copy_s": 0.0, "allreduce_calls": 0}
    with tge.no_grad():
        model.eval()
        pred = np.concatenate([model(Tensor(x_test[i:i + 1000])).numpy().argmax(1)
                               for i in range(0, len(x_test), 1000)])
    if rank == 0:
        per_step = dt / steps
        print(json.dumps({
            "ranks": world, "threads_per_rank": args.threads, "global_batch": GLOBAL_BATCH,
            "steps_timed": steps, "steps_per_epoch": full_steps,
            "extrapolated": steps < full_steps, "seconds_timed": round(dt, 3),
            "ms_per_step": round(1e3 * per_step, 2), "epoch_seconds": round(per_step * full_steps, 1),
            "comm_wait_ms": round(1e3 * stats["wait_s"] / steps, 3),
            "comm_copy_ms": round(1e3 * stats["copy_s"] / steps, 3),
            "allreduce_ms": round(allreduce_ms, 3),
            "allreduce_calls_per_step": stats["allreduce_calls"] / steps,
            "mean_loss": round(float(np.mean(losses)), 4),
            "test_accuracy": round(float((pred == y_test).mean()), 4),
            "hooks": bool(world > 1 and ddp.uses_hooks),
        }), flush=True)
    dist.destroy_process_group()


def _time_allreduce(model, repeats=50):
    """Milliseconds of one blocking all-reduce of a buffer as large as the whole gradient."""
    n = sum(p.numel() for p in model.parameters())
    buf = Tensor(np.ones(n, dtype=np.float32))
    dist.barrier()
    t0 = time.perf_counter()
    for _ in range(repeats):
        dist.all_reduce(buf)
    return 1e3 * (time.perf_counter() - t0) / repeats


if __name__ == "__main__":
    main()
