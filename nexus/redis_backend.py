"""The Redis connection: a real server when ``redis.url`` is set, otherwise an in-process
stand-in (fakeredis, with Lua for SAQ's scripts) that serves one process.

The stand-in is for trying Nexus on a bare machine. It keeps nothing across restarts and
cannot be shared between processes, which is why ``nexus serve --workers 2`` and ``nexus
worker`` refuse to run on it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import redis.asyncio as aioredis

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
