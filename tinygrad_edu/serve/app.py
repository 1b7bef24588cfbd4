"""The HTTP layer: a Starlette (ASGI) application around a ServedModel, run by uvicorn.

    GET  /healthz          {"status": "ok"}
    GET  /v1/model         name, kind, input shape, classes, limits, stats (batches, items run)
    POST /v1/predict       {"inputs": [image, ...]} or {"texts": ["...", ...]}
                           -> {"predictions": [...], "probabilities": [[...], ...]}
    POST /v1/embeddings    {"texts": [...]} -> {"embeddings": [[...], ...], "dim": H}   (BERT)
    POST /v1/generate      {"prompt": "...", "max_new_tokens": 32, "temperature": 1.0,
                            "top_k": null, "stream": true}                             (GPT)
                           stream=true: server-sent events, one ``data: {"token", "text"}``
                           per token and a last ``data: {"done": true, "text", "tokens",
                           "finish_reason": "length" | "eos"}``; stream=false: {"text",
                           "tokens", "finish_reason"}. SSE (text/event-stream) because it is
                           the standard framing proxies and clients know; docs/serving.md.

Every error is JSON ``{"error": "..."}``: 400 for a body that is not JSON, 413 for a body over
``max_body_bytes`` or too many items, 422 for JSON of the wrong shape or type, 404/405 for
unknown routes and methods. The model runs on one worker thread (``max_workers=1``: the
library's kernels and the model's state are not shared between threads); the event loop only
parses, checks and batches.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from concurrent.futures import ThreadPoolExecutor

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from .batcher import MicroBatcher
from .servable import InputError, ServedModel

__all__ = ["create_app"]


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


async def read_json(request: Request, max_body_bytes: int):
    """The request body as JSON; InputError 413 past ``max_body_bytes`` (checked while reading,
    so an oversized body is never held in memory), 400 when it is not UTF-8 JSON."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_body_bytes:
        raise InputError(413, f"the body is {int(declared)} bytes; the limit is {max_body_bytes}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_body_bytes:
            raise InputError(413, f"the body exceeds the {max_body_bytes}-byte limit")
        chunks.append(chunk)
    body = b"".join(chunks)
    if not body.strip():
        raise InputError(400, "the body is empty; send a JSON object")
    try:
        return json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except UnicodeDecodeError as exc:
        raise InputError(400, f"the body is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except RecursionError:
        raise InputError(400, "the body's JSON is nested too deeply") from None
    except ValueError as exc:
        raise InputError(400, f"the body is not valid JSON: {exc}") from None


def create_app(source, *, tokenizer=None, max_batch: int = 32, max_wait_ms: float = 5.0,
               max_body_bytes: int = 4 * 1024 * 1024, max_items: int = 64, max_new_tokens: int = 256) -> Starlette:
    """A Starlette app serving ``source``.

    source: a path (a ``save_model`` file, a BERT or GPT-2 folder), a model (from ``models.load``,
        a BertModel, or one with ``generate``; give ``tokenizer`` for the last two), or a ServedModel.
    max_batch: most items in one forward pass (1 = no micro-batching). max_wait_ms: how long
        the first request of a batch waits for company. max_body_bytes: larger bodies get 413.
    max_items: most items (images, texts) per request. max_new_tokens: cap for /v1/generate.
    The app's ``state.served`` is the ServedModel and ``state.batcher`` the MicroBatcher (its
    ``batches`` / ``items`` counters show how well requests were grouped).
    """
    if isinstance(source, ServedModel):
        served = source
    elif isinstance(source, (str, bytes)) or hasattr(source, "__fspath__"):
        served = ServedModel.from_path(source)
    else:
        served = ServedModel.from_model(source, tokenizer=tokenizer)
    served.max_items, served.max_new_tokens = int(max_items), int(max_new_tokens)
    if max_body_bytes < 1:
        raise ValueError(f"create_app: max_body_bytes must be >= 1, got {max_body_bytes}")
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tge-model")
    run = {"classifier": served.predict_batch, "embedding": served.embed_batch}.get(served.kind)
    batcher = MicroBatcher(run, executor, max_batch=max_batch, max_wait_ms=max_wait_ms) if run else None

    async def batched(request: Request, parse) -> list:
        items = parse(await read_json(request, max_body_bytes))
        try:
            return await batcher.submit(items)
        except (ValueError, TypeError) as exc:   # the model refused what the checks let through
            raise InputError(422, f"the model refused the input: {exc}") from None

    async def healthz(request: Request):
        return JSONResponse({"status": "ok"})

    async def model_info(request: Request):
        info = served.describe()
        info["max_batch"], info["max_wait_ms"], info["max_body_bytes"] = max_batch, max_wait_ms, max_body_bytes
        if batcher is not None:
            info["stats"] = {"batches": batcher.batches, "items": batcher.items}
        return JSONResponse(info)

    async def predict(request: Request):
        results = await batched(request, served.parse_predict)
        return JSONResponse({"predictions": [r["prediction"] for r in results],
                             "probabilities": [r["probabilities"] for r in results]})

    async def embeddings(request: Request):
        vectors = await batched(request, served.parse_embeddings)
        return JSONResponse({"embeddings": vectors, "dim": len(vectors[0])})

    async def generate(request: Request):
        job = served.parse_generate(await read_json(request, max_body_bytes))
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue()
        stop = threading.Event()

        def work():   # on the model thread: push each token to the event loop as it comes
            try:
                for token, piece in served.stream_tokens(job, cancelled=stop.is_set):
                    loop.call_soon_threadsafe(queue.put_nowait, ("token", token, piece))
                loop.call_soon_threadsafe(queue.put_nowait, ("done", None, None))
            except Exception as exc:  # noqa: BLE001 - reported to the client
                loop.call_soon_threadsafe(queue.put_nowait, ("error", None, f"generation failed: {exc}"))

        loop.run_in_executor(executor, work)

        async def events():
            tokens = []
            try:
                while True:
                    what, token, piece = await queue.get()
                    if what == "token":
                        tokens.append(token)
                        yield {"token": token, "text": piece}
                    elif what == "done":
                        reason = "length" if len(tokens) >= job.max_new_tokens else "eos"
                        yield {"done": True, "text": served.tokenizer.decode(tokens), "tokens": tokens,
                               "finish_reason": reason}
                        return
                    else:
                        yield {"error": piece}
                        return
            finally:
                stop.set()   # the client left, or we finished: the model thread stops early

        if job.stream:
            async def sse():
                async for event in events():
                    yield f"data: {json.dumps(event)}\n\n"
            return StreamingResponse(sse(), media_type="text/event-stream",
                                     headers={"cache-control": "no-cache", "x-accel-buffering": "no"})
        last = None
        async for event in events():
            last = event
        if "error" in last:
            return _error(500, last["error"])
        return JSONResponse({"text": last["text"], "tokens": last["tokens"], "finish_reason": last["finish_reason"]})

    async def on_input_error(request: Request, exc: InputError):
        return _error(exc.status, exc.message)

    async def on_http_error(request: Request, exc: HTTPException):
        return _error(exc.status_code, exc.detail or "error")

    async def on_unexpected(request: Request, exc: Exception):
        return _error(500, f"internal error: {type(exc).__name__}: {exc}")

    @contextlib.asynccontextmanager
    async def lifespan(app):
        try:
            yield
        finally:
            if batcher is not None:
                await batcher.close()
            executor.shutdown(wait=True, cancel_futures=True)

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/v1/model", model_info, methods=["GET"]),
        Route("/v1/predict", predict, methods=["POST"]),
        Route("/v1/embeddings", embeddings, methods=["POST"]),
        Route("/v1/generate", generate, methods=["POST"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan,
                    exception_handlers={InputError: on_input_error, HTTPException: on_http_error,
                                        Exception: on_unexpected})
    app.state.served, app.state.batcher = served, batcher
    return app
