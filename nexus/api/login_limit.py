"""Failed logins are limited per account and per client address, in Redis (the ``limits``
library's moving window), so every API process counts the same attempts.

Only failures count: an agent who logs in often is never slowed down. Once an account or an
address has used up its failures within the window, every login for it is answered 429 with
``Retry-After`` until the oldest failure leaves the window, even with the right password, so
guessing cannot go on at any pace. On the embedded Redis stand-in the counts live in the
process, which is the only one.
"""

from __future__ import annotations

import math
import time
from typing import Any

from limits import RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from nexus.config import Settings
from nexus.web.errors import ApiError

_SCHEMES = {"redis": "async+redis", "rediss": "async+rediss", "unix": "async+redis+unix"}


def _storage(settings: Settings, redis: Any) -> Storage:
    url = settings.redis.url
    if not url:
        return MemoryStorage()
    scheme, _, rest = url.partition("://")
    # The process's own connection pool: closed with it at shutdown.
    return RedisStorage(f"{_SCHEMES[scheme]}://{rest}", implementation="redispy", connection_pool=redis.connection_pool,
                        key_prefix=settings.redis_key("login-limits"))


class LoginLimiter:
    def __init__(self, settings: Settings, redis: Any) -> None:
        """:param redis: the process's Redis client (``redis.asyncio.Redis``)."""
        auth = settings.auth
        window = max(1, round(auth.login_window))
        self.limits = {
            "account": RateLimitItemPerSecond(auth.login_failures_per_account, window),
            "address": RateLimitItemPerSecond(auth.login_failures_per_address, window),
        }
        self.strategy = MovingWindowRateLimiter(_storage(settings, redis))

    def _keys(self, email: str, address: str | None) -> dict[str, str]:
        return {"account": email.strip().lower(), "address": address or "unknown"}

    async def check(self, email: str, address: str | None) -> None:
        """Raise a 429 if the account or the address has no attempt left."""
        for kind, key in self._keys(email, address).items():
            item = self.limits[kind]
            if item.amount == 0:
                continue
            if not await self.strategy.test(item, kind, key):
                stats = await self.strategy.get_window_stats(item, kind, key)
                wait = max(1, math.ceil(stats.reset_time - time.time()))
                whose = "this account" if kind == "account" else "this address"
                raise ApiError(429, "too_many_attempts",
                               f"too many failed logins for {whose}; try again in {wait} seconds",
                               [{"field": "email" if kind == "account" else "address",
                                 "problem": "too many failed logins"}],
                               headers={"Retry-After": str(wait)})

    async def failed(self, email: str, address: str | None) -> None:
        for kind, key in self._keys(email, address).items():
            if self.limits[kind].amount:
                await self.strategy.hit(self.limits[kind], kind, key)
