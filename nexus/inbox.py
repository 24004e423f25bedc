"""Raw webhook payloads, stored before they are processed.

A channel stores the exact payload with :meth:`ChannelHost.store_raw` and acknowledges the
provider at once; the host then runs the channel's ``process_raw`` in the background:

* Payloads of concurrent webhooks are stored together, in one ``INSERT`` and one commit
  (:mod:`nexus.group_commit`); each request returns once its row is committed, and all of a
  batch's requests get the error when its commit fails (nothing of it is stored).
* Where payloads are processed follows ``inbox.process_on``. With ``auto`` (the default) and
  a ``nexus worker`` running (:mod:`nexus.inbox_workers`), API processes only store: rows are
  born ``pending``, a wake-up goes to the workers over Redis after each commit, and workers
  claim them in batches. Otherwise:
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
from nexus.db.inbox_sql import ClaimedPayload, NewPayload, claim_pending, insert_payloads
from nexus.group_commit import GroupCommit
from nexus.inbox_workers import ANNOUNCE_EVERY, InboxWorkers
from nexus.lease import Claim, Lease
from nexus.payloads import decode_payload_async, encode_payload_async

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
#: A worker process claims pending payloads ahead of its processors up to this many queued, so
#: that several workers share a backlog instead of one hoarding it.
WORKER_AHEAD = PROCESSORS * 8
#: A failed payload is processed again automatically until it has had this many tries ...
AUTO_ATTEMPTS = 3
#: ... after waiting this long times 4 to the power of (tries - 1): 30 s, then 2 min.
AUTO_RETRY_BASE = timedelta(seconds=30)
KEPT_HEADERS = ("content-type", "user-agent")


@dataclass(frozen=True)
class Stored:
    """A payload on its way into the database, with what its processing will need."""

    row: NewPayload
    channel: str
    payload: bytes


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
        settings = nexus.settings.inbox
        self._queue: asyncio.Queue[Work] = asyncio.Queue(QUEUE_SIZE)
        self._tasks: list[asyncio.Task[Any]] = []
        #: Claims on payloads being processed: ``pending`` (or ``failed``) → ``processing``.
        self.claims = Lease(models.InboundEvent, held="processing", available=["pending", "failed"],
                            duration=settings.lease)
        #: This process's claims, queued or being processed: renewed together.
        self._held: dict[str, Claim] = {}
        #: Places in the queue promised to payloads born claimed whose commit is under way.
        self._reserved = 0
        self._writer: GroupCommit[Stored] = GroupCommit(self._write, max_batch=settings.commit_batch,
                                                        max_wait=settings.commit_wait)
        self.process_on = settings.process_on
        self.is_worker = nexus.options.role == "worker"
        #: Whether this (API) process leaves what it stores to ``nexus worker`` processes.
        self.handing_off = False
        self.workers: InboxWorkers | None = None
        #: Set when pending payloads may wait for this process (a wake-up, a full claim).
        self._wanted = asyncio.Event()
        self._pull_lock = asyncio.Lock()
        self._backlog = False
        self._wake_due = False
        self._waker: asyncio.Task[Any] | None = None

    @property
    def processes_here(self) -> bool:
        """Whether this process processes payloads now (an API process handing off does not)."""
        return self.is_worker or not self.handing_off

    # --- Storing -----------------------------------------------------------------------

    async def store(self, channel: ChannelRuntime, payload: bytes, headers: dict[str, str]) -> int:
        """Commit the payload (with those of concurrent calls); it is then processed in the
        background. Returns once the row is committed."""
        kept = {k: v for k, v in headers.items() if k.lower() in KEPT_HEADERS}
        text, encoding = await encode_payload_async(payload)  # any bytes: invalid UTF-8 and NUL included
        local = bool(self._tasks) and self.processes_here and self._queue.qsize() + self._reserved < QUEUE_SIZE
        token, expires = None, None
        if local:
            token, claimed = self.claims.born_claimed()
            expires = claimed["lease_expires_at"]
            self._reserved += 1
        row = NewPayload(channel.row_id, text, encoding, kept, token, expires)
        return await self._writer.add(Stored(row, channel.name, payload))

    async def _write(self, batch: list[Stored]) -> list[int]:
        """One grouped commit; then the born-claimed payloads join this process's queue and
        the workers hear of the pending ones (whoever waits for the commit)."""
        claimed = sum(1 for stored in batch if stored.row.claim_token)
        try:
            ids = await insert_payloads([stored.row for stored in batch], at=now())
        finally:
            self._reserved -= claimed
        for stored, event_id in zip(batch, ids, strict=True):
            token = stored.row.claim_token
            if token is not None:
                self._hold(Work(event_id, stored.channel, stored.payload, stored.row.headers, 0,
                                self.claims.held_claim(event_id, token)))
        if claimed < len(batch):
            self._wake()
        return ids

    def _wake(self) -> None:
        """Tell the workers (or this process's puller) that pending payloads wait; wake-ups
        asked for while one is being sent are sent once after it."""
        if self.workers is None or not self.handing_off:
            self._wanted.set()
            return
        self._wake_due = True
        if self._waker is None:
            self._waker = self.nexus.spawn(self._send_wakes(), name="inbox-wake")

    async def _send_wakes(self) -> None:
        try:
            while self._wake_due:
                self._wake_due = False
                assert self.workers is not None
                await self.workers.wake()
        finally:
            self._waker = None

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
        real_redis = not self.nexus.settings.embedded_redis
        if real_redis and (self.is_worker or self.process_on != "api"):
            self.workers = InboxWorkers(self.nexus.redis, self.nexus.settings)
        if self.workers is not None and not self.is_worker:
            self.handing_off = self.process_on == "workers" or await self._workers_alive()
            if self.handing_off:
                logger.info("inbox: payloads go to workers (inbox.process_on = %s)", self.process_on)
        self._tasks = [asyncio.create_task(self._processor(), name=f"inbox-{i}") for i in range(PROCESSORS)]
        self._tasks.append(asyncio.create_task(self._sweeper(), name="inbox-sweeper"))
        self._tasks.append(asyncio.create_task(self._heartbeat(), name="inbox-heartbeat"))
        self._tasks.append(asyncio.create_task(self._puller(), name="inbox-puller"))
        if self.workers is not None and self.is_worker:
            await self.workers.announce()
            self._tasks.append(asyncio.create_task(self._announcer(), name="inbox-announcer"))
            self._tasks.append(asyncio.create_task(self.workers.listen(self._wanted.set), name="inbox-wakes"))
        elif self.workers is not None and self.process_on == "auto":
            self._tasks.append(asyncio.create_task(self._watch_workers(), name="inbox-workers"))

    async def stop(self) -> None:
        """Stop processing; what this process had queued goes back to ``pending``."""
        await self._writer.close()
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.workers is not None and self.is_worker:
            with contextlib.suppress(Exception):
                await self.workers.withdraw()
        left = []
        while not self._queue.empty():
            left.append(self._queue.get_nowait().claim)
        self._held.clear()
        if left:
            with contextlib.suppress(Exception):
                await self.claims.release(left)

    async def _workers_alive(self) -> bool:
        assert self.workers is not None
        try:
            return await self.workers.alive()
        except Exception as exc:  # noqa: BLE001 - Redis is away: process here meanwhile
            logger.warning("inbox: cannot tell whether workers run (%s); processing here", exc or type(exc).__name__)
            return False

    async def _watch_workers(self) -> None:
        """``auto``: hand payloads off while a worker runs, process them here otherwise."""
        while True:
            await asyncio.sleep(ANNOUNCE_EVERY)
            alive = await self._workers_alive()
            if alive != self.handing_off:
                logger.info("inbox: %s", "payloads go to workers (a worker runs)" if alive
                            else "payloads are processed here (no worker runs)")
                self.handing_off = alive
                if not alive:
                    self._wanted.set()  # what waits for the workers that went away

    async def _announcer(self) -> None:
        assert self.workers is not None
        while True:
            await asyncio.sleep(ANNOUNCE_EVERY)
            try:
                await self.workers.announce()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - Redis is away: next beat
                logger.warning("inbox: could not announce this worker: %s", exc or type(exc).__name__)

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
            if self._backlog:  # more may be pending: claim them while this one is processed
                self._wanted.set()
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
        Returns how many it queued. (An API process handing off to workers only takes
        orphans back.)"""
        current = now()
        taken_back = await self.claims.take_back_all(status_changed_at=current)
        if taken_back:
            logger.warning("inbox: %s payload(s) whose process stopped renewing its claim queued again", taken_back)
        if not self.processes_here:
            if taken_back:
                self._wake()
            return 0
        queued = await self.pull()
        room = min(SWEEP_BATCH, self._ahead - self._queue.qsize())
        if room <= 0:
            return queued
        due: list[int] = []
        for event_id, attempts, changed in await models.InboundEvent.filter(
            status="failed", attempts__lt=AUTO_ATTEMPTS, status_changed_at__lt=current - AUTO_RETRY_BASE
        ).limit(room).values_list("id", "attempts", "status_changed_at"):
            if changed <= current - AUTO_RETRY_BASE * 4 ** max(0, attempts - 1):
                due.append(event_id)
        for event_id in due:
            work = await self._claim(event_id, "failed")
            if work is not None and self._hold(work):
                queued += 1
        return queued

    @property
    def _ahead(self) -> int:
        """How many payloads this process queues at most: workers keep a short queue, so that
        they share a backlog."""
        return WORKER_AHEAD if self.is_worker else QUEUE_SIZE

    async def pull(self) -> int:
        """Claim pending payloads, oldest first, in batches, while this process has room;
        returns how many it queued."""
        if not self.processes_here or not self._tasks:
            return 0
        queued = 0
        async with self._pull_lock:
            while True:
                room = min(SWEEP_BATCH, self._ahead - self._queue.qsize() - self._reserved)
                if room <= 0:
                    self._backlog = True
                    return queued
                claimed = await claim_pending(room, lease=self.claims.duration, at=now())
                for payload in claimed:
                    if self._hold(await self._work(payload)):
                        queued += 1
                if len(claimed) < room:
                    self._backlog = False
                    return queued

    async def _work(self, payload: ClaimedPayload) -> Work:
        runtime = self.nexus.channels.by_id(payload.channel_id)
        channel = runtime.name if runtime is not None else f"#{payload.channel_id}"
        return Work(payload.id, channel, await decode_payload_async(payload.payload, payload.payload_encoding),
                    payload.headers, payload.attempts, self.claims.held_claim(payload.id, payload.claim_token))

    async def _puller(self) -> None:
        """Claim pending payloads when told some wait (a wake-up, a backlog)."""
        while True:
            await self._wanted.wait()
            self._wanted.clear()
            try:
                await self.pull()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the database is away: the sweep retries
                logger.warning("inbox: could not claim pending payloads: %s", exc or type(exc).__name__)

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
