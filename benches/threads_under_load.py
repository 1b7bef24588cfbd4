"""Training steps with 1 and 2 C-kernel threads, with the other core idle and busy.

    python benches/threads_under_load.py                 # CNN steps, 4 runs, ~1 minute
    python benches/threads_under_load.py --model mlp --steps 40
    python benches/threads_under_load.py --model transformer --steps 10
    python benches/threads_under_load.py --env OMP_WAIT_POLICY=active TGE_ADAPTIVE_THREADS=0

Each run is a fresh process pinned to two CPUs (the first two this process may use), so
that the OpenMP settings are read when the C module loads; "busy" starts a busy-loop
process pinned to the second of those CPUs first, as another program on a two-core
machine would. The figure reported is the median time of one training step (forward,
backward, Adam) after a warm-up. What to look for: 2 threads with the other core busy
should be no slower than 1 thread (before the adaptive pool they were up to ~5x slower:
every parallel region waited for the thread that could not get a CPU).

``--env NAME=VALUE`` runs everything with those variables (e.g. the old behaviour:
``OMP_WAIT_POLICY=active TGE_ADAPTIVE_THREADS=0``). Linux only (CPU affinity).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def _worker(model: str, steps: int, threads: int) -> dict:
    import numpy as np

    import tinygrad_edu as tge
    import tinygrad_edu.nn.functional as F
    from tinygrad_edu import models, optim

    tge.set_num_threads(threads)
    tge.manual_seed(0)
    rng = np.random.default_rng(0)
    loss_fn = F.cross_entropy
    if model == "cnn":
        net = models.CNN()
        x = tge.Tensor(rng.random((64, 1, 28, 28), dtype=np.float32))
    elif model == "transformer":  # the benchmark's transformer classifier case
        from tinygrad_edu.bench import cases

        net, loss_fn = cases._tge_model("transformer")
        data = cases._data("transformer")
        x = tge.Tensor(data["ids"])
        y = tge.Tensor(data["y"])
    else:
        net = models.MLP(784, hidden=(512, 512), out_features=10)
        x = tge.Tensor(rng.random((256, 784), dtype=np.float32))
    if model != "transformer":
        y = tge.Tensor(rng.integers(0, 10, len(x)))
    net.train()
    opt = optim.Adam(net.parameters(), lr=1e-3)
    times = []
    for i in range(steps + 3):
        t0 = time.perf_counter()
        opt.zero_grad()
        loss = loss_fn(net(x), y)
        loss.backward()
        opt.step()
        if i >= 3:  # warm-up: allocator, thread pool
            times.append(time.perf_counter() - t0)
    return {"ms_per_step": 1e3 * statistics.median(times), "threads": tge.get_num_threads()}


def _hog(cpu: int) -> subprocess.Popen:
    code = f"import os; os.sched_setaffinity(0, {{{cpu}}})\nwhile True: pass"
    return subprocess.Popen([sys.executable, "-c", code])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=("cnn", "mlp", "transformer"), default="cnn")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--env", nargs="*", default=[], metavar="NAME=VALUE")
    parser.add_argument("--worker", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(_worker(args.model, args.steps, args.worker)))
        return 0
    if not hasattr(os, "sched_setaffinity"):
        print("needs Linux CPU affinity (os.sched_setaffinity)", file=sys.stderr)
        return 1
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        print("needs two CPUs", file=sys.stderr)
        return 1
    pair = set(cpus[:2])
    env = dict(os.environ)
    env.update(kv.split("=", 1) for kv in args.env)
    env.pop("TGE_NUM_THREADS", None)
    print(f"{args.model} steps, median ms/step over {args.steps} (CPUs {sorted(pair)}; "
          f"env: {' '.join(args.env) or 'defaults'})")
    results = {}
    for busy in (False, True):
        for threads in (1, 2):
            hog = _hog(cpus[1]) if busy else None
            try:
                time.sleep(0.2 if busy else 0.0)
                cmd = [sys.executable, __file__, "--model", args.model, "--steps", str(args.steps),
                       "--worker", str(threads)]
                out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600,
                                     preexec_fn=lambda: os.sched_setaffinity(0, pair))
            finally:
                if hog is not None:
                    hog.kill()
                    hog.wait()
            if out.returncode != 0:
                print(out.stderr, file=sys.stderr)
                return 1
            ms = json.loads(out.stdout.strip().splitlines()[-1])["ms_per_step"]
            results[(busy, threads)] = ms
            print(f"  other core {'busy' if busy else 'idle'}  {threads} thread(s): {ms:8.2f} ms/step")
    for busy in (False, True):
        ratio = results[(busy, 2)] / results[(busy, 1)]
        print(f"  other core {'busy' if busy else 'idle'}: 2 threads take {ratio:.2f}x the time of 1")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
