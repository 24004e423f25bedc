"""Raw webhook payloads, stored before they are processed.

A channel stores the exact payload with :meth:`ChannelHost.store_raw` and acknowledges the
provider at once; the host then runs the channel's ``process_raw`` in the background:

* The storing process queues the payload for its own processors (a fixed number per process,
  so that acknowledgements never wait behind processing for the CPU or a database connection).
  The row is born ``processing``: claimed by this process, with a lease and a fencing token
  (:mod:`nexus.lease`) that the process renews while the payload waits and while it is
  processed, however long that takes.
* When that queue is full (a burst beyond what this process can process), the row is stored
  ``pending``, and the sweep of any process with room, API or worker, claims it.
* A payload whose processing fails is tried again a few times with backoff (a media server's
  hiccup), then stays ``failed`` with its error, so the provider is not made to redeliver it
  forever and nothing is lost: operators list and replay it over the API.
* A payload whose lease passed (its process died, hung or lost the database) is returned to
  ``pending`` by the sweep; a live processor's payload never is. The outcome (processed or
  failed) is written only if the claim is still the processor's, so a processor that lost
  its claim cannot overwrite the next one's.

A payload is processed once, except in the at-least-once window of every lease: a processor
that stops renewing for longer than ``inbox.lease`` while it processes. Channels store
inbound messages under a unique provider id, so even then a message is stored once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import traceback
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from nexus.clock import now
from nexus.db import models
from nexus.lease import Claim, Lease
from nexus.payloads import decode_payload_async, encode_payload

if TYPE_CHECKING:
    from nexus.channels import ChannelRuntime
    from nexus.runtime import Nexus

logger = logging.getLogger("nexus.inbox")

#: Payloads processed at once in one process.
PROCESSORS = 4
#: Payloads a process queues for its own processors; beyond that they wait in the database.
QUEUE_SIZE = 2000
#: How often the sweep looks for pending, orphaned and due-for-retry payloads.
SWEEP_INTERVAL = 1.0
SWEEP_BATCH = 200
#: A failed payload is processed again automatically until it has had this many tries ...
AUTO_ATTEMPTS = 3
#: ... after waiting this long times 4 to the power of (tries - 1): 30 s, then 2 min.
AUTO_RETRY_BASE = timedelta(seconds=30)
KEPT_HEADERS = ("content-type", "user-agent")


@dataclass(frozen=True)
class Work:
    event_id: int
    channel: str
    payload: bytes
    headers: dict[str, str]
    attempts: int
    claim: Claim


class Inbox:
    def __init__(self, nexus: Nexus) -> None:
        self.nexus = nexus
        self._queue: asyncio.Queue[Work] = asyncio.Queue(QUEUE_SIZE)
        self._tasks: list[asyncio.Task[Any]] = []
        #: Claims on payloads being processed: ``pending`` (or ``failed``) → ``processing``.
        self.claims = Lease(models.InboundEvent, held="processing", available=["pending", "failed"],
                            duration=nexus.settings.inbox.lease)
        #: This process's claims, queued or being processed: renewed together.
        self._held: dict[str, Claim] = {}

    # --- Storing -----------------------------------------------------------------------

    async def store(self, channel: ChannelRuntime, payload: bytes, headers: dict[str, str]) -> int:
        """Commit the payload; it is then processed in the background."""
        kept = {k: v for k, v in headers.items() if k.lower() in KEPT_HEADERS}
        local = self._tasks and not self._queue.full()
        text, encoding = encode_payload(payload)  # any bytes: invalid UTF-8 and NUL included
        token, claimed = self.claims.born_claimed() if local else (None, {"status": "pending"})
        row = await models.InboundEvent.create(
            channel_id=channel.row_id, payload=text, payload_encoding=encoding,
            headers=kept, status_changed_at=now(), **claimed,
        )
        if token is not None:
            self._hold(Work(row.id, channel.name, payload, kept, 0, self.claims.held_claim(row.id, token)))
        return row.id

    def _hold(self, work: Work) -> bool:
        """Queue claimed work for this process's processors; a full queue gives it back."""
        try:
            self._queue.put_nowait(work)
        except asyncio.QueueFull:  # filled up meanwhile: leave it to a sweep
            self.nexus.spawn(self.claims.release([work.claim]), name=f"inbox-release-{work.event_id}")
            return False
        self._held[work.claim.token] = work.claim
        return True

    # --- Processing --------------------------------------------------------------------

    async def start(self) -> None:
        self._tasks = [asyncio.create_task(self._processor(), name=f"inbox-{i}") for i in range(PROCESSORS)]
        self._tasks.append(asyncio.create_task(self._sweeper(), name="inbox-sweeper"))
        self._tasks.append(asyncio.create_task(self._heartbeat(), name="inbox-heartbeat"))

    async def stop(self) -> None:
        """Stop processing; what this process had queued goes back to ``pending``."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        left = []
        while not self._queue.empty():
            left.append(self._queue.get_nowait().claim)
        self._held.clear()
        if left:
            with contextlib.suppress(Exception):
                await self.claims.release(left)

    async def _heartbeat(self) -> None:
        """Renew the leases of every payload this process holds, queued or being processed."""
        while True:
            await asyncio.sleep(self.claims.heartbeat_every)
            try:
                await self.claims.renew_all(list(self._held.values()))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the database is away: next beat
                logger.warning("inbox: could not renew leases: %s", exc or type(exc).__name__)

    async def _processor(self) -> None:
        while True:
            work = await self._queue.get()
            try:
                await self._run(work)
            except Exception:  # noqa: BLE001 - the database went away mid-way: the sweep retries
                logger.warning("inbound event %s: could not record the outcome; it will be processed again", work.event_id)
            finally:
                self._held.pop(work.claim.token, None)

    async def _run(self, work: Work) -> bool:
        if not self.claims.surely_held(work.claim) and not await self.claims.renew(work.claim):
            # It waited here longer than its lease, and another process took it meanwhile.
            logger.info("inbound event %s: taken over by another process while it waited here", work.event_id)
            return False
        runtime = self.nexus.channels.get(work.channel)
        try:
            if runtime is None or runtime.instance is None or not runtime.usable:
                raise RuntimeError(f"channel {work.channel!r} is not running here")
            await runtime.instance.process_raw(work.payload, work.headers)
        except Exception as exc:  # noqa: BLE001 - kept with its error for operators
            # (If the database itself is away, recording this fails too: the row stays
            # "processing" and the orphan sweep gives it back, with no attempt counted.)
            detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            logger.error("inbound event %s (channel %s) failed: %s", work.event_id, work.channel, detail)
            await self._finish(work, status="failed", error=detail, attempts=work.attempts + 1, status_changed_at=now())
            return False
        return await self._finish(work, status="processed", error=None, attempts=work.attempts + 1,
                                  processed_at=now(), status_changed_at=now())

    async def _finish(self, work: Work, **values: Any) -> bool:
        """Record the outcome if the payload is still this processor's."""
        if await self.claims.finish(work.claim, **values):
            return values["status"] == "processed"
        logger.warning("inbound event %s: %s, but another process had taken it over (this one stopped renewing "
                       "its claim); that one's outcome stands", work.event_id, values["status"])
        return False

    async def _claim(self, event_id: int, from_status: str = "pending") -> Work | None:
        """Take a stored payload for this process, if nobody else did."""
        claim = await self.claims.claim(event_id, from_status=[from_status], status_changed_at=now())
        if claim is None:
            return None
        event = await models.InboundEvent.get(id=event_id).select_related("channel")
        return Work(event.id, event.channel.name, await decode_payload_async(event.payload, event.payload_encoding),
                    event.headers or {}, event.attempts, claim)

    async def process(self, event_id: int) -> bool:
        """Claim a pending or failed payload and process it now; True when it ends processed."""
        work = await self._claim(event_id, "pending") or await self._claim(event_id, "failed")
        if work is None:
            return False
        self._held[work.claim.token] = work.claim
        try:
            return await self._run(work)
        finally:
            self._held.pop(work.claim.token, None)

    async def replay(self, event_id: int) -> bool:
        """Process a failed (or orphaned) payload again, now."""
        row = await models.InboundEvent.get_or_none(id=event_id)
        if row is not None and row.status == "processing":
            await self.claims.take_back(event_id, row.claim_token, status_changed_at=now())
        return await self.process(event_id)

    # --- Sweeping ----------------------------------------------------------------------

    async def sweep(self) -> int:
        """Queue, for this process's processors, the payloads nobody is processing: pending
        ones, orphans of dead processes, and failed ones whose next automatic try is due.
        Returns how many it queued."""
        current = now()
        taken_back = await self.claims.take_back_all(status_changed_at=current)
        if taken_back:
            logger.warning("inbox: %s payload(s) whose process stopped renewing its claim queued again", taken_back)
        room = min(SWEEP_BATCH, QUEUE_SIZE - self._queue.qsize())
        if room <= 0:
            return 0
        due: list[tuple[int, str]] = [
            (event_id, "pending")
            for event_id in await models.InboundEvent.filter(status="pending").order_by("id").limit(room).values_list("id", flat=True)
        ]
        for event_id, attempts, changed in await models.InboundEvent.filter(
            status="failed", attempts__lt=AUTO_ATTEMPTS, status_changed_at__lt=current - AUTO_RETRY_BASE
        ).limit(room).values_list("id", "attempts", "status_changed_at"):
            if changed <= current - AUTO_RETRY_BASE * 4 ** max(0, attempts - 1):
                due.append((event_id, "failed"))
        queued = 0
        for event_id, status in due:
            work = await self._claim(event_id, status)
            if work is not None and self._hold(work):
                queued += 1
        return queued

    async def drain(self) -> None:
        """Wait until this process's queue is empty (for tests and tools)."""
        while not self._queue.empty():
            await asyncio.sleep(0.01)

    async def _sweeper(self) -> None:
        while True:
            try:
                await self.sweep()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the database is away: next round
                logger.warning("inbox sweep: %s", exc or type(exc).__name__)
            await asyncio.sleep(SWEEP_INTERVAL)


def event_json(row: models.InboundEvent, *, with_payload: bool = False) -> dict[str, Any]:
    ignored = row.status == "ignored"
    data: dict[str, Any] = {
        "id": row.id, "channel": row.channel.name, "status": row.status,
        "error": None if ignored else row.error, "reason": row.error if ignored else None,
        "external_id": row.external_id,
        "attempts": row.attempts, "received_at": row.received_at.isoformat(),
        "processed_at": row.processed_at.isoformat() if row.processed_at else None,
    }
    if with_payload:
        data["payload"] = row.payload
        data["payload_encoding"] = row.payload_encoding
        data["headers"] = row.headers
    return data
