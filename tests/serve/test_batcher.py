"""MicroBatcher: concurrent requests share forward passes, never more than max_batch items, in order."""
from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tinygrad_edu.serve.batcher import MicroBatcher


def _run(coro):
    return asyncio.run(coro)


def test_concurrent_requests_are_grouped_and_answered_in_order():
    calls, threads = [], set()

    def double(items):
        calls.append(list(items))
        threads.add(threading.get_ident())
        time.sleep(0.01)
        return [2 * x for x in items]

    async def main():
        with ThreadPoolExecutor(1) as ex:
            batcher = MicroBatcher(double, ex, max_batch=8, max_wait_ms=50)
            requests = [[3 * k, 3 * k + 1, 3 * k + 2][: 1 + k % 3] for k in range(20)]
            answers = await asyncio.gather(*(batcher.submit(r) for r in requests))
            await batcher.close()
            return requests, answers, batcher

    requests, answers, batcher = _run(main())
    assert answers == [[2 * x for x in r] for r in requests]
    assert all(len(c) <= 8 for c in calls)
    assert batcher.batches == len(calls) < len(requests)          # really batched
    assert batcher.items == sum(map(len, requests))
    assert threading.get_ident() not in threads                   # the model ran off the event loop


def test_max_batch_one_means_one_request_per_pass_and_big_requests_run_whole():
    calls = []

    async def main():
        with ThreadPoolExecutor(1) as ex:
            batcher = MicroBatcher(lambda xs: calls.append(len(xs)) or xs, ex, max_batch=1, max_wait_ms=0)
            out = await asyncio.gather(batcher.submit([1]), batcher.submit([2, 3, 4]), batcher.submit([5]))
            await batcher.close()
            return out

    assert _run(main()) == [[1], [2, 3, 4], [5]]
    assert calls == [1, 3, 1]


def test_a_lone_request_waits_at_most_max_wait_ms():
    async def main():
        with ThreadPoolExecutor(1) as ex:
            batcher = MicroBatcher(lambda xs: xs, ex, max_batch=64, max_wait_ms=30)
            start = time.perf_counter()
            await batcher.submit([1])
            elapsed = time.perf_counter() - start
            await batcher.close()
            return elapsed

    assert 0.025 <= _run(main()) < 0.5


def test_an_exception_reaches_every_request_of_its_batch_and_the_worker_survives():
    def flaky(items):
        if "bad" in items:
            raise ValueError("bad item")
        return items

    async def main():
        with ThreadPoolExecutor(1) as ex:
            batcher = MicroBatcher(flaky, ex, max_batch=4, max_wait_ms=20)
            results = await asyncio.gather(batcher.submit(["ok"]), batcher.submit(["bad"]), return_exceptions=True)
            after = await batcher.submit(["fine"])
            await batcher.close()
            return results, after

    results, after = _run(main())
    assert all(isinstance(r, ValueError) for r in results) and after == ["fine"]


@pytest.mark.parametrize("kwargs", [dict(max_batch=0), dict(max_batch=2.5), dict(max_wait_ms=-1)])
def test_bad_settings_are_refused(kwargs):
    with pytest.raises(ValueError):
        MicroBatcher(lambda xs: xs, None, **kwargs)
