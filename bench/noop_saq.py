"""The outbound baseline: no-op SAQ jobs on the same Redis, with the worker settings Nexus uses.

    python -m bench.noop_saq enqueue REDIS_URL QUEUE COUNT
    python -m bench.noop_saq work REDIS_URL QUEUE COUNT OUT_FILE
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import redis.asyncio as aioredis
from saq import Worker
from saq.queue.redis import RedisQueue

CONCURRENCY = 20
state = {"first": None, "last": None, "done": 0}


async def noop(ctx, *, index: int) -> int:
    now = time.time()
    state["first"] = state["first"] or now
    state["last"] = now
    state["done"] += 1
    return index


async def enqueue(url: str, name: str, count: int) -> None:
    queue = RedisQueue(aioredis.Redis.from_url(url), name=name)
    await queue.connect()
    for index in range(count):
        await queue.enqueue("noop", index=index, key=f"noop:{index}", timeout=60, retries=1, ttl=600)
    await queue.disconnect()


async def work(url: str, name: str, count: int, out: str) -> None:
    queue = RedisQueue(aioredis.Redis.from_url(url), name=name)
    await queue.connect()
    worker = Worker(queue, functions=[("noop", noop)], concurrency=CONCURRENCY,
                    timers={"sweep": 15, "schedule": 1, "abort": 1, "worker_info": 10})
    worker.SIGNALS = []
    task = asyncio.create_task(worker.start())
    while await queue.count("incomplete") > 0:
        await asyncio.sleep(0.05)
    await worker.stop()
    task.cancel()
    with open(out, "w") as handle:
        json.dump(state, handle)


if __name__ == "__main__":
    command, url, name, count = sys.argv[1:5]
    if command == "enqueue":
        asyncio.run(enqueue(url, name, int(count)))
    else:
        asyncio.run(work(url, name, int(count), sys.argv[5]))
