"""A bounded loopback load test of ``python -m tinygrad_edu serve``: with and without micro-batching.

    python benches/serve_load.py                       # CNN, 16 clients, 400 requests per mode
    python benches/serve_load.py --clients 8 --requests 200 --model mlp --time-cap 20

For each mode the server runs as its own process on a free 127.0.0.1 port (so clients and server
do not share a GIL), serving a freshly initialised model saved with ``save_model`` (the cost of
a forward pass does not depend on the weights). ``--clients`` concurrent clients send one-image
requests until ``--requests`` have been answered or ``--time-cap`` seconds have passed,
whichever comes first; each client is one kept-alive HTTP/1.1 connection sending
pre-encoded requests with asyncio streams (a cheap client, so the numbers are the server's).
Reported: requests/s, p50 / p99 latency, failures, and the mean batch size the server ran
(items / forward passes, from GET /v1/model's stats).
Nothing leaves the machine: the server listens on 127.0.0.1 only.
"""
from __future__ import annotations

import argparse
import asyncio
import json
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


async def _post(reader, writer, request: bytes) -> int:
    """Send one pre-encoded HTTP/1.1 request on a kept-alive connection; return the status."""
    writer.write(request)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return status


async def _load(port: int, clients: int, requests: int, time_cap: float, body: dict):
    """``clients`` connections, each sending requests one after another (HTTP/1.1 keep-alive).

    The client side is a few lines of asyncio streams with the request bytes encoded once, so
    that the client process costs little CPU next to the server it measures.
    """
    payload = json.dumps(body).encode()
    request = (f"POST /v1/predict HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\ncontent-type: application/json\r\n"
               f"content-length: {len(payload)}\r\n\r\n").encode() + payload
    latencies, failures = [], 0
    issued = 0
    stop_at = time.perf_counter() + time_cap

    async def client():
        nonlocal issued, failures
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while issued < requests and time.perf_counter() < stop_at:
                issued += 1
                start = time.perf_counter()
                try:
                    ok = await asyncio.wait_for(_post(reader, writer, request), 30) == 200
                except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError):
                    ok = False
                if ok:
                    latencies.append(time.perf_counter() - start)
                else:
                    failures += 1
                    break                                  # the connection is in an unknown state
        finally:
            writer.close()

    await client()                                        # warm-up: one request alone
    latencies.clear()
    issued = failures = 0
    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    wall = time.perf_counter() - start
    import httpx

    stats = httpx.get(f"http://127.0.0.1:{port}/v1/model", timeout=10).json().get("stats", {})
    return latencies, failures, wall, stats


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=("cnn", "mlp"), default="cnn")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (16)")
    parser.add_argument("--requests", type=int, default=400, help="requests per mode and round (400)")
    parser.add_argument("--time-cap", type=float, default=30.0, help="seconds per mode and round at most (30)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="alternate the modes this many times, a fresh server each time, and pool the "
                             "results (on a busy machine both modes then see the same load) (1)")
    args = parser.parse_args(argv)
    if min(args.clients, args.requests, args.rounds) < 1 or not args.time_cap > 0:
        parser.error("--clients, --requests, --rounds and --time-cap must be positive")
    image = np.random.default_rng(0).random((28, 28)).round(3).tolist()
    pooled = {mode: dict(lat=[], failures=0, wall=0.0, items=0, batches=0) for mode in MODES}
    with tempfile.TemporaryDirectory() as folder:
        path = _save_model(args.model, folder)
        for _ in range(args.rounds):
            for mode, options in MODES.items():
                port = _free_port()
                proc = _start_server(path, port, options)
                try:
                    lat, failures, wall, stats = asyncio.run(
                        _load(port, args.clients, args.requests, args.time_cap, {"inputs": [image]}))
                finally:
                    proc.terminate()
                    proc.wait(30)
                p = pooled[mode]
                p["lat"] += lat
                p["failures"] += failures
                p["wall"] += wall
                p["items"] += stats.get("items", 0)
                p["batches"] += stats.get("batches", 0)
    print(f"{args.model.upper()}, {args.clients} concurrent clients, one image per request, {args.rounds} round(s) "
          f"of up to {args.requests} requests per mode, {os.cpu_count()} CPU cores\n")
    print("| mode | answered | failed | requests/s | p50 ms | p99 ms | mean batch |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for mode, p in pooled.items():
        ms = np.array(p["lat"]) * 1000 if p["lat"] else np.array([np.nan])
        print(f"| {mode} | {len(p['lat'])} | {p['failures']} | {len(p['lat']) / p['wall']:.0f} | "
              f"{np.percentile(ms, 50):.1f} | {np.percentile(ms, 99):.1f} | "
              f"{p['items'] / max(1, p['batches']):.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
