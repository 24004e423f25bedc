"""Which ``nexus worker`` processes are there to process stored webhook payloads, and how API
processes wake them.

Each worker announces itself every :data:`ANNOUNCE_EVERY` seconds in a Redis sorted set (its
name, scored with the time); a worker not heard from for :data:`PRESENCE_TTL` seconds, or one
that withdrew on its way out, no longer counts. API processes read the set every
:data:`ANNOUNCE_EVERY` seconds to decide whether to process what they store themselves or to
leave it ``pending`` for the workers (``inbox.process_on``), and publish a wake-up on a
pub/sub channel after each commit of pending payloads, so that workers claim them at once
rather than at their next sweep. A lost wake-up costs latency, never a payload: the sweep of
every processing process claims whatever is pending.

Scores are the processes' wall clocks: hosts keep their clocks in sync (as leases need too).
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time
from collections.abc import Callable
from typing import Any

from nexus.config import Settings
from nexus.redis_backend import pubsub_channel

logger = logging.getLogger("nexus.inbox")

#: How often a worker says it is alive, and how often API processes look.
ANNOUNCE_EVERY = 2.0
#: A worker not heard from for this long is taken for gone.
PRESENCE_TTL = 3 * ANNOUNCE_EVERY


class InboxWorkers:
    """The presence of inbox workers in Redis, and their wake-up channel."""

    def __init__(self, redis: Any, settings: Settings) -> None:
        self.redis = redis
        self.key = settings.redis_key("inbox", "workers")
        self.channel = pubsub_channel(settings, "inbox", "wake")
        self.name = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"

    # --- Workers ---------------------------------------------------------------------------

    async def announce(self) -> None:
        """Say this worker is alive (and forget workers gone silent)."""
        at = time.time()
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zadd(self.key, {self.name: at})
            pipe.zremrangebyscore(self.key, "-inf", at - PRESENCE_TTL)
            await pipe.execute()

    async def withdraw(self) -> None:
        await self.redis.zrem(self.key, self.name)

    async def listen(self, woken: Callable[[], None]) -> None:
        """Call ``woken`` at every wake-up, until cancelled; reconnects after a failure."""
        while True:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                woken()  # whatever was published while not subscribed
                while True:
                    message = await pubsub.get_message(timeout=None)
                    if message is not None:
                        woken()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - Redis is away: the sweep covers meanwhile
                logger.warning("inbox: wake-up channel lost (%s); resubscribing", exc or type(exc).__name__)
                await asyncio.sleep(1.0)
            finally:
                try:
                    await pubsub.aclose()
                except Exception:  # noqa: BLE001, S110 - closing a broken connection
                    pass

    # --- API processes ---------------------------------------------------------------------

    async def alive(self) -> bool:
        """Whether any worker was heard from within :data:`PRESENCE_TTL`."""
        return bool(await self.redis.zcount(self.key, time.time() - PRESENCE_TTL, "+inf"))

    async def wake(self) -> None:
        await self.redis.publish(self.channel, "1")
