"""Pacing sends across the cluster, so that a burst of replies is spread out rather than
rejected by the provider.

Each channel (and each recipient of it) has a "next free slot" time in Redis. Reserving takes
the later of now, the channel's slot, the recipient's slot and any pause the provider asked
for (429 with Retry-After), and moves both slots on by their interval. Redis's own clock is
used, so processes on several hosts agree.
"""

from __future__ import annotations

import redis.asyncio as aioredis

from nexus.channel import RateLimit

_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local at = now
for i = 1, 3 do
  local v = tonumber(redis.call('GET', KEYS[i]) or '0')
  if v > at then at = v end
end
for i = 1, 2 do
  local interval = tonumber(ARGV[i])
  if interval > 0 then
    local nxt = at + interval
    redis.call('SET', KEYS[i], tostring(nxt), 'PX', math.ceil((nxt - now) * 1000) + 1000)
  end
end
return tostring(at - now)
"""

_PAUSE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local untl = now + tonumber(ARGV[1])
local v = tonumber(redis.call('GET', KEYS[1]) or '0')
if untl > v then
  redis.call('SET', KEYS[1], tostring(untl), 'PX', math.ceil(tonumber(ARGV[1]) * 1000) + 1000)
end
return 1
"""


class RateLimiter:
    def __init__(self, redis: aioredis.Redis, namespace: str) -> None:
        self.redis = redis
        self.namespace = namespace

    async def reserve(self, channel: str, recipient: str, limit: RateLimit) -> float:
        """Reserve a send slot; returns how many seconds to wait before sending."""
        channel_interval = 1.0 / limit.per_second if limit.per_second else 0.0
        recipient_interval = 1.0 / limit.per_recipient_per_second if limit.per_recipient_per_second else 0.0
        ns = self.namespace
        keys = [f"{ns}:rate:{channel}", f"{ns}:rate:{channel}:to:{recipient}", f"{ns}:pause:{channel}"]
        if not (channel_interval or recipient_interval):
            # No pacing, but a provider-requested pause still applies.
            value = await self.redis.get(keys[2])
            if value is None:
                return 0.0
            keys = keys[2:] * 3
        wait = await self.redis.eval(_RESERVE, 3, *keys, channel_interval, recipient_interval)
        return max(0.0, float(wait))

    async def pause(self, channel: str, seconds: float) -> None:
        """The provider asked the whole channel to slow down (429 with Retry-After)."""
        await self.redis.eval(_PAUSE, 1, f"{self.namespace}:pause:{channel}", seconds)
