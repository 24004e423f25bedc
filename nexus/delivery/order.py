"""Replies in one ticket reach the contact in the order they were written.

The rule, in one place: **the earliest pending reply of a ticket goes first.** A reply is
pending while it is ``queued`` or ``sending``; only a ticket's first pending reply is given to
a worker, and each one hands over to the next when it is sent or fails. A reply that waits
for a retry keeps its place: the ones after it wait too.

The claim of a reply (:func:`nexus.delivery.sql.claim`) applies the same rule in its own
``UPDATE``, so that checking the order and claiming are one atomic step.
"""

from __future__ import annotations

from collections.abc import Iterable

from tortoise.functions import Min

from nexus.db import models
from nexus.db.models import Direction
from nexus.types import DeliveryStatus

PENDING = (DeliveryStatus.QUEUED, DeliveryStatus.SENDING)


async def first_pending(ticket_ids: Iterable[int]) -> dict[int, int]:
    """The id of the earliest pending reply of each of ``ticket_ids`` that has one."""
    ids = sorted(set(ticket_ids))
    if not ids:
        return {}
    rows = await models.Message.filter(
        ticket_id__in=ids, direction=Direction.OUTBOUND, private=False, status__in=PENDING,
    ).annotate(first=Min("id")).group_by("ticket_id").values_list("ticket_id", "first")
    return {ticket_id: first for ticket_id, first in rows}


async def first_pending_of(ticket_id: int) -> int | None:
    """The id of the ticket's earliest pending reply: the one whose turn it is."""
    return (await first_pending([ticket_id])).get(ticket_id)
