"""The host at run time: the resources of one process and the services built on them.

The same :class:`Nexus` runs in an API process (``nexus serve``, with Socket.IO, the channels'
receivers and, by default, an in-process delivery worker) and in a ``nexus worker`` process
(delivery only). Everything shared between processes lives in the database or Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import socketio
from tortoise.context import TortoiseContext

from nexus.accounts import Accounts
from nexus.channels import ChannelManager, describe_error
from nexus.clock import now
from nexus.config import Settings, mask_url
from nexus.db import close_database, open_database
from nexus.delivery import Delivery
from nexus.delivery.status import StatusUpdates
from nexus.events import Events
from nexus.inbox import Inbox
from nexus.instances import Setup
from nexus.looplag import LoopLagMonitor
from nexus.metrics import Metrics
from nexus.pipeline import InboundPipeline
from nexus.plugin_services import PluginPush, SharedLimits, conversation, read_attachment
from nexus.plugins import call_hook
from nexus.realtime import EventEmitter, Realtime
from nexus.redis_backend import connect_redis, describe_redis
from nexus.search import Search
from nexus.storage import LocalStorage
from nexus.tickets import Tickets
from nexus.types import AttachmentView, MessageView, TicketView
from nexus.views import ticket_view

logger = logging.getLogger("nexus")


Role = Literal["api", "worker"]


@dataclass(frozen=True)
class Options:
    role: Role = "api"
    delivery_worker: bool = True
    receivers: bool = True
    #: Where this process serves (``http://host:port``), said once it is ready; None when the
    #: ASGI server that runs the app binds the address itself.
    url: str | None = None


class PluginAPI:
    """The :class:`nexus.hookspecs.NexusAPI` handed to plugins."""

    def __init__(self, nexus: Nexus) -> None:
        self._nexus = nexus

    async def reply(self, ticket_id: int, text: str, *, metadata: Mapping[str, Any] | None = None) -> MessageView:
        return await self._nexus.tickets.reply(ticket_id, text, author=None, metadata=metadata, automatic=True)

    async def add_note(self, ticket_id: int, text: str) -> MessageView:
        return await self._nexus.tickets.add_note(ticket_id, text, author=None)

    async def update_ticket(self, ticket_id: int, **changes: Any) -> TicketView:
        return await self._nexus.tickets.update(ticket_id, changes)

    async def get_ticket(self, ticket_id: int) -> TicketView:
        return await ticket_view(ticket_id)

    async def conversation(self, channel: str, address: str, *, limit: int = 50,
                           before_id: int | None = None) -> list[MessageView]:
        return await conversation(channel, address, limit=limit, before_id=before_id)

    async def read_attachment(self, attachment_id: int) -> tuple[AttachmentView, bytes] | None:
        return await read_attachment(self._nexus, attachment_id)

    async def emit(self, namespace: str, event: str, data: Any, *, room: str) -> None:
        await self._nexus.push.emit(namespace, event, data, room=room)


class Nexus:
    def __init__(self, setup: Setup, options: Options = Options(), sio: socketio.AsyncServer | None = None) -> None:
        self.setup = setup
        self.settings: Settings = setup.settings
        self.options = options
        self.registry = setup.registry
        self.sio = sio
        self.api = PluginAPI(self)
        self.db: TortoiseContext | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loops: list[asyncio.Task[Any]] = []
        self.embedded_redis_server: Any = None
        self.started = False
        #: The last error each plugin raised in a hook, in this process (shown by /readyz).
        self.plugin_errors: dict[str, dict[str, str]] = {}
        self.accounts = Accounts(self.settings.auth.token_ttl)
        self.storage = LocalStorage(self.settings.storage_path)
        self.channels = ChannelManager(self, setup.channels)
        self.pipeline = InboundPipeline(self)
        self.tickets = Tickets(self)
        self.statuses = StatusUpdates(self)
        self.inbox = Inbox(self)
        self.push = PluginPush(self)
        self.limits = SharedLimits(self)
        interval = self.settings.server.loop_lag_interval
        #: This process's event-loop lag (API processes; None when switched off).
        self.loop_lag = LoopLagMonitor(interval) if interval and options.role == "api" else None

    # --- Lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        settings = self.settings
        if self.loop_lag is not None:
            self.loop_lag.start()
        logger.info("database: %s", mask_url(settings.database_url))
        logger.info("queue and events: %s", describe_redis(settings))
        if settings.embedded_redis:
            logger.warning("the embedded Redis stand-in serves this one process and keeps nothing; "
                           "set REDIS_URL for production")
        self.search = Search(settings.database_url, settings.search.language)
        await self.search.prepare()
        self.db = await open_database(settings.database_url)
        if settings.embedded_redis:
            import fakeredis

            self.embedded_redis_server = fakeredis.FakeServer()
        self.redis = connect_redis(settings, server=self.embedded_redis_server)
        self.metrics = Metrics(self.redis, settings.redis_key("metrics"))
        self.events = Events(self, EventEmitter(self.sio, settings))
        self.realtime = Realtime(self, self.sio) if self.sio is not None else None
        self.delivery = Delivery(self)
        await self.events.start()
        if self.realtime:
            await self.realtime.start()

        await self.channels.sync_rows()
        await self.channels.start(receivers=self.options.receivers and self.options.role == "api")
        await self.call_hook("nexus_startup")
        await self.inbox.start()
        if self.options.role == "api":
            self._loops.append(asyncio.create_task(self.tickets.run_snooze_waker(), name="snooze-waker"))
        if self.options.delivery_worker:
            await self.delivery.start_worker()
        self.started = True
        for runtime in self.channels.runtimes.values():
            status = runtime.status()
            logger.info("channel %s (%s): %s%s", status["name"], status["type"], status["state"],
                        f": {status['error']}" if status["error"] else "")
            if runtime.spec.enabled and runtime.host.webhook_url:
                logger.info("channel %s: the provider posts webhooks to %s", runtime.name, runtime.host.webhook_url)
        if self.options.url:
            from nexus import __version__

            logger.info("Nexus %s ready on %s", __version__, self.options.url)

    async def stop(self) -> None:
        grace = self.settings.server.graceful_timeout
        if self.options.delivery_worker and hasattr(self, "delivery") and self.delivery.worker is not None:
            logger.info("stopping the delivery worker: in-flight sends have %gs to finish", grace)
            await self.delivery.stop_worker(grace)
        for task in self._loops:
            task.cancel()
        for task in self._loops:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._loops = []
        await self.inbox.stop()
        if self.channels.runtimes:
            logger.info("stopping %s channel(s)", len(self.channels.runtimes))
        await self.channels.stop()
        if self.started:
            await self.call_hook("nexus_shutdown")
        if self.realtime:
            await self.realtime.stop()
        if hasattr(self, "events"):
            await self.events.stop()
        await self.drain(timeout=grace)
        if hasattr(self, "delivery"):
            await self.delivery.close()
        if hasattr(self, "redis"):
            with contextlib.suppress(Exception):
                await self.redis.aclose()
        if self.db is not None:
            await close_database(self.db)
            self.db = None
        if self.loop_lag is not None:
            await self.loop_lag.stop()
        if self.started:
            logger.info("stopped: database and queue connections closed")
        self.started = False

    def spawn(self, coro: Coroutine[Any, Any, Any], *, name: str | None = None) -> asyncio.Task[Any]:
        """Run ``coro`` in the background; its failure is logged, and shutdown waits for it."""
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("background task %s failed: %s", task.get_name(), describe_error(task.exception()))  # type: ignore[arg-type]

    async def drain(self, timeout: float = 5.0) -> None:
        """Wait for background tasks (event fan-out, plugin hooks) to finish."""
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
            for task in pending:
                task.cancel()

    def implements(self, hook_name: str) -> bool:
        """Whether any enabled plugin implements ``hook_name``."""
        return bool(getattr(self.registry.pm.hook, hook_name).get_hookimpls())

    async def call_hook(self, name: str, **kwargs: Any) -> list[tuple[str, Any]]:
        def failed(plugin: str, exc: BaseException) -> None:
            self.plugin_errors[plugin] = {"hook": name, "error": describe_error(exc), "at": now().isoformat()}

        results = await call_hook(self.registry, name, on_error=failed, nexus=self.api, **kwargs)
        for plugin, _ in results:  # a hook that works again clears the error it reported
            if self.plugin_errors.get(plugin, {}).get("hook") == name:
                del self.plugin_errors[plugin]
        return results

    # --- Health ------------------------------------------------------------------------

    async def readiness(self) -> tuple[bool, dict[str, Any]]:
        """Whether this process can serve, and the facts behind the verdict. The database
        and the queue backend decide readiness; failed channels and plugins are reported
        (``degraded``) but do not take the process out of rotation."""
        checks: dict[str, Any] = {}
        ok = True

        async def probe(name: str, check: Coroutine[Any, Any, Any]) -> None:
            nonlocal ok
            try:
                await asyncio.wait_for(check, 3)
                checks[name] = {"ok": True}
            except Exception as exc:  # noqa: BLE001
                ok = False
                checks[name] = {"ok": False, "error": describe_error(exc) if str(exc) else "timed out"}

        assert self.db is not None
        connection = self.db.connections.get(next(iter(self.db.connections.db_config)))
        await probe("database", connection.execute_query("SELECT 1"))
        await probe("queue", self.redis.ping())
        await probe("storage", self.storage.check())
        channels = self.channels.status()
        plugins = {name: {"state": info.state, "error": info.error}
                   for name, info in self.registry.plugins.items() if info.state == "failed"}
        degraded = [c for c in channels if c["state"] == "failed" or c["error"]]
        troubled = degraded or plugins or self.plugin_errors
        status = "ok" if ok and not troubled else ("degraded" if ok else "unavailable")
        return ok, {
            "status": status,
            "checks": checks,
            "channels": {c["name"]: {k: c[k] for k in ("type", "plugin", "state", "error")} for c in channels},
            "failed_plugins": plugins,
            "plugin_errors": dict(self.plugin_errors),
            "delivery": await self.delivery.queue_counts() if checks["queue"]["ok"] else {},
        }
