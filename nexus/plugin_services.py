"""What the host does for plugins beyond tickets: a contact's own conversation, attachments'
bytes, pushes to plugins' Socket.IO namespaces from any process, and rate limits shared by the
cluster. :class:`nexus.runtime.PluginAPI` and the web handlers' context call into here."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import socketio
from limits import parse
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter

from nexus.db import models
from nexus.realtime import NAMESPACE as AGENTS_NAMESPACE
from nexus.redis_backend import pubsub_channel
from nexus.types import AttachmentView, MessageView
from nexus.views import attachment_view, message_views

if TYPE_CHECKING:
    from nexus.runtime import Nexus

logger = logging.getLogger("nexus.plugins")


async def conversation(channel: str, address: str, *, limit: int = 50, before_id: int | None = None) -> list[MessageView]:
    """The public messages of one identity on one channel instance, oldest first."""
    row = await models.Channel.get_or_none(name=channel)
    if row is None:
        return []
    identity = await models.ContactIdentity.get_or_none(channel_type=row.type, key=address)
    if identity is None:
        return []
    query = models.Message.filter(ticket__channel_id=row.id, ticket__identity_id=identity.id, private=False)
    if before_id is not None:
        query = query.filter(id__lt=before_id)
    limit = max(1, min(int(limit), 200))
    rows = await query.select_related("channel", "sender").order_by("-id").limit(limit)
    return await message_views(list(reversed(rows)))


async def read_attachment(nexus: Nexus, attachment_id: int) -> tuple[AttachmentView, bytes] | None:
    row = await models.Attachment.get_or_none(id=attachment_id)
    if row is None or not row.storage_key:
        return None
    try:
        data = await nexus.storage.load(row.storage_key)
    except FileNotFoundError:
        return None
    return attachment_view(row), data


class PluginPush:
    """Emits to plugins' namespaces: through this process's Socket.IO server in an API
    process, through a write-only Redis manager in a worker (created on first use)."""

    def __init__(self, nexus: Nexus) -> None:
        self.nexus = nexus
        self._manager: socketio.AsyncRedisManager | None = None

    async def emit(self, namespace: str, event: str, data: Any, *, room: str) -> None:
        if namespace == AGENTS_NAMESPACE or not namespace.startswith("/"):
            raise ValueError(f"cannot emit to namespace {namespace!r}: plugins emit to namespaces they registered")
        if self.nexus.sio is not None:
            await self.nexus.sio.emit(event, data, room=room, namespace=namespace)
            return
        settings = self.nexus.settings
        if not settings.redis.url:
            return  # no server here and no Redis to reach one: nobody can be listening
        if self._manager is None:
            self._manager = socketio.AsyncRedisManager(
                settings.redis.url, channel=pubsub_channel(settings, "socketio"), write_only=True
            )
        await self._manager.emit(event, data, namespace=namespace, room=room)


class SharedLimits:
    """Rate limits counted in Redis (the embedded stand-in too), with the ``limits`` library's
    moving window, so that a limit holds across every process of the cluster."""

    def __init__(self, nexus: Nexus) -> None:
        self.nexus = nexus
        self._limiter: MovingWindowRateLimiter | None = None

    async def allow(self, key: str, limit: str) -> bool:
        if self._limiter is None:
            storage = RedisStorage(
                # The URL only names the client type: the host's own connection pool is used.
                "async+redis://localhost:6379", implementation="redispy",
                connection_pool=self.nexus.redis.connection_pool,
                key_prefix=self.nexus.settings.redis_key("limits"),
            )
            self._limiter = MovingWindowRateLimiter(storage)
        return await self._limiter.hit(parse(limit), key)


def parse_limit(limit: str) -> str | None:
    """Why ``limit`` is not a rate limit such as ``"20/minute"``, or None when it is."""
    try:
        parse(limit)
    except ValueError as exc:
        return str(exc)
    return None
