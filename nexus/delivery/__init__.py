"""Outbound delivery on SAQ: every accepted reply is delivered, or fails visibly with a reason.

The database is the source of truth, Redis only carries work:

* A reply is committed as ``queued`` before the API answers 202; then a SAQ job keyed
  ``deliver:<message id>`` is enqueued. SAQ refuses a second job under a key that is still
  pending, so enqueueing is idempotent: one job per message.
* A job *claims* its message (``queued`` → ``sending``) with a lease and a fencing token
  (:mod:`nexus.lease`), and only if it is the earliest pending reply of its ticket
  (:mod:`nexus.delivery.order`), so replies arrive in the order they were written: two jobs
  never send one message at once, the job renews the lease while it sends, and every way out
  of ``sending`` (sent, queued again, failed) is written only if the claim is still the job's.
  A worker whose claim was taken from it cannot overwrite what the next one did. The claim
  reads everything the send needs in the same statement (:mod:`nexus.delivery.sql`).
* Holding the claim, the job takes its pacing slot (:mod:`nexus.delivery.ratelimit`) only if
  it is near: a slot is taken only by the send that uses it. A reply whose slot is further
  away goes back to ``queued``, its attempt not counted, to come back when the slot nears.
* A transient failure puts the message back to ``queued`` with ``next_attempt_at`` after an
  exponential backoff with jitter (or the provider's Retry-After); a permanent one marks it
  ``failed`` with the provider's code and text.
* Every worker runs a dispatcher that enqueues due ``queued`` messages each second, and a
  sweep that returns ``sending`` messages whose lease passed (their worker died, hung or lost
  the database) to ``queued``, and applies delivery receipts whose message has appeared. A
  FLUSHALL, a Redis restart or a ``kill -9`` therefore delays a reply by seconds but never
  loses it; a live send is never taken back, however slow the provider.

Delivery is at least once. A duplicate at the provider is possible only when the provider
accepted a send whose result was never committed: the worker died, its send timed out, or it
stopped renewing its claim for longer than ``delivery.lease`` (hung, or lost the database)
while the send was under way. The claim and the per-ticket order keep every other case single.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from saq import Queue, Worker
from saq.job import Status
from saq.queue.redis import RedisQueue
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F

from nexus.channel import PermanentError, RetryableError
from nexus.clock import now
from nexus.db import database_unavailable, models
from nexus.db.models import Direction
from nexus.delivery import sql
from nexus.delivery.budget import AutoReplyBudget
from nexus.delivery.order import first_pending, first_pending_of
from nexus.delivery.ratelimit import RateLimiter
from nexus.delivery.sql import Outgoing
from nexus.delivery.status import StatusUpdates
from nexus.lease import Claim, Lease
from nexus.mime import valid_content_type
from nexus.redis_backend import EmbeddedRedisQueue, connect_redis
from nexus.types import DeliveryStatus, OutboundAttachment, OutboundMessage, SendResult
from nexus.views import attachment_view, build_message_view

if TYPE_CHECKING:
    from nexus.runtime import Nexus

logger = logging.getLogger("nexus.delivery")


class _QuietShutdown(logging.Filter):
    """SAQ warns at every stop that its idle dequeue loops were cancelled; they always are."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "did not finish within the shutdown grace period" not in record.getMessage()


logging.getLogger("saq").addFilter(_QuietShutdown())

JOB_FUNCTION = "deliver"
#: A reply that is not first in its ticket looks again this much later (its turn normally
#: comes sooner: the reply before it hands over when it is done).
ORDER_RECHECK = 5.0
DISPATCH_INTERVAL = 1.0
DISPATCH_BATCH = 500
#: A running job touches its SAQ heartbeat this often (seconds) ...
HEARTBEAT_EVERY = 3.0
#: ... and one silent for this long is stuck for SAQ.
HEARTBEAT = 10
#: The soonest a paced reply comes back to look for its slot.
PACED_MIN_DELAY = 0.05

__all__ = ["Delivery", "StatusUpdates"]


def make_queue(nexus: Nexus) -> Queue:
    """SAQ's queue on a Redis client of its own: SAQ closes its client and that client's
    connection pool when it disconnects, which must not cut the host's connections (the
    realtime control channel, locks, metrics) while the rest of the process shuts down."""
    name = f"{nexus.settings.redis.namespace}-delivery"
    client = connect_redis(nexus.settings, server=nexus.embedded_redis_server)
    if nexus.settings.embedded_redis:
        return EmbeddedRedisQueue(client, name=name)
    return RedisQueue(client, name=name)


