"""Raw webhook payloads, stored before they are processed.

A channel stores the exact payload with :meth:`ChannelHost.store_raw` and acknowledges the
provider at once; the host then runs the channel's ``process_raw`` in the background. A payload
whose processing fails is tried again a few times with backoff (a media server's hiccup), then
stays in ``inbound_events`` with its error, so the provider is not made to redeliver it forever
and nothing is lost: operators list and replay it over the API. A sweep
in every API process picks up payloads whose process died before finishing them.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from nexus.db import models

if TYPE_CHECKING:
    from nexus.channels import ChannelRuntime
    from nexus.runtime import Nexus

logger = logging.getLogger("nexus.inbox")

#: Payloads processed at once in one process.
PROCESSING_SLOTS = 8
#: A payload still pending (or processing) this long after it arrived was orphaned.
ORPHAN_AFTER = timedelta(seconds=60)
SWEEP_INTERVAL = 15.0
#: A failed payload is processed again automatically until it has had this many tries ...
AUTO_ATTEMPTS = 3
#: ... after waiting this long times 4 to the power of (tries - 1): 30 s, then 2 min.
AUTO_RETRY_BASE = timedelta(seconds=30)
KEPT_HEADERS = ("content-type", "user-agent")


def now() -> datetime:
    return datetime.now(UTC)


class Inbox:
    def __init__(self, nexus: Nexus) -> None:
        self.nexus = nexus
        # Processing runs beside the webhooks that store payloads, on the same database pool:
        # bounding it leaves connections free, so acknowledgements stay fast under a burst.
        self._slots = asyncio.Semaphore(PROCESSING_SLOTS)

    async def store(self, channel: ChannelRuntime, payload: bytes, headers: dict[str, str]) -> int:
        """Commit the payload, then process it in the background in this process. The row is
        born ``processing`` (claimed by this process); if the process dies first, the sweep of
        any process finds it."""
        kept = {k: v for k, v in headers.items() if k.lower() in KEPT_HEADERS}
        row = await models.InboundEvent.create(
            channel_id=channel.row_id, payload=payload.decode("utf-8", "surrogateescape"),
            headers=kept, status="processing", status_changed_at=now(),
        )
        self.nexus.spawn(self._run(channel, row.id, payload, kept, 0), name=f"inbound-event-{row.id}")
        return row.id

    async def process(self, event_id: int) -> bool:
        """Claim a stored payload (pending or failed) and process it; True when it ends
        processed."""
        claimed = await models.InboundEvent.filter(id=event_id, status__in=["pending", "failed"]).update(
            status="processing", status_changed_at=now()
        )
        if not claimed:
            return False
        event = await models.InboundEvent.get(id=event_id).select_related("channel")
        runtime = self.nexus.channels.get(event.channel.name)
        payload = event.payload.encode("utf-8", "surrogateescape")
        return await self._run(runtime, event_id, payload, event.headers or {}, event.attempts, event.channel.name)

    async def _run(self, runtime: ChannelRuntime | None, event_id: int, payload: bytes, headers: dict[str, str],
                   attempts: int, channel_name: str | None = None) -> bool:
        async with self._slots:
            try:
                if runtime is None or runtime.instance is None or not runtime.usable:
                    raise RuntimeError(f"channel {channel_name or '?'!r} is not running here")
                await runtime.instance.process_raw(payload, headers)
            except Exception as exc:  # noqa: BLE001 - kept with its error for operators
                detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
                logger.error("inbound event %s (channel %s) failed: %s", event_id,
                             runtime.name if runtime else channel_name, detail)
                await models.InboundEvent.filter(id=event_id).update(
                    status="failed", error=detail, attempts=attempts + 1, status_changed_at=now()
                )
                return False
            await models.InboundEvent.filter(id=event_id).update(
                status="processed", error=None, attempts=attempts + 1, processed_at=now(), status_changed_at=now()
            )
            return True

    async def replay(self, event_id: int) -> bool:
        """Process a failed (or orphaned) payload again, now."""
        await models.InboundEvent.filter(id=event_id, status="processing", status_changed_at__lt=now() - ORPHAN_AFTER).update(
            status="pending"
        )
        return await self.process(event_id)

    async def sweep(self) -> int:
        """Process orphaned payloads, and failed ones whose next automatic try is due."""
        current = now()
        cutoff = current - ORPHAN_AFTER
        await models.InboundEvent.filter(status="processing", status_changed_at__lt=cutoff).update(
            status="pending", status_changed_at=current
        )
        due = list(await models.InboundEvent.filter(status="pending", received_at__lt=cutoff).values_list("id", flat=True))
        for event_id, attempts, changed in await models.InboundEvent.filter(
            status="failed", attempts__lt=AUTO_ATTEMPTS, status_changed_at__lt=current - AUTO_RETRY_BASE
        ).values_list("id", "attempts", "status_changed_at"):
            if changed <= current - AUTO_RETRY_BASE * 4 ** max(0, attempts - 1):
                due.append(event_id)
        done = 0
        for event_id in due:
            done += await self.process(event_id)
        return done

    async def run_sweeper(self) -> None:
        while True:
            try:
                await self.sweep()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001
                logger.exception("inbox sweep failed")
            await asyncio.sleep(SWEEP_INTERVAL)


def event_json(row: models.InboundEvent, *, with_payload: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": row.id, "channel": row.channel.name, "status": row.status, "error": row.error,
        "attempts": row.attempts, "received_at": row.received_at.isoformat(),
        "processed_at": row.processed_at.isoformat() if row.processed_at else None,
    }
    if with_payload:
        data["payload"] = row.payload
        data["headers"] = row.headers
    return data
