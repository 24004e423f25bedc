"""Running channel instances: start them in isolation, give each its host, and run each
long-running receiver in exactly one process of the cluster."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from tortoise.exceptions import IntegrityError

from nexus.channel import Channel, RateLimit
from nexus.clock import now
from nexus.db import models
from nexus.instances import ChannelSpec
from nexus.redis_backend import RedisLock
from nexus.sanitize import clean_status
from nexus.types import InboundEdit, InboundMessage, InboundReaction, Receipt, StatusUpdate

if TYPE_CHECKING:
    from nexus.runtime import Nexus

logger = logging.getLogger("nexus.channels")

RECEIVER_LOCK_TTL = 15.0
#: The waits before restarting a failed receiver, or trying again to start a channel whose
#: start failed: growing with each failure in a row, then capped at the last.
RETRY_BACKOFF = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
#: A receiver that ran this long before failing is restarted with the shortest backoff.
RECEIVER_HEALTHY_AFTER = 60.0
#: A restarted receiver still running after this long clears the failure it was restarted for.
RECEIVER_RECOVERED_AFTER = RECEIVER_LOCK_TTL / 3
START_TIMEOUT = 30.0


def retry_delay(failures: int) -> float:
    """The wait after ``failures`` failures in a row (1 or more)."""
    return RETRY_BACKOFF[min(failures, len(RETRY_BACKOFF)) - 1]


def describe_error(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class ChannelInstanceHost:
    """The :class:`nexus.ChannelHost` of one instance."""

    def __init__(self, runtime: ChannelRuntime) -> None:
        self._runtime = runtime
        self.name = runtime.spec.name
        self.logger = logging.getLogger(f"nexus.channel.{runtime.spec.name}")

    @property
    def webhook_url(self) -> str | None:
        base = self._runtime.nexus.settings.server.public_url
        if not base:
            return None
        return f"{base}/webhooks/{self._runtime.spec.type_name}/{self.name}"

    async def receive(self, event: InboundMessage | InboundEdit | InboundReaction) -> Receipt:
        return await self._runtime.nexus.pipeline.receive(self._runtime, event)

    async def update_status(self, update: StatusUpdate) -> bool:
        # A provider's error text may hold NUL, which PostgreSQL refuses.
        return await self._runtime.nexus.statuses.apply(self._runtime.row_id, clean_status(update))

    # Values are stored wrapped, {"v": value}: Tortoise's JSONField takes a bare string for
    # already-encoded JSON, so any JSON value, strings included, goes in a box.

    async def get_state(self, key: str, default: Any = None) -> Any:
        row = await models.ChannelState.get_or_none(channel_id=self._runtime.row_id, key=key)
        return default if row is None else row.value["v"]

    async def set_state(self, key: str, value: Any) -> None:
        boxed = {"v": value}
        updated = await models.ChannelState.filter(channel_id=self._runtime.row_id, key=key).update(value=boxed)
        if not updated:
            try:
                await models.ChannelState.create(channel_id=self._runtime.row_id, key=key, value=boxed)
            except IntegrityError:
                await models.ChannelState.filter(channel_id=self._runtime.row_id, key=key).update(value=boxed)

    async def delete_state(self, key: str) -> None:
        await models.ChannelState.filter(channel_id=self._runtime.row_id, key=key).delete()

    async def has_message(self, external_id: str) -> bool:
        return await models.Message.exists(channel_id=self._runtime.row_id, external_id=external_id)

    async def setdefault_state(self, key: str, value: Any) -> Any:
        row = await models.ChannelState.get_or_none(channel_id=self._runtime.row_id, key=key)
        if row is None:
            try:
                row = await models.ChannelState.create(channel_id=self._runtime.row_id, key=key, value={"v": value})
            except IntegrityError:  # another process stored one first: theirs wins
                row = await models.ChannelState.get(channel_id=self._runtime.row_id, key=key)
        return row.value["v"]

    async def store_raw(self, payload: bytes, headers: Mapping[str, str] | None = None) -> int:
        return await self._runtime.nexus.inbox.store(self._runtime, payload, headers or {})

    def report_error(self, message: str | None) -> None:
        self._runtime.set_error(message)


class ChannelRuntime:
    """One configured instance in this process."""

    def __init__(self, nexus: Nexus, spec: ChannelSpec) -> None:
        self.nexus = nexus
        self.spec = spec
        self.row_id: int = 0
        self.instance: Channel | None = None
        self.state = "configured"
        self.error: str | None = spec.problem
        self.receiver: asyncio.Task[None] | None = None
        self.receiving = False
        #: Whether this process runs the channel's receiver once the channel runs.
        self.runs_receiver = False
        #: Starts that failed in a row, when the next try is, and the task that makes it.
        self.failed_starts = 0
        self.next_start_at: datetime | None = None
        self.restarting: asyncio.Task[None] | None = None
        #: The failure the receiver was last restarted for, while it is the channel's error.
        self.receiver_error: str | None = None
        self.host = ChannelInstanceHost(self)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def has_receiver(self) -> bool:
        return self.spec.cls is not None and self.spec.cls.run is not Channel.run

    @property
    def rate_limit(self) -> RateLimit:
        """The operator's override, else the channel type's default."""
        if self.spec.rate_limit is not None:
            return self.spec.rate_limit
        return self.spec.cls.rate_limit if self.spec.cls else RateLimit()

    @property
    def usable(self) -> bool:
        return self.instance is not None and self.state == "running"

    def status(self) -> dict[str, Any]:
        details: Mapping[str, Any] = {}
        if self.instance is not None:
            with contextlib.suppress(Exception):
                details = dict(self.instance.status_details())
        return {
            "name": self.name,
            "type": self.spec.type_name,
            "plugin": self.spec.plugin,
            "enabled": self.spec.enabled,
            "state": self.state,
            "error": self.error,
            "failed_starts": self.failed_starts,
            "next_start_at": self.next_start_at.isoformat() if self.next_start_at else None,
            "receiving_here": self.receiving,
            "details": details,
        }

    def set_error(self, message: str | None) -> None:
        if message == self.error:
            return
        self.error = message
        if message:
            logger.warning("channel %r: %s", self.name, message)
        self.nexus.spawn(self._save(), name=f"channel-status-{self.name}")

    async def set_state(self, state: str, error: str | None = None) -> None:
        self.state = state
        self.error = error
        if error:
            logger.error("channel %r (%s): %s", self.name, self.spec.plugin or self.spec.type_name, error)
        await self._save()

    async def _save(self) -> None:
        if not self.row_id:
            return
        await models.Channel.filter(id=self.row_id).update(
            state=self.state,
            last_error=self.error,
            last_error_at=now() if self.error else None,
            details=self.status()["details"],
        )

    async def start(self, *, receivers: bool = False) -> None:
        """Start the instance (and, with ``receivers``, its receiver). A start that fails is
        tried again with :data:`RETRY_BACKOFF` until it works or the channel stops."""
        spec = self.spec
        self.runs_receiver = receivers
        if not spec.enabled:
            await self.set_state("disabled")
            return
        if spec.problem or spec.cls is None or spec.config is None:
            await self.set_state("failed", spec.problem or "channel type unavailable")
            return
        await self.set_state("starting")
        if await self._try_start():
            self.start_receiver()
        else:
            self.restarting = asyncio.create_task(self._keep_trying(), name=f"start-{self.name}")

    async def _try_start(self) -> bool:
        """One try: True if the instance runs; otherwise the channel is failed until the next."""
        assert self.spec.cls is not None and self.spec.config is not None
        try:
            self.instance = self.spec.cls(self.spec.name, self.spec.config, self.host)
            await asyncio.wait_for(self.instance.start(), START_TIMEOUT)
        except Exception as exc:  # noqa: BLE001 - a plugin's failure is reported, not raised
            self.failed_starts += 1
            delay = retry_delay(self.failed_starts)
            self.next_start_at = now() + timedelta(seconds=delay)
            await self.set_state("failed", f"failed to start: {describe_error(exc)}")
            logger.info("channel %r: trying to start it again in %gs", self.name, delay)
            return False
        if self.failed_starts:
            logger.info("channel %r started after %s failed start(s)", self.name, self.failed_starts)
        self.failed_starts, self.next_start_at = 0, None
        await self.set_state("running", None)
        return True

    async def _keep_trying(self) -> None:
        """Start a channel whose start failed again, at its ``next_start_at``, until it runs."""
        while True:
            assert self.next_start_at is not None
            await asyncio.sleep(max(0.0, (self.next_start_at - now()).total_seconds()))
            await self._stop_instance()  # stop() follows a failed start(), before the next try
            try:
                if await self._try_start():
                    break
            except Exception as exc:  # noqa: BLE001 - the database is away: the state waits
                logger.warning("channel %r: cannot record its state: %s", self.name, describe_error(exc))
                if self.state == "running":
                    break
                self.next_start_at = now() + timedelta(seconds=retry_delay(self.failed_starts))
        self.restarting = None
        self.start_receiver()

    async def _stop_instance(self) -> None:
        if self.instance is None:
            return
        try:
            await asyncio.wait_for(self.instance.stop(), 10)
        except Exception:  # noqa: BLE001
            logger.exception("channel %r raised while stopping", self.name)
        self.instance = None

    async def stop(self) -> None:
        if self.restarting is not None:
            self.restarting.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.restarting
            self.restarting = None
        if self.receiver is not None:
            self.receiver.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.receiver
            self.receiver = None
        if self.state in ("running", "failed"):
            await self._stop_instance()
        if self.state == "running":
            self.state = "stopped"
        self.next_start_at = None

    def start_receiver(self) -> None:
        if self.runs_receiver and self.has_receiver and self.usable and self.receiver is None:
            self.receiver = asyncio.create_task(self._supervise(), name=f"receiver-{self.name}")

    async def _supervise(self) -> None:
        """Hold the cluster-wide lock for this channel's receiver and keep ``run()`` going."""
        token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        lock = RedisLock(self.nexus.redis, self.nexus.settings.redis_key("receiver", self.name), token, RECEIVER_LOCK_TTL)
        failures = 0
        assert self.instance is not None
        while True:
            try:
                if not await lock.acquire():
                    await asyncio.sleep(RECEIVER_LOCK_TTL / 3)
                    continue
            except Exception as exc:  # noqa: BLE001 - Redis down: try again later
                logger.warning("channel %r: cannot take the receiver lock: %s", self.name, describe_error(exc))
                await asyncio.sleep(RECEIVER_LOCK_TTL / 3)
                continue
            self.receiving = True
            logger.info("channel %r: this process runs the receiver", self.name)
            started = asyncio.get_running_loop().time()
            run = asyncio.create_task(self.instance.run(), name=f"run-{self.name}")
            try:
                lost = await self._hold(lock, run, started)
                if lost:
                    logger.warning("channel %r: lost the receiver lock; stopping here", self.name)
                    continue
                exc = run.exception()
                if exc is None:
                    return  # run() finished on its own: nothing more to receive
                if asyncio.get_running_loop().time() - started > RECEIVER_HEALTHY_AFTER:
                    failures = 0  # it had been working: this failure starts a new series
                failures += 1
                delay = retry_delay(failures)
                self.receiver_error = f"receiver failed: {describe_error(exc)}; restarting in {delay:g}s"
                self.set_error(self.receiver_error)
                await asyncio.sleep(delay)
            finally:
                self.receiving = False
                if not run.done():
                    run.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await run
                with contextlib.suppress(Exception):
                    await lock.release()

    async def _hold(self, lock: RedisLock, run: asyncio.Task[None], started: float) -> bool:
        """Renew the lock while ``run`` (started at loop time ``started``) goes on. True if the
        lock was lost."""
        loop = asyncio.get_running_loop()
        while not run.done():
            done, _ = await asyncio.wait({run}, timeout=RECEIVER_LOCK_TTL / 3)
            if done:
                break
            if self.receiver_error and loop.time() - started >= RECEIVER_RECOVERED_AFTER:
                if self.error == self.receiver_error:  # not what the plugin reported since
                    logger.info("channel %r: the receiver works again", self.name)
                    self.set_error(None)
                self.receiver_error = None
            try:
                if not await lock.renew():
                    return True
            except Exception as exc:  # noqa: BLE001
                logger.warning("channel %r: cannot renew the receiver lock: %s", self.name, describe_error(exc))
        return False


