"""``python -m tinygrad_edu serve PATH``: serve a saved model over HTTP (uvicorn + starlette).

    python -m tinygrad_edu serve cnn.safetensors --port 8000
    python -m tinygrad_edu serve path/to/all-MiniLM-L6-v2      # a BERT folder: /v1/embeddings
    python -m tinygrad_edu serve path/to/gpt2                  # a GPT-2 folder: /v1/generate (streamed)

Stops on Ctrl-C or SIGTERM after finishing the requests in flight. See docs/serving.md.
"""
from __future__ import annotations

import argparse
import importlib.util
import signal
import sys

__all__ = ["add_parser", "run_serve"]


def _positive(kind):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
        return value
    return parse


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return value


def add_parser(sub) -> argparse.ArgumentParser:
    """Register the ``serve`` subcommand on an argparse subparsers object."""
    p = sub.add_parser("serve", help="serve a saved model over HTTP (needs tinygrad_edu[serve])",
                       description="Serve a model saved by 'train --save' (POST /v1/predict; a GPT: POST "
                                   "/v1/generate), a BERT folder (POST /v1/embeddings) or a GPT-2 folder (POST "
                                   "/v1/generate, streamed) with uvicorn; GET /healthz, GET /v1/model.")
    p.add_argument("path", metavar="PATH",
                   help="a .safetensors file from train --save, or a BERT or GPT-2 checkpoint folder")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1; 0.0.0.0 for all)")
    p.add_argument("--port", type=int, default=8000, help="TCP port (8000)")
    p.add_argument("--max-batch", type=_positive(int), default=32, metavar="N",
                   help="most items per forward pass; 1 turns micro-batching off (32)")
    p.add_argument("--max-wait-ms", type=_non_negative_float, default=5.0, metavar="T",
                   help="how long a request waits for others to share its forward pass (5)")
    p.add_argument("--max-body-bytes", type=_positive(int), default=4 * 1024 * 1024, metavar="B",
                   help="larger request bodies get 413 (4 MiB)")
    p.add_argument("--max-items", type=_positive(int), default=64, metavar="N",
                   help="most images or texts in one request (64)")
    p.add_argument("--max-new-tokens", type=_positive(int), default=256, metavar="N",
                   help="generators: the most tokens one /v1/generate request may ask for (256)")
    p.add_argument("--log-level", default="info", choices=("critical", "error", "warning", "info", "debug"),
                   help="uvicorn's log level (info)")
    return p


def run_serve(args) -> int:
    """Run the serve command until the server stops; returns the exit status."""
    missing = [m for m in ("uvicorn", "starlette") if importlib.util.find_spec(m) is None]
    if missing:
        print(f"error: serving needs {' and '.join(missing)}: pip install 'tinygrad_edu[serve]'", file=sys.stderr)
        return 1
    from ..serve import create_app

    try:
        app = create_app(args.path, max_batch=args.max_batch, max_wait_ms=args.max_wait_ms,
                         max_body_bytes=args.max_body_bytes, max_items=args.max_items,
                         max_new_tokens=args.max_new_tokens)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    import uvicorn

    served = app.state.served
    print(f"serving {served.name} ({served.kind}) from {args.path} on http://{args.host}:{args.port} "
          f"(max batch {args.max_batch}, wait {args.max_wait_ms:g} ms)", flush=True)
    # uvicorn finishes the requests in flight on SIGTERM/SIGINT, then raises the signal again
    # for the handler that was there before it started: this one, so a graceful stop exits 0.
    stopped_by = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: stopped_by.append(signum))
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, timeout_graceful_shutdown=30)
    finally:
        signal.signal(signal.SIGTERM, previous)
    if stopped_by:
        print("stopped by SIGTERM after finishing the requests in flight", file=sys.stderr, flush=True)
    return 0
