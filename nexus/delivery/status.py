"""Delivery statuses: they only move forward, whatever order the provider reports them in."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from nexus.clock import now
from nexus.db import models
from nexus.db.models import Direction
from nexus.types import DeliveryStatus, StatusUpdate
from nexus.views import message_view

if TYPE_CHECKING:
    from nexus.runtime import Nexus

logger = logging.getLogger("nexus.delivery")

RANK = {
    DeliveryStatus.QUEUED: 0,
    DeliveryStatus.SENDING: 1,
    DeliveryStatus.SENT: 2,
    DeliveryStatus.DELIVERED: 3,
    DeliveryStatus.READ: 4,
}
#: A report for an unknown message id is kept this long, waiting for the id to appear.
PENDING_TTL = timedelta(days=3)
CAS_RETRIES = 5
_PENDING_WITH_MESSAGE = """
SELECT p.* FROM pending_statuses p
WHERE EXISTS (SELECT 1 FROM messages m WHERE m.channel_id = p.channel_id AND m.external_id = p.external_id
              AND m.direction = 'outbound')
ORDER BY p.id LIMIT {limit}
"""


def moves_forward(current: DeliveryStatus, new: DeliveryStatus) -> bool:
    """Whether ``new`` may replace ``current``. ``failed`` wins only before delivery; a
    delivery report after ``failed`` means the message did arrive, so it wins too."""
    if current == DeliveryStatus.RECEIVED:
        return False
    if new == DeliveryStatus.FAILED:
        return current in (DeliveryStatus.QUEUED, DeliveryStatus.SENDING, DeliveryStatus.SENT)
    if current == DeliveryStatus.FAILED:
        return new in (DeliveryStatus.DELIVERED, DeliveryStatus.READ)
    return RANK.get(new, -1) > RANK.get(current, -1)


class StatusUpdates:
    def __init__(self, nexus: Nexus) -> None:
        self.nexus = nexus

    async def apply(self, channel_id: int, update: StatusUpdate) -> bool:
        """Apply a provider's report. False when the message is unknown (kept for later)."""
        status = DeliveryStatus(update.status)
        message = await models.Message.get_or_none(
            channel_id=channel_id, external_id=update.external_id, direction=Direction.OUTBOUND
        )
        if message is None:
            await models.PendingStatus.create(
                channel_id=channel_id, external_id=update.external_id, status=status, at=update.at,
                error_code=update.error_code, error_text=update.error_text,
            )
            # The send may have recorded this id after the look-up above, and looked for
            # waiting reports before this one was stored: look again. (Each side commits
            # before it reads the other's, so at least one of the two sees the other.)
            if await models.Message.exists(channel_id=channel_id, external_id=update.external_id, direction=Direction.OUTBOUND):
                await self.apply_pending(channel_id, update.external_id)
                return True
            return False
        await self._apply_to(message, status, update.at, update.error_code, update.error_text)
        return True

    async def _apply_to(
        self, message: models.Message, status: DeliveryStatus, at: datetime | None,
        error_code: str | None, error_text: str | None,
    ) -> bool:
        for _ in range(CAS_RETRIES):
            current = DeliveryStatus(message.status)
            if not moves_forward(current, status):
                return False
            when = at or now()
            values: dict[str, Any] = {"status": status, "status_changed_at": now()}
            if status == DeliveryStatus.FAILED:
                values.update(failed_at=when, error_code=error_code or "failed",
                              error_text=error_text or "the provider reported that the message was not delivered")
            else:
                if status in (DeliveryStatus.DELIVERED, DeliveryStatus.READ) and message.delivered_at is None:
                    values["delivered_at"] = when
                if status == DeliveryStatus.READ:
                    values["read_at"] = when
                if status == DeliveryStatus.SENT and message.sent_at is None:
                    values["sent_at"] = when
                if current == DeliveryStatus.FAILED:
                    values.update(error_code=None, error_text=None)
            # Compare-and-set on the status we read: a concurrent report cannot be overwritten.
            if await models.Message.filter(id=message.id, status=current).update(**values):
                await self.publish(message.id, "nexus_message_failed" if status == DeliveryStatus.FAILED else None)
                return True
            refreshed = await models.Message.get_or_none(id=message.id)
            if refreshed is None:
                return False
            message = refreshed
        return False

    async def apply_pending(self, channel_id: int, external_id: str) -> None:
        """Apply reports that arrived before the send returned the provider's id."""
        pending = await models.PendingStatus.filter(channel_id=channel_id, external_id=external_id).order_by("id")
        if not pending:
            return
        message = await models.Message.get_or_none(channel_id=channel_id, external_id=external_id, direction=Direction.OUTBOUND)
        if message is None:
            return
        for row in sorted(pending, key=lambda r: RANK.get(DeliveryStatus(r.status), 5)):
            await self._apply_to(message, DeliveryStatus(row.status), row.at, row.error_code, row.error_text)
            refreshed = await models.Message.get_or_none(id=message.id)
            message = refreshed or message
        await models.PendingStatus.filter(id__in=[row.id for row in pending]).delete()

    async def reconcile(self, limit: int = 500) -> int:
        """Apply waiting reports whose message has appeared since (its sender's process died
        between recording the send and applying them). Returns how many messages it updated."""
        rows = await models.PendingStatus.raw(_PENDING_WITH_MESSAGE.format(limit=int(limit)))
        found = sorted({(row.channel_id, row.external_id) for row in rows})
        for channel_id, external_id in found:
            await self.apply_pending(channel_id, external_id)
        return len(found)

    async def drop_expired(self) -> int:
        return await models.PendingStatus.filter(created_at__lt=now() - PENDING_TTL).delete()

    async def publish(self, message_id: int, hook: str | None = None) -> None:
        view = await message_view(message_id)
        ticket = await models.Ticket.get(id=view.ticket_id)
        self.nexus.events.message_updated(view, ticket.team_id, ticket.assignee_id, hook)