class ChannelManager:
    def __init__(self, nexus: Nexus, specs: Mapping[str, ChannelSpec]) -> None:
        self.nexus = nexus
        self.runtimes = {name: ChannelRuntime(nexus, spec) for name, spec in specs.items()}
        self._by_id: dict[int, ChannelRuntime] = {}

    def get(self, name: str) -> ChannelRuntime | None:
        return self.runtimes.get(name)

    def by_id(self, row_id: int) -> ChannelRuntime | None:
        return self._by_id.get(row_id)

    async def sync_rows(self) -> None:
        """Mirror the configured instances into the channels table."""
        for runtime in self.runtimes.values():
            spec = runtime.spec
            defaults = {"type": spec.type_name, "plugin": spec.plugin, "enabled": spec.enabled}
            try:
                row, _ = await models.Channel.get_or_create(name=spec.name, defaults=defaults)
            except IntegrityError:  # another process created it at the same moment
                row = await models.Channel.get(name=spec.name)
            if (row.type, row.plugin, row.enabled) != (spec.type_name, spec.plugin, spec.enabled):
                await models.Channel.filter(id=row.id).update(**defaults)
            runtime.row_id = row.id
            self._by_id[row.id] = runtime
        configured = list(self.runtimes)
        await models.Channel.filter(name__not_in=configured).exclude(state="removed").update(
            enabled=False, state="removed", last_error="no longer in the configuration"
        )

    async def start(self, *, receivers: bool) -> None:
        await asyncio.gather(*(runtime.start(receivers=receivers) for runtime in self.runtimes.values()))

    async def stop(self) -> None:
        await asyncio.gather(*(runtime.stop() for runtime in self.runtimes.values()))

    def status(self) -> list[dict[str, Any]]:
        return [runtime.status() for runtime in self.runtimes.values()]
