"""The Redis connection: a real server when ``redis.url`` is set, otherwise an in-process
stand-in (fakeredis, with Lua for SAQ's scripts) that serves one process.

The stand-in is for trying Nexus on a bare machine. It keeps nothing across restarts and
cannot be shared between processes, which is why ``nexus serve --workers 2`` and ``nexus
worker`` refuse to run on it.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any
from urllib.parse import parse_qs, urlsplit

import redis.asyncio as aioredis
from saq.job import Job
from saq.queue.redis import RedisQueue

from nexus.config import Settings, mask_url


def connect_redis(settings: Settings, *, server: Any = None) -> aioredis.Redis:
    """A client for the configured Redis. With no URL, a client of the embedded server
    ``server`` (a ``fakeredis.FakeServer``; a new one when None)."""
    if settings.redis.url:
        return aioredis.Redis.from_url(settings.redis.url, health_check_interval=30)
    import fakeredis

    return fakeredis.FakeAsyncRedis(server=server or fakeredis.FakeServer())


def redis_database(url: str | None) -> int:
    """The database number a Redis URL selects (``redis://host/11``, ``?db=11``); 0 by default."""
    if not url:
        return 0
    parts = urlsplit(url)
    db = parse_qs(parts.query).get("db")
    if db and db[0].isdigit():
        return int(db[0])
    path = parts.path.strip("/") if parts.scheme != "unix" else ""
    return int(path) if path.isdigit() else 0


def pubsub_channel(settings: Settings, *parts: object) -> str:
    """A pub/sub channel of this installation. Keys live in the URL's database, but pub/sub
    channels are shared by every database of a server, so the channel names the database
    too: two installations on ``/1`` and ``/2`` of one Redis never hear each other."""
    return settings.redis_key(f"db{redis_database(settings.redis.url)}", *parts)


def describe_redis(settings: Settings) -> str:
    if settings.redis.url:
        return f"Redis at {mask_url(settings.redis.url)}"
    return "the embedded in-process Redis stand-in (for trying Nexus, not for production)"


class EmbeddedRedisQueue(RedisQueue):
    """SAQ's Redis queue on the embedded stand-in.

    Two things differ from a real Redis. The stand-in has no INFO command, so the version SAQ
    asks for is stated. And its BLMOVE answers at once instead of blocking, so SAQ's worker,
    which relies on that command to wait for work, would ask again and again and keep a CPU
    core busy while idle. The stand-in serves this one process, so every job reaches its queue
    through this object: :meth:`enqueue`, :meth:`retry` and :meth:`schedule` wake the
    dequeuers, which otherwise sleep. They also look again every :attr:`RECHECK` seconds,
    which bounds the wait for a job pushed by another queue object on the same stand-in.
    """

    RECHECK = 1.0

    def __init__(self, redis: aioredis.Redis, **kwargs: Any) -> None:
        super().__init__(redis, **kwargs)
        self.job_pushed = asyncio.Event()

    async def version(self) -> tuple[int, ...]:
        return (7, 2, 0)

    def wake_dequeuers(self) -> None:
        """Tell every waiting :meth:`dequeue` that a job may be waiting."""
        pushed, self.job_pushed = self.job_pushed, asyncio.Event()
        pushed.set()

    async def enqueue(self, job_or_func: str | Job, **kwargs: Any) -> Job | None:
        job = await super().enqueue(job_or_func, **kwargs)
        if job is not None:
            self.wake_dequeuers()
        return job

    async def retry(self, job: Job, error: str | None) -> None:
        await super().retry(job, error)
        self.wake_dequeuers()

    async def schedule(self, lock: int = 1) -> list[str]:
        scheduled = await super().schedule(lock)
        if scheduled:
            self.wake_dequeuers()
        return scheduled

    async def dequeue(self, timeout: float = 0.0, poll_interval: float = 0.0) -> Job | None:
        """The next job, waiting up to ``timeout`` seconds for one (0: for as long as it takes)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout if timeout else None
        while True:
            pushed = self.job_pushed  # taken before looking, so a push while looking wakes us
            # A moment, not 0 (forever): should the stand-in ever block, this loop still runs.
            job = await super().dequeue(timeout=0.001, poll_interval=poll_interval)
            if job is not None:
                return job
            wait = self.RECHECK if deadline is None else min(self.RECHECK, deadline - loop.time())
            if wait <= 0:
                return None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(pushed.wait(), wait)


class RedisLock:
    """A lock in Redis that expires unless renewed, so a dead holder's lock passes on.

    ``acquire`` never blocks; callers poll. ``renew`` returns False when the lock was lost (it
    expired and someone else took it), and the holder must stop what it guarded.
    """

    _RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end"
    _RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"

    def __init__(self, redis: aioredis.Redis, key: str, token: str, ttl: float) -> None:
        self.redis = redis
        self.key = key
        self.token = token
        self.ttl_ms = int(ttl * 1000)

    async def acquire(self) -> bool:
        return bool(await self.redis.set(self.key, self.token, nx=True, px=self.ttl_ms))

    async def renew(self) -> bool:
        return bool(await self.redis.eval(self._RENEW, 1, self.key, self.token, self.ttl_ms))

    async def release(self) -> None:
        await self.redis.eval(self._RELEASE, 1, self.key, self.token)

    async def holder(self) -> str | None:
        value = await self.redis.get(self.key)
        return value.decode() if isinstance(value, bytes) else value