def job_key(message_id: int) -> str:
    return f"deliver:{message_id}"


def backoff(attempt: int, base: float, cap: float) -> float:
    """Exponential backoff with full jitter: a random delay up to ``base * 2^(attempt-1)``,
    never less than half of it, capped at ``cap``."""
    ceiling = min(cap, base * (2 ** max(0, attempt - 1)))
    return random.uniform(ceiling / 2, ceiling)


class Delivery:
    def __init__(self, nexus: Nexus) -> None:
        self.nexus = nexus
        self.settings = nexus.settings.delivery
        self.queue = make_queue(nexus)
        self.limiter = RateLimiter(nexus.redis, nexus.settings.redis.namespace)
        self.auto_replies = AutoReplyBudget(nexus.redis, nexus.settings.redis_key("auto-replies"),
                                            self.settings.auto_reply_limit)
        #: Claims on replies being sent: ``queued`` → ``sending``, renewed while sending.
        self.claims = Lease(models.Message, held=DeliveryStatus.SENDING, available=[DeliveryStatus.QUEUED],
                            duration=self.settings.lease, max_hold=self.settings.stuck_after)
        self.worker: Worker | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self._stopping = False

    # --- Enqueueing --------------------------------------------------------------------

    async def enqueue(self, message_id: int) -> bool:
        """Make sure a job exists for ``message_id``. True if this call created it. Never
        raises: if Redis is down, the dispatcher enqueues the message once it is back."""
        try:
            job = await self.queue.enqueue(
                JOB_FUNCTION, message_id=message_id, key=job_key(message_id),
                timeout=int(self._job_timeout()), heartbeat=HEARTBEAT, retries=1, ttl=600,
            )
        except Exception as exc:  # noqa: BLE001
            logger.warning("could not enqueue message %s now (%s); the dispatcher will", message_id, exc)
            return False
        return job is not None

    def _job_timeout(self) -> float:
        slowest = max((rt.spec.cls.send_timeout for rt in self.nexus.channels.runtimes.values() if rt.spec.cls), default=30.0)
        return slowest + self.settings.max_inline_wait + 15

    # --- The worker --------------------------------------------------------------------

    async def start_worker(self) -> None:
        await self.queue.connect()
        self.worker = Worker(
            self.queue,
            functions=[(JOB_FUNCTION, self._job)],
            concurrency=self.settings.concurrency,
            timers={"sweep": 15, "schedule": 1, "abort": 1, "worker_info": 10},
            shutdown_grace_period_s=0,
        )
        self.worker.SIGNALS = []  # the host owns SIGINT and SIGTERM
        self._stopping = False
        self._tasks = [
            asyncio.create_task(self.worker.start(), name="saq-worker"),
            asyncio.create_task(self._dispatch_loop(), name="delivery-dispatcher"),
        ]
        logger.info("delivery worker started (concurrency %s)", self.settings.concurrency)

    async def stop_worker(self, grace: float) -> None:
        """Let in-flight sends finish (up to ``grace`` seconds); what is left goes back to
        ``queued`` for another worker."""
        if self.worker is None:
            return
        self._stopping = True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        while self.worker.job_task_contexts and loop.time() < deadline:
            await asyncio.sleep(0.05)
        for task in self._tasks:
            task.cancel()
        await self.worker.stop()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        self.worker = None

    async def close(self) -> None:
        """Close the queue's Redis client (every process has one: API processes enqueue)."""
        with contextlib.suppress(Exception):
            await self.queue.disconnect()

    async def _dispatch_loop(self) -> None:
        """Enqueue due messages every second; sweep stuck sends now and then."""
        rounds = 0
        sweep_every = max(1, round(self.settings.sweep_interval / DISPATCH_INTERVAL))
        while True:
            try:
                if rounds % sweep_every == 0:
                    await self.sweep()
                await self.dispatch_due()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the database or Redis is away: next round
                logger.warning("delivery dispatcher: %s", exc or type(exc).__name__)
            rounds += 1
            await asyncio.sleep(DISPATCH_INTERVAL)

    async def dispatch_due(self) -> int:
        """Enqueue the queued replies that are due and first in their ticket: the ones whose
        retry time came, and the ones no job took (Redis lost it, or the enqueue failed)."""
        created = 0
        for message_id in await self.due():
            created += await self.enqueue(message_id)
        return created

    async def due(self) -> list[int]:
        """The queued replies that are due and first in their ticket, oldest first."""
        due = await models.Message.filter(
            status=DeliveryStatus.QUEUED, direction=Direction.OUTBOUND, private=False,
        ).filter(next_attempt_at__lte=now()).order_by("id").limit(DISPATCH_BATCH).values_list("id", "ticket_id")
        fresh = await models.Message.filter(
            status=DeliveryStatus.QUEUED, direction=Direction.OUTBOUND, private=False,
            next_attempt_at=None, status_changed_at__lte=now() - timedelta(seconds=2),
        ).order_by("id").limit(DISPATCH_BATCH).values_list("id", "ticket_id")
        candidates = dict([*due, *fresh])
        heads = await first_pending(candidates.values())
        return sorted(message_id for message_id, ticket_id in candidates.items() if heads.get(ticket_id) == message_id)

    async def sweep(self) -> int:
        """Return sends whose lease passed to the queue (their worker died, hung, or lost the
        database; a worker that renews its claim keeps it, however slow the provider). Then
        apply delivery receipts whose message has appeared, and forget those that never found
        theirs. Returns how many sends it queued again."""
        returned = 0
        expired = await self.claims.expired(DISPATCH_BATCH)
        if expired:
            jobs = await self.queue.jobs([job_key(message_id) for message_id, _ in expired])
            details = {row_id: (ticket_id, attempts) for row_id, ticket_id, attempts in await models.Message.filter(
                id__in=[message_id for message_id, _ in expired]).values_list("id", "ticket_id", "attempts")}
            for (message_id, token), job in zip(expired, jobs, strict=True):
                if job is not None and job.status in (Status.ACTIVE, Status.QUEUED):
                    # Free the job's key, so that the reply can be enqueued again.
                    await self.queue.abort(job, "its claim on the reply expired")
                ticket_id, attempts = details.get(message_id, (None, 0))
                if attempts >= self.settings.max_attempts:
                    # A reply whose every try ended with its worker gone (a plugin that
                    # crashes the process on it, say) must not be tried forever.
                    values = self._failure("worker_lost", f"gave up after {attempts} attempts: the worker stopped "
                                           "while sending; the provider may or may not have received it")
                    if await self.claims.take_back(message_id, token, **values):
                        logger.warning("message %s failed: %s", message_id, values["error_text"])
                        await self.nexus.metrics.incr("delivery_failed")
                        await self.nexus.statuses.publish(message_id, "nexus_message_failed")
                        if ticket_id is not None:
                            await self._next_in_ticket(ticket_id, message_id)
                    continue
                if await self.claims.take_back(
                    message_id, token, status_changed_at=now(), next_attempt_at=now(),
                    error_text="the worker stopped while sending; trying again",
                ):
                    returned += 1
                    logger.warning("message %s: its worker stopped renewing its claim while sending; queued again", message_id)
                    await self.nexus.statuses.publish(message_id)
        await self.nexus.statuses.reconcile()
        await self.nexus.statuses.drop_expired()
        return returned

    # --- One delivery ------------------------------------------------------------------

    async def _job(self, ctx: dict[str, Any], *, message_id: int) -> str:
        if self._stopping:
            return "stopping"  # still queued: another worker's dispatcher takes it
        job = ctx["job"]

        async def beat() -> None:
            while True:
                await asyncio.sleep(HEARTBEAT_EVERY)
                with contextlib.suppress(Exception):
                    await job.update()

        heartbeat = asyncio.create_task(beat())
        try:
            return await self.deliver(message_id)
        except Exception as exc:
            if not database_unavailable(exc):
                raise
            # The database is away (a restart, a failover). The message is still queued, or
            # sending with this job ending: the dispatcher and the sweep send it once it is back.
            logger.warning("message %s: database unavailable (%s); it will be sent once it is back", message_id, exc)
            return "database unavailable"
        finally:
            heartbeat.cancel()

    async def deliver(self, message_id: int) -> str:
        """Claim reply ``message_id`` if it is its turn, and send it."""
        claim, lease_until = self.claims.prepare(message_id)
        at = claim.claimed_at
        # Claimed together with everything the send needs, in one statement on PostgreSQL.
        loaded = await sql.claim(message_id, claim.token, lease_until, at, at + timedelta(seconds=0.5))
        if loaded is None:
            return await self._not_claimed(message_id)
        message = loaded.message
        attempt = message.attempts

        runtime = self.nexus.channels.get(loaded.channel)
        if runtime is None:
            await self._fail(loaded, claim, "channel_not_configured", f"channel {loaded.channel!r} is not configured", None)
            return "failed"

        # Pacing while holding the claim: a slot is taken only by a send that is about to use
        # it, and a reply whose slot is far away goes back to the queue uncounted.
        slot = await self.limiter.reserve(runtime.name, loaded.recipient.address, runtime.rate_limit,
                                          within=self.settings.max_inline_wait)
        if not slot.taken:
            delay = max(PACED_MIN_DELAY, slot.wait - self.settings.max_inline_wait)
            if not await self.claims.finish(claim, status=DeliveryStatus.QUEUED, attempts=F("attempts") - 1,
                                            next_attempt_at=now() + timedelta(seconds=delay)):
                self._lost(loaded, "it was paced")
            return "paced"

        files = await models.Attachment.filter(message_id=message.id).order_by("id") if loaded.has_files else []
        self._publish(loaded, files)
        async with self.claims.keep(claim):
            return await self._send(loaded, claim, runtime, attempt, files, slot.wait)

    async def _not_claimed(self, message_id: int) -> str:
        """Why reply ``message_id`` was not claimed; one that is not first in its ticket looks
        again later (its turn normally comes sooner: the reply before it hands over)."""
        row = await models.Message.get_or_none(id=message_id).values(
            "status", "direction", "private", "next_attempt_at", "ticket_id")
        if row is None or row["direction"] != Direction.OUTBOUND or row["private"]:
            return "not a reply"
        if row["status"] != DeliveryStatus.QUEUED:
            return f"already {row['status']}"
        if row["next_attempt_at"] and row["next_attempt_at"] > now() + timedelta(seconds=0.5):
            return "not due"
        first = await first_pending_of(row["ticket_id"])
        if first is not None and first != message_id:
            await models.Message.filter(id=message_id, status=DeliveryStatus.QUEUED).update(
                next_attempt_at=now() + timedelta(seconds=ORDER_RECHECK))
            return f"waiting for message {first}"
        return "claimed elsewhere"

    async def _send(self, loaded: Outgoing, claim: Claim, runtime: Any, attempt: int,
                    files: list[models.Attachment], wait: float) -> str:
        """Send a claimed reply and record the outcome, if the claim is still this job's."""
        message = loaded.message
        try:
            if not runtime.usable or runtime.instance is None:
                raise RetryableError(f"channel {runtime.name!r} is not running: {runtime.error or runtime.state}", code="channel_unavailable")
            outbound = await self._outbound(loaded, attempt, files)
            if outbound.automatic and not await self.auto_replies.admit(runtime.name, outbound.recipient.address, message.id):
                raise PermanentError(
                    f"{outbound.recipient.address} got {self.settings.auto_reply_limit} automatic replies in the "
                    "last hour (delivery.auto_reply_limit); this one is not sent, to break a possible mail loop",
                    code="auto_reply_limit",
                )
            cls = runtime.instance
            if wait:
                await asyncio.sleep(wait)
            await self.nexus.metrics.incr("delivery_attempts")
            result = await asyncio.wait_for(cls.send(outbound), cls.send_timeout)
        except asyncio.CancelledError:
            # Shutting down mid-send: back to the queue (the send may or may not have happened).
            await asyncio.shield(self._requeue(loaded, claim, 0, "interrupted by shutdown", files, count_attempt=False))
            raise
        except TimeoutError:
            return await self._transient(loaded, claim, attempt, RetryableError("the provider did not answer in time", code="timeout"), files)
        except PermanentError as exc:
            await self._fail(loaded, claim, exc.code or "permanent_error", exc.message, files)
            return "failed"
        except RetryableError as exc:
            if exc.retry_after:
                await self.limiter.pause(runtime.name, exc.retry_after)
            return await self._transient(loaded, claim, attempt, exc, files)
        except Exception as exc:  # noqa: BLE001 - a plugin bug or a network error: retry
            logger.exception("channel %r raised while sending message %s", runtime.name, message.id)
            return await self._transient(loaded, claim, attempt, RetryableError(f"{type(exc).__name__}: {exc}", code="error"), files)
        return await self._sent(loaded, claim, result, files)

    async def _outbound(self, loaded: Outgoing, attempt: int, files: list[models.Attachment]) -> OutboundMessage:
        message = loaded.message
        attachments = []
        for row in files:
            if not valid_content_type(row.content_type):
                # No provider takes a header with a line break: this reply can never be sent.
                raise PermanentError(f"attachment {row.filename!r} has an invalid content type {row.content_type!r}",
                                     code="invalid_attachment")
            if row.storage_key:
                data = await self.nexus.storage.load(row.storage_key)
                attachments.append(OutboundAttachment(row.filename, row.content_type, data))
        return OutboundMessage(
            message_id=message.id, ticket_id=message.ticket_id,
            recipient=loaded.recipient,
            text=message.text or "", html=message.html, subject=loaded.subject, attachments=attachments,
            reply_to=loaded.reply_to_external_id,
            thread=list(loaded.thread), attempt=attempt, metadata=message.metadata or {},
            automatic=message.auto_submitted,
        )

    def _publish(self, loaded: Outgoing, files: list[models.Attachment] | None, hook: str | None = None) -> None:
        """Emit message.updated from the message as this job holds it: no second read."""
        if files is None:
            self.nexus.spawn(self.nexus.statuses.publish(loaded.message.id, hook), name=f"publish-{loaded.message.id}")
            return
        view = build_message_view(loaded.message, loaded.channel, None, [attachment_view(a) for a in files])
        self.nexus.events.message_updated(view, loaded.team_id, loaded.assignee_id, hook)

    @staticmethod
    def _mirror(message: sql.Reply, values: dict[str, Any]) -> None:
        for name, value in values.items():
            if name != "attempts":
                setattr(message, name, value)

    def _lost(self, loaded: Outgoing, outcome: str) -> None:
        logger.warning("message %s: %s, but its claim was taken over meanwhile (its worker stopped renewing it); "
                       "the claim's new holder decides", loaded.message.id, outcome)

    async def _sent(self, loaded: Outgoing, claim: Claim, result: SendResult, files: list[models.Attachment]) -> str:
        message = loaded.message
        at = now()
        values: dict[str, Any] = {
            "status": DeliveryStatus.SENT, "status_changed_at": at, "sent_at": result.sent_at or at,
            "external_id": result.external_id, "error_code": None, "error_text": None, "next_attempt_at": None,
        }
        if result.metadata:
            values["metadata"] = {**(message.metadata or {}), "provider": dict(result.metadata)}
        try:
            recorded = await sql.finish_sent(message.id, claim.token, at=at, sent_at=values["sent_at"],
                                             external_id=result.external_id, metadata=values.get("metadata"))
        except IntegrityError:
            logger.error("message %s: the provider returned id %r, which another message has", message.id, result.external_id)
            values.pop("external_id")
            recorded = await sql.finish_sent(message.id, claim.token, at=at, sent_at=values["sent_at"],
                                             metadata=values.get("metadata"))
        if not recorded:
            self._lost(loaded, f"the provider accepted it (id {result.external_id!r})")
            return "sent, superseded"
        self._mirror(message, values)
        await self.nexus.metrics.record_sent((now() - message.created_at).total_seconds())
        self._publish(loaded, files, "nexus_message_sent")
        # Read after the commit: receipts stored before it are found here, those stored after
        # it find the provider's id themselves.
        after = await sql.after_sent(message.ticket_id, message.id, message.channel_id, values.get("external_id"))
        if after.receipts_waiting:
            await self.nexus.statuses.apply_pending(message.channel_id, values["external_id"])
        await self._hand_over(message.id, after.next_id, after.next_attempt_at)
        return "sent"

    async def _transient(self, loaded: Outgoing, claim: Claim, attempt: int, exc: RetryableError,
                         files: list[models.Attachment]) -> str:
        if attempt >= self.settings.max_attempts:
            await self._fail(loaded, claim, exc.code or "gave_up", f"gave up after {attempt} attempts: {exc.message}", files)
            return "failed"
        delay = backoff(attempt, self.settings.backoff_base, self.settings.backoff_max)
        if exc.retry_after:
            delay = max(delay, exc.retry_after)
        if not await self._requeue(loaded, claim, delay, exc.message, files, code=exc.code):
            return "retry superseded"
        await self.nexus.metrics.incr("delivery_retried")
        logger.info("message %s: attempt %s failed (%s); retrying in %.1fs", loaded.message.id, attempt, exc.message, delay)
        return "retrying"

    async def _requeue(self, loaded: Outgoing, claim: Claim, delay: float, error: str | None,
                       files: list[models.Attachment], *, code: str | None = None, count_attempt: bool = True) -> bool:
        message = loaded.message
        values: dict[str, Any] = {
            "status": DeliveryStatus.QUEUED, "status_changed_at": now(),
            "next_attempt_at": now() + timedelta(seconds=delay),
        }
        if error is not None:
            values.update(error_code=code, error_text=error)
        if not count_attempt:
            values["attempts"] = F("attempts") - 1
        if not await self.claims.finish(claim, **values):
            self._lost(loaded, f"its attempt ended ({error})")
            return False
        if not count_attempt:
            message.attempts -= 1
        self._mirror(message, values)
        self._publish(loaded, files)
        return True

    async def _fail(self, loaded: Outgoing, claim: Claim, code: str, text: str,
                    files: list[models.Attachment] | None) -> None:
        values = self._failure(code, text)
        if not await self.claims.finish(claim, **values):
            self._lost(loaded, f"it failed ({text})")
            return
        await self._failed(loaded, values, files)
        await self._next_in_ticket(loaded.message.ticket_id, loaded.message.id)

    @staticmethod
    def _failure(code: str, text: str) -> dict[str, Any]:
        return {"status": DeliveryStatus.FAILED, "status_changed_at": now(), "failed_at": now(),
                "error_code": code[:100], "error_text": text, "next_attempt_at": None}

    async def _failed(self, loaded: Outgoing, values: dict[str, Any], files: list[models.Attachment] | None) -> None:
        self._mirror(loaded.message, values)
        logger.warning("message %s failed: %s (%s)", loaded.message.id, values["error_text"], values["error_code"])
        await self.nexus.metrics.incr("delivery_failed")
        self._publish(loaded, files, "nexus_message_failed")

    async def _next_in_ticket(self, ticket_id: int, message_id: int) -> None:
        """Hand the ticket's next pending reply to a worker now (it was not enqueued while
        reply ``message_id`` was pending)."""
        following = await sql.next_pending(ticket_id, message_id)
        if following is not None:
            await self._hand_over(message_id, *following)

    async def _hand_over(self, message_id: int, following: int | None, due: datetime | None) -> None:
        if following is None:
            return
        if following > message_id and due is not None and due > now():
            # It waited for this one; a reply before this one keeps its own retry time.
            await sql.hurry(following, now())
        await self.enqueue(following)

    # --- Operators ---------------------------------------------------------------------

    async def retry(self, message_id: int) -> bool:
        """Send a failed reply again, with a fresh attempt budget. False if it is not failed."""
        message = await models.Message.get_or_none(id=message_id)
        if message is None or message.status != DeliveryStatus.FAILED or message.direction != Direction.OUTBOUND or message.private:
            return False
        history = list((message.metadata or {}).get("failures", []))
        history.append({"code": message.error_code, "text": message.error_text, "attempts": message.attempts,
                        "failed_at": message.failed_at.isoformat() if message.failed_at else None})
        updated = await models.Message.filter(id=message_id, status=DeliveryStatus.FAILED).update(
            status=DeliveryStatus.QUEUED, status_changed_at=now(), next_attempt_at=None, attempts=0,
            error_code=None, error_text=None, failed_at=None, claim_token=None,
            metadata={**(message.metadata or {}), "failures": history[-10:]},
        )
        if not updated:
            return False
        await self.nexus.statuses.publish(message_id)
        await self.enqueue(message_id)
        return True

    async def queue_counts(self) -> dict[str, int]:
        try:
            return {"queued": await self.queue.count("queued"), "active": await self.queue.count("active"),
                    "incomplete": await self.queue.count("incomplete")}
        except Exception:  # noqa: BLE001
            return {}
