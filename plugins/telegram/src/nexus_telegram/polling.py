"""Long polling: ``getUpdates`` in a loop, committing the offset only after each update is
stored.

The host runs :meth:`Poller.run` in exactly one process of the cluster, under a lock in Redis
that another process takes over when the holder dies, so Telegram never sees two pollers of one
bot (it would answer the second with 409 Conflict).
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiogram import Bot
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import GetUpdates
from aiogram.utils.backoff import Backoff, BackoffConfig

from nexus import ChannelHost
from nexus_telegram.updates import UpdateRouter

#: The host state key of the next update id to ask for.
OFFSET_KEY = "polling_offset"
BACKOFF = BackoffConfig(min_delay=1.0, max_delay=60.0, factor=2.0, jitter=0.1)


class GetRawUpdates(GetUpdates):
    """``getUpdates``, answered as plain JSON objects: each update is then parsed on its own
    (:meth:`UpdateRouter.feed_raw`), so one that aiogram cannot read holds back no other."""

    __returning__ = list[dict[str, Any]]


class Poller:
    """Receives one bot's updates with ``getUpdates``.

    This drives ``getUpdates`` through the aiogram :class:`~aiogram.Bot` (its typed client,
    parsing and errors) instead of ``Dispatcher.start_polling``, because the guarantee Nexus
    needs is *commit after store*, and ``start_polling`` does not give it: it confirms an update
    to Telegram even when its handler raised (it logs the error and moves on, so an update whose
    storage failed would be lost), it keeps the offset only in memory, and it retries every
    error forever, which would hide a revoked token or a second poller from the channel status.

    Here, updates are handled one at a time and in order (an edit never overtakes the message
    it edits). Once :meth:`UpdateRouter.feed_raw` returns, i.e. once the host committed the
    update, the offset moves past it and is stored with ``host.set_state``. A crash in between
    replays the update, which deduplication absorbs; a failure to store raises out of
    :meth:`run`, and the host reports it and restarts the poller, which asks for the same update
    again.

    The offset follows the update ids Telegram hands out. They grow by one, except that after a
    week without updates Telegram restarts them at a random value: the next offset is then lower,
    and taking it is what keeps those updates from being asked for forever.
    """

    def __init__(self, bot: Bot, host: ChannelHost, router: UpdateRouter, *, timeout: int) -> None:
        self.bot = bot
        self.host = host
        self.router = router
        self.timeout = timeout

    async def run(self) -> None:
        # getUpdates is refused while a webhook is set: this is also the switch back from
        # webhook mode. Pending updates are kept.
        await self.bot.delete_webhook(drop_pending_updates=False)
        offset: int | None = await self.host.get_state(OFFSET_KEY)
        allowed_updates = self.router.allowed_updates
        # Wait longer than the long poll itself, so a quiet chat is not taken for a timeout.
        request_timeout = int(self.bot.session.timeout + self.timeout)
        backoff = Backoff(BACKOFF)
        self.host.logger.info("polling for updates (offset %s)", offset)
        while True:
            method = GetRawUpdates(
                offset=offset, timeout=self.timeout, allowed_updates=allowed_updates
            )
            try:
                updates = await self.bot(method, request_timeout=request_timeout)
            except TelegramRetryAfter as exc:
                await asyncio.sleep(exc.retry_after)
                continue
            except (TelegramNetworkError, TelegramServerError, ClientDecodeError) as exc:
                # Transient: keep the poller (and the lock) and try again. Anything else (a
                # revoked token, another program polling this bot) raises to the host.
                self.host.report_error(
                    f"cannot fetch updates from the Bot API ({type(exc).__name__}: {exc}); "
                    f"retrying in {backoff.next_delay:.0f}s"
                )
                await backoff.asleep()
                continue
            backoff.reset()
            self.host.report_error(None)
            for update in updates:
                await self.router.feed_raw(update)
                offset = update["update_id"] + 1
                await self.host.set_state(OFFSET_KEY, offset)
