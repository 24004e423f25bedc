"""The automatic-reply budget: how many automatic replies one address may get in an hour.

Each reply counts once, however often it is tried: an address's automatic replies are kept in
a Redis sorted set, scored by when each was first tried, and a reply goes out if it is among
the first ``limit`` of the last hour. A retry finds its reply where it was, so retries, paced
requeues and a worker's crash spend nothing.
"""

from __future__ import annotations

import redis.asyncio as aioredis

WINDOW = 3600

_ADMIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
redis.call('ZADD', KEYS[1], 'NX', now, ARGV[1])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]) + 100)
return redis.call('ZRANK', KEYS[1], ARGV[1])
"""


class AutoReplyBudget:
    def __init__(self, redis: aioredis.Redis, key_prefix: str, limit: int) -> None:
        self.redis = redis
        self.key_prefix = key_prefix
        self.limit = limit

    async def admit(self, channel: str, address: str, message_id: int) -> bool:
        """Whether automatic reply ``message_id`` to ``address`` may go out. Asking again
        for the same message never takes a second place: a reply admitted once stays admitted
        while its first try is within the hour."""
        key = f"{self.key_prefix}:{channel}:{address.lower()}"
        rank = await self.redis.eval(_ADMIT, 1, key, str(message_id), WINDOW)
        return int(rank) < self.limit
