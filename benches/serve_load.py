"""A bounded loopback load test of ``python -m tinygrad_edu serve``: with and without micro-batching.

    python benches/serve_load.py                       # CNN, 16 clients, 400 requests per mode
    python benches/serve_load.py --clients 8 --requests 200 --model mlp --time-cap 20

For each mode the server runs as its own process on a free 127.0.0.1 port (so clients and server
do not share a GIL), serving a freshly initialised model saved with ``save_model`` (the cost of
a forward pass does not depend on the weights). ``--clients`` concurrent clients (asyncio +
httpx) send one-image requests until ``--requests`` have been answered or ``--time-cap`` seconds
have passed, whichever comes first. Reported: requests/s, p50 / p99 latency, failures, and the
mean batch size the server ran (items / forward passes, from GET /v1/model's stats).
Nothing leaves the machine: the server listens on 127.0.0.1 only.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time

import numpy as np

MODES = {  # name -> serve options
    "micro-batching (max 32, wait 5 ms)": ["--max-batch", "32", "--max-wait-ms", "5"],
    "no batching (max 1)": ["--max-batch", "1", "--max-wait-ms", "0"],
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _save_model(kind: str, folder: str) -> str:
    import tinygrad_edu as tge
    from tinygrad_edu.models import CNN, MLP, save_model

    tge.manual_seed(0)
    model = CNN() if kind == "cnn" else MLP(784, hidden=(128, 64), out_features=10)
    path = os.path.join(folder, f"{kind}.safetensors")
    save_model(model, path, classes=[str(d) for d in range(10)])
    return path


def _start_server(path: str, port: int, options: list) -> subprocess.Popen:
    import httpx

    cmd = [sys.executable, "-m", "tinygrad_edu", "serve", path, "--port", str(port), "--log-level", "warning", *options]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited: {proc.stderr.read().decode()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the server did not start within 60 s")


async def _load(url: str, clients: int, requests: int, time_cap: float, body: dict):
    import httpx

    latencies, failures = [], 0
    issued = 0
    stop_at = time.perf_counter() + time_cap

    async def client(c):
        nonlocal issued, failures
        while issued < requests and time.perf_counter() < stop_at:
            issued += 1
            start = time.perf_counter()
            try:
                r = await c.post("/v1/predict", json=body)
                ok = r.status_code == 200
            except httpx.HTTPError:
                ok = False
            if ok:
                latencies.append(time.perf_counter() - start)
            else:
                failures += 1

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as c:
        await client(c)                                   # warm-up: one request alone
        latencies.clear()
        issued = 0
        start = time.perf_counter()
        await asyncio.gather(*(client(c) for _ in range(clients)))
        wall = time.perf_counter() - start
        stats = (await c.get("/v1/model")).json().get("stats", {})
    return latencies, failures, wall, stats


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=("cnn", "mlp"), default="cnn")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (16)")
    parser.add_argument("--requests", type=int, default=400, help="requests per mode (400)")
    parser.add_argument("--time-cap", type=float, default=30.0, help="seconds per mode at most (30)")
    args = parser.parse_args(argv)
    image = np.random.default_rng(0).random((28, 28)).round(3).tolist()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        path = _save_model(args.model, folder)
        for mode, options in MODES.items():
            port = _free_port()
            proc = _start_server(path, port, options)
            try:
                lat, failures, wall, stats = asyncio.run(
                    _load(f"http://127.0.0.1:{port}", args.clients, args.requests, args.time_cap, {"inputs": [image]}))
            finally:
                proc.terminate()
                proc.wait(30)
            ms = np.array(lat) * 1000
            batch = stats.get("items", 0) / max(1, stats.get("batches", 0))
            rows.append((mode, len(lat), failures, len(lat) / wall, np.percentile(ms, 50), np.percentile(ms, 99), batch))
    print(f"{args.model.upper()}, {args.clients} concurrent clients, one image per request, "
          f"{os.cpu_count()} CPU cores\n")
    print("| mode | answered | failed | requests/s | p50 ms | p99 ms | mean batch |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for mode, n, failed, rps, p50, p99, batch in rows:
        print(f"| {mode} | {n} | {failed} | {rps:.0f} | {p50:.1f} | {p99:.1f} | {batch:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
