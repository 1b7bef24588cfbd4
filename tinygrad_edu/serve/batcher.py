"""Micro-batching: gather the requests of a few milliseconds into one forward pass.

A forward pass over 32 images costs far less than 32 passes over one image (one matrix
product instead of 32 thin ones), so a server that waits a little to group concurrent
requests answers more of them per second. ``MicroBatcher`` does that on an asyncio event loop:

    batcher = MicroBatcher(served.predict_batch, executor, max_batch=32, max_wait_ms=5)
    results = await batcher.submit(items)      # items of one request -> their results

- ``submit`` appends (items, future) to a queue and waits on the future;
- one worker task takes the oldest request and waits until either ``max_batch`` items are
  queued or ``max_wait_ms`` has passed since that request arrived, then takes requests (whole,
  in arrival order) up to ``max_batch`` items - always at least one request, even a larger one;
- it calls ``run_batch(all_items)`` on ``executor`` (a worker thread: the event loop keeps
  accepting connections meanwhile) and hands each request its slice of the results.

Requests that arrive while a batch runs wait in the queue, so under load the batches fill up
by themselves; an idle server answers a lone request after at most ``max_wait_ms``.
``max_batch=1`` turns batching off (one request, one forward pass).
"""
from __future__ import annotations

import asyncio
import collections
from concurrent.futures import Executor
from typing import Callable

__all__ = ["MicroBatcher"]


class MicroBatcher:
    """Group requests into batches for ``run_batch(list_of_items) -> list_of_results``.

    run_batch runs on ``executor`` and must return one result per item, in order. An exception
    it raises is passed to every request of that batch. Create and use on one event loop.
    Counters: ``batches`` (forward passes run) and ``items`` (items processed).
    """

    def __init__(self, run_batch: Callable[[list], list], executor: Executor, max_batch: int = 32,
                 max_wait_ms: float = 5.0):
        if isinstance(max_batch, bool) or not isinstance(max_batch, int) or max_batch < 1:
            raise ValueError(f"MicroBatcher: max_batch must be an int >= 1, got {max_batch!r}")
        if not max_wait_ms >= 0:
            raise ValueError(f"MicroBatcher: max_wait_ms must be >= 0, got {max_wait_ms!r}")
        self.run_batch, self.executor = run_batch, executor
        self.max_batch, self.max_wait = max_batch, max_wait_ms / 1000.0
        self._queue: collections.deque = collections.deque()   # (items, future, arrival time)
        self._queued_items = 0
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task | None = None
        self.batches = 0
        self.items = 0

    async def submit(self, items: list) -> list:
        """Queue one request's items; return their results once their batch has run."""
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done():
            self._wakeup = asyncio.Event()
            self._task = loop.create_task(self._worker(), name="tge-micro-batcher")
        future = loop.create_future()
        self._queue.append((list(items), future, loop.time()))
        self._queued_items += len(items)
        self._wakeup.set()
        return await future

    async def close(self) -> None:
        """Stop the worker task (requests still queued get CancelledError)."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        while self._queue:
            _, future, _ = self._queue.popleft()
            future.cancel()

    async def _gather(self) -> list:
        """Wait for a batch to fill up or its time to run out; take its requests off the queue."""
        loop = asyncio.get_running_loop()
        while not self._queue:
            self._wakeup.clear()
            await self._wakeup.wait()
        deadline = self._queue[0][2] + self.max_wait
        while self._queued_items < self.max_batch:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            self._wakeup.clear()
            try:
                await asyncio.wait_for(self._wakeup.wait(), remaining)
            except asyncio.TimeoutError:
                break
        batch, count = [], 0
        while self._queue and (not batch or count + len(self._queue[0][0]) <= self.max_batch):
            items, future, _ = self._queue.popleft()
            self._queued_items -= len(items)
            if future.cancelled():          # the client went away while waiting
                continue
            batch.append((items, future))
            count += len(items)
        return batch

    async def _worker(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = await self._gather()
            if not batch:
                continue
            flat = [item for items, _ in batch for item in items]
            try:
                results = await loop.run_in_executor(self.executor, self.run_batch, flat)
                if len(results) != len(flat):
                    raise RuntimeError(f"run_batch returned {len(results)} results for {len(flat)} items")
            except Exception as exc:  # noqa: BLE001 - handed to the waiting requests
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            self.batches += 1
            self.items += len(flat)
            start = 0
            for items, future in batch:
                if not future.done():
                    future.set_result(results[start:start + len(items)])
                start += len(items)
