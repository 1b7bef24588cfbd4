"""Models as a service: serve a saved model over HTTP (``pip install "tinygrad_edu[serve]"``).

    python -m tinygrad_edu train --model cnn --save cnn.safetensors
    python -m tinygrad_edu serve cnn.safetensors --port 8000
    curl -s localhost:8000/v1/predict -d '{"inputs": [[[0.0, ...], ...]]}'
    python -m tinygrad_edu serve path/to/gpt2-folder       # POST /v1/generate, server-sent events

From Python:

    from tinygrad_edu.serve import create_app, run
    app = create_app("cnn.safetensors", max_batch=32, max_wait_ms=5)   # a Starlette ASGI app
    run("cnn.safetensors", host="127.0.0.1", port=8000)                # uvicorn, until SIGTERM/Ctrl-C

Modules: ``servable`` (the model and the input checks, no HTTP), ``batcher`` (micro-batching
on asyncio), ``app`` (the Starlette routes; needs starlette), ``png`` (a small PNG reader for
the predict command). See docs/serving.md.
"""
from __future__ import annotations

from .batcher import MicroBatcher
from .servable import InputError, ServedModel

__all__ = ["create_app", "run", "MicroBatcher", "ServedModel", "InputError"]


def create_app(source, **options):
    """The Starlette app serving ``source`` (see ``tinygrad_edu.serve.app.create_app``)."""
    try:
        from .app import create_app as _create_app
    except ImportError as exc:
        raise ImportError(f"serving needs starlette and uvicorn ({exc}): pip install 'tinygrad_edu[serve]'") from None
    return _create_app(source, **options)


def run(source, host: str = "127.0.0.1", port: int = 8000, log_level: str = "info", **options) -> None:
    """Serve ``source`` with uvicorn until SIGINT/SIGTERM; requests in flight are finished first.

    options go to ``create_app`` (max_batch, max_wait_ms, max_body_bytes, max_items, ...).
    """
    try:
        import uvicorn
    except ImportError:
        raise ImportError("serving needs uvicorn: pip install 'tinygrad_edu[serve]'") from None
    app = create_app(source, **options)
    uvicorn.run(app, host=host, port=port, log_level=log_level, timeout_graceful_shutdown=30)
