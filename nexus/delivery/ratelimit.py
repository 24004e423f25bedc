"""Pacing sends across the cluster, so that a burst of replies is spread out rather than
rejected by the provider.

Each channel (and each recipient of it) has a "next free slot" time in Redis. A send takes the
later of now, the channel's slot, the recipient's slot and any pause the provider asked for
(429 with Retry-After), and moves both slots on by their interval. Redis's own clock is used,
so processes on several hosts agree.

A slot is taken only by the send that will use it: :meth:`RateLimiter.reserve` moves the slots
only when the wait is short enough to sit out in the job (``within``). A longer wait (a pause,
a backlog) leaves the slots where they are and tells the caller how long it is, so the reply
goes back to the queue without pushing everybody else's turn further away. (Were every
deferred send to move the slots as well, a backlog larger than ``within`` × rate would keep the
next free slot ahead of every job that comes back for it: replies queued forever.)
"""

from __future__ import annotations

from dataclasses import dataclass

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
if at - now > tonumber(ARGV[3]) then
  return {0, tostring(at - now)}
end
for i = 1, 2 do
  local interval = tonumber(ARGV[i])
  if interval > 0 then
    local nxt = at + interval
    redis.call('SET', KEYS[i], tostring(nxt), 'PX', math.ceil((nxt - now) * 1000) + 1000)
  end
end
return {1, tostring(at - now)}
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


@dataclass(frozen=True)
class Slot:
    """The answer of :meth:`RateLimiter.reserve`: ``taken`` says whether the slot is this
    send's; ``wait`` is how many seconds away it is (the send sleeps that long if taken)."""

    taken: bool
    wait: float


class RateLimiter:
    def __init__(self, redis: aioredis.Redis, namespace: str) -> None:
        self.redis = redis
        self.namespace = namespace

    async def reserve(self, channel: str, recipient: str, limit: RateLimit, *, within: float) -> Slot:
        """Take the next send slot if it is at most ``within`` seconds away; otherwise take
        nothing and say how far away it is."""
        channel_interval = 1.0 / limit.per_second if limit.per_second else 0.0
        recipient_interval = 1.0 / limit.per_recipient_per_second if limit.per_recipient_per_second else 0.0
        ns = self.namespace
        keys = [f"{ns}:rate:{channel}", f"{ns}:rate:{channel}:to:{recipient}", f"{ns}:pause:{channel}"]
        if not (channel_interval or recipient_interval):
            # No pacing, but a provider-requested pause still applies.
            value = await self.redis.get(keys[2])
            if value is None:
                return Slot(True, 0.0)
            keys = keys[2:] * 3
        taken, wait = await self.redis.eval(_RESERVE, 3, *keys, channel_interval, recipient_interval, within)
        return Slot(bool(int(taken)), max(0.0, float(wait)))

    async def pause(self, channel: str, seconds: float) -> None:
        """The provider asked the whole channel to slow down (429 with Retry-After)."""
        await self.redis.eval(_PAUSE, 1, f"{self.namespace}:pause:{channel}", seconds)
